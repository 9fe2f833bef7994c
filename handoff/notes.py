"""Private notes on a ticket (issue 12, item 2): agents only, never sent.

A note is a row in `ticket_notes`; it never becomes a message or an outbox row, so no
channel can ever carry it to the customer. `@name` mentions of existing agents (case
does not matter; unknown names stay plain text) give each mentioned colleague, not
the author, a `mention` row in `notifications` in the same transaction. The audit
event `note.added` records who was mentioned, never the text. Any agent may note on any
ticket, also a resolved one. `forget` deletes notes and notifications with their
conversation (handoff/forget.py).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handoff.queue import QueueError, _locked_ticket, _require
from handoff.store import Store, parse_iso

MAX_NOTE = 4000
PREVIEW = 120  # characters of the note kept in a mention's notification (a short preview)
# `@name`: the characters an agent name may have (handoff.queue.add_agent); a trailing '.'
# or '-' ends the sentence, not the name
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9._-]+)")


@dataclass(frozen=True)
class Note:
    id: int
    ticket_ref: str
    author: str
    text: str
    mentions: list[str]
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "ticket_ref": self.ticket_ref, "author": self.author, "text": self.text,
                "mentions": self.mentions, "created_at": self.created_at.isoformat(timespec="seconds")}


def parse_mentions(text: str, agents: list[str]) -> list[str]:
    """The agents named `@name` in the text (their stored spelling, first mention first);
    names that are no agent are just text."""
    known = {a.lower(): a for a in agents}
    found: list[str] = []
    for m in _MENTION.finditer(text):
        name = m.group(1).rstrip(".-_").lower()
        agent = known.get(name) or known.get(m.group(1).lower())
        if agent and agent not in found:
            found.append(agent)
    return found


def preview(text: str, limit: int = PREVIEW) -> str:
    """One line, at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def add_note(store: Store, now: datetime, ref: str, author: str, text: str) -> Note:
    """Add a private note to the ticket; notify the agents it mentions. QueueError when the
    text is empty or too long, the ticket or the author does not exist."""
    text = (text or "").strip()
    if not text:
        raise QueueError("the note is empty", "Catatan kosong: tulis isinya dulu.")
    if len(text) > MAX_NOTE:
        raise QueueError(f"the note has {len(text)} characters; at most {MAX_NOTE}",
                         f"Catatan terlalu panjang ({len(text)} karakter; paling banyak {MAX_NOTE}).")
    _require(store, author)
    with store.write(now) as tx:
        ticket, conv = _locked_ticket(tx, ref)
        agents = [r[0] for r in tx.conn.execute("SELECT name FROM agents")]
        mentioned = [a for a in parse_mentions(text, agents) if a != author]
        cur = tx.conn.execute(
            "INSERT INTO ticket_notes (ticket_id, ticket_ref, conversation_id, author, text, mentions, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ticket.id, ticket.ref, conv.id, author, text, json.dumps(mentioned), tx.now))
        note_id = int(cur.lastrowid or 0)
        short = preview(text)
        for agent in mentioned:
            tx.conn.execute(
                "INSERT INTO notifications (agent, kind, ticket_ref, conversation_id, actor, text, created_at) "
                "VALUES (?, 'mention', ?, ?, ?, ?, ?)", (agent, ticket.ref, conv.id, author, short, tx.now))
        tx.log_event("note.added", author, conversation_id=conv.id, ticket_ref=ticket.ref,
                     data={"note_id": note_id, "mentions": mentioned})
    return Note(note_id, ticket.ref, author, text, mentioned, parse_iso(tx.now))  # type: ignore[arg-type]


def list_notes(store: Store, ref: str, after: int = 0, limit: int = 500) -> list[Note]:
    """The ticket's notes after note id `after`, oldest first."""
    rows = store.conn.execute(
        "SELECT id, ticket_ref, author, text, mentions, created_at FROM ticket_notes "
        "WHERE ticket_id = (SELECT id FROM tickets WHERE ref = ?) AND id > ? ORDER BY id LIMIT ?",
        (ref.upper(), after, limit)).fetchall()
    return [Note(r["id"], r["ticket_ref"], r["author"], r["text"], json.loads(r["mentions"] or "[]"),
                 parse_iso(r["created_at"])) for r in rows]  # type: ignore[arg-type]
