"""Read queries for the agent console (bot/web/console*.py): the queue page, one
conversation's transcript with delivery statuses, its events, who is viewing it.

Built to stay fast on a large store (100,000 tickets): the active queue walks the
partial index `idx_tickets_active_due` in due order with LIMIT/OFFSET, the other
statuses use `(status, due_at)`, "mine" uses `(agent, status)`; the extras of the rows
shown (last message) are fetched in one batched query, never one query per row; the
counts are per status on `(status, due_at)` (covering, no table reads).
Writes here are only the console's own bookkeeping (presence), in one short
transaction through `Store.write`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handoff.store import Store, Ticket, _ticket, parse_iso, utc_iso

PAGE_SIZE = 50
STATUS_FILTERS = ("active", "open", "claimed", "resolved", "snoozed")
# Snoozed ("menunggu pelanggan", bot/desk_triage.py): out of the active queue until the
# customer writes or the time comes; found by the partial index idx_tickets_snoozed.
_SNOOZED = "(snoozed_by IS NOT NULL AND (snoozed_until IS NULL OR snoozed_until > ?))"
CHANNELS = ("whatsapp", "email")
PRESENCE_WINDOW = timedelta(seconds=15)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "active"  # active = open + claimed
    channel: str | None = None
    intent: str | None = None
    mine: str | None = None  # an agent name: only the tickets this agent holds
    page: int = 1
    label: str | None = None  # only tickets with this label (index ticket_labels(label, ticket_id))
    now: str = ""  # UTC ISO: a snooze that ended before it is over

    def where(self) -> tuple[str, list[Any], str]:
        """SQL condition, parameters and ORDER BY for this filter."""
        conds: list[str] = []
        params: list[Any] = []
        if self.status == "active" and self.mine:
            # One agent's tickets: few, found by (agent, status), then sorted.
            conds.append("status IN ('open', 'claimed')")
        elif self.status == "active":
            # Written exactly as the partial index's condition, so SQLite uses it.
            conds.append("status != 'resolved'")
        elif self.status == "snoozed":
            conds.append("status != 'resolved' AND " + _SNOOZED)
            params.append(self.now)
        else:
            conds.append("status = ?")
            params.append(self.status)
        if self.mine:
            conds.append("agent = ?")
            params.append(self.mine)
        if self.channel:
            conds.append("channel = ?")
            params.append(self.channel)
        if self.intent:
            conds.append("intent = ?")
            params.append(self.intent)
        if self.status == "active":
            conds.append("NOT " + _SNOOZED)
            params.append(self.now)
        if self.label:
            conds.append("id IN (SELECT ticket_id FROM ticket_labels WHERE label = ?)")
            params.append(self.label)
        # Unresolved: who must be answered first. Resolved: the most recent first.
        order = "due_at DESC, id DESC" if self.status == "resolved" else "due_at, id"
        return " AND ".join(conds), params, order


@dataclass(frozen=True)
class LastMessage:
    id: int
    direction: str
    author: str | None
    text: str
    created_at: datetime
    attachments: int = 0


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    last: LastMessage | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_next: bool
    counts: dict[str, int] = field(default_factory=dict)  # open, claimed, active, mine


# The columns the queue needs (never `details`' big attachments list twice, never summary).
_QUEUE_COLUMNS = ("id, ref, conversation_id, channel, customer, intent, priority, status, agent, due_at, created_at, "
                  "details, first_response_due, first_response_at, resolution_due, resolved_at, csat, reply_since, reply_due")


def queue_page(store: Store, f: QueueFilter, page_size: int = PAGE_SIZE) -> QueuePage:
    where, params, order = f.where()
    page = max(1, f.page)
    rows = store.conn.execute(
        f"SELECT {_QUEUE_COLUMNS} FROM tickets WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        (*params, page_size + 1, (page - 1) * page_size)).fetchall()
    has_next = len(rows) > page_size
    tickets = [_ticket(r) for r in rows[:page_size]]
    last = last_messages(store, [t.conversation_id for t in tickets])
    labels = ticket_labels(store, [t.id for t in tickets])
    return QueuePage([QueueRow(t, last.get(t.conversation_id), tuple(labels.get(t.id, ()))) for t in tickets],
                     page, has_next, status_counts(store, f.mine, f.now))


def ticket_labels(store: Store, ticket_ids: list[int]) -> dict[int, list[str]]:
    """The labels of the rows shown, in one query on the key (ticket_id, label)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    out: dict[int, list[str]] = {}
    for tid, label in store.conn.execute(
            f"SELECT ticket_id, label FROM ticket_labels WHERE ticket_id IN ({','.join('?' * len(ids))}) "
            "ORDER BY ticket_id, label COLLATE NOCASE", ids):
        out.setdefault(tid, []).append(label)
    return out


