"""The TwiML answer is written directly (for speed): it must be byte for byte what twilio's
own MessagingResponse writes, and always well-formed XML. The signature check computes
Twilio's signature once, and still accepts the port variants twilio's validator accepts."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bot.channels.whatsapp import split_text, twiml
from bot.models import Reply
from bot.web.whatsapp import signature_ok

CASES = [
    [],
    ["Halo Kak, ada yang bisa kami bantu?"],
    ["Harga <b>Rp 150.000</b> & ongkir \"gratis\" 'kan?", "Baris kedua\nbaris ketiga ✓ 🙏\r\n\ttab"],
    ["kata " * 900],  # split into several <Message>
    ["]]> <![CDATA[ x ]]> &amp; &lt;"],
]


def replies(texts: list[str]) -> list[Reply]:
    return [Reply(channel="whatsapp", customer="+6281200000000", text=t) for t in texts]


@pytest.mark.parametrize("texts", CASES)
def test_twiml_is_what_twilio_writes(texts):
    expected = MessagingResponse()
    for text in texts:
        for part in split_text(text):
            expected.message(part)
    assert twiml(replies(texts)) == str(expected)


def test_control_bytes_never_make_the_answer_unreadable():
    body = twiml(replies(["Kode\x00 pesanan\x07 INV-1\x1b ok"]))
    root = ET.fromstring(body.encode())  # raises on a byte XML 1.0 cannot carry
    assert root.find("Message").text == "Kode pesanan INV-1 ok"


def test_signature_once_and_with_the_port_variants():
    token, url = "tok-123", "https://bot.example/webhooks/whatsapp"
    form = MultiDict([("Body", "halo"), ("From", "whatsapp:+6281200000000"), ("MediaUrl0", "a"), ("MediaUrl0", "b")])
    v = RequestValidator(token)
    assert signature_ok(token, url, form, v.compute_signature(url, form))
    # Twilio signed the URL with the explicit port: accepted as twilio's validator does
    assert signature_ok(token, url, form, v.compute_signature("https://bot.example:443/webhooks/whatsapp", form))
    assert not signature_ok(token, url, form, v.compute_signature(url + "x", form))
    assert not signature_ok("other-token", url, form, v.compute_signature(url, form))
    assert not signature_ok(token, url, form, "")
    # a plain dict and an empty form are read as twilio's validator reads them
    plain = {"Body": "halo", "From": "whatsapp:+6281200000000"}
    assert signature_ok(token, url, plain, v.compute_signature(url, plain))
    assert signature_ok(token, url, {}, v.compute_signature(url, {}))
    assert not signature_ok(token, url, plain, v.compute_signature(url, form))
