"""Twilio's WhatsApp webhooks as Flask routes: incoming messages (answered with TwiML) and
status callbacks. The incoming message's answer is bot/web/whatsapp_answer.py's, shared
with the WSGI fast path that answers the usual urlencoded post before Flask sees it; this
route answers what that path leaves (other body types). Signatures: see that module.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, g, request
from werkzeug.datastructures import MultiDict

from bot.errors import StoreError
from bot.web.whatsapp_answer import (  # noqa: F401  (signature_ok: re-exported for tests)
    answer_incoming, check_signature, parse_urlencoded, signature_ok,
)
from handoff.outbox import record_status

log = logging.getLogger("yessindo.whatsapp")
whatsapp = Blueprint("whatsapp", __name__)


def twilio_form() -> MultiDict[str, str]:
    """The posted form, parsed once per request: urlencoded bodies with `parse_qsl`, any
    other body type through werkzeug. The body size limit (MAX_CONTENT_LENGTH) applies to both."""
    form = g.get("twilio_form")
    if form is None:
        if request.mimetype == "application/x-www-form-urlencoded":
            try:
                form = parse_urlencoded(request.get_data(cache=True))
            except ValueError:
                abort(Response("too many form fields\n", status=413, mimetype="text/plain"))
        else:
            form = request.form
        g.twilio_form = form
    return form


def _answer(code: int, mimetype: str, body: str) -> Response:
    return Response(body, status=code, mimetype=mimetype)


@whatsapp.post("/webhooks/whatsapp")
def incoming():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    return _answer(*answer_incoming(services(), request.environ, twilio_form()))


@whatsapp.post("/webhooks/whatsapp/status")
def status():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    svc = services()
    form = twilio_form()
    refused = check_signature(svc.settings.whatsapp, request.environ, form)
    if refused is not None:
        return _answer(*refused)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    state = form.get("MessageStatus") or form.get("SmsStatus") or ""
    code = form.get("ErrorCode") or None
    known = False
    if sid and state:
        try:
            store = svc.bot.store
            with svc._lock:  # the worker's one connection, shared with the pipeline
                known = record_status(store, svc.now(), sid, state, code, form.get("ErrorMessage"))
        except StoreError as exc:
            log.error("status callback not stored: %s", exc)
            return Response("", status=503)
    log.info("whatsapp status sid=%s %s%s%s", sid, state, f" error={code}" if code else "",
             "" if known else " (unknown message)")
    return Response("", status=204)
