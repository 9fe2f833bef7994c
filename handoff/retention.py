"""Retention: delete conversations nobody has touched for `[storage] retention_days`.

A conversation goes, with everything that belongs to it (messages, tickets, queued
and sent outbox rows with their mail headers, events, console presence), once its
last activity (created, updated, last message, ticket or outbox change) is older than
the cutoff and it has no unresolved ticket: a case an agent still has to answer is
never deleted, however old. Like `Store.forget`, it leaves one `retention.purged`
event with the counts and without any customer id.

Work is done in batches of `BATCH` conversations, each its own short write
transaction (the bot keeps answering in between); a conversation and its rows always
go together. Running it twice, or from two workers at once, is harmless: the second
run finds nothing left to delete.

Also: live-chat visitors not seen since the cutoff whose conversations are gone (with
the contact details they gave), and
login attempts and console presence older than a day (they only serve a rate
limit and "who is looking at this" for a few minutes), and the sender address on old
`email_inbox` rows (the Message-ID stays: it keeps a mail from being answered twice).
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from handoff.store import Store, Transaction, delete_conversations, utc_iso

BATCH = 500
SHORT_LIVED = timedelta(days=1)  # login_attempts, presence
COUNT_KEYS = ("conversations", "messages", "tickets", "outbox", "events", "presence", "files", "login_attempts",
              "email_senders", "livechat_visitors", "notes", "notifications")

# Conversations idle since before :cutoff with nothing still to do. Times are UTC ISO
# strings, which compare as text.
_CANDIDATES = """
SELECT c.id FROM conversations c
WHERE c.created_at < :cutoff
  AND coalesce(c.updated_at, c.created_at) < :cutoff
  AND coalesce(c.last_inbound_at, c.created_at) < :cutoff
  AND (c.state IS NULL OR c.state != 'human')
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.created_at >= :cutoff)
  AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id
                  AND (t.status != 'resolved' OR coalesce(t.updated_at, t.created_at) >= :cutoff))
  {outbox}
ORDER BY c.id
LIMIT :limit
"""
_OUTBOX_GUARD = """AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.conversation_id = c.id
                  AND (o.status IN ('pending', 'sending') OR coalesce(o.updated_at, o.created_at) >= :cutoff))"""


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _delete_batch(tx: Transaction, cutoff: str, counts: dict[str, int]) -> int:
    """Delete up to BATCH idle conversations and their rows; return how many."""
    conn = tx.conn
    has_outbox = _has_table(conn, "outbox")
    sql = _CANDIDATES.format(outbox=_OUTBOX_GUARD if has_outbox else "")
    ids = [r[0] for r in conn.execute(sql, {"cutoff": cutoff, "limit": BATCH})]
    if not ids:
        return 0
    for kind, n in delete_conversations(tx, ids).items():
        counts[kind] = counts.get(kind, 0) + n
    return len(ids)


def purge_older_than(store: Store, now: datetime, days: int, actor: str = "retention") -> dict[str, int]:
    """Delete conversations whose last activity is more than `days` days before `now`
    and that have no unresolved ticket, with all their rows; return the counts per kind
    (keys: COUNT_KEYS). `days <= 0` means keep forever: nothing is deleted, no event.

    One `retention.purged` event (actor `actor`, data: the counts and `days`) is logged
    when anything was deleted. Never logs or returns a customer id."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError("days must be an int")
    if days <= 0:
        return counts
    cutoff = utc_iso(now - timedelta(days=days))
    short = utc_iso(now - SHORT_LIVED)
    while True:
        with store.write(now) as tx:
            done = _delete_batch(tx, cutoff, counts)
        if done < BATCH:
            break
    with store.write(now) as tx:
        conn = tx.conn
        if _has_table(conn, "login_attempts"):
            counts["login_attempts"] = conn.execute("DELETE FROM login_attempts WHERE at < ?", (short,)).rowcount
        if _has_table(conn, "presence"):
            counts["presence"] += conn.execute("DELETE FROM presence WHERE seen_at < ?", (short,)).rowcount
        if _has_table(conn, "console_sessions"):  # a session lasts 12 hours; a day is past any
            conn.execute("DELETE FROM console_sessions WHERE created_at < ?", (short,))
        if _has_table(conn, "livechat_visitors"):
            # a live-chat visitor (with the contact details they gave) not seen since the cutoff
            # and with no conversation left; their rate-limit hits and typing marks with them
            counts["livechat_visitors"] = conn.execute(
                "DELETE FROM livechat_visitors WHERE last_seen_at < ? AND customer NOT IN "
                "(SELECT customer FROM conversations WHERE channel = 'web')", (cutoff,)).rowcount
            conn.execute("DELETE FROM livechat_typing WHERE at < ?", (short,))
            conn.execute("DELETE FROM livechat_hits WHERE at < ?", (short,))
        if _has_table(conn, "email_inbox"):
            counts["email_senders"] = conn.execute(
                "UPDATE email_inbox SET sender = NULL WHERE created_at < ? AND sender IS NOT NULL", (cutoff,)).rowcount
        if counts["conversations"]:
            # Events that name only a ticket (no conversation id) of a ticket now gone.
            counts["events"] += conn.execute(
                "DELETE FROM events WHERE at < ? AND conversation_id IS NULL AND ticket_ref IS NOT NULL "
                "AND ticket_ref NOT IN (SELECT ref FROM tickets WHERE ref IS NOT NULL)", (cutoff,)).rowcount
        if counts["messages"] or counts["tickets"]:
            from handoff import search_index

            search_index.purge(conn)  # no deleted word survives in an old segment of the search index
        if any(counts.values()):
            tx.log_event("retention.purged", actor, data={"days": days, **counts})
    return counts
