"""Queue a person's message to a customer on the customer's own channel, through the
outbox, inside the caller's transaction."""
from __future__ import annotations

from typing import Any

from handoff.store import Conversation, Transaction


def queue_message(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None, *,
                  author: str, email_address: str) -> int:
    """Record the message and queue it: WhatsApp as free text (the sender refuses it
    outside the 24-hour window), email threaded on the customer's last mail, without
    Auto-Submitted (a person wrote it)."""
    outbox_id = tx.enqueue_outbound(conv, text, ticket_ref=ticket_ref)
    tx.add_message(conv, "out", text, author=author, meta={"outbox_id": outbox_id})
    if conv.channel == "email":
        from bot.channels.email_smtp import create_schema, new_message_id, references_for
        from bot.pipeline import reply_subject

        create_schema(tx.conn)
        last: Any = tx.conn.execute(
            "SELECT external_id, meta FROM messages WHERE conversation_id = ? AND direction = 'in' "
            "ORDER BY id DESC LIMIT 1", (conv.id,)).fetchone()
        import json

        in_reply_to = last[0] if last else None
        subject = json.loads(last[1] or "{}").get("subject") if last else None
        tx.conn.execute(
            "INSERT INTO email_outbound (outbox_id, message_id, in_reply_to, refs, subject, auto) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            (outbox_id, new_message_id(email_address), in_reply_to,
             " ".join(references_for(in_reply_to, [])) if in_reply_to else "", reply_subject(subject, ticket_ref)))
    return outbox_id
