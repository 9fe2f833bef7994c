"""WhatsApp through Twilio: the webhook form in, TwiML out. No Flask here.

Twilio posts `application/x-www-form-urlencoded` fields (From, To, Body, MessageSid,
ProfileName, WaId, NumMedia, MediaUrlN, MediaContentTypeN, Latitude/Longitude...).
Every field is kept in `Message.meta`, including ones Twilio adds later.
"""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Mapping


from bot.models import Attachment, Message, Reply

# Twilio refuses a WhatsApp body over 1,600 characters.
MAX_BODY = 1600
_META_SKIP = {"Body", "From", "To", "MessageSid", "SmsMessageSid", "SmsSid", "AccountSid", "ApiVersion"}


def strip_prefix(address: str) -> str:
    """"whatsapp:+6281234567890" -> "+6281234567890"."""
    return address.split(":", 1)[1] if address.startswith("whatsapp:") else address


def parse_form(form: Mapping[str, str], received_at: datetime) -> Message:
    """The normalised `Message` for one incoming-message webhook."""
    customer = strip_prefix(form.get("From", "")).strip()
    attachments: list[Attachment] = []
    try:
        num_media = max(0, min(int(form.get("NumMedia", "0") or 0), 20))
    except ValueError:
        num_media = 0
    for i in range(num_media):
        url = form.get(f"MediaUrl{i}")
        if url:
            attachments.append(Attachment(url=url, content_type=form.get(f"MediaContentType{i}")))
    if form.get("Latitude") and form.get("Longitude"):
        attachments.append(Attachment(url=f"geo:{form['Latitude']},{form['Longitude']}", content_type="location",
                                      filename=form.get("Address") or form.get("Label")))
    meta = tuple((k, v) for k, v in sorted(form.items()) if k not in _META_SKIP and v)
    return Message(
        channel="whatsapp",
        customer=customer,
        text=form.get("Body", "") or form.get("ButtonText", "") or "",
        received_at=received_at,
        external_id=form.get("MessageSid") or form.get("SmsMessageSid") or None,
        display_name=form.get("ProfileName") or None,
        attachments=tuple(attachments),
        meta=meta,
    )


def split_text(text: str, limit: int = MAX_BODY) -> list[str]:
    """Split a reply into parts of at most `limit` characters, at a paragraph, line,
    sentence or word boundary, in that order of preference."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for pattern in (r"\n\s*\n", r"\n", r"(?<=[.!?])\s", r"\s"):
            found = [m.end() for m in re.finditer(pattern, window)]
            found = [i for i in found if i > limit // 3]
            if found:
                cut = found[-1]
                break
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        parts.append(text)
    return parts


# Characters XML 1.0 cannot carry at all (a customer's pasted control bytes echoed back)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def twiml(replies: tuple[Reply, ...] | list[Reply]) -> str:
    """TwiML answering the webhook: one <Message> per part of each reply. Written directly
    (the same bytes as twilio's MessagingResponse, which builds an ElementTree per answer:
    a tenth of the webhook's time)."""
    messages = "".join(f"<Message>{_xml_text(part)}</Message>"
                       for reply in replies for part in split_text(reply.text))
    body = f"<Response>{messages}</Response>" if messages else "<Response />"
    return '<?xml version="1.0" encoding="UTF-8"?>' + body


def stored_answer(conn: sqlite3.Connection, sid: str) -> tuple[Reply, ...]:
    """The bot's answer recorded for the inbound message `sid`, to replay to Twilio's retry.

    Twilio retries a webhook whose answer it never got (worker killed after the commit,
    its 15 s timeout); the message is a duplicate by then, but the customer never saw the
    answer stored as sent. The answer is the bot's messages of the same transaction: same
    conversation, same timestamp, after the inbound row and before the customer's next
    message. An answer delivered through the outbox (`meta.outbox_id`) is not replayed:
    the outbox delivers it. Silenced or ignored messages have no answer: ()."""
    row = conn.execute("SELECT id, conversation_id, customer, created_at FROM messages "
                       "WHERE channel = 'whatsapp' AND direction = 'in' AND external_id = ?", (sid,)).fetchone()
    if row is None:
        return ()
    msg_id, conv_id, customer, at = row[0], row[1], row[2], row[3]
    upto = conn.execute("SELECT min(id) FROM messages WHERE conversation_id = ? AND direction = 'in' AND id > ?",
                        (conv_id, msg_id)).fetchone()[0]
    texts = conn.execute(
        "SELECT text FROM messages WHERE conversation_id = ? AND id > ? AND id < ? AND direction = 'out' "
        "AND author = 'bot' AND created_at = ? AND json_extract(coalesce(meta, '{}'), '$.outbox_id') IS NULL "
        "ORDER BY id", (conv_id, msg_id, upto if upto is not None else 2**62, at)).fetchall()
    return tuple(Reply(text=t[0], channel="whatsapp", customer=customer, in_reply_to=sid) for t in texts)

