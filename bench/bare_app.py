"""The baseline for bench_webhook.py: a bare Flask route returning a fixed TwiML reply,
served by the same gunicorn set-up as the bot."""
from flask import Flask, Response

app = Flask(__name__)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Halo Kak!</Message></Response>'


@app.post("/webhooks/whatsapp")
def incoming():  # type: ignore[no-untyped-def]
    return Response(TWIML, mimetype="application/xml")
