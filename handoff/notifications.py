"""What waits for one agent (issue 12, item 7): the console's bell, the tab title and the
browser notifications are built from `pending()`.

Four kinds, each found through an index, so a poll every few seconds stays cheap:
- `mention` / `assigned`: unread rows in `notifications` (written by handoff/notes.py and
  bot/desk_assign.py: a colleague or the round robin gave the agent a ticket), (agent, id);
- `ticket`: tickets new in the queue (open, unassigned or given to this agent) since the
  agent last looked (`notification_marks.tickets_seen`, a ticket id), tickets(status, due_at);
- `message`: customer messages not yet answered in tickets the agent holds,
  tickets(agent, status) then messages(conversation_id, id) walked backwards;
- `sla`: tickets held by the agent or unassigned whose running promise is at risk
  (handoff/sla.py), found among the unresolved tickets due soon (idx_tickets_active_due).
The count (bell and tab title) is unread mentions and assignments + new tickets + waiting messages;
at-risk promises are listed and ring, but are not "unread". Texts are short previews:
a mention's note excerpt; never a customer's message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handoff.sla import Calendar, sla_view
from handoff.store import Store, _ticket, parse_iso, utc_iso

LIMIT = 50  # rows per kind: the list shows the newest, the count says "50+" past it
SLA_HORIZON = timedelta(days=14)  # at risk = little opening time left; a long holiday spans days of wall time


@dataclass(frozen=True)
class Item:
    key: str  # stable per thing that waits: the browser rings once per new key
    kind: str  # mention | assigned | ticket | message | sla
    ref: str
    at: datetime
    actor: str | None = None
    text: str = ""
    unread: bool = True
    id: int = 0  # the notification id (mention) or the newest waiting message id (message)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    items: list[Item]
    counts: dict[str, int]
    latest_message: int  # the newest message id when this was read (the browser's "old" mark)

    @property
    def count(self) -> int:
        return self.counts["mention"] + self.counts.get("assigned", 0) + self.counts["ticket"] + self.counts["message"]


def pending(store: Store, now: datetime, calendar: Calendar, agent: str, role: str = "agent") -> Pending:
    """Everything that waits for `agent` now, newest first within each kind."""
    conn = store.conn
    items: list[Item] = []
    counts = {"mention": 0, "ticket": 0, "message": 0, "sla": 0}

    rows = conn.execute("SELECT id, kind, ticket_ref, actor, text, created_at FROM notifications "
                        "WHERE agent = ? AND kind IN ('mention', 'assigned') AND read_at IS NULL ORDER BY id DESC LIMIT ?",
                        (agent, LIMIT)).fetchall()
    counts["mention"] = sum(1 for r in rows if r["kind"] == "mention")
    counts["assigned"] = len(rows) - counts["mention"]
    items += [Item(f"m{r['id']}", r["kind"], r["ticket_ref"] or "", parse_iso(r["created_at"]),  # type: ignore[arg-type]
                   actor=r["actor"], text=r["text"] or "", id=r["id"]) for r in rows]

    seen = seen_ticket(store, agent)
    escalations = "" if role == "supervisor" else " AND priority != 'escalation'"
    rows = conn.execute(f"SELECT id, ref, intent, channel, created_at FROM tickets WHERE status = 'open' "
                        f"AND (agent IS NULL OR agent = ?) AND id > ?{escalations} ORDER BY id DESC LIMIT ?",
                        (agent, seen, LIMIT)).fetchall()
    counts["ticket"] = len(rows)
    items += [Item(f"t{r['ref']}", "ticket", r["ref"], parse_iso(r["created_at"]),  # type: ignore[arg-type]
                   extra={"intent": r["intent"], "channel": r["channel"]}) for r in rows]

    for t in conn.execute("SELECT ref, conversation_id FROM tickets WHERE agent = ? AND status = 'claimed' "
                          "ORDER BY id LIMIT 200", (agent,)).fetchall():
        waiting = _waiting_messages(store, t["conversation_id"])
        if waiting:
            n, newest, at = waiting
            counts["message"] += n
            items.append(Item(f"c{t['ref']}:{newest}", "message", t["ref"], at, id=newest, extra={"messages": n}))

    for ticket, state_label in _at_risk(store, now, calendar, agent, role):
        counts["sla"] += 1
        items.append(Item(f"s{ticket.ref}:{state_label[0]}", "sla", ticket.ref, ticket.due_at, unread=False,
                          text=state_label[1]))

    latest = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
    return Pending(items, counts, int(latest))


def _waiting_messages(store: Store, conversation_id: int) -> tuple[int, int, datetime] | None:
    """(how many, the newest id, its time) of the customer's messages after the last answer
    a person gave (the bot is silent while an agent holds the conversation)."""
    conn = store.conn
    answered = conn.execute("SELECT id FROM messages WHERE conversation_id = ? AND direction = 'out' "
                            "AND coalesce(author, 'bot') != 'bot' ORDER BY id DESC LIMIT 1",
                            (conversation_id,)).fetchone()
    since = answered[0] if answered else 0
    rows = conn.execute("SELECT id, created_at FROM messages WHERE conversation_id = ? AND id > ? "
                        "AND direction = 'in' ORDER BY id DESC LIMIT 100", (conversation_id, since)).fetchall()
    if not rows:
        return None
    return len(rows), int(rows[0]["id"]), parse_iso(rows[0]["created_at"])  # type: ignore[return-value]


def _at_risk(store: Store, now: datetime, calendar: Calendar, agent: str, role: str) -> list[tuple[Any, tuple[str, str]]]:
    """Tickets held by the agent (or unassigned) whose running promise is at risk now."""
    # `+agent`: walk the unresolved tickets by due time (idx_tickets_active_due), not every
    # unassigned ticket through the agent index
    escalations = "" if role == "supervisor" else " AND (+agent = ? OR priority != 'escalation')"
    params: list[Any] = [utc_iso(now), utc_iso(now + SLA_HORIZON), agent]
    if escalations:
        params.append(agent)
    rows = store.conn.execute(
        "SELECT * FROM tickets WHERE status != 'resolved' AND due_at > ? AND due_at <= ? "
        f"AND (+agent IS NULL OR +agent = ?){escalations} ORDER BY due_at, id LIMIT ?", [*params, LIMIT]).fetchall()
    found = []
    for row in rows:
        ticket = _ticket(row)
        view = sla_view(ticket, now, calendar)
        if view.state == "at_risk":
            found.append((ticket, (view.phase, view.label)))
    return found


def seen_ticket(store: Store, agent: str) -> int:
    row = store.conn.execute("SELECT tickets_seen FROM notification_marks WHERE agent = ?", (agent,)).fetchone()
    return int(row[0]) if row else 0


def mark_read(store: Store, now: datetime, agent: str, *, ids: list[int] | None = None, ref: str | None = None,
              everything: bool = False) -> int:
    """Mark mentions read: these ids, those on one ticket, or all; `everything` also says the
    agent has looked at the queue's new tickets. Returns how many mentions changed."""
    with store.write(now) as tx:
        sql = "UPDATE notifications SET read_at = ? WHERE agent = ? AND read_at IS NULL"
        params: list[Any] = [tx.now, agent]
        if ids is not None and not everything:
            ids = [int(i) for i in ids][:500]
            if not ids:
                return 0
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params += ids
        elif ref is not None and not everything:
            sql += " AND ticket_ref = ?"
            params.append(ref.upper())
        changed = tx.conn.execute(sql, params).rowcount
        if everything:
            newest = tx.conn.execute("SELECT coalesce(max(id), 0) FROM tickets").fetchone()[0]
            tx.conn.execute("INSERT INTO notification_marks (agent, tickets_seen, seen_at) VALUES (?, ?, ?) "
                            "ON CONFLICT(agent) DO UPDATE SET tickets_seen = excluded.tickets_seen, "
                            "seen_at = excluded.seen_at", (agent, newest, tx.now))
    return int(changed)
