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
        meta = {"outbox_id": outbox_id} | _copies_while_away(tx, conv, text, ticket_ref, email_address)
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


def _copies_while_away(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None,
                       from_address: str) -> dict[str, int]:
    """A live-chat visitor who has left the page gets the message also where they proved
    they can be reached (the widget shows it when they come back): by email, threaded,
    and on WhatsApp as free text while its 24-hour window is open. The outbox ids, by kind."""
    from handoff.livechat import away, visitor
    from handoff.outbox import _window_open
    from handoff.records import parse_iso

    now = parse_iso(tx.now)
    v = visitor(tx.conn, conv.customer)
    if v is None or not away(v, now):
        return {}
    copies: dict[str, int] = {}
    if v.email and v.email_verified:
        copies["email_copy"] = _email_copy(tx, conv, v.email, text, ticket_ref, from_address)
    if v.phone_e164 and v.phone_verified and _window_open(tx.conn, v.phone_e164, now):
        from bot.channels.whatsapp import split_text

        target = replace(conv, channel="whatsapp", customer=v.phone_e164)
        copies["whatsapp_copy"] = [tx.enqueue_outbound(target, part, ticket_ref=ticket_ref)
                                   for part in split_text(text)][0]
    return copies


def _email_copy(tx: Transaction, conv: Conversation, address: str, text: str, ticket_ref: str | None,
                from_address: str) -> int:
    from handoff.records import _has_table

    subject = f"Yessindo: balasan live chat ({ticket_ref})" if ticket_ref else "Yessindo: balasan live chat"
    footer = ("\n\n—\nBalasan untuk percakapan Kakak di live chat Yessindo. Buka kembali live chat di situs kami "
              "untuk melanjutkan, atau balas email ini.")
    # the copies of one conversation form one thread in the visitor's mailbox
    previous = tx.conn.execute(
        "SELECT e.message_id FROM outbox o JOIN email_outbound e ON e.outbox_id = o.id WHERE o.conversation_id = ? "
        "AND o.channel = 'email' AND o.customer = ? AND e.subject LIKE 'Yessindo: balasan live chat%' "
        "ORDER BY o.id DESC LIMIT 1", (conv.id, address)).fetchone() if _has_table(tx.conn, "email_outbound") else None
    return queue_email_copy(tx, conv, address, text + footer, ("Re: " + subject) if previous else subject,
                            from_address=from_address, ticket_ref=ticket_ref,
                            in_reply_to=previous[0] if previous else None)


def queue_email_copy(tx: Transaction, conv: Conversation, address: str, text: str, subject: str, *,
                     from_address: str, ticket_ref: str | None = None, in_reply_to: str | None = None) -> int:
    """Email `address`, a customer of this conversation reached on another channel, without
    adding a message to the conversation: a copy of one already recorded, or a code."""
    target = replace(conv, channel="email", customer=address.strip().lower())
    return _queue_email(tx, target, text, ticket_ref, from_address, in_reply_to, subject)


def queue_email_to(tx: Transaction, conv: Conversation, address: str, text: str, ticket_ref: str | None, *,
                   author: str, email_address: str) -> int:
    """Email a customer of another channel (a WhatsApp customer whose 24-hour window has
    closed) at an address they gave us. The message stays in their conversation."""
    subject = f"Yessindo: tiket {ticket_ref}" if ticket_ref else "Yessindo"
    outbox_id = queue_email_copy(tx, conv, address, text, subject, from_address=email_address, ticket_ref=ticket_ref)
    tx.add_message(conv, "out", text, author=author,
                   meta={"outbox_id": outbox_id, "via": "email", "to": address.strip().lower()})
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
