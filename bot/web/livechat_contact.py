"""The contact details a live-chat visitor may leave (name, email, WhatsApp number) and the
proofs that they own them (handoff/livechat_proof.py): a code mailed to the address and
typed back here, or a code sent from the number to the shop's WhatsApp (checked by the
webhook, `claim_whatsapp_proof`). Routes of the live-chat API blueprint."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from flask import g, jsonify, request

from bot.channels.email_address import unmailable_reason
from bot.web.livechat_api import _current_conversation_id, _error, _say, _services, api
from bot.web.request_input import json_object, json_or_empty
from handoff import livechat as lc
from handoff import livechat_proof as proof

_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{7,18}$")
CODES_PER_HOUR = 3  # per visitor, email and WhatsApp codes each
MAILS_PER_ADDRESS_DAY = 3


def _limited(tx: Any, key: str, span: timedelta, limit: int) -> bool:
    """Count one hit (real time, never the simulator's pretend clock); True when over the limit."""
    return lc.over_limit(tx, sha256(key.encode()).hexdigest()[:24], lc.real_now(), span, limit) is not None


@api.post("/livechat/api/contact")
def contact():  # type: ignore[no-untyped-def]
    data = json_object()
    if not isinstance(data, dict):
        return _error(400, 'send {"name": ..., "email": ..., "phone": ...}')
    fields: dict[str, str | None] = {}
    for key, limit in (("name", 80), ("email", 254), ("phone", 20)):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            return _error(400, f"{key} must be text")
        fields[key] = " ".join((value or "").split())[:limit] or None
    if fields["email"] and (not _EMAIL.match(fields["email"]) or unmailable_reason(fields["email"].lower())):
        return _error(400, _say("Alamat email tidak valid.", "Not a valid email address."))
    if fields["phone"] and (not _PHONE.match(fields["phone"]) or lc.phone_e164(fields["phone"]) is None):
        return _error(400, _say("Nomor WhatsApp tidak valid.", "Not a valid WhatsApp number."))
    if fields["name"]:
        # no control, format (bidi overrides, zero-width) or angle-bracket characters in a name
        fields["name"] = "".join(ch for ch in fields["name"] if ch not in "<>" and
                                 unicodedata.category(ch) not in ("Cc", "Cf")).strip() or None
    svc = _services()
    store = svc.bot.store
    now = svc.now()
    email = (fields["email"] or "").lower() or None
    code_sent, code_limited, phone_code = False, False, None
    with svc._lock:
        with store.write(now) as tx:
            email_changed, phone_changed = lc.set_contact(tx, g.visitor, fields["name"], email, fields["phone"])
            conv_id = _current_conversation_id(store)
            tx.log_event("livechat.contact_given", "customer", conversation_id=conv_id,
                         data={"fields": sorted(k for k, v in fields.items() if v)})
            if email and conv_id is not None and (email_changed or _may_resend(tx, g.visitor, now)):
                code_sent = _send_code(tx, svc, store, conv_id, email, now)
                code_limited = not code_sent
            e164 = lc.phone_e164(fields["phone"])
            if e164 and phone_changed and not _limited(tx, f"phone-code|{g.visitor}", timedelta(hours=1),
                                                       CODES_PER_HOUR):
                phone_code = proof.new_phone_code(tx, g.visitor, e164, now)
        visitor = lc.visitor(store.conn, g.visitor)
    notes = []
    if code_sent:
        notes.append(_say(f"Kami mengirim kode 6 angka ke {email}. Masukkan kode itu di sini agar tim kami juga bisa "
                          "membalas lewat email.",
                          f"We sent a 6-digit code to {email}. Enter it here so our team may also reply by email."))
    if phone_code:
        wa = svc.bot.knowledge.shop.whatsapp_display
        notes.append(_say(f"Agar tim kami bisa membalas lewat WhatsApp, kirim pesan \u201cKODE {phone_code}\u201d dari "
                          f"nomor itu ke WhatsApp kami {wa} dalam 30 menit.",
                          f"So our team may also reply on WhatsApp, send \u201cKODE {phone_code}\u201d from that number "
                          f"to our WhatsApp {wa} within 30 minutes."))
    if code_limited:
        notes.append(_say("Kode untuk alamat ini sudah terlalu sering dikirim; coba lagi nanti.",
                          "A code for this address was sent too often; please try again later."))
    if not notes:
        notes.append(_say("Terima kasih, Kak. Kalau Kakak menutup halaman ini, tim kami tetap bisa menghubungi Kakak "
                          "lewat data ini.",
                          "Thank you. If you leave this page, our team can still reach you with these details."))
    return jsonify(contact=visitor.contact if visitor else None, note=" ".join(notes), code_sent=code_sent,
                   phone_code=phone_code, email_verified=bool(visitor and visitor.email_verified),
                   phone_verified=bool(visitor and visitor.phone_verified))


def _may_resend(tx: Any, customer: str, now: datetime) -> bool:
    """The same address again: a new code when it is not proven and no code is live."""
    row = tx.conn.execute("SELECT email_verified_at, code_hash, code_expires_at, code_attempts FROM livechat_visitors "
                          "WHERE customer = ?", (customer,)).fetchone()
    if row is None or row[0]:
        return False
    live = row[1] and row[2] and now < datetime.fromisoformat(row[2]) and row[3] < proof.CODE_ATTEMPTS
    return not live


def _send_code(tx, svc, store, conv_id: int, email: str, now) -> bool:  # type: ignore[no-untyped-def]
    """Mail a code that proves the visitor reads `email`: at most 3 an hour per visitor and
    3 a day per address (nobody can use the widget to flood someone's mailbox)."""
    from bot.outbound import queue_email_copy

    if _limited(tx, f"code|{g.visitor}", timedelta(hours=1), CODES_PER_HOUR) or \
            _limited(tx, f"code|{email}", timedelta(days=1), MAILS_PER_ADDRESS_DAY):
        return False
    code = proof.new_code(tx, g.visitor, email, now)
    conv = store.conversation(conv_id)
    text = (f"Kode verifikasi live chat Yessindo: {code}\n\nMasukkan kode ini di jendela live chat dalam 30 menit "
            "agar tim kami juga bisa membalas Kakak lewat email. Jika Kakak tidak meminta kode ini, abaikan email ini.\n\n"
            f"Your Yessindo live chat code: {code} (valid for 30 minutes). If you did not ask for it, ignore this email.")
    queue_email_copy(tx, conv, email, text, "Kode verifikasi live chat Yessindo", from_address=svc.settings.email.address)
    tx.log_event("livechat.code_sent", "bot", conversation_id=conv_id)
    return True


@api.post("/livechat/api/verify")
def verify():  # type: ignore[no-untyped-def]
    data = json_or_empty()
    code = data.get("code") if isinstance(data, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"\s*\d{6}\s*", code):
        return _error(400, _say("Kode terdiri dari 6 angka.", "The code has 6 digits."))
    svc = _services()
    store = svc.bot.store
    with svc._lock:
        with store.write(svc.now()) as tx:
            result = proof.check_code(tx, g.visitor, code.strip(), svc.now())
            if result == "ok":
                tx.log_event("livechat.email_verified", "customer", conversation_id=_current_conversation_id(store))
        visitor = lc.visitor(store.conn, g.visitor)
    if result == "ok":
        return jsonify(email_verified=True, contact=visitor.contact if visitor else None)
    message = {"wrong": _say("Kode salah.", "Wrong code."),
               "expired": _say("Kode kedaluwarsa, minta kode baru.", "The code has expired: ask for a new one."),
               "none": _say("Belum ada kode yang dikirim.", "No code was sent.")}[result]
    return _error(400, message, email_verified=False)


def claim_whatsapp_proof(store: Any, now: datetime, number: str, text: str | None, external_id: str | None,
                         display_name: str | None) -> str | None:
    """A WhatsApp message that is a live-chat visitor's "KODE 123456" from the number they
    gave: the number is proven; the message and our confirmation are recorded in that
    number's WhatsApp conversation (so its 24-hour window is open to agents). Returns the
    confirmation to answer with, or None when the message is no such proof."""
    code = proof.phone_code_in(text)
    if code is None:
        return None
    with store.write(now) as tx:
        if external_id and tx.message_exists("whatsapp", "in", external_id):
            return None  # Twilio's retry: the pipeline replays the stored answer
        customer = proof.prove_phone(tx, number, code, now)
        if customer is None:
            return None
        web = tx.current_conversation("web", customer)
        lang = web.lang if web is not None and web.lang in ("id", "en") else "id"
        text_out = ("Thank you! This WhatsApp number is now linked to your live chat: our team may also reply here."
                    if lang == "en" else
                    "Terima kasih, Kak! Nomor WhatsApp ini sudah tertaut dengan live chat Kakak: tim kami juga bisa "
                    "membalas di sini.")
        conv = tx.current_conversation("whatsapp", number) or tx.create_conversation("whatsapp", number, lang,
                                                                                     display_name)
        tx.add_message(conv, "in", "KODE ******", author="customer", external_id=external_id, meta={"livechat_proof": True})
        tx.add_message(conv, "out", text_out, author="bot", meta={"plan": "livechat_proof"})
        tx.log_event("livechat.phone_verified", "customer", conversation_id=web.id if web else None)
    return text_out
