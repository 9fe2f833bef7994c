"""The database schema and its upgrades: every table, index and column, created if
missing, in one `BEGIN IMMEDIATE` so workers starting together wait instead of failing."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from handoff.records import _has_table

SCHEMA_VERSION = 7  # 2: the outbox table (handoff/outbox.py); 3: SLA/CSAT columns, agents, logins, presence;
# 4: the next-reply timer (tickets.reply_since, reply_due), console sessions;
# 5: conversation state (conversations.dialogue, bot/dialogue/state.py) and tickets.topic
# 6: the website live chat's visitors, typing marks and rate-limit hits (handoff/livechat.py)
# 7: the agent's desk: saved replies, notes, notifications, labels, links, snooze, status (handoff/schema_desk.py)
#    and the search index (handoff/search_index.py)
# Columns added by schema version 3 (a version-2 database gets them on upgrade).
_V3_TICKET_COLUMNS = {"first_response_due": str, "first_response_at": str, "resolution_due": str, "csat": int,
                      "csat_at": str, "escalated_by": str, "reply_since": str, "reply_due": str}
_V3_CONVERSATION_COLUMNS = {"csat_ticket": str, "csat_asked_at": str}
# Columns added by schema version 5.
_V5_COLUMNS = {"tickets": {"topic": str}, "conversations": {"dialogue": str}}


def migrate(conn: sqlite3.Connection, path: str, database: Callable[[], Any]) -> None:
    """Create or upgrade the schema to SCHEMA_VERSION (idempotent, one transaction)."""
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal" and path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if _has_table(conn, "meta"):
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row and int(row[0]) >= SCHEMA_VERSION:
            return
    db = database()
    fresh = not _has_table(conn, "conversations")
    # (outbox change) one BEGIN IMMEDIATE around the whole migration: concurrent first
    # starts (several workers) wait on the busy timeout instead of failing with
    # "database is locked" on a deferred read->write upgrade; every step is if_not_exists.
    with _migration_lock(conn), db.atomic():
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["conversations"].create(
            {
                "id": int, "channel": str, "customer": str, "display_name": str, "state": str,
                "agent": str, "lang": str, "unknown_streak": int, "menu_shown": int,
                "created_at": str, "updated_at": str, "last_inbound_at": str,
            },
            pk="id", not_null={"channel", "customer", "state", "created_at"}, if_not_exists=True,
        )
        db["conversations"].create_index(["channel", "customer", "state"], if_not_exists=True)
        db["conversations"].create_index(["customer"], if_not_exists=True)
        db["messages"].create(
            {
                "id": int, "conversation_id": int, "direction": str, "channel": str, "customer": str,
                "author": str, "external_id": str, "text": str, "intent": str, "confidence": float,
                "attachments": str, "meta": str, "created_at": str,
            },
            pk="id", foreign_keys=[("conversation_id", "conversations", "id")],
            not_null={"conversation_id", "direction", "channel", "customer", "created_at"},
            if_not_exists=True,
        )
        db["messages"].create_index(["channel", "direction", "external_id"], unique=True, if_not_exists=True)
        db["messages"].create_index(["conversation_id", "id"], if_not_exists=True)
        db["messages"].create_index(["customer"], if_not_exists=True)
        db["tickets"].create(
            {
                "id": int, "ref": str, "conversation_id": int, "channel": str, "customer": str,
                "intent": str, "priority": str, "status": str, "agent": str, "due_at": str,
                "created_at": str, "updated_at": str, "resolved_at": str, "details": str, "summary": str,
            },
            pk="id", foreign_keys=[("conversation_id", "conversations", "id")],
            not_null={"conversation_id", "channel", "customer", "intent", "priority", "status", "due_at"},
            if_not_exists=True,
        )
        db["tickets"].create_index(["ref"], unique=True, if_not_exists=True)
        db["tickets"].create_index(["status", "due_at"], if_not_exists=True)
        db["tickets"].create_index(["conversation_id", "status"], if_not_exists=True)
        db["tickets"].create_index(["customer"], if_not_exists=True)
        db["events"].create(
            {"id": int, "at": str, "kind": str, "actor": str, "conversation_id": int,
             "ticket_ref": str, "data": str},
            pk="id", not_null={"at", "kind", "actor"}, if_not_exists=True,
        )
        db["events"].create_index(["conversation_id"], if_not_exists=True)
        # --- outbox (schema version 2): idempotent for a version-1 database ---
        from handoff.outbox import create_schema as create_outbox_schema

        create_outbox_schema(db)
        # --- end outbox ---
        _migrate_v3(db)
        for table, columns in _V5_COLUMNS.items():
            have = set(db[table].columns_dict)
            for name, kind in columns.items():
                if name not in have:
                    db[table].add_column(name, kind)
        from handoff.livechat import ensure_schema as create_livechat_schema

        create_livechat_schema(conn)
        from handoff import schema_desk, search_index

        schema_desk.ensure_schema(conn)
        search_index.ensure_schema(conn)
        db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
        if fresh:  # made with secure_delete on from the start: `forget` needs no VACUUM
            db["meta"].upsert({"key": "secure_delete", "value": "1"}, pk="key")

def _migrate_v3(db: Any) -> None:
    """SLA timers and CSAT on tickets, the CSAT question on conversations; agents,
    login attempts (rate limit) and console presence. Idempotent."""
    for table, columns in (("tickets", _V3_TICKET_COLUMNS), ("conversations", _V3_CONVERSATION_COLUMNS)):
        have = set(db[table].columns_dict)
        for name, kind in columns.items():
            if name not in have:
                db[table].add_column(name, kind)
    # Tickets made before version 3: the first-response promise was `due_at`.
    db.execute("UPDATE tickets SET first_response_due = due_at WHERE first_response_due IS NULL")
    db.execute("UPDATE tickets SET resolution_due = due_at WHERE resolution_due IS NULL")
    # The queue: unresolved tickets by due time, without sorting 100,000 resolved ones.
    db.execute("CREATE INDEX IF NOT EXISTS idx_tickets_active_due ON tickets (due_at, id) WHERE status != 'resolved'")
    db["tickets"].create_index(["created_at"], if_not_exists=True)
    db["tickets"].create_index(["agent", "status"], if_not_exists=True)
    db["agents"].create({"name": str, "role": str, "password_hash": str, "created_at": str},
                        pk="name", not_null={"role", "password_hash", "created_at"}, if_not_exists=True)
    db["login_attempts"].create({"id": int, "key": str, "at": str}, pk="id", not_null={"key", "at"},
                                if_not_exists=True)
    db["login_attempts"].create_index(["key", "at"], if_not_exists=True)
    db["presence"].create({"conversation_id": int, "agent": str, "seen_at": str},
                          pk=("conversation_id", "agent"), not_null={"seen_at"}, if_not_exists=True)
    db["events"].create_index(["at"], if_not_exists=True)
    # Console sessions (bot/web/console_auth.py): the cookie carries only the id. A
    # database already at version 3 before this table existed gets it from
    # console_auth.ensure_session_table (the same CREATE ... IF NOT EXISTS) at first login.
    db["console_sessions"].create({"id": str, "agent": str, "created_at": str, "last_seen_at": str,
                                   "password_fp": str}, pk="id", not_null={"agent", "created_at"},
                                  if_not_exists=True)
    db["console_sessions"].create_index(["agent"], if_not_exists=True)

@contextmanager
def _migration_lock(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
