"""The customer behind a ticket: who they are on every channel, and everything they
wrote before (the console's customer panel).

A person can be one customer id per channel: a WhatsApp number (+62...), an email address,
a live-chat visitor (web:...). They are the same person when
- an agent linked two ids (`customer_links`, logged `customer.linked`; unlinked with
  `customer.unlinked` by the agent who linked them or a supervisor), or
- the customer proved both: a live-chat visitor who proved an email address (a code sent
  there) or a WhatsApp number (a code sent from it) is that address or number; such a link
  is read from `livechat_visitors` and cannot be undone by hand.
The panel follows links transitively (a number linked to an address that a visitor proved),
bounded by MAX_IDENTITIES; every read uses an index (customer on tickets and
conversations, the pair and `b` on customer_links, phone/email on livechat_visitors).
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handoff.queue import QueueError
from handoff.records import parse_iso

MAX_IDENTITIES = 12
MAX_ROWS = 200
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
CHANNEL_OF_KIND = {"phone": "whatsapp", "email": "email", "web": "web"}


def kind_of(customer: str) -> str:
    """phone | email | web | other"""
    if customer.startswith("web:"):
        return "web"
    if "@" in customer:
        return "email"
    if customer.startswith("+"):
        return "phone"
    return "other"


def normalize(text: str) -> str | None:
    """A customer id as the store keeps it: +62... for a phone number in any spelling, a
    lower-case address, a live-chat visitor as is; None when it is none of these."""
    from handoff.livechat import phone_e164

    text = (text or "").strip()
    if not text or len(text) > 254:
        return None
    if text.startswith("web:") and re.fullmatch(r"web:[A-Za-z0-9_\-]{1,80}", text):
        return text
    if _EMAIL.match(text):
        return text.lower()
    if re.fullmatch(r"[\d\s+\-.()]{6,30}", text):
        return phone_e164(text)
    return None


@dataclass(frozen=True)
class Identity:
    customer: str
    kind: str  # phone | email | web | other
    via: str  # self (the one asked for) | agent | proof
    link_id: int | None = None  # the customer_links row (an agent's link)
    linked_by: str | None = None
    linked_at: datetime | None = None


@dataclass(frozen=True)
class TicketRow:
    ref: str
    channel: str
    customer: str
    status: str
    intent: str
    priority: str
    agent: str | None
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class ConversationRow:
    id: int
    channel: str
    customer: str
    state: str
    created_at: datetime
    messages: int
    refs: tuple[str, ...]


@dataclass(frozen=True)
class Panel:
    customer: str
    identities: list[Identity]
    names: list[str]
    emails: list[str]
    phones: list[str]
    visitors: list[dict[str, Any]]  # live-chat contact details typed by visitors of this person
    tickets: list[TicketRow]
    conversations: list[ConversationRow]
    more: bool  # more tickets or conversations than shown

    @property
    def channels(self) -> list[str]:
        return sorted({t.channel for t in self.tickets} | {c.channel for c in self.conversations})


def _neighbours(conn: sqlite3.Connection, customer: str) -> list[Identity]:
    out: list[Identity] = []
    for lid, a, b, by, at in conn.execute(
            "SELECT id, a, b, linked_by, created_at FROM customer_links WHERE a = ? "
            "UNION ALL SELECT id, a, b, linked_by, created_at FROM customer_links WHERE b = ?", (customer, customer)):
        other = b if a == customer else a
        out.append(Identity(other, kind_of(other), "agent", lid, by, parse_iso(at) if at else None))
    kind = kind_of(customer)
    if kind == "web":
        row = conn.execute("SELECT email, email_verified_at, phone_e164, phone_verified_at FROM livechat_visitors "
                           "WHERE customer = ?", (customer,)).fetchone()
        if row is not None:
            if row[0] and row[1]:
                out.append(Identity(row[0].lower(), "email", "proof", linked_at=parse_iso(row[1])))
            if row[2] and row[3]:
                out.append(Identity(row[2], "phone", "proof", linked_at=parse_iso(row[3])))
    elif kind == "email":
        for visitor, at in conn.execute("SELECT customer, email_verified_at FROM livechat_visitors "
                                        "WHERE lower(email) = ? AND email_verified_at IS NOT NULL", (customer,)):
            out.append(Identity(visitor, "web", "proof", linked_at=parse_iso(at)))
    elif kind == "phone":
        for visitor, at in conn.execute("SELECT customer, phone_verified_at FROM livechat_visitors "
                                        "WHERE phone_e164 = ? AND phone_verified_at IS NOT NULL", (customer,)):
            out.append(Identity(visitor, "web", "proof", linked_at=parse_iso(at)))
    return out


def identities(conn: sqlite3.Connection, customer: str) -> list[Identity]:
    """The customer and every id linked to them, directly or through another (breadth first)."""
    found: dict[str, Identity] = {customer: Identity(customer, kind_of(customer), "self")}
    todo = [customer]
    while todo and len(found) < MAX_IDENTITIES:
        current = todo.pop(0)
        for ident in _neighbours(conn, current):
            if ident.customer not in found and len(found) < MAX_IDENTITIES:
                found[ident.customer] = ident
                todo.append(ident.customer)
    return list(found.values())


def panel(store: Any, customer: str, limit: int = MAX_ROWS) -> Panel:
    """Everything the console's customer panel shows, in a handful of indexed queries."""
    conn: sqlite3.Connection = store.conn
    ids = identities(conn, customer)
    keys = [i.customer for i in ids]
    marks = ",".join("?" * len(keys))
    trows = conn.execute(
        f"SELECT ref, channel, customer, status, intent, priority, agent, created_at, resolved_at, details "
        f"FROM tickets WHERE customer IN ({marks}) ORDER BY created_at DESC, id DESC LIMIT ?",
        (*keys, limit + 1)).fetchall()
    crows = conn.execute(
        f"SELECT id, channel, customer, state, created_at, display_name FROM conversations WHERE customer IN ({marks}) "
        "ORDER BY created_at DESC, id DESC LIMIT ?", (*keys, limit + 1)).fetchall()
    more = len(trows) > limit or len(crows) > limit
    trows, crows = trows[:limit], crows[:limit]
    conv_ids = [r[0] for r in crows]
    counts: dict[int, int] = {}
    refs: dict[int, list[str]] = {}
    if conv_ids:
        cm = ",".join("?" * len(conv_ids))
        counts = dict(conn.execute(f"SELECT conversation_id, count(*) FROM messages WHERE conversation_id IN ({cm}) "
                                   "GROUP BY conversation_id", conv_ids).fetchall())
        for conv, ref in conn.execute(f"SELECT conversation_id, ref FROM tickets WHERE conversation_id IN ({cm}) "
                                      "ORDER BY id", conv_ids):
            refs.setdefault(conv, []).append(ref)
    names = list(dict.fromkeys(r[5] for r in crows if r[5]))
    emails = [k for k in keys if kind_of(k) == "email"]
    phones = [k for k in keys if kind_of(k) == "phone"]
    for r in trows:  # what they wrote in a message about themselves (not proven)
        try:
            details = json.loads(r[9] or "{}")
        except ValueError:
            continue
        if isinstance(details, dict):
            emails += [e for e in details.get("emails") or [] if isinstance(e, str)]
            if r[2] in keys:  # numbers they gave in their own messages
                phones += [p for p in details.get("phones") or [] if isinstance(p, str)]
    visitors = []
    for k in keys:
        if kind_of(k) == "web":
            row = conn.execute("SELECT name, email, email_verified_at, phone, phone_verified_at FROM livechat_visitors "
                               "WHERE customer = ?", (k,)).fetchone()
            if row is not None and (row[0] or row[1] or row[3]):
                visitors.append({"customer": k, "name": row[0], "email": row[1], "email_verified": bool(row[2]),
                                 "phone": row[3], "phone_verified": bool(row[4])})
                if row[0]:
                    names.append(row[0])
    return Panel(
        customer, ids, list(dict.fromkeys(names)), list(dict.fromkeys(emails)), list(dict.fromkeys(phones)), visitors,
        [TicketRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], parse_iso(r[7]), parse_iso(r[8]) if r[8] else None)
         for r in trows],
        [ConversationRow(r[0], r[1], r[2], r[3], parse_iso(r[4]), int(counts.get(r[0], 0)), tuple(refs.get(r[0], ())))
         for r in crows],
        more)


