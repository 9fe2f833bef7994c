"""The live-chat widget's JSON API (/livechat/api/...): a visitor's session, messages in
and out through the same pipeline as WhatsApp and email, images, typing, read marks and
contact details. Every request passes the origin check (bot/web/livechat.py); every
request but /session carries the visitor's token (`Authorization: Bearer ...`), and a
visitor can only ever read their own conversation.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from hashlib import sha256
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from bot.errors import StoreError
from bot.models import Attachment, Message
from bot.web import livechat_token
from bot.web.livechat import browser_lang, origin_allowed, refuse_foreign_origin
from bot.web.livechat import json_error as _error
from bot.web.request_input import MAX_ID, json_object, json_or_empty, message_id_arg
from handoff import blobs
from handoff import livechat as lc

api = Blueprint("livechat_api", __name__)
log = logging.getLogger("yessindo.livechat")

MAX_TEXT = 4000  # characters of one widget message
UPLOAD_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/gif": b"GIF8",
                "image/webp": b"RIFF"}
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


UPLOAD_PATH = "/livechat/api/upload"


def upload_body_limit(max_upload_bytes: int) -> int:
    """The largest request body an upload may have: the image and its form around it."""
    return max_upload_bytes + 64 * 1024


def _say(indonesian: str, english: str) -> str:
    """An error text in the visitor's language: the conversation's once they have written,
    else what their browser asks for (Indonesian first)."""
    return english if (g.get("lang") or browser_lang()) == "en" else indonesian


def _busy(exc: Exception) -> Response:
    """The database refused: the visitor hears only that (the detail, which names the
    database file, goes to the log) and the widget keeps the message and tries again."""
    log.error("live chat: %s", exc)
    return _error(503, _say("Server sedang sibuk, pesan akan dikirim ulang.", "The server is busy; we will retry."))


def _services():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    return services()


def _key() -> str:
    from bot.web.console_auth import signing_key

    return signing_key(current_app)


def _address_key(kind: str) -> str:
    return sha256(f"yessindo-livechat|{kind}|{request.remote_addr or '-'}".encode()).hexdigest()[:24]


@api.before_request
def _guard():  # type: ignore[no-untyped-def]
    if not current_app.config["SETTINGS"].livechat.enabled:
        return _error(404, "live chat is off")
    refused = refuse_foreign_origin()
    if refused is not None:
        return refused
    if request.endpoint == "livechat_api.session":
        return None
    auth = request.headers.get("Authorization", "")
    visitor = livechat_token.verify(_key(), auth[7:].strip()) if auth[:7].lower() == "bearer " else None
    if visitor is None:
        return _error(401, "no valid visitor token: start with POST /livechat/api/session")
    g.visitor = lc.PREFIX + visitor
    svc = _services()
    store = svc.bot.store
    with svc._lock:  # the conversation's language, for error texts (_say)
        row = store.conn.execute("SELECT lang FROM conversations WHERE channel = 'web' AND customer = ? "
                                 "ORDER BY id DESC LIMIT 1", (g.visitor,)).fetchone()
    if row and row[0] in ("id", "en"):
        g.lang = row[0]
    return None


def _wait_message(wait: timedelta, lang: str) -> str:
    seconds = int(wait.total_seconds())
    if lang == "en":
        return f"Too many messages at once. Please try again in {seconds} seconds."
    return f"Pelan-pelan ya, Kak: terlalu banyak pesan sekaligus. Coba lagi dalam {seconds} detik."


def _admit_message(svc, lang: str) -> Response | None:  # type: ignore[no-untyped-def]
    settings = svc.settings.livechat
    now = svc.now()
    checks = ((sha256(g.visitor.encode()).hexdigest()[:24], settings.messages_per_minute),
              (_address_key("msg"), settings.messages_per_minute_per_address))
    store = svc.bot.store  # built before taking the lock (building takes it too)
    with svc._lock, store.write(now) as tx:
        for key, limit in checks:
            wait = lc.over_limit(tx, key, lc.real_now(), timedelta(minutes=1), limit)
            if wait is not None:
                seconds = int(wait.total_seconds())
                return _error(429, _wait_message(wait, lang), retry_after=seconds)
    return None


def _status(lang: str) -> dict[str, Any]:
    """Open now or not, as one line the widget shows under its title (facts from knowledge/)."""
    bot = _services().bot
    now = _services().now()
    state = bot.calendar.status(now)
    if state.get("open"):
        return {"open_now": True, "text": bot.responder.render(lang, "promise_whatsapp"), "back_at": None}
    from handoff.records import parse_iso

    back = parse_iso(state["next_open"])
    return {"open_now": False, "text": bot.responder.render(lang, "closed_note", when=bot.responder.soon(back, now, lang)),
            "back_at": state["next_open"]}


def _lang(value: Any, fallback: str = "id") -> str:
    return value if value in ("id", "en") else fallback


# -- session ---------------------------------------------------------------------------------------
@api.post("/livechat/api/session")
def session():  # type: ignore[no-untyped-def]
    data = json_or_empty()
    svc = _services()
    key = _key()
    visitor_id = livechat_token.verify(key, data.get("token"))
    now = svc.now()
    store = svc.bot.store
    try:
        with svc._lock:
            with store.write(now) as tx:
                if visitor_id is None:
                    wait = lc.over_limit(tx, _address_key("new"), lc.real_now(), timedelta(hours=1),
                                         svc.settings.livechat.new_visitors_per_hour_per_address)
                    if wait is not None:
                        return _error(429, _say("Terlalu banyak percakapan baru dari alamat ini. Coba lagi nanti.",
                                                "Too many new chats from this address. Please try again later."),
                                      retry_after=int(wait.total_seconds()))
                    visitor_id = livechat_token.new_visitor_id()
                    lc.prune_hits(tx, lc.real_now())
                customer = lc.PREFIX + visitor_id
                lc.seen(tx, customer)
            visitor = lc.visitor(store.conn, customer)
            messages = lc.history(store.conn, customer)
    except StoreError as exc:
        return _busy(exc)
    lang = messages[-1]["lang"] if messages else _lang(data.get("lang"))
    return jsonify(token=livechat_token.issue(key, visitor_id), lang=lang, messages=messages, status=_status(lang),
                   contact=visitor.contact if visitor else None,
                   limits={"max_text": MAX_TEXT, "max_upload_bytes": svc.settings.livechat.max_upload_bytes,
                           "upload_types": sorted(UPLOAD_TYPES)})


# -- messages --------------------------------------------------------------------------------------
@api.get("/livechat/api/messages")
def messages():  # type: ignore[no-untyped-def]
    after = message_id_arg(request.args.get("after"))
    svc = _services()
    store = svc.bot.store
    with svc._lock:
        return jsonify(messages=lc.history(store.conn, g.visitor, after))


def _send(text: str, client_id: Any, attachments: tuple[Attachment, ...] = ()) -> Response:
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        return _error(400, "client_id: 8-64 letters, digits, - or _")
    if len(text) > MAX_TEXT:
        return _error(413, _say(f"Pesan terlalu panjang (maksimal {MAX_TEXT} karakter).", f"Message too long (at most {MAX_TEXT} characters)."))
    if not text.strip() and not attachments:
        return _error(400, _say("Pesan kosong.", "Empty message."))
    svc = _services()
    store = svc.bot.store
    external_id = f"{g.visitor[len(lc.PREFIX):][:12]}:{client_id}"
    with svc._lock:
        mine, replies = lc.exchange(store.conn, g.visitor, external_id)
    if mine is not None:  # a retry of a message already taken: the first answer again
        return jsonify(message=mine, replies=replies, lang=mine["lang"])
    with svc._lock:
        visitor = lc.visitor(store.conn, g.visitor)
    refused = _admit_message(svc, g.get("lang") or "id")
    if refused is not None:
        return refused
    host = request.headers.get("X-Yessindo-Host", "")[:200]
    if host and not origin_allowed(host):
        host = ""  # only the shop's own pages are worth recording
    message = Message(channel="web", customer=g.visitor, text=text, received_at=svc.now(), external_id=external_id,
                      display_name=visitor.name if visitor else None, attachments=attachments,
                      meta=(("source", "livechat"),) + ((("page", host),) if host else ()))
    try:
        outcome = svc.handle(message)
    except StoreError as exc:
        return _busy(exc)
    with svc._lock:
        mine, replies = lc.exchange(store.conn, g.visitor, external_id)
    if mine is None:
        return _error(503, "message not stored")
    if outcome.ticket_ref:
        for reply in replies:
            reply["handoff"] = True
    return jsonify(message=mine, replies=replies, lang=mine["lang"])


@api.post("/livechat/api/messages")
def send_message():  # type: ignore[no-untyped-def]
    data = json_object()
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return _error(400, 'send {"text": "...", "client_id": "..."}')
    return _send(data["text"], data.get("client_id"))


UPLOADS_PER_VISITOR_DAY = 20  # with 5 MB each: at most 100 MB a visitor a day
UPLOADS_PER_ADDRESS_DAY = 100


def _admit_upload() -> Response | None:
    svc = _services()
    store = svc.bot.store
    now = lc.real_now()
    with svc._lock, store.write(svc.now()) as tx:
        for key, limit in ((sha256(f"upload|{g.visitor}".encode()).hexdigest()[:24], UPLOADS_PER_VISITOR_DAY),
                           (_address_key("upload"), UPLOADS_PER_ADDRESS_DAY)):
            wait = lc.over_limit(tx, key, now, timedelta(days=1), limit)
            if wait is not None:
                return _error(429, _say("Batas kirim gambar hari ini sudah tercapai. Tulis saja pesannya, ya.",
                                        "You have sent as many images as we take today; please write instead."),
                              retry_after=int(wait.total_seconds()))
    return None


@api.post("/livechat/api/upload")
def upload():  # type: ignore[no-untyped-def]
    limit = current_app.config["SETTINGS"].livechat.max_upload_bytes
    # the app's 1 MB body limit (webhooks, forms) is raised for this request only
    request.max_content_length = upload_body_limit(limit)
    if request.content_length is not None and request.content_length > upload_body_limit(limit):
        return _error(413, _say(f"Gambar terlalu besar (maksimal {limit // (1024 * 1024)} MB).", f"Image too large (at most {limit // (1024 * 1024)} MB)."))
    refused = _admit_upload()  # before the body is parsed
    if refused is not None:
        return refused
    file = request.files.get("file")
    if file is None:
        return _error(400, "send one image as the form field 'file'")
    data = file.read(limit + 1)
    if len(data) > limit:
        return _error(413, _say(f"Gambar terlalu besar (maksimal {limit // (1024 * 1024)} MB).", f"Image too large (at most {limit // (1024 * 1024)} MB)."))
    kind = next((t for t, magic in UPLOAD_TYPES.items() if data.startswith(magic)
                 and (t != "image/webp" or data[8:12] == b"WEBP")), None)
    if kind is None:
        return _error(415, _say("Hanya gambar JPEG, PNG, WebP atau GIF.", "Only JPEG, PNG, WebP or GIF images."))
    name = re.sub(r"[^\w.\- ]", "_", (file.filename or "gambar")[:80])
    attachment = Attachment(content_type=kind, filename=name, size=len(data), data=data)
    return _send((request.form.get("text") or "")[:MAX_TEXT + 1], request.form.get("client_id"), (attachment,))


@api.get("/livechat/api/attachment/<int:blob_id>")
def attachment(blob_id: int):  # type: ignore[no-untyped-def]
    if blob_id > MAX_ID:
        return _error(404, "no such attachment")
    svc = _services()
    store = svc.bot.store
    with svc._lock:
        blob = blobs.get(store.conn, blob_id)
        owner = None
        if blob is not None:
            row = store.conn.execute("SELECT customer, channel FROM conversations WHERE id = ?",
                                             (blob.conversation_id,)).fetchone()
            owner = (row[0], row[1]) if row else None
    if blob is None or owner != (g.visitor, "web"):
        return _error(404, "no such attachment")  # another visitor's file does not exist for this one
    resp = Response(blob.data, mimetype=blob.content_type if blob.content_type in UPLOAD_TYPES else
                    "application/octet-stream")
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


# -- typing, read marks, contact -------------------------------------------------------------------
def _current_conversation_id(store) -> int | None:  # type: ignore[no-untyped-def]
    row = store.conn.execute(
        "SELECT id FROM conversations WHERE channel = 'web' AND customer = ? AND state != 'closed' "
        "ORDER BY id DESC LIMIT 1", (g.visitor,)).fetchone()
    return int(row[0]) if row else None


@api.post("/livechat/api/typing")
def typing():  # type: ignore[no-untyped-def]
    data = json_or_empty()
    svc = _services()
    now = svc.now()
    store = svc.bot.store
    with svc._lock:
        conv_id = _current_conversation_id(store)
        if conv_id is not None and not lc.typing_unchanged(store.conn, conv_id, bool(data.get("typing")), now):
            with store.write(now) as tx:
                lc.set_typing(tx, conv_id, g.visitor, "customer", None, bool(data.get("typing")))
    return Response(status=204)


@api.post("/livechat/api/read")
def read():  # type: ignore[no-untyped-def]
    data = json_or_empty()
    up_to = data.get("up_to")
    if not isinstance(up_to, int) or isinstance(up_to, bool) or not 0 <= up_to <= MAX_ID:
        return _error(400, 'send {"up_to": <message id>}')
    svc = _services()
    store = svc.bot.store
    with svc._lock, store.write(svc.now()) as tx:
        lc.mark_read(tx, g.visitor, up_to)
    return Response(status=204)
