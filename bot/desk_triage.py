"""Triage of a ticket by the team: labels, the category and priority the bot chose,
reopening a resolved ticket, snoozing ("menunggu pelanggan").

Every change is one short write transaction and one audit event. Decisions:
- Labels are made and deleted by supervisors; any agent puts an existing label on a
  ticket or takes it off (several per ticket; the queue filters on `ticket_labels`).
- A new category or priority recomputes the SLA promises only in the customer's favour:
  each due becomes min(current due, the due the new category/priority would have had
  from the ticket's creation). A first response already given keeps its due (history).
  'escalation' is set only by `Desk.escalate` and an escalation's priority is not changed here.
- Reopen: open again, unheld, in the queue; the next-reply promise runs again from now.
- Snooze ("waiting for the customer") only when nothing is owed to the customer (a first
  response was given and no message waits for an answer). While snoozed, the ticket is out
  of the active queue and its resolution clock is paused: when it wakes (the customer writes,
  an agent un-snoozes, or the time passes) the resolution due moves on by the opening time
  it slept, so the team is not late for time spent waiting on the customer.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.business_hours import BusinessCalendar
from bot.desk_assign import Policy, balance, policy_of
from bot.dialogue.case import promise_span
from bot.knowledge import Knowledge
from handoff import queue
from handoff.queue import QueueError
from handoff.store import PRIORITIES, Store, Ticket, Transaction, _ticket, parse_iso, utc_iso

# Category choices: the six support categories and the other intents a ticket may carry.
CATEGORY_CHOICES = ("product", "order_status", "return_refund", "payment", "account", "feedback", "human", "unknown")
PRIORITY_CHOICES = ("normal", "complex")  # 'escalation' only through escalate
_LABEL = re.compile(r"^[0-9A-Za-z\u00C0-\u024F][0-9A-Za-z\u00C0-\u024F _.\-]{0,29}$")
MAX_LABELS = 200


def _require(store: Store, name: str) -> queue.Agent:
    found = queue.get_agent(store, name)
    if found is None:
        raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar.")
    return found


def _supervisor(store: Store, name: str) -> queue.Agent:
    who = _require(store, name)
    if who.role != "supervisor":
        raise QueueError("only a supervisor may do this", "Hanya supervisor yang dapat melakukan ini.")
    return who


def _not_someone_elses(ticket: Ticket, who: queue.Agent) -> None:
    """A ticket another agent holds is theirs to change (a supervisor may)."""
    if ticket.status == "claimed" and ticket.agent and ticket.agent != who.name and who.role != "supervisor":
        raise QueueError(f"{ticket.ref} is held by {ticket.agent}",
                         f"{ticket.ref} sedang ditangani oleh {ticket.agent}.")


# -- labels -------------------------------------------------------------------------------------
def clean_label(name: str) -> str:
    name = " ".join((name or "").split())
    if not _LABEL.match(name):
        raise QueueError("a label is 1-30 letters, digits, spaces, '.', '-' or '_'",
                         "Label: 1-30 huruf, angka, spasi, '.', '-' atau '_'.")
    return name


def all_labels(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT name FROM labels ORDER BY name COLLATE NOCASE")]


def label_usage(store: Store) -> dict[str, int]:
    """How many tickets carry each label (the labels page)."""
    return {r[0]: r[1] for r in store.conn.execute(
        "SELECT l.name, (SELECT count(*) FROM ticket_labels t WHERE t.label = l.name) FROM labels l")}


def create_label(store: Store, now: datetime, name: str, by: str) -> str:
    _supervisor(store, by)
    name = clean_label(name)
    with store.write(now) as tx:
        same = tx.conn.execute("SELECT name FROM labels WHERE name = ? COLLATE NOCASE", (name,)).fetchone()
        if same:
            raise QueueError(f"label {same[0]} already exists", f"Label {same[0]} sudah ada.")
        if tx.conn.execute("SELECT count(*) FROM labels").fetchone()[0] >= MAX_LABELS:
            raise QueueError(f"at most {MAX_LABELS} labels", f"Maksimal {MAX_LABELS} label.")
        tx.conn.execute("INSERT INTO labels (name, created_by, created_at) VALUES (?, ?, ?)", (name, by, tx.now))
        tx.log_event("label.created", by, data={"label": name})
    return name


def delete_label(store: Store, now: datetime, name: str, by: str) -> int:
    """Delete a label and take it off every ticket; returns how many tickets carried it."""
    _supervisor(store, by)
    with store.write(now) as tx:
        if not tx.conn.execute("SELECT 1 FROM labels WHERE name = ?", (name,)).fetchone():
            raise QueueError(f"no label {name}", "Label tidak ditemukan.")
        removed = tx.conn.execute("DELETE FROM ticket_labels WHERE label = ?", (name,)).rowcount
        tx.conn.execute("DELETE FROM labels WHERE name = ?", (name,))
        tx.log_event("label.deleted", by, data={"label": name, "tickets": removed})
    return removed


def ticket_labels(conn: Any, ticket_ids: list[int]) -> dict[int, list[str]]:
    """The labels of these tickets, in one query on the primary key (ticket_id, label)."""
    ids = sorted(set(ticket_ids))
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(f"SELECT ticket_id, label FROM ticket_labels WHERE ticket_id IN ({','.join('?' * len(chunk))}) "
                            "ORDER BY ticket_id, label COLLATE NOCASE", chunk)
        for tid, label in rows:
            out.setdefault(tid, []).append(label)
    return out


def label_ticket(store: Store, now: datetime, ref: str, label: str, by: str, *, add: bool = True) -> bool:
    """Put an existing label on a ticket (add) or take it off; False when nothing changed."""
    _require(store, by)
    with store.write(now) as tx:
        ticket, conv = queue._locked_ticket(tx, ref)
        row = tx.conn.execute("SELECT name FROM labels WHERE name = ?", (label,)).fetchone()
        if add and row is None:
            raise QueueError(f"no label {label} (a supervisor creates labels)",
                             "Label itu belum ada: supervisor yang membuat label.")
        if add:
            changed = tx.conn.execute("INSERT OR IGNORE INTO ticket_labels (ticket_id, label, added_by, added_at) "
                                      "VALUES (?, ?, ?, ?)", (ticket.id, label, by, tx.now)).rowcount
        else:
            changed = tx.conn.execute("DELETE FROM ticket_labels WHERE ticket_id = ? AND label = ?",
                                      (ticket.id, label)).rowcount
        if changed:
            tx.log_event("ticket.labeled" if add else "ticket.unlabeled", by, conversation_id=conv.id,
                         ticket_ref=ticket.ref, data={"label": label})
    return bool(changed)


# -- category and priority ----------------------------------------------------------------------
class Triage:
    """The promise-aware changes: they need the calendar and the shop's promises."""

    def __init__(self, store: Store, calendar: BusinessCalendar, knowledge: Knowledge,
                 policy: Policy = Policy()) -> None:
        self.store = store
        self.calendar = calendar
        self.knowledge = knowledge
        self.policy = policy  # automatic assignment: a reopened ticket may go to someone at once

    @classmethod
    def of(cls, desk: Any) -> "Triage":
        return cls(desk.store, desk.calendar, desk.responder.knowledge, policy_of(desk.settings))

    def promised(self, ticket: Ticket, priority: str) -> tuple[datetime, datetime]:
        """(first response, resolution) this ticket would have been given at creation
        with this priority (bot/dialogue/handlers.py new_case)."""
        resolution = self.calendar.add_working_days(ticket.created_at, self.knowledge.shop.review_working_days)
        if priority == "complex":
            return resolution, resolution
        return self.calendar.add_opening_time(ticket.created_at, promise_span(self.knowledge, ticket.channel)), resolution

    def _favour(self, tx: Transaction, ticket: Ticket, priority: str) -> dict[str, Any]:
        """The dues moved only earlier: min(current, promised for `priority`)."""
        if ticket.status == "resolved" or ticket.priority == "escalation":
            return {}
        first, resolution = self.promised(ticket, priority)
        changes: dict[str, Any] = {}
        cur_first = ticket.first_response_due or ticket.due_at
        cur_res = ticket.resolution_due or ticket.due_at
        if ticket.first_response_at is None and first < cur_first:
            changes["first_response_due"] = first
            cur_first = first
        if resolution < cur_res:
            changes["resolution_due"] = resolution
            cur_res = resolution
        if ticket.first_response_at is None:
            due = cur_first
        else:
            due = min(ticket.reply_due, cur_res) if ticket.reply_due else cur_res
        if due < ticket.due_at:
            changes["due_at"] = due
        return changes

    def set_intent(self, now: datetime, ref: str, intent: str, by: str) -> Ticket:
        who = _require(self.store, by)
        if intent not in CATEGORY_CHOICES:
            raise QueueError(f"category must be one of {', '.join(CATEGORY_CHOICES)}", "Kategori tidak dikenal.")
        with self.store.write(now) as tx:
            ticket, conv = queue._locked_ticket(tx, ref)
            _not_someone_elses(ticket, who)
            if ticket.intent == intent:
                return ticket
            # the category's own priority (a refund is a complex case), never above the ticket's
            own = "complex" if intent == "return_refund" else "normal"
            changes = self._favour(tx, ticket, min(own, ticket.priority, key=PRIORITIES.index))
            tx.update_ticket(ticket, intent=intent, **changes)
            tx.log_event("ticket.category_changed", who.name, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"from": ticket.intent, "to": intent, **_dues(changes)})
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    def set_priority(self, now: datetime, ref: str, priority: str, by: str) -> Ticket:
        who = _require(self.store, by)
        if priority not in PRIORITY_CHOICES:
            raise QueueError("priority must be normal or complex (an escalation goes through escalate)",
                             "Prioritas: Normal atau Kompleks (eskalasi lewat tombol Eskalasi).")
        with self.store.write(now) as tx:
            ticket, conv = queue._locked_ticket(tx, ref)
            _not_someone_elses(ticket, who)
            if ticket.priority == "escalation":
                raise QueueError(f"{ticket.ref} is an escalation: its priority stays",
                                 f"{ticket.ref} adalah eskalasi: prioritasnya tidak dapat diubah.")
            if ticket.priority == priority:
                return ticket
            changes = self._favour(tx, ticket, priority)
            tx.update_ticket(ticket, priority=priority, **changes)
            tx.log_event("ticket.priority_changed", who.name, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"from": ticket.priority, "to": priority, **_dues(changes)})
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    # -- reopen ---------------------------------------------------------------------------------
    def reopen(self, now: datetime, ref: str, by: str) -> Ticket:
        who = _require(self.store, by)
        with self.store.write(now) as tx:
            ticket, conv = queue._locked_ticket(tx, ref)
            if ticket.status != "resolved":
                raise QueueError(f"{ticket.ref} is not resolved", f"{ticket.ref} belum selesai.")
            other = tx.open_ticket(conv.id)
            if other is not None:
                raise QueueError(f"the conversation already has an open ticket, {other.ref}",
                                 f"Percakapan ini sudah punya tiket terbuka, {other.ref}.")
            reply_due = self.calendar.add_opening_time(now, promise_span(self.knowledge, ticket.channel))
            resolution = ticket.resolution_due or ticket.due_at
            tx.update_ticket(ticket, status="open", agent=None, resolved_at=None, reopened_at=now,
                             reply_since=now, reply_due=reply_due, snoozed_until=None, snoozed_by=None,
                             due_at=min(reply_due, resolution) if ticket.first_response_at else
                             (ticket.first_response_due or ticket.due_at))
            # back in the people's queue; a pending satisfaction question lapses
            tx.update_conversation(conv.id, state="bot", agent=None, csat_ticket=None)
            tx.log_event("ticket.reopened", who.name, conversation_id=conv.id, ticket_ref=ticket.ref)
            balance(tx, now, self.policy)
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    # -- snooze ---------------------------------------------------------------------------------
    def snooze(self, now: datetime, ref: str, by: str, until: datetime | None = None) -> Ticket:
        """Until `until`, or (None) until the customer writes."""
        who = _require(self.store, by)
        if until is not None and until <= now:
            raise QueueError("the snooze must end in the future", "Waktu tunda harus di masa depan.")
        if until is not None and until > now + timedelta(days=60):
            raise QueueError("snooze at most 60 days", "Tunda paling lama 60 hari.")
        with self.store.write(now) as tx:
            ticket, conv = queue._locked_ticket(tx, ref)
            _not_someone_elses(ticket, who)
            if ticket.status == "resolved":
                raise QueueError(f"{ticket.ref} is already resolved", f"{ticket.ref} sudah selesai.")
            if ticket.first_response_at is None:
                raise QueueError(f"{ticket.ref} has no answer from a person yet: reply before waiting for the customer",
                                 "Pelanggan belum mendapat balasan dari petugas: balas dulu sebelum menunda.")
            if ticket.reply_due is not None:
                raise QueueError(f"the customer of {ticket.ref} waits for an answer",
                                 "Pelanggan sedang menunggu balasan: balas dulu sebelum menunda.")
            tx.update_ticket(ticket, snoozed_until=until, snoozed_by=who.name)
            tx.log_event("ticket.snoozed", who.name, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"until": utc_iso(until) if until else None})
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    def unsnooze(self, now: datetime, ref: str, by: str) -> Ticket:
        who = _require(self.store, by)
        with self.store.write(now) as tx:
            ticket, _ = queue._locked_ticket(tx, ref)
            _not_someone_elses(ticket, who)
            if not wake(tx, ticket, now, self.calendar, who.name, "agent"):
                raise QueueError(f"{ticket.ref} is not snoozed", f"{ticket.ref} tidak sedang ditunda.")
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]


