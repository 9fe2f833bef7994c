"""Twilio's WhatsApp webhooks: incoming messages (answered with TwiML) and status callbacks.

Every request is checked against X-Twilio-Signature with the account's auth token,
against `[whatsapp] public_url` when set (a TLS proxy rewrites the URL the app sees),
else the request URL. No token configured: 503, never an unchecked webhook. The check
is by token only, never by matching `To`, so numbers in a Messaging Service pool work.
"""
from __future__ import annotations

import hmac
import logging
import sqlite3
from urllib.parse import parse_qsl, quote

from flask import Blueprint, Response, abort, g, request
from werkzeug.datastructures import MultiDict
from twilio.request_validator import RequestValidator

from bot.channels.whatsapp import parse_form, stored_answer, twiml
from bot.models import Reply
from bot.logsafe import mask_phone
from bot.errors import StoreError
from handoff.outbox import record_status

log = logging.getLogger("yessindo.whatsapp")
whatsapp = Blueprint("whatsapp", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


MAX_FIELDS = 1000  # werkzeug's own limit on form parts


def twilio_form() -> MultiDict[str, str]:
    """The posted form, parsed once per request. Twilio posts small urlencoded bodies:
    `parse_qsl` reads one in ~10 µs where werkzeug's general form parser takes ~70 µs
    (measured; a tenth of what the whole webhook may cost). Any other body type goes
    through werkzeug as before. The body size limit (MAX_CONTENT_LENGTH) applies to both."""
    form = g.get("twilio_form")
    if form is None:
        if request.mimetype == "application/x-www-form-urlencoded":
            body = request.get_data(cache=True).decode("utf-8", "replace")
            try:
                form = MultiDict(parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS))
            except ValueError:
                abort(Response("too many form fields\n", status=413, mimetype="text/plain"))
        else:
            form = request.form
        g.twilio_form = form
    return form


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/xml")


def signature_ok(token: str, url: str, form, signature: str) -> bool:  # type: ignore[no-untyped-def]
    """Twilio's check, computed once for the URL as configured (twilio's `validate` always
    computes it twice, with and without the port); the port variants only when that fails."""
    validator = RequestValidator(token)
    if hmac.compare_digest(validator.compute_signature(url, form).encode(), signature.encode()):
        return True
    return validator.validate(url, form, signature)


def _request_url(environ: dict) -> str:  # type: ignore[type-arg]
    """The URL as the client asked for it (scheme, Host header, path, query), without
    werkzeug's IRI decoding and IDNA round trip, which cost more than the signature itself."""
    query = environ.get("QUERY_STRING")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~%")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


def _check_signature() -> None:
    from bot.web.services import services

    settings = services().settings.whatsapp
    if not settings.auth_token:
        log.error("webhook refused: no Twilio auth token configured (TWILIO_AUTH_TOKEN)")
        abort(Response("WhatsApp webhook not configured: set TWILIO_AUTH_TOKEN (or [whatsapp] auth_token)\n",
                       status=503, mimetype="text/plain"))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not settings.public_url:
        url = _request_url(request.environ)
    else:
        # The configured URL names the incoming-message webhook; the status callback
        # lives beside it. Keep the query string the request carried.
        base = settings.public_url.rstrip("/")
        if base.endswith("/webhooks/whatsapp"):
            base = base[: -len("/webhooks/whatsapp")]
        url = base + request.full_path.rstrip("?") if request.query_string else base + request.path
    ok = bool(signature) and signature_ok(settings.auth_token, url, twilio_form(), signature)
    if signature and not ok and not settings.public_url:
        # werkzeug's reading of an unusual Host or path, as before
        ok = signature_ok(settings.auth_token, request.url, twilio_form(), signature)
    if not ok:
        log.warning("webhook refused: %s signature (path %s)", "missing" if not signature else "wrong", request.path)
        abort(Response("invalid signature\n", status=403, mimetype="text/plain"))


def _livechat_proof(svc, message):  # type: ignore[no-untyped-def]
    """"KODE 123456" from a number a live-chat visitor gave: the proof that it is theirs
    (bot/web/livechat_contact.py), answered with a confirmation instead of the bot."""
    from handoff.livechat_proof import phone_code_in

    if not svc.settings.livechat.enabled or phone_code_in(message.text) is None:
        return None  # (the usual case, decided without the lock)
    from bot.web.livechat_contact import claim_whatsapp_proof

    store = svc.bot.store
    with svc._lock:
        return claim_whatsapp_proof(store, svc.now(), message.customer, message.text, message.external_id,
                                    message.display_name)


@whatsapp.post("/webhooks/whatsapp")
def incoming():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    _check_signature()
    svc = services()
    form = twilio_form()
    if not form.get("From"):
        log.warning("webhook without From field: ignored")
        return _xml(EMPTY_TWIML)
    message = parse_form(form, svc.now())
    proof = _livechat_proof(svc, message)
    if proof is not None:
        return _xml(twiml([Reply(text=proof, channel="whatsapp", customer=message.customer)]))
    try:
        outcome = svc.handle(message)
    except StoreError as exc:
        # Not recorded: answer 503 so Twilio's retry (or fallback URL) can deliver it again.
        log.error("incoming message not stored: %s", exc)
        return _xml(EMPTY_TWIML, 503)
    replies = outcome.replies
    if outcome.status == "duplicate" and message.external_id:
        # Twilio retries only when it lost our answer: give it the stored one again.
        try:
            with svc._lock:  # the worker's one connection, shared with the pipeline
                replies = stored_answer(svc.bot.store.conn, message.external_id)
        except sqlite3.Error as exc:
            log.error("stored answer not readable: %s", exc)
            return _xml(EMPTY_TWIML, 503)
        log.info("whatsapp retry sid=%s: %d stored answer(s) replayed", message.external_id, len(replies))
        return _xml(twiml(replies))
    log.info("whatsapp in from %s sid=%s: %s intent=%s ticket=%s", mask_phone(message.customer),
             message.external_id, outcome.status, outcome.intent.intent if outcome.intent else "-",
             outcome.ticket_ref or "-")
    return _xml(twiml(replies))


@whatsapp.post("/webhooks/whatsapp/status")
def status():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    _check_signature()
    svc = services()
    form = twilio_form()
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    state = form.get("MessageStatus") or form.get("SmsStatus") or ""
    code = form.get("ErrorCode") or None
    known = False
    if sid and state:
        try:
            known = record_status(svc.bot.store, svc.now(), sid, state, code, form.get("ErrorMessage"))
        except StoreError as exc:
            log.error("status callback not stored: %s", exc)
            return Response("", status=503)
    log.info("whatsapp status sid=%s %s%s%s", sid, state, f" error={code}" if code else "",
             "" if known else " (unknown message)")
    return Response("", status=204)
