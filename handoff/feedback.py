"""What customers told the shop about its service: complaints, praise and suggestions.

The pipeline logs `feedback.recorded` (praise, suggestions: thanked, no ticket) and
`complaint.recorded` (an apology and a ticket for the supervisors) with the message id;
the supervisors' dashboard lists the texts (newest first) with their ticket, so no
customer's words are lost in a thank-you.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from handoff.store import Store, parse_iso, utc_iso

KINDS = ("feedback.recorded", "complaint.recorded")


@dataclass(frozen=True)
class FeedbackItem:
    at: datetime
    kind: str  # "complaint", "praise", "suggestion" or "feedback" (no topic told)
    text: str
    channel: str
    ticket_ref: str | None


def recent_feedback(store: Store, since: datetime, limit: int = 50) -> list[FeedbackItem]:
    rows = store.conn.execute(
        "SELECT e.at, e.kind, e.data, e.ticket_ref, m.text, m.channel FROM events e "
        "JOIN messages m ON m.id = json_extract(e.data, '$.message_id') "
        "WHERE e.kind IN (?, ?) AND e.at >= ? ORDER BY e.id DESC LIMIT ?",
        (*KINDS, utc_iso(since), limit)).fetchall()
    items = []
    for at, kind, data, ref, text, channel in rows:
        topic = (json.loads(data or "{}") or {}).get("topic")
        label = "complaint" if kind == "complaint.recorded" else (topic or "feedback")
        items.append(FeedbackItem(parse_iso(at), label, text or "", channel, ref))  # type: ignore[arg-type]
    return items