def status_counts(store: Store, agent: str | None = None, now: str = "") -> dict[str, int]:
    """Open and claimed tickets (and how many this agent holds), snoozed ones apart as the
    queue shows them (`now`: UTC ISO; without it nothing counts as snoozed): index-only counts."""
    conn = store.conn
    counts = {s: conn.execute("SELECT count(*) FROM tickets WHERE status = ?", (s,)).fetchone()[0]
              for s in ("open", "claimed")}
    snoozed = {s: 0 for s in ("open", "claimed")}
    if now:  # few rows, through the partial index idx_tickets_snoozed
        for status, agent_, n in conn.execute(
                f"SELECT status, agent, count(*) FROM tickets WHERE {_SNOOZED} AND status != 'resolved' "
                "GROUP BY status, agent", (now,)):
            if status in snoozed:
                snoozed[status] += n
                if agent and agent_ == agent:
                    snoozed.setdefault("mine", 0)
                    snoozed["mine"] += n
    for s in ("open", "claimed"):
        counts[s] -= snoozed[s]
    counts["active"] = counts["open"] + counts["claimed"]
    counts["snoozed"] = snoozed["open"] + snoozed["claimed"]
    if agent:
        counts["mine"] = conn.execute("SELECT count(*) FROM tickets WHERE agent = ? AND status = 'claimed'",
                                      (agent,)).fetchone()[0] - snoozed.get("mine", 0)
    return counts


