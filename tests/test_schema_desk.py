"""Schema version 7 (the agent's desk): a version-6 database with tickets and agents is
upgraded in place, keeps its rows, and gets the desk's tables and columns."""
from __future__ import annotations

import re
import sqlite3

from handoff.schema_desk import AFTER_COLUMNS, COLUMNS, SCHEMA
from handoff.store import SCHEMA_VERSION, Store

DESK_TABLES = {"canned_replies", "ticket_notes", "notifications", "labels", "ticket_labels", "customer_links"}


def _as_version_6(path) -> None:  # type: ignore[no-untyped-def]
    """Undo what version 7 added, as if the file had been made by the previous release."""
    conn = sqlite3.connect(path)
    for statement in (*SCHEMA, *AFTER_COLUMNS):  # the desk's indexes (some are on its new columns)
        found = re.match(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)", statement)
        if found:
            conn.execute(f"DROP INDEX IF EXISTS {found.group(1)}")
    for kind, name in conn.execute("SELECT type, name FROM sqlite_master WHERE name LIKE 'search%' "
                                   "AND type IN ('trigger', 'table') ORDER BY type = 'table'").fetchall():
        conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")  # the search index (version 7 too)
    for table in DESK_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for table, columns in COLUMNS.items():
        for name in columns:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def test_a_version_6_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v6.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO agents (name, role, password_hash, created_at) VALUES ('sari', 'agent', 'x', '2026-11-30')")
    conn.commit()
    conn.close()
    _as_version_6(path)
    conn = sqlite3.connect(path)
    assert "status" not in {r[1] for r in conn.execute("PRAGMA table_info(agents)")}
    conn.close()

    store = Store(path)
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert DESK_TABLES <= tables
    for table, columns in COLUMNS.items():
        have = {r[1] for r in store.conn.execute(f"PRAGMA table_info({table})")}
        assert set(columns) <= have, table
    assert store.conn.execute("SELECT name FROM agents").fetchall()[0][0] == "sari"
    assert {"search_messages", "search_facts"} <= tables  # the search index is made (and filled) on upgrade
    assert store.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    store.close()
    Store(path).close()  # idempotent: a second start changes nothing


def test_every_desk_statement_is_idempotent(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TABLE agents (name TEXT PRIMARY KEY)")
    from handoff.schema_desk import ensure_schema

    ensure_schema(conn)
    ensure_schema(conn)
    assert all("IF NOT EXISTS" in s for s in SCHEMA)
    conn.close()
