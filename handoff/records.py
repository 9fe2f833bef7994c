"""The records the store hands out (conversations and tickets as frozen dataclasses),
how rows become records, and the time format of the database (UTC ISO 8601 text,
which sorts as text)."""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any

PRIORITIES = ("normal", "complex", "escalation")
TICKET_STATUSES = ("open", "claimed", "resolved")
CONVERSATION_STATES = ("bot", "human", "closed")


# json.dumps(value, ensure_ascii=False) builds a new encoder each call; one kept here
# writes the same text (the pipeline writes several JSON columns per message).
dump_json = json.JSONEncoder(ensure_ascii=False).encode


@lru_cache(maxsize=256)
def utc_iso(t: datetime) -> str:
    """Kept for the last instants seen: one message's records name its time a dozen times."""
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Conversation:
    id: int
    channel: str
    customer: str
    state: str
    agent: str | None
    lang: str
    unknown_streak: int
    menu_shown: bool
    created_at: datetime
    last_inbound_at: datetime | None
    display_name: str | None = None
    csat_ticket: str | None = None  # the ticket whose satisfaction question awaits an answer
    csat_asked_at: datetime | None = None
    dialogue: str | None = None  # the conversation state as JSON (bot/dialogue/state.py)


@dataclass(frozen=True)
class Ticket:
    id: int
    ref: str
    conversation_id: int
    channel: str
    customer: str
    intent: str
    priority: str
    status: str
    agent: str | None
    due_at: datetime
    created_at: datetime
    details: dict[str, Any]
    # SLA timers (handoff/sla.py): `due_at` is the next unmet deadline (first response,
    # then resolution), so the queue sorts by it; both promises are kept separately.
    first_response_due: datetime | None = None
    first_response_at: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    csat: int | None = None
    summary: str = ""
    # After the first response, a customer message waiting for a person's answer: the
    # channel's response promise counts again from `reply_since` (the next-reply timer).
    reply_since: datetime | None = None
    reply_due: datetime | None = None
    topic: str | None = None  # inside the category (knowledge/topics.toml), when the bot could tell

    def as_json(self, tz: Any = None) -> dict[str, Any]:
        """The shape `queue list --json` prints."""
        def show(t: datetime) -> str:
            return (t.astimezone(tz) if tz else t).isoformat(timespec="seconds")

        return {
            "ref": self.ref,
            "channel": self.channel,
            "customer": self.customer,
            "intent": self.intent,
            "topic": self.topic,
            "priority": self.priority,
            "status": self.status,
            "agent": self.agent,
            "due_at": show(self.due_at),
            "created_at": show(self.created_at),
            "first_response_due": show(self.first_response_due) if self.first_response_due else None,
            "first_response_at": show(self.first_response_at) if self.first_response_at else None,
            "resolution_due": show(self.resolution_due) if self.resolution_due else None,
            "resolved_at": show(self.resolved_at) if self.resolved_at else None,
            "reply_due": show(self.reply_due) if self.reply_due else None,
            "csat": self.csat,
            "details": self.details,
        }


TICKET_REF_RE = re.compile(r"\b(YS-\d{6})\b", re.IGNORECASE)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def ticket_ref(ticket_id: int) -> str:
    return f"YS-{ticket_id:06d}"


def _conversation(row: sqlite3.Row | dict[str, Any]) -> Conversation:
    return Conversation(
        id=row["id"], channel=row["channel"], customer=row["customer"], state=row["state"],
        agent=row["agent"], lang=row["lang"], unknown_streak=row["unknown_streak"],
        menu_shown=bool(row["menu_shown"]), created_at=parse_iso(row["created_at"]),  # type: ignore[arg-type]
        last_inbound_at=parse_iso(row["last_inbound_at"]),
        display_name=row["display_name"],
        csat_ticket=row["csat_ticket"] if "csat_ticket" in row.keys() else None,
        csat_asked_at=parse_iso(row["csat_asked_at"]) if "csat_asked_at" in row.keys() else None,
        dialogue=row["dialogue"] if "dialogue" in row.keys() else None,
    )


def _ticket(row: sqlite3.Row | dict[str, Any]) -> Ticket:
    keys = row.keys()

    def opt(name: str) -> Any:
        return row[name] if name in keys else None

    return Ticket(
        id=row["id"], ref=row["ref"], conversation_id=row["conversation_id"], channel=row["channel"],
        customer=row["customer"], intent=row["intent"], priority=row["priority"], status=row["status"],
        agent=row["agent"], due_at=parse_iso(row["due_at"]),  # type: ignore[arg-type]
        created_at=parse_iso(row["created_at"]),  # type: ignore[arg-type]
        details=json.loads(row["details"] or "{}"),
        first_response_due=parse_iso(opt("first_response_due")), first_response_at=parse_iso(opt("first_response_at")),
        resolution_due=parse_iso(opt("resolution_due")), resolved_at=parse_iso(opt("resolved_at")),
        csat=opt("csat"), summary=opt("summary") or "",
        reply_since=parse_iso(opt("reply_since")), reply_due=parse_iso(opt("reply_due")), topic=opt("topic"),
    )
