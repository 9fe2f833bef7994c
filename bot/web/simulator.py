"""/try: chat with the bot in the browser as a WhatsApp customer, through the same
pipeline as the real webhook. Registered only when the simulator is asked for (see
`bot.config.simulator_for_bind`), and bounded per client and in tickets per day
(`bot.web.simulator_limit`)."""
from __future__ import annotations

import re
import secrets

from flask import Blueprint, jsonify, render_template, request

from bot.errors import StoreError
from bot.models import Message
from bot.web.simulator_limit import admit
from handoff.store import Store

simulator = Blueprint("simulator", __name__, template_folder="templates")
_CUSTOMER = re.compile(r"^\+62899\d{7}$")  # simulated customers live in a range of their own


@simulator.get("/try")
def page():  # type: ignore[no-untyped-def]
    return render_template("try.html", customer="+62899" + "".join(secrets.choice("0123456789") for _ in range(7)))


@simulator.post("/try/send")
def send():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    data = request.get_json(silent=True) or {}
    text = data.get("text")
    customer = data.get("customer", "")
    if not isinstance(text, str) or not isinstance(customer, str) or not _CUSTOMER.match(customer):
        return jsonify(error="send {\"text\": ..., \"customer\": \"+62899xxxxxxx\"}"), 400
    svc = services()
    try:
        store = Store(svc.settings.database)
        try:
            refusal = admit(store, svc.now(), request.remote_addr or "-")
        finally:
            store.close()
    except StoreError as exc:
        return jsonify(error=str(exc)), 503
    if refusal is not None:
        resp = jsonify(error=refusal.message)
        resp.status_code = 429
        resp.headers["Retry-After"] = str(int(refusal.wait.total_seconds()))
        return resp
    message = Message(channel="whatsapp", customer=customer, text=text[:4096], received_at=svc.now(),
                      external_id="try-" + secrets.token_hex(8), display_name="Simulator",
                      meta=(("source", "simulator"),))
    try:
        outcome = svc.handle(message)
    except StoreError as exc:
        return jsonify(error=str(exc)), 503
    return jsonify(status=outcome.status, replies=[r.text for r in outcome.replies],
                   intent=outcome.intent.intent if outcome.intent else None, ticket=outcome.ticket_ref)