def _dues(changes: dict[str, Any]) -> dict[str, str]:
    return {k: utc_iso(v) for k, v in changes.items() if isinstance(v, datetime)}


def snooze_of(conn: Any, ticket_id: int) -> tuple[str | None, datetime | None]:
    """(who snoozed, until when or None = until the customer writes); (None, None) when not snoozed."""
    row = conn.execute("SELECT snoozed_by, snoozed_until FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None or row[0] is None:
        return None, None
    return row[0], parse_iso(row[1])


def wake(tx: Transaction, ticket: Ticket, now: datetime, calendar: Any, actor: str, reason: str) -> bool:
    """End the ticket's snooze (in the caller's transaction): the resolution due moves on
    by the opening time it slept. False when it was not snoozed."""
    row = tx.conn.execute("SELECT snoozed_by, snoozed_until FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
    if row is None or row["snoozed_by"] is None:
        return False
    until = parse_iso(row["snoozed_until"])
    woke = min(now, until) if until else now
    since = tx.conn.execute("SELECT at FROM events WHERE conversation_id = ? AND ticket_ref = ? "  # indexed
                            "AND kind = 'ticket.snoozed' ORDER BY id DESC LIMIT 1",
                            (ticket.conversation_id, ticket.ref)).fetchone()
    changes: dict[str, Any] = {"snoozed_until": None, "snoozed_by": None}
    slept = calendar.opening_time(parse_iso(since[0]), woke) if since else timedelta(0)
    fresh = _ticket(tx.conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket.id,)).fetchone())
    if slept > timedelta(0) and fresh.status != "resolved":
        resolution = fresh.resolution_due or fresh.due_at
        moved = calendar.add_opening_time(resolution, slept)
        changes["resolution_due"] = moved
        if fresh.first_response_at is not None and not fresh.reply_due:
            changes["due_at"] = moved
    tx.update_ticket(ticket, **changes)
    tx.log_event("ticket.unsnoozed", actor, conversation_id=ticket.conversation_id, ticket_ref=ticket.ref,
                 data={"reason": reason, "paused_minutes": int(slept.total_seconds() // 60)})
    return True


def wake_on_message(tx: Transaction, ticket: Ticket | None, now: datetime, calendar: Any) -> Ticket | None:
    """The customer wrote (bot/pipeline.py): a snoozed ticket wakes up, in the same transaction."""
    wake_expired(tx, now, calendar, limit=20)  # others' snoozes whose time has come (indexed, usually none)
    if ticket is None:
        return None
    if not wake(tx, ticket, now, calendar, "customer", "customer"):
        return ticket
    return _ticket(tx.conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket.id,)).fetchone())


def wake_expired(tx: Transaction, now: datetime, calendar: Any, limit: int = 50) -> int:
    """Snoozes whose time has come (index idx_tickets_snoozed); a few per call, cheap."""
    rows = tx.conn.execute("SELECT * FROM tickets WHERE snoozed_by IS NOT NULL AND snoozed_until <= ? "
                           "ORDER BY snoozed_until LIMIT ?", (utc_iso(now), limit)).fetchall()
    for row in rows:
        wake(tx, _ticket(row), now, calendar, "bot", "time")
    return len(rows)


def is_snoozed(by: str | None, until: datetime | None, now: datetime) -> bool:
    return by is not None and (until is None or until > now)

