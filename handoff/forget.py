"""`forget`: erase one customer (a phone number, an email address, or several of them).

Deleting their rows is not enough; the bytes must go too:
- their conversations with messages, tickets (details, notes, CSAT), events, outbox rows
  and mail headers, attachment blobs, console presence (store.delete_conversations);
- rows of any table keyed on them (`customer` or `sender` column: mail queued to them
  from another conversation, `email_inbox` records with their Message-IDs);
- what other rows say about them: another conversation's `meta.to` (an agent emailed
  them from a WhatsApp ticket), ticket details and texts naming the address or number
  in any common spelling, audit-event data: replaced by `[dihapus]`;
- the bytes: every connection runs with `secure_delete` (freed space is zeroed), the
  WAL is checkpointed and truncated so old page images do not survive in `-wal`, and a
  database made before `secure_delete` was on (stale bytes in free space) is VACUUMed once.
"""
from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from handoff.store import Store

SCRUBBED = "[dihapus]"
SECURE_DELETE_KEY = "secure_delete"  # meta row: every write to this database zeroed what it freed
KEY_COLUMNS = ("customer", "sender")
_SEP = r"[ \t\r\n\f\v\xa0.\-()]{0,2}"  # between the digits of a phone number written by a person


def phone_pattern(e164: str) -> str:
    """A regex for one phone number in the spellings people and systems use:
    +6281234567890, 6281234567890, 081234567890, 0812-3456-7890, +62 812 3456 7890,
    %2B6281234567890 (URL-encoded), whatsapp:+62..."""
    digits = re.sub(r"\D", "", e164)
    if digits.startswith("62"):
        national = digits[2:]
        prefix = r"(?:(?:%2B|\+)?\s*62|0)?"
    else:
        national = digits
        prefix = r"(?:%2B|\+|00)?"
    body = _SEP.join(re.escape(d) for d in national)
    return rf"(?<!\d){prefix}{_SEP}{body}(?!\d)"


def email_pattern(address: str) -> str:
    local, _, domain = address.partition("@")
    return rf"(?<![\w.+\-]){re.escape(local)}(?:@|%40){re.escape(domain)}(?![\w\-])"


def identity_regex(customers: Iterable[str], message_ids: Iterable[str] = ()) -> re.Pattern[str]:
    parts = [email_pattern(c) if "@" in c else phone_pattern(c) for c in customers]
    parts += [re.escape(m) for m in message_ids if m and len(m) > 8]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


_SEPARATORS = str.maketrans("", "", " \t\r\n\f\v\xa0.-()")  # exactly the characters of _SEP


def quick_check(customers: Iterable[str], message_ids: Iterable[str] = ()) -> Callable[[str], bool]:
    """A fast test that is true for every text `identity_regex` matches (and for some
    more): the regex is slow over a whole table, plain substring tests are not."""
    domains = [c.partition("@")[2].lower() for c in customers if "@" in c]
    nationals = []
    for c in customers:
        if "@" not in c:
            digits = re.sub(r"\D", "", c)
            nationals.append(digits[2:] if digits.startswith("62") else digits)
    ids = [m.lower() for m in message_ids if m and len(m) > 8]

    def check(text: str) -> bool:
        low = text.lower()
        if any(d in low for d in domains) or any(m in low for m in ids):
            return True
        if nationals:
            bare = text.translate(_SEPARATORS)
            return any(n in bare for n in nationals)
        return False
    return check


def _tables(conn: sqlite3.Connection) -> list[str]:
    from handoff.search_index import TABLE_PREFIX  # the index follows its base rows by triggers: never scrubbed itself

    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        if not r[0].startswith(TABLE_PREFIX)]


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, bool]]:
    """(name, declared type, is part of the primary key) of each column."""
    return [(r[1], (r[2] or "").upper(), bool(r[5])) for r in conn.execute(f'PRAGMA table_info("{table}")')]


