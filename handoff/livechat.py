"""What the website live chat (channel `web`) keeps beside conversations and messages:
its visitors, who is typing, and the hits its rate limits count.

A visitor is `web:<id>`, the `customer` of their conversations; the id comes from a
signed token the widget keeps in the browser (bot/web/livechat_token.py). Contact details
a visitor typed into the widget (name, email, WhatsApp number) are theirs to give but not
proof of who they are: they are kept here, never linked to another customer's history.
`forget` finds every row here by its `customer` column.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from handoff.records import parse_iso, utc_iso

SCHEMA = (
    # email_verified_at: the visitor proved the address (a code sent there); only then do
    # agents' replies also go there while the visitor is away, and is the visitor linked to
    # that address's history (linked_customer). code_*: the pending code, as a hash.
    "CREATE TABLE IF NOT EXISTS livechat_visitors (customer TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
    "last_seen_at TEXT NOT NULL, name TEXT, email TEXT, phone TEXT, read_up_to INTEGER NOT NULL DEFAULT 0, "
    "email_verified_at TEXT, linked_customer TEXT, code_hash TEXT, code_expires_at TEXT, "
    "code_attempts INTEGER NOT NULL DEFAULT 0, phone_e164 TEXT, phone_verified_at TEXT, phone_code_hash TEXT, "
    "phone_code_expires_at TEXT)",
    "CREATE INDEX IF NOT EXISTS idx_livechat_visitors_phone ON livechat_visitors (phone_e164)",
    # who is typing in a conversation: one row per (conversation, side); seq orders the changes for the live hub
    "CREATE TABLE IF NOT EXISTS livechat_typing (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id INTEGER NOT NULL, "
    "customer TEXT NOT NULL, who TEXT NOT NULL, name TEXT, typing INTEGER NOT NULL, at TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_livechat_typing_side ON livechat_typing (conversation_id, who)",
    # rate-limit hits; `key` is a hash of the visitor or the client address, never the address itself
    "CREATE TABLE IF NOT EXISTS livechat_hits (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_livechat_hits_key ON livechat_hits (key, at)",
    # the live hub reads only presence that changed (its message query walks the rowid range
    # of what is new: no extra index on messages, which every webhook would pay for)
    "CREATE INDEX IF NOT EXISTS idx_presence_seen_at ON presence (seen_at)",
)
PREFIX = "web:"
TYPING_FOR = timedelta(seconds=6)  # a typing mark not renewed within this is over


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


@dataclass(frozen=True)
class Visitor:
    customer: str
    created_at: datetime
    name: str | None
    email: str | None
    phone: str | None
    read_up_to: int
    last_seen_at: datetime
    email_verified: bool = False
    phone_verified: bool = False
    phone_e164: str | None = None  # `phone` as +62..., the number a WhatsApp proof names

    @property
    def contact(self) -> dict[str, str] | None:
        given = {k: v for k, v in (("name", self.name), ("email", self.email), ("phone", self.phone)) if v}
        return given or None


def _visitor(row: sqlite3.Row | tuple[Any, ...] | None) -> Visitor | None:
    if row is None:
        return None
    customer, created, name, email, phone, read_up_to, last_seen, verified, phone_verified, e164 = row
    return Visitor(customer, parse_iso(created), name, email, phone, int(read_up_to or 0), parse_iso(last_seen),
                   bool(verified), bool(phone_verified), e164)


def visitor(conn: sqlite3.Connection, customer: str) -> Visitor | None:
    return _visitor(conn.execute(
        "SELECT customer, created_at, name, email, phone, read_up_to, last_seen_at, email_verified_at, "
        "phone_verified_at, phone_e164 FROM livechat_visitors WHERE customer = ?", (customer,)).fetchone())


def seen(tx: Any, customer: str) -> None:
    """Record a visit: a new visitor's row, or the time a returning one was last here.
    (The language is the conversation's, not the visitor's.)"""
    tx.conn.execute(
        "INSERT INTO livechat_visitors (customer, created_at, last_seen_at) VALUES (?, ?, ?) "
        "ON CONFLICT(customer) DO UPDATE SET last_seen_at = excluded.last_seen_at", (customer, tx.now, tx.now))


def set_contact(tx: Any, customer: str, name: str | None, email: str | None, phone: str | None) -> tuple[bool, bool]:
    """Keep what the visitor typed; (email changed, phone changed): a new address or number is unproven."""
    old = tx.conn.execute("SELECT email, phone_e164 FROM livechat_visitors WHERE customer = ?", (customer,)).fetchone()
    e164 = phone_e164(phone)
    email_changed = (old[0] if old else None) != email
    phone_changed = (old[1] if old else None) != e164
    tx.conn.execute("UPDATE livechat_visitors SET name = ?, email = ?, phone = ?, phone_e164 = ?, last_seen_at = ? "
                    "WHERE customer = ?", (name, email, phone, e164, tx.now, customer))
    if email_changed:
        tx.conn.execute("UPDATE livechat_visitors SET email_verified_at = NULL, linked_customer = NULL, code_hash = NULL, "
                        "code_expires_at = NULL, code_attempts = 0 WHERE customer = ?", (customer,))
    if phone_changed:
        tx.conn.execute("UPDATE livechat_visitors SET phone_verified_at = NULL, phone_code_hash = NULL, "
                        "phone_code_expires_at = NULL WHERE customer = ?", (customer,))
    return email_changed, phone_changed


def phone_e164(phone: str | None) -> str | None:
    """An Indonesian mobile number in any common spelling -> +62...; other countries as given
    with +; None when it is no number."""
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    if digits.startswith("+"):
        rest = digits[1:]
    elif digits.startswith("0"):
        rest = "62" + digits[1:]
    elif digits.startswith("62"):
        rest = digits
    else:
        rest = "62" + digits
    return "+" + rest if rest.isdigit() and 9 <= len(rest) <= 15 else None


def away(v: Visitor, now: datetime, after: timedelta = timedelta(minutes=3)) -> bool:
    """Has the visitor left? An open widget renews `last_seen_at` at least every minute."""
    return now - v.last_seen_at > after


def mark_read(tx: Any, customer: str, up_to: int) -> bool:
    """The visitor has seen every message up to `up_to`; True when that moved the mark on.
    Outbox rows of the agents' messages the visitor has now seen become "read"."""
    cur = tx.conn.execute("UPDATE livechat_visitors SET read_up_to = ? WHERE customer = ? AND read_up_to < ?",
                          (up_to, customer, up_to))
    if not cur.rowcount:
        return False
    tx.conn.execute(
        "UPDATE outbox SET status = 'read', updated_at = ? WHERE channel = 'web' AND customer = ? "
        "AND status IN ('sent', 'delivered') AND id IN (SELECT CAST(json_extract(meta, '$.outbox_id') AS INTEGER) "
        "FROM messages WHERE customer = ? AND channel = 'web' AND direction = 'out' AND id <= ?)",
        (tx.now, customer, customer, up_to))
    return True


