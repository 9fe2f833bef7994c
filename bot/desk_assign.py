"""Assignment: who holds which ticket, decided by a person or by the round robin.

- `assign`: give a ticket to a colleague. It becomes theirs exactly as if they had
  claimed it (tickets.agent, status 'claimed', the conversation's state 'human': the bot
  is silent there), so it shows in their "Hanya milik saya". Only the holder or a
  supervisor may hand on a held ticket; an escalation goes only to a supervisor.
  "To the supervisors" (`SUPERVISORS`) is an escalation (`Desk.escalate`): open, and only
  supervisors may take it.
- Online / away (agents.status): an agent says whether they take new tickets now.
- Automatic assignment (`[desk] auto_assign`, off by default): round robin among the
  ONLINE agents (role 'agent'; supervisors are never given tickets automatically) under
  their limit of held tickets (agents.max_open, else `[desk] max_open_per_agent`), least
  recently assigned first. A new ticket is assigned in the transaction that creates it
  (bot/pipeline.py); unassigned tickets are picked up when an agent frees up (resolve,
  release, reassign) or comes online. Escalations and snoozed tickets are never
  auto-assigned. Every query is on an index (agents is small; tickets by (status, due_at)
  and (agent, status)).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from handoff import queue
from handoff.queue import QueueError
from handoff.store import Store, Ticket, Transaction, _ticket, parse_iso, utc_iso

SUPERVISORS = "supervisor"  # the assign target meaning "the supervisors" (an escalation)
STATUSES = ("online", "away")
BALANCE_LIMIT = 50  # assignments per call, so a hook never holds the write lock long


@dataclass(frozen=True)
class Policy:
    auto: bool = False
    max_open: int = 10


def policy_of(settings: Any) -> Policy:
    desk = getattr(settings, "desk", None)
    if desk is None:
        return Policy()
    return Policy(bool(desk.auto_assign), int(desk.max_open_per_agent))


# -- by a person ----------------------------------------------------------------------------------
def assign(store: Store, now: datetime, ref: str, to: str, by: str, policy: Policy = Policy(), *,
           escalate: Callable[[datetime, str, str, str], Any] | None = None) -> Ticket:
    """Give the ticket to `to` (an agent's name, or SUPERVISORS); QueueError says why not."""
    who = queue._require(store, by)
    if to.strip().lower() in (SUPERVISORS, "supervisors"):
        if escalate is None:
            raise QueueError("assigning to the supervisors needs the desk", "Tidak dapat menugaskan ke supervisor.")
        return escalate(now, ref, who.name, f"Ditugaskan ke supervisor oleh {who.name}")  # type: ignore[no-any-return]
    target = queue.get_agent(store, to.strip())
    if target is None:
        raise QueueError(f"no agent {to}", f"Petugas {to} tidak terdaftar.")
    with store.write(now) as tx:
        ticket, conv = queue._locked_ticket(tx, ref)
        if ticket.status == "resolved":
            raise QueueError(f"{ticket.ref} is already resolved", f"{ticket.ref} sudah selesai.")
        if ticket.priority == "escalation" and target.role != "supervisor":
            raise QueueError(f"{ticket.ref} is an escalation: only a supervisor may hold it",
                             f"{ticket.ref} adalah eskalasi: hanya supervisor yang dapat memegangnya.")
        held = ticket.agent if ticket.status == "claimed" and ticket.agent else None
        if held == target.name:
            raise QueueError(f"{ticket.ref} is already held by {held}", f"{ticket.ref} sudah dipegang {held}.")
        if held and held != who.name and who.role != "supervisor":
            raise QueueError(f"{ticket.ref} is held by {held}: only {held} or a supervisor may reassign it",
                             f"{ticket.ref} sedang ditangani oleh {held}: hanya {held} atau supervisor yang "
                             "dapat menugaskannya ke orang lain.")
        _give(tx, ticket, conv.id, target.name, who.name, auto=False)
        if held:
            balance(tx, now, policy)  # the previous holder has room again
    return store.ticket(ticket.ref)  # type: ignore[return-value]


def _give(tx: Transaction, ticket: Ticket, conversation_id: int, to: str, by: str, *, auto: bool) -> None:
    """What a claim writes, for `to`, and the round robin's mark."""
    previous = ticket.agent if ticket.status == "claimed" else None
    tx.update_ticket(ticket, status="claimed", agent=to)
    tx.update_conversation(conversation_id, state="human", agent=to)
    tx.conn.execute("UPDATE agents SET last_assigned_at = ? WHERE name = ?", (tx.now, to))
    data: dict[str, Any] = {"by": by, "to": to}
    if previous:
        data["from"] = previous
    if auto:
        data["auto"] = True
    tx.log_event("ticket.assigned", by, conversation_id=conversation_id, ticket_ref=ticket.ref, data=data)
    if to != by:  # the bell of the person who now holds it (handoff/notifications.py)
        tx.conn.execute("INSERT INTO notifications (agent, kind, ticket_ref, conversation_id, actor, text, created_at) "
                        "VALUES (?, 'assigned', ?, ?, ?, '', ?)",
                        (to, ticket.ref, conversation_id, "otomatis" if auto else by, tx.now))


def set_status(store: Store, now: datetime, name: str, status: str, policy: Policy = Policy()) -> None:
    """Online (takes new tickets) or away; coming online picks up waiting tickets."""
    if status not in STATUSES:
        raise QueueError("status must be online or away", "Status: online atau away.")
    queue._require(store, name)
    with store.write(now) as tx:
        tx.conn.execute("UPDATE agents SET status = ?, status_at = ? WHERE name = ?", (status, tx.now, name))
        tx.log_event("agent.status_changed", name, data={"status": status})
        if status == "online":
            balance(tx, now, policy)


def status_of(store: Store, name: str) -> str:
    row = store.conn.execute("SELECT status FROM agents WHERE name = ?", (name,)).fetchone()
    return "online" if row is not None and row[0] == "online" else "away"


# -- the round robin --------------------------------------------------------------------------------
def _next_agent(tx: Transaction, default_max: int) -> str | None:
    """The online agent under their limit who was given a ticket least recently."""
    rows = tx.conn.execute(
        "SELECT a.name, coalesce(a.max_open, ?) AS lim, "
        "(SELECT count(*) FROM tickets t WHERE t.agent = a.name AND t.status = 'claimed') AS held "
        "FROM agents a WHERE a.status = 'online' AND a.role = 'agent' "
        "ORDER BY coalesce(a.last_assigned_at, ''), a.name", (default_max,)).fetchall()
    for row in rows:
        if row["held"] < row["lim"]:
            return str(row["name"])
    return None


def balance(tx: Transaction, now: datetime, policy: Policy) -> list[tuple[str, str]]:
    """Give waiting tickets (most urgent first) to online agents with room, in the caller's
    transaction; returns (ref, agent) pairs. Nothing when automatic assignment is off."""
    if not policy.auto:
        return []
    done: list[tuple[str, str]] = []
    for _ in range(BALANCE_LIMIT):
        agent = _next_agent(tx, policy.max_open)
        if agent is None:
            break
        row = tx.conn.execute(
            "SELECT * FROM tickets WHERE status = 'open' AND agent IS NULL AND priority != 'escalation' "
            "AND (snoozed_by IS NULL OR snoozed_until <= ?) ORDER BY due_at, id LIMIT 1",
            (utc_iso(now),)).fetchone()
        if row is None:
            break
        ticket = _ticket(row)
        _give(tx, ticket, ticket.conversation_id, agent, "bot", auto=True)
        done.append((ticket.ref, agent))
    return done


def balance_after(desk: Any, now: datetime) -> None:
    """After a resolve or a release (bot/desk.py): someone has room; one short transaction,
    only when automatic assignment is on."""
    policy = policy_of(desk.settings)
    if policy.auto:
        with desk.store.write(now) as tx:
            balance(tx, now, policy)


def on_ticket_created(tx: Transaction, now: datetime, policy: Policy | None) -> None:
    """bot/pipeline.py, in the transaction that created a ticket."""
    if policy is not None and policy.auto:
        balance(tx, now, policy)


# -- the supervisors' view ------------------------------------------------------------------------
@dataclass(frozen=True)
class Holder:
    name: str
    role: str
    status: str  # online | away
    status_at: datetime | None
    limit: int
    held: int
    oldest_due: datetime | None


def team(store: Store, default_max: int = 10) -> list[Holder]:
    """Every agent with how many tickets they hold and the most urgent due among them
    (one grouped query on the (agent, status) index)."""
    rows = store.conn.execute(
        "SELECT a.name, a.role, a.status, a.status_at, coalesce(a.max_open, ?) AS lim, count(t.id) AS held, "
        "min(t.due_at) AS oldest FROM agents a LEFT JOIN tickets t ON t.agent = a.name AND t.status = 'claimed' "
        "GROUP BY a.name ORDER BY a.name", (default_max,)).fetchall()
    return [Holder(r["name"], r["role"], "online" if r["status"] == "online" else "away", parse_iso(r["status_at"]),
                   r["lim"], r["held"], parse_iso(r["oldest"])) for r in rows]


def waiting_counts(store: Store) -> dict[str, int]:
    conn = store.conn
    return {
        "unassigned": conn.execute("SELECT count(*) FROM tickets WHERE status = 'open' AND priority != 'escalation'"
                                   ).fetchone()[0],
        "escalations": conn.execute("SELECT count(*) FROM tickets WHERE status = 'open' AND priority = 'escalation'"
                                    ).fetchone()[0],
    }