def last_messages(store: Store, conversation_ids: list[int]) -> dict[int, LastMessage]:
    """The latest message of each conversation written by a person (the customer or an
    agent: the bot's own answers say little about what is waiting), in one query on the
    index (conversation_id, id)."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = store.conn.execute(
        "SELECT id, conversation_id, direction, author, text, created_at, attachments FROM messages WHERE id IN "
        f"(SELECT max(id) FROM messages WHERE conversation_id IN ({marks}) "
        "AND NOT (direction = 'out' AND coalesce(author, 'bot') = 'bot') GROUP BY conversation_id)", ids).fetchall()
    return {r["conversation_id"]: LastMessage(r["id"], r["direction"], r["author"], r["text"] or "",
                                              parse_iso(r["created_at"]),  # type: ignore[arg-type]
                                              len(_json_list(r["attachments"])))
            for r in rows}


# -- one conversation -------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str  # in | out
    author: str  # customer | bot | <agent name>
    text: str
    created_at: datetime
    attachments: list[dict[str, Any]]
    meta: dict[str, Any]
    outbox_id: int | None = None
    delivery: str | None = None  # the outbox row's status (pending, sent, delivered, read, failed...)
    error_code: str | None = None
    last_error: str | None = None
    kind: str | None = None  # text | template (outbox)


_MESSAGE_SQL = (
    "SELECT m.id, m.direction, m.author, m.text, m.created_at, m.attachments, m.meta, "
    "o.id AS outbox_id, o.status AS delivery, o.error_code, o.last_error, o.kind "
    "FROM messages m LEFT JOIN outbox o ON m.direction = 'out' "
    "AND o.id = CAST(json_extract(m.meta, '$.outbox_id') AS INTEGER) "
)


def _message(r: Any) -> MessageView:
    meta = _json_dict(r["meta"])
    return MessageView(
        id=r["id"], direction=r["direction"], author=r["author"] or ("customer" if r["direction"] == "in" else "bot"),
        text=r["text"] or "", created_at=parse_iso(r["created_at"]),  # type: ignore[arg-type]
        attachments=_json_list(r["attachments"]), meta=meta, outbox_id=r["outbox_id"], delivery=r["delivery"],
        error_code=r["error_code"], last_error=r["last_error"], kind=r["kind"])


def transcript(store: Store, conversation_id: int, after: int = 0, limit: int = 2000) -> list[MessageView]:
    """The conversation's messages after message id `after`, oldest first, with the
    outbox row (delivery status) of each queued outbound message."""
    rows = store.conn.execute(_MESSAGE_SQL + "WHERE m.conversation_id = ? AND m.id > ? ORDER BY m.id LIMIT ?",
                              (conversation_id, after, limit)).fetchall()
    return [_message(r) for r in rows]


def deliveries(store: Store, conversation_id: int) -> list[MessageView]:
    """Every outbound message of the conversation that went through the outbox (for
    refreshing delivery statuses while the page is open)."""
    rows = store.conn.execute(
        _MESSAGE_SQL + "WHERE m.conversation_id = ? AND m.direction = 'out' AND o.id IS NOT NULL ORDER BY m.id",
        (conversation_id,)).fetchall()
    return [_message(r) for r in rows]


def conversation_tickets(store: Store, conversation_id: int) -> list[Ticket]:
    rows = store.conn.execute("SELECT * FROM tickets WHERE conversation_id = ? ORDER BY id", (conversation_id,))
    return [_ticket(r) for r in rows]


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    actor: str
    ticket_ref: str | None
    data: dict[str, Any]


def ticket_events(store: Store, ticket: Ticket, limit: int = 500) -> list[EventView]:
    """What happened to this ticket (and to its conversation without a ticket named),
    oldest first."""
    rows = store.conn.execute(
        "SELECT id, at, kind, actor, ticket_ref, data FROM events WHERE conversation_id = ? "
        "AND (ticket_ref = ? OR ticket_ref IS NULL) ORDER BY id LIMIT ?",
        (ticket.conversation_id, ticket.ref, limit)).fetchall()
    return [EventView(r["id"], parse_iso(r["at"]), r["kind"], r["actor"], r["ticket_ref"],  # type: ignore[arg-type]
                      _json_dict(r["data"])) for r in rows]


# -- presence ---------------------------------------------------------------------------------
def touch_presence(store: Store, now: datetime, conversation_id: int, agent: str) -> None:
    with store.write(now) as tx:
        tx.conn.execute(
            "INSERT INTO presence (conversation_id, agent, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT (conversation_id, agent) DO UPDATE SET seen_at = excluded.seen_at",
            (conversation_id, agent, tx.now))


def viewers(store: Store, conversation_id: int, now: datetime, exclude: str | None = None,
            window: timedelta = PRESENCE_WINDOW) -> list[str]:
    """The agents who had this conversation open in the last `window` (but `exclude`)."""
    rows = store.conn.execute(
        "SELECT agent FROM presence WHERE conversation_id = ? AND seen_at >= ? AND agent != ? ORDER BY agent",
        (conversation_id, utc_iso(now - window), exclude or "")).fetchall()
    return [r[0] for r in rows]


# -- agents -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentRecord:
    name: str
    role: str
    password_hash: str


def agent_record(store: Store, name: str) -> AgentRecord | None:
    if not name:
        return None
    row = store.conn.execute("SELECT name, role, password_hash FROM agents WHERE name = ?", (name,)).fetchone()
    return AgentRecord(row[0], row[1], row[2]) if row else None


# -- helpers ----------------------------------------------------------------------------------
def _json_list(value: str | None) -> list[Any]:
    try:
        data = json.loads(value or "[]")
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def _json_dict(value: str | None) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