def known(conn: sqlite3.Connection, customer: str) -> bool:
    """Has this id ever written to us (a conversation) or given it in the live chat?"""
    if conn.execute("SELECT 1 FROM conversations WHERE customer = ? LIMIT 1", (customer,)).fetchone():
        return True
    return False


def link(store: Any, now: datetime, customer: str, other_text: str, agent: str,
         ticket_ref: str | None = None) -> Identity:
    """An agent says `customer` and `other_text` (a number or an address in any spelling)
    are the same person. Logged without the ids themselves (the ticket names the case)."""
    other = normalize(other_text)
    if other is None:
        raise QueueError("not a phone number, an email address or a live-chat visitor",
                         "Tulis nomor WhatsApp (mis. 0812-3456-7890) atau alamat email yang valid.")
    if other == customer:
        raise QueueError("that is the same customer", "Itu pelanggan yang sama.")
    a, b = sorted((customer, other))
    with store.write(now) as tx:
        if any(i.customer == other for i in identities(tx.conn, customer)):
            raise QueueError("already linked", "Keduanya sudah tertaut.")
        if not known(tx.conn, customer):
            raise QueueError("unknown customer", "Pelanggan ini tidak ditemukan.")
        cur = tx.conn.execute("INSERT INTO customer_links (a, b, via, linked_by, created_at) VALUES (?, ?, 'agent', ?, ?)",
                              (a, b, agent, tx.now))
        conv = tx.conn.execute("SELECT conversation_id FROM tickets WHERE ref = ? AND customer = ?",
                               (ticket_ref, customer)).fetchone() if ticket_ref else None
        tx.log_event("customer.linked", agent, conversation_id=conv[0] if conv else None,
                     ticket_ref=ticket_ref if conv else None,
                     data={"link": cur.lastrowid, "kinds": f"{kind_of(a)}+{kind_of(b)}"})
        lid = int(cur.lastrowid)  # type: ignore[arg-type]
    return Identity(other, kind_of(other), "agent", lid, agent, now)


def unlink(store: Any, now: datetime, link_id: int, agent: str, supervisor: bool,
           ticket_ref: str | None = None) -> None:
    """Undo an agent's link: the agent who made it or a supervisor (PermissionError otherwise)."""
    with store.write(now) as tx:
        row = tx.conn.execute("SELECT a, b, linked_by FROM customer_links WHERE id = ?", (link_id,)).fetchone()
        if row is None:
            raise QueueError("no such link", "Tautan ini sudah tidak ada.")
        if not supervisor and row[2] != agent:
            raise PermissionError("only the agent who linked them or a supervisor may unlink")
        tx.conn.execute("DELETE FROM customer_links WHERE id = ?", (link_id,))
        conv = tx.conn.execute("SELECT conversation_id FROM tickets WHERE ref = ? AND customer IN (?, ?)",
                               (ticket_ref, row[0], row[1])).fetchone() if ticket_ref else None
        tx.log_event("customer.unlinked", agent, conversation_id=conv[0] if conv else None,
                     ticket_ref=ticket_ref if conv else None,
                     data={"link": link_id, "kinds": f"{kind_of(row[0])}+{kind_of(row[1])}"})
