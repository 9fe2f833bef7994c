"""Queue a person's message to a customer, through the outbox, inside the caller's
transaction: on the customer's own channel, as a WhatsApp template, or by email to an
address a WhatsApp customer gave us."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from handoff.store import Conversation, Transaction


def queue_message(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None, *,
                  author: str, email_address: str) -> int:
    """Record the message and queue it: WhatsApp as free text (the sender refuses it
    outside the 24-hour window), email threaded on the customer's last mail, without
    Auto-Submitted (a person wrote it). Live chat (`web`) needs no sender: the message
    is stored and the widget's live stream delivers it; its outbox row only records the
    delivery state ("sent", then "read" when the visitor has seen it)."""
    if conv.channel == "web":
        outbox_id = tx.enqueue_outbound(conv, text, ticket_ref=ticket_ref)
        tx.conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, provider_id = ? WHERE id = ?",
                        (tx.now, f"web-{outbox_id}", outbox_id))
        meta: dict[str, Any] = {"outbox_id": outbox_id}
        copy = _away_copy(tx, conv, text, ticket_ref, email_address)
        if copy is not None:
            meta["email_copy"] = copy
        wa_copy = _away_whatsapp(tx, conv, text, ticket_ref)
        if wa_copy is not None:
            meta["whatsapp_copy"] = wa_copy
        tx.add_message(conv, "out", text, author=author, meta=meta)
        return outbox_id
    if conv.channel != "email":
        # WhatsApp takes at most 1,600 characters a message (Twilio error 21617): a long
        # answer goes as several, split at paragraph / sentence / word boundaries.
        from bot.channels.whatsapp import split_text

        ids = [tx.enqueue_outbound(conv, part, ticket_ref=ticket_ref) for part in split_text(text)]
        tx.add_message(conv, "out", text, author=author,
                       meta={"outbox_id": ids[0]} | ({"outbox_ids": ids} if len(ids) > 1 else {}))
        return ids[0]
    else:
        last = tx.conn.execute(
            "SELECT external_id, meta FROM messages WHERE conversation_id = ? AND direction = 'in' "
            "ORDER BY id DESC LIMIT 1", (conv.id,)).fetchone()
        in_reply_to = last[0] if last else None
        subject = json.loads(last[1] or "{}").get("subject") if last else None
        from bot.pipeline import reply_subject

        outbox_id = _queue_email(tx, conv, text, ticket_ref, email_address, in_reply_to,
                                 reply_subject(subject, ticket_ref))
    tx.add_message(conv, "out", text, author=author, meta={"outbox_id": outbox_id})
    return outbox_id


def _away_copy(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None, from_address: str) -> int | None:
    """A live-chat visitor who has left the page and proved an email address gets the
    message there too (the widget shows it when they come back)."""
    from handoff.livechat import away, visitor
    from handoff.records import parse_iso

    v = visitor(tx.conn, conv.customer)
    if v is None or not v.email or not v.email_verified or not away(v, parse_iso(tx.now)):
        return None
    subject = f"Yessindo: balasan live chat ({ticket_ref})" if ticket_ref else "Yessindo: balasan live chat"
    footer = ("\n\n—\nBalasan untuk percakapan Kakak di live chat Yessindo. Buka kembali live chat di situs kami "
              "untuk melanjutkan, atau balas email ini.")
    # the copies of one conversation form one thread in the visitor's mailbox
    previous = tx.conn.execute(
        "SELECT e.message_id FROM outbox o JOIN email_outbound e ON e.outbox_id = o.id WHERE o.conversation_id = ? "
        "AND o.channel = 'email' AND o.customer = ? AND e.subject LIKE 'Yessindo: balasan live chat%' "
        "ORDER BY o.id DESC LIMIT 1", (conv.id, v.email)).fetchone() if _has_email_outbound(tx) else None
    target = replace(conv, channel="email", customer=v.email)
    return _queue_email(tx, target, text + footer, ticket_ref, from_address, previous[0] if previous else None,
                        ("Re: " + subject) if previous else subject)


def _away_whatsapp(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None) -> int | None:
    """A live-chat visitor who has left and proved a WhatsApp number (by writing to us from
    it) gets the message there too, as free text while WhatsApp's 24-hour window is open."""
    from handoff.livechat import away, visitor
    from handoff.livechat_proof import phone_proven
    from handoff.outbox import _window_open
    from handoff.records import parse_iso

    now = parse_iso(tx.now)
    v = visitor(tx.conn, conv.customer)
    number = phone_proven(tx.conn, conv.customer) if v is not None and away(v, now) else None
    if number is None or not _window_open(tx.conn, number, now):
        return None
    from bot.channels.whatsapp import split_text

    target = replace(conv, channel="whatsapp", customer=number)
    ids = [tx.enqueue_outbound(target, part, ticket_ref=ticket_ref) for part in split_text(text)]
    return ids[0]


def _has_email_outbound(tx: Transaction) -> bool:
    return tx.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'email_outbound'"
                           ).fetchone() is not None


def queue_email_copy(tx: Transaction, conv: Conversation, address: str, text: str, subject: str, *,
                     from_address: str) -> int:
    """Email `address` without adding a message to the conversation: a copy of one already
    recorded, or a verification code."""
    target = replace(conv, channel="email", customer=address.strip().lower())
    return _queue_email(tx, target, text, None, from_address, None, subject)


def queue_email_to(tx: Transaction, conv: Conversation, address: str, text: str, ticket_ref: str | None, *,
                   author: str, email_address: str) -> int:
    """Email a customer of another channel (a WhatsApp customer whose 24-hour window has
    closed) at an address they gave us. The message stays in their conversation."""
    target = replace(conv, channel="email", customer=address.strip().lower())
    subject = f"Yessindo: tiket {ticket_ref}" if ticket_ref else "Yessindo"
    outbox_id = _queue_email(tx, target, text, ticket_ref, email_address, None, subject)
    tx.add_message(conv, "out", text, author=author, meta={"outbox_id": outbox_id, "via": "email", "to": target.customer})
    return outbox_id


def queue_template(tx: Transaction, conv: Conversation, content_sid: str, variables: dict[str, Any],
                   shown_text: str, ticket_ref: str | None, *, author: str) -> int:
    """Send the approved WhatsApp template (allowed outside the 24-hour window)."""
    outbox_id = tx.enqueue_outbound(conv, shown_text, kind="template", ticket_ref=ticket_ref,
                                    content_sid=content_sid, content_variables=variables)
    tx.add_message(conv, "out", shown_text, author=author, meta={"outbox_id": outbox_id, "via": "template"})
    return outbox_id


def _queue_email(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None, from_address: str,
                 in_reply_to: str | None, subject: str) -> int:
    from bot.channels.email_smtp import create_schema, queue_reply

    create_schema(tx.conn)
    return queue_reply(tx, conv, text, ticket_ref=ticket_ref, from_address=from_address, in_reply_to=in_reply_to,
                       references=[], subject=subject, auto=False)