def set_typing(tx: Any, conversation_id: int, customer: str, who: str, name: str | None, typing: bool) -> None:
    tx.conn.execute(
        "INSERT INTO livechat_typing (conversation_id, customer, who, name, typing, at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(conversation_id, who) DO UPDATE SET seq = (SELECT coalesce(max(seq), 0) + 1 FROM livechat_typing), "
        "name = excluded.name, typing = excluded.typing, at = excluded.at",
        (conversation_id, customer, who, name, int(typing), tx.now))


def typing_unchanged(conn: sqlite3.Connection, conversation_id: int, typing: bool, now: datetime) -> bool:
    """The customer's mark already says this (and, while typing, was renewed under 3 s ago):
    nothing to write. Keeps a chatty or hostile widget from writing on every key press."""
    row = conn.execute("SELECT typing, at FROM livechat_typing WHERE conversation_id = ? AND who = 'customer'",
                       (conversation_id,)).fetchone()
    if row is None or bool(row[0]) != typing:
        return False
    return not typing or now - parse_iso(row[1]) < timedelta(seconds=3)


def customer_typing(conn: sqlite3.Connection, conversation_id: int, now: datetime) -> bool:
    """For the console: is the customer typing in this conversation right now?"""
    row = conn.execute("SELECT typing, at FROM livechat_typing WHERE conversation_id = ? AND who = 'customer'",
                       (conversation_id,)).fetchone()
    return bool(row and row[0] and now - parse_iso(row[1]) < TYPING_FOR)


# -- rate limits -------------------------------------------------------------------------------
def real_now() -> datetime:
    """Rate limits count real time: the simulator's pretend clock must never reset them."""
    return datetime.now(timezone.utc)


