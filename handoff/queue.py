"""What agents do with the queue: claim, release, resolve; and who the agents are.

What a person sends the customer on the way (replies, the written result of an
escalation, the satisfaction question) is bot/desk.py's business. Every action is one short write transaction on the store, so two agents claiming at
once cannot both win: BEGIN IMMEDIATE serialises them, and the second sees the first's
claim. Claiming hands the conversation to the agent (state "human": the bot falls
silent there) until the agent releases or resolves it. Every action is an event.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handoff.store import Conversation, Store, Ticket, Transaction, _conversation, _ticket

ROLES = ("agent", "supervisor")


class QueueError(Exception):
    """An action that cannot be done, with the reason a person can act on: in English for
    the command line, in Indonesian (`indonesian`) for the console."""

    def __init__(self, message: str, indonesian: str | None = None) -> None:
        super().__init__(message)
        self.indonesian = indonesian or message


@dataclass(frozen=True)
class Agent:
    name: str
    role: str


def add_agent(store: Store, now: datetime, name: str, role: str, password_hash: str, *,
              actor: str = "operator", must_change: bool = False) -> None:
    """`must_change`: a generated password, to be replaced at the first console login."""
    if role not in ROLES:
        raise QueueError(f"role must be one of {', '.join(ROLES)}")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise QueueError("agent name: letters, digits, '.', '-' and '_' only")
    with store.write(now) as tx:
        if tx.conn.execute("SELECT 1 FROM agents WHERE name = ?", (name,)).fetchone():
            raise QueueError(f"agent {name} already exists")
        tx.conn.execute("INSERT INTO agents (name, role, password_hash, created_at, must_change_password) "
                        "VALUES (?, ?, ?, ?, ?)", (name, role, password_hash, tx.now, int(must_change)))
        tx.log_event("agent.added", actor, data={"agent": name, "role": role})


def set_password(store: Store, now: datetime, name: str, password_hash: str) -> None:
    """A new password; every console session of this agent ends (in the same transaction)."""
    from handoff.store import _has_table

    with store.write(now) as tx:
        if not tx.conn.execute("UPDATE agents SET password_hash = ?, must_change_password = 0 WHERE name = ?",
                               (password_hash, name)).rowcount:  # the operator chose it: no change forced
            raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar")
        ended = 0
        if _has_table(tx.conn, "console_sessions"):
            ended = tx.conn.execute("DELETE FROM console_sessions WHERE agent = ?", (name,)).rowcount
        tx.log_event("agent.password_changed", "operator", data={"agent": name, "sessions_ended": ended})


def remove_agent(store: Store, now: datetime, name: str, *, actor: str = "operator",
                 keep_a_supervisor: bool = False) -> int:
    """Remove an agent (their console sessions are deleted: they end at the next request);
    the tickets they held go back to the queue and the bot speaks there again. Returns how many.
    `keep_a_supervisor` (the console): refuse to remove the last supervisor."""
    from handoff.store import _has_table

    with store.write(now) as tx:
        if keep_a_supervisor:
            _keep_a_supervisor(tx, name)
        if not tx.conn.execute("DELETE FROM agents WHERE name = ?", (name,)).rowcount:
            raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar")
        if _has_table(tx.conn, "console_sessions"):
            tx.conn.execute("DELETE FROM console_sessions WHERE agent = ?", (name,))
        for table in ("notifications", "notification_marks"):  # what waited for them (issue 12)
            if _has_table(tx.conn, table):
                tx.conn.execute(f"DELETE FROM {table} WHERE agent = ?", (name,))
        held = tx.conn.execute("SELECT * FROM tickets WHERE agent = ? AND status = 'claimed'", (name,)).fetchall()
        for row in held:
            tx.conn.execute("UPDATE tickets SET status = 'open', agent = NULL, updated_at = ? WHERE id = ?",
                            (tx.now, row["id"]))
            tx.conn.execute("UPDATE conversations SET state = 'bot', agent = NULL, updated_at = ? WHERE id = ?",
                            (tx.now, row["conversation_id"]))
        tx.log_event("agent.removed", actor, data={"agent": name, "released": len(held)})
    return len(held)


# -- people in the console (issue 12): generated passwords, resets, roles --------------------------
def _keep_a_supervisor(tx: Transaction, name: str) -> None:
    """Refuse what would leave the team without a supervisor (nobody could manage it)."""
    others = tx.conn.execute("SELECT count(*) FROM agents WHERE role = 'supervisor' AND name != ?",
                             (name,)).fetchone()[0]
    if not others:
        raise QueueError(f"{name} is the last supervisor", f"{name} adalah supervisor terakhir: tambahkan "
                         "supervisor lain dulu.")


def reset_password(store: Store, now: datetime, name: str, password_hash: str, actor: str) -> int:
    """A supervisor gives `name` a generated password: it must be changed at the next login,
    and every console session of `name` ends now. Returns how many sessions ended."""
    from handoff.store import _has_table

    with store.write(now) as tx:
        if not tx.conn.execute("UPDATE agents SET password_hash = ?, must_change_password = 1 WHERE name = ?",
                               (password_hash, name)).rowcount:
            raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar")
        ended = 0
        if _has_table(tx.conn, "console_sessions"):
            ended = tx.conn.execute("DELETE FROM console_sessions WHERE agent = ?", (name,)).rowcount
        tx.log_event("agent.password_reset", actor, data={"agent": name, "sessions_ended": ended})
    return ended


def change_own_password(store: Store, now: datetime, name: str, password_hash: str,
                        keep_session: str | None = None, keep_fp: str | None = None) -> int:
    """The agent's own new password. Every other console session ends; the one it was changed
    from (`keep_session`, the stored session key) stays, with the new fingerprint `keep_fp`."""
    from handoff.store import _has_table

    with store.write(now) as tx:
        if not tx.conn.execute("UPDATE agents SET password_hash = ?, must_change_password = 0 WHERE name = ?",
                               (password_hash, name)).rowcount:
            raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar")
        ended = 0
        if _has_table(tx.conn, "console_sessions"):
            ended = tx.conn.execute("DELETE FROM console_sessions WHERE agent = ? AND id != ?",
                                    (name, keep_session or "")).rowcount
            if keep_session and keep_fp:
                tx.conn.execute("UPDATE console_sessions SET password_fp = ? WHERE id = ? AND agent = ?",
                                (keep_fp, keep_session, name))
        tx.log_event("agent.password_changed", name, data={"agent": name, "sessions_ended": ended})
    return ended


def set_role(store: Store, now: datetime, name: str, role: str, actor: str) -> bool:
    """A new role; never the last supervisor demoted. True when it changed."""
    if role not in ROLES:
        raise QueueError(f"role must be one of {', '.join(ROLES)}", "Peran tidak dikenal.")
    with store.write(now) as tx:
        row = tx.conn.execute("SELECT role FROM agents WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise QueueError(f"no agent {name}", f"Petugas {name} tidak terdaftar")
        if row[0] == role:
            return False
        if row[0] == "supervisor":
            _keep_a_supervisor(tx, name)
        tx.conn.execute("UPDATE agents SET role = ? WHERE name = ?", (role, name))
        tx.log_event("agent.role_changed", actor, data={"agent": name, "from": row[0], "to": role})
    return True


def must_change_password(store: Store, name: str) -> bool:
    """True while the agent still has a generated password (set by `serve` or a supervisor)."""
    row = store.conn.execute("SELECT must_change_password FROM agents WHERE name = ?", (name,)).fetchone()
    return bool(row and row[0])


def list_agents(store: Store) -> list[Agent]:
    return [Agent(r[0], r[1]) for r in store.conn.execute("SELECT name, role FROM agents ORDER BY name")]


def get_agent(store: Store, name: str) -> Agent | None:
    row = store.conn.execute("SELECT name, role FROM agents WHERE name = ?", (name,)).fetchone()
    return Agent(row[0], row[1]) if row else None


def _locked_ticket(tx: Transaction, ref: str) -> tuple[Ticket, Conversation]:
    row = tx.conn.execute("SELECT * FROM tickets WHERE ref = ?", (ref.upper(),)).fetchone()
    if row is None:
        raise QueueError(f"no ticket {ref}", "Tiket tidak ditemukan.")
    ticket = _ticket(row)
    conv = _conversation(tx.conn.execute("SELECT * FROM conversations WHERE id = ?",
                                         (ticket.conversation_id,)).fetchone())
    return ticket, conv


def _require(store: Store, agent: str) -> Agent:
    found = get_agent(store, agent)
    if found is None:
        raise QueueError(f"no agent {agent} (add one with: yessindo-bot agent add {agent} --role agent --password-stdin)",
                         f"Petugas {agent} tidak terdaftar")
    return found


def claim(store: Store, now: datetime, ref: str, agent: str, *, take_over: bool = False) -> Ticket:
    """The agent now holds the ticket and its conversation; QueueError names who holds it
    otherwise. A supervisor may `take_over` a ticket another agent holds (that agent is
    away, the customer waits): logged as ticket.taken_over with who had it."""
    who = _require(store, agent)
    with store.write(now) as tx:
        ticket, conv = _locked_ticket(tx, ref)
        if ticket.status == "resolved":
            raise QueueError(f"{ticket.ref} is already resolved", f"{ticket.ref} sudah selesai.")
        if ticket.priority == "escalation" and who.role != "supervisor":
            raise QueueError(f"{ticket.ref} is an escalation: a supervisor must take it",
                             f"{ticket.ref} adalah eskalasi: hanya supervisor yang dapat mengambil alih.")
        previous = ticket.agent if ticket.agent and ticket.agent != agent else None
        if previous and not (take_over and who.role == "supervisor"):
            if take_over:
                raise QueueError(f"{ticket.ref} is held by {previous}: only a supervisor can take it over",
                                 f"{ticket.ref} sedang ditangani oleh {previous}: hanya supervisor yang dapat "
                                 "mengambil alih darinya.")
            raise QueueError(f"{ticket.ref} is held by {previous}",
                             f"{ticket.ref} sedang ditangani oleh {previous}.")
        tx.update_ticket(ticket, status="claimed", agent=agent)
        tx.update_conversation(conv.id, state="human", agent=agent)
        if previous:
            tx.log_event("ticket.taken_over", agent, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"from": previous})
        else:
            tx.log_event("ticket.claimed", agent, conversation_id=conv.id, ticket_ref=ticket.ref)
    return store.ticket(ticket.ref)  # type: ignore[return-value]


def holding(tx: Transaction, ref: str, agent: str) -> tuple[Ticket, Conversation]:
    """The ticket and conversation, when this agent holds them (inside the caller's transaction)."""
    ticket, conv = _locked_ticket(tx, ref)
    if ticket.status != "claimed" or ticket.agent != agent:
        holder = f"held by {ticket.agent}" if ticket.agent else "not claimed"
        indonesian = (f"{ticket.ref} sedang ditangani oleh {ticket.agent}: Anda belum memegang tiket ini." if ticket.agent
                      else f"{ticket.ref} belum Anda ambil alih: klik \u201cAmbil alih\u201d dulu.")
        raise QueueError(f"{ticket.ref} is {holder}: claim it first", indonesian)
    return ticket, conv


def release(store: Store, now: datetime, ref: str, agent: str) -> None:
    _require(store, agent)
    with store.write(now) as tx:
        ticket, conv = holding(tx, ref, agent)
        tx.update_ticket(ticket, status="open", agent=None)
        tx.update_conversation(conv.id, state="bot", agent=None)
        tx.log_event("ticket.released", agent, conversation_id=conv.id, ticket_ref=ticket.ref)