def forget(store: "Store", customers: list[str], now: datetime, actor: str = "operator") -> dict[str, int]:
    """Erase these customer ids (E.164 numbers, lower-case addresses); return the counts
    per kind. One `customer.forgotten` event records the counts, never the ids."""
    from handoff.store import _delete_outbox, _has_table, delete_conversations

    ids = sorted({c.strip().lower() if "@" in c else c.strip() for c in customers if c and c.strip()})
    if not ids:
        raise ValueError("no customer to forget")
    marks = ",".join("?" * len(ids))
    with store.write(now) as tx:
        conn = tx.conn
        if _has_table(conn, "livechat_visitors"):
            # the live-chat visitors who gave one of these addresses or numbers are the same person
            visitors = [r[0] for r in conn.execute(
                f"SELECT customer FROM livechat_visitors WHERE lower(email) IN ({marks}) OR phone_e164 IN ({marks})",
                [*ids, *ids])]
            if visitors:
                ids = sorted(set(ids) | {v.lower() for v in visitors})
                marks = ",".join("?" * len(ids))
        conv_ids = [r[0] for r in conn.execute(
            f"SELECT id FROM conversations WHERE lower(customer) IN ({marks})", ids)]
        message_ids = _their_message_ids(conn, conv_ids)
        counts = delete_conversations(tx, conv_ids)  # with the agents' notes and notifications about them
        counts.update(email_inbox=0, other_rows=0, scrubbed=0)
        if _has_table(conn, "outbox"):
            stray = [r[0] for r in conn.execute(f"SELECT id FROM outbox WHERE lower(customer) IN ({marks})", ids)]
            counts["outbox"] += _delete_outbox(conn, stray)
        # every row about one of their mails (the inbox record, the intake's per-mail checkpoint
        # with its subject): any table with a `message_id` column
        for table in _tables(conn) if message_ids else ():
            if not any(column == "message_id" for column, _kind, _pk in _columns(conn, table)):
                continue
            for start in range(0, len(message_ids), 500):
                part = message_ids[start:start + 500]
                n = conn.execute(f'DELETE FROM "{table}" WHERE message_id IN ({",".join("?" * len(part))})',
                                 part).rowcount
                counts["email_inbox" if table == "email_inbox" else "other_rows"] += n
        for table in _tables(conn):
            for column, _kind, _pk in _columns(conn, table):
                if column in KEY_COLUMNS:
                    n = conn.execute(f'DELETE FROM "{table}" WHERE lower("{column}") IN ({marks})', ids).rowcount
                    counts["email_inbox" if table == "email_inbox" else "other_rows"] += n
        if _has_table(conn, "customer_links"):  # the same person on another channel: the link goes, not the other id
            counts["other_rows"] += conn.execute(
                f"DELETE FROM customer_links WHERE lower(a) IN ({marks}) OR lower(b) IN ({marks})", [*ids, *ids]).rowcount
        counts["scrubbed"] = _scrub(conn, identity_regex(ids, message_ids), quick_check(ids, message_ids))
        from handoff.search_index import purge as purge_search_index

        purge_search_index(conn)  # no deleted token left in an old segment of the search index
        tx.log_event("customer.forgotten", actor, data=counts)
    vacuumed, truncated = _flush(store)
    counts["vacuumed"], counts["wal_truncated"] = int(vacuumed), int(truncated)
    return counts


def _their_message_ids(conn: sqlite3.Connection, conv_ids: list[int]) -> list[str]:
    """The Message-IDs of their mails and of ours to them (external ids of the messages)."""
    found: list[str] = []
    for start in range(0, len(conv_ids), 500):
        part = conv_ids[start:start + 500]
        found += [r[0] for r in conn.execute(
            f"SELECT external_id FROM messages WHERE conversation_id IN ({','.join('?' * len(part))}) "
            "AND external_id IS NOT NULL", part)]
    return sorted(set(found))


def _scrub(conn: sqlite3.Connection, pattern: re.Pattern[str], quick: Callable[[str], bool]) -> int:
    """Replace every mention in any text column of any table; return the rows changed.
    `[dihapus]` holds no JSON special character, so JSON columns stay valid."""
    conn.create_function("yb_mentions", 1,
                         lambda v: 1 if isinstance(v, str) and quick(v) and pattern.search(v) else 0,
                         deterministic=True)
    conn.create_function("yb_scrub", 1, lambda v: pattern.sub(SCRUBBED, v) if isinstance(v, str) else v,
                         deterministic=True)
    changed = 0
    for table in _tables(conn):
        cols = [c for c, kind, pk in _columns(conn, table)
                if not pk and not any(k in kind for k in ("BLOB", "INT", "REAL", "NUM"))]
        if not cols:
            continue
        # One test per row over all its text columns (joined by \x01, which no pattern
        # spans), then each column rewritten: a full scan costs one call per row.
        joined = " || char(1) || ".join(f'coalesce("{c}", \'\')' for c in cols)
        sets = ", ".join(f'"{c}" = yb_scrub("{c}")' for c in cols)
        changed += conn.execute(f'UPDATE "{table}" SET {sets} WHERE yb_mentions({joined})').rowcount
    return changed


def _flush(store: "Store", attempts: int = 20) -> tuple[bool, bool]:
    """Make the deletion final on disk: VACUUM a database that may hold stale bytes from
    before `secure_delete`, then move the WAL into the database and truncate it. Returns
    (VACUUM ran, WAL truncated); the WAL stays when another process keeps a read open
    for the whole wait (the caller says to run `forget` again)."""
    conn = store.conn
    if store.path == ":memory:":
        return False, True
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (SECURE_DELETE_KEY,)).fetchone()
    vacuumed = False
    if row is None or row[0] != "1":
        conn.execute("VACUUM")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (SECURE_DELETE_KEY,))
        vacuumed = True
    for _ in range(attempts):
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return vacuumed, True
        time.sleep(0.25)
    return vacuumed, False