def over_limit(tx: Any, key: str, now: datetime, span: timedelta, limit: int) -> timedelta | None:
    """Count one hit for `key` at `now` (pass `real_now()`), or return how long it must
    wait (nothing counted then)."""
    rows = tx.conn.execute("SELECT at FROM livechat_hits WHERE key = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                           (key, utc_iso(now - span), limit)).fetchall()
    if len(rows) >= limit:
        return max(parse_iso(rows[-1][0]) + span - now, timedelta(seconds=1))
    tx.conn.execute("INSERT INTO livechat_hits (key, at) VALUES (?, ?)", (key, utc_iso(now)))
    return None


def prune_hits(tx: Any, now: datetime) -> None:
    tx.conn.execute("DELETE FROM livechat_hits WHERE at < ?", (utc_iso(now - timedelta(days=1)),))


# -- messages as the widget shows them ---------------------------------------------------------------
# a message as widget_message reads it (the live hub selects the same)
WIDGET_COLUMNS = "m.id, m.direction, m.author, m.text, m.created_at, m.attachments, m.meta, m.external_id, c.lang"


def widget_message(row: sqlite3.Row | tuple[Any, ...], agent_read_at: str | None = None) -> dict[str, Any]:
    """One stored message as the widget's MSG object. Private notes and agents' own
    names beyond the display name never leave the server."""
    mid, direction, author, text, created, attachments, meta, external_id, lang = tuple(row)
    meta_d = json.loads(meta or "{}")
    if direction == "in":
        who = "customer"
    elif author == "bot":
        who = "bot"
    else:
        who = "agent"
    out: dict[str, Any] = {"id": mid, "author": who, "text": text or "", "at": created, "lang": lang or "id",
                           "name": author if who == "agent" else None}
    if who == "customer":
        out["state"] = "read" if agent_read_at and created <= agent_read_at else "sent"
        out["client_id"] = (external_id or "").partition(":")[2] or None
    files = []
    for a in json.loads(attachments or "[]"):
        if a.get("blob_id"):
            files.append({"url": f"/livechat/api/attachment/{int(a['blob_id'])}", "type": a.get("content_type"),
                          "name": a.get("filename")})
    out["attachments"] = files
    if meta_d.get("handoff"):
        out["handoff"] = True
    return out


def agent_read_at(conn: sqlite3.Connection, conversation_ids: list[int]) -> str | None:
    """When an agent last looked at one of these conversations in the console."""
    if not conversation_ids:
        return None
    marks = ",".join("?" * len(conversation_ids))
    row = conn.execute(f"SELECT max(seen_at) FROM presence WHERE conversation_id IN ({marks})",
                       conversation_ids).fetchone()
    return row[0] if row and row[0] else None


def history(conn: sqlite3.Connection, customer: str, after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
    """The visitor's messages (every conversation of theirs) with id > after, oldest first."""
    # the first load shows the newest `limit`; a reconnect (after > 0) pages forward from
    # `after`, oldest first, so nothing between is skipped (the stream asks again for the rest)
    order = "DESC" if after == 0 else "ASC"
    rows = conn.execute(
        f"SELECT {WIDGET_COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.channel = 'web' AND m.customer = ? AND m.id > ? AND coalesce(json_extract(m.meta, '$.private'), 0) = 0 "
        f"ORDER BY m.id {order} LIMIT ?", (customer, after, limit)).fetchall()
    if order == "ASC":
        rows = list(reversed(rows))
    conv_ids = [r[0] for r in conn.execute(
        "SELECT id FROM conversations WHERE channel = 'web' AND customer = ?", (customer,))]
    read_at = agent_read_at(conn, conv_ids)
    return [widget_message(r, agent_read_at=read_at) for r in reversed(rows)]


def exchange(conn: sqlite3.Connection, customer: str, external_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The customer's message with this id and the answers the bot gave to it."""
    row = conn.execute(
        f"SELECT {WIDGET_COLUMNS}, m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.channel = 'web' AND m.direction = 'in' AND m.external_id = ? AND m.customer = ?",
        (external_id, customer)).fetchone()
    if row is None:
        return None, []
    replies = conn.execute(
        f"SELECT {WIDGET_COLUMNS} FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.conversation_id = ? AND m.id > ? AND m.direction = 'out' AND m.author = 'bot' "
        "AND m.id < coalesce((SELECT min(id) FROM messages WHERE conversation_id = ? AND id > ? AND direction = 'in'), "
        "9223372036854775807) ORDER BY m.id", (row[-1], row[0], row[-1], row[0])).fetchall()
    return widget_message(tuple(row)[:-1]), [widget_message(r) for r in replies]
