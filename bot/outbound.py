"""Queue a person's message to a customer on the customer's own channel, through the
outbox, inside the caller's transaction."""
from __future__ import annotations

import json

from handoff.store import Conversation, Transaction


def queue_message(tx: Transaction, conv: Conversation, text: str, ticket_ref: str | None, *,
                  author: str, email_address: str) -> int:
    """Record the message and queue it: WhatsApp as free text (the sender refuses it
    outside the 24-hour window), email threaded on the customer's last mail, without
    Auto-Submitted (a person wrote it)."""
    if conv.channel != "email":
        outbox_id = tx.enqueue_outbound(conv, text, ticket_ref=ticket_ref)
    else:
        from bot.channels.email_smtp import create_schema, queue_reply
        from bot.pipeline import reply_subject

        create_schema(tx.conn)
        last = tx.conn.execute(
            "SELECT external_id, meta FROM messages WHERE conversation_id = ? AND direction = 'in' "
            "ORDER BY id DESC LIMIT 1", (conv.id,)).fetchone()
        in_reply_to = last[0] if last else None
        subject = json.loads(last[1] or "{}").get("subject") if last else None
        outbox_id = queue_reply(tx, conv, text, ticket_ref=ticket_ref, from_address=email_address,
                                in_reply_to=in_reply_to, references=[], subject=reply_subject(subject, ticket_ref),
                                auto=False)
    tx.add_message(conv, "out", text, author=author, meta={"outbox_id": outbox_id})
    return outbox_id
