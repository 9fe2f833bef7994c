"""`GET /healthz`: 200 `{"status": "ok"}` only while a write to the database would succeed.

A `SELECT 1` answers on a read-only file and on a full disk, so the probe writes, on
the worker's own connection and within a bounded time: BEGIN IMMEDIATE (the write
lock, waiting at most PROBE_TIMEOUT_MS), the time into a one-row table, and inside a
savepoint a row of a few pages rolled back at once, so the file must be able to grow
(SQLITE_FULL shows there); then COMMIT (the WAL must take the frame). Anything else:
503 `{"status": "error", "error": REASON}` with a short reason, never a path or a query.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from flask import Blueprint, jsonify

health = Blueprint("health", __name__)

PROBE_TIMEOUT_MS = 2000  # the longest a probe waits for the write lock or the worker's connection
GROW_PAGES = 4  # pages the rolled-back row needs: the file (or its free list) must have room for them
_TABLE = "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL, pad BLOB)"
_REASONS = {
    "SQLITE_READONLY": "database is read-only",
    "SQLITE_FULL": "disk or database full",
    "SQLITE_BUSY": "database busy: a write lock is held too long",
    "SQLITE_LOCKED": "database busy: a write lock is held too long",
    "SQLITE_CANTOPEN": "database cannot be opened",
    "SQLITE_IOERR": "database I/O error",
    "SQLITE_CORRUPT": "database corrupt",
    "SQLITE_NOTADB": "database corrupt",
}


def reason_of(exc: sqlite3.Error) -> str:
    """A short, fixed reason for the error (the message may carry a path)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, reason in _REASONS.items():
        if name.startswith(prefix):
            return reason
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return _REASONS["SQLITE_READONLY"]
    if "full" in text:
        return _REASONS["SQLITE_FULL"]
    return "database unavailable"


def write_probe(conn: sqlite3.Connection) -> str | None:
    """None when a write commits on `conn` (autocommit mode, no transaction open), else
    the reason it does not. Leaves the connection's busy timeout as it found it."""
    try:
        old_timeout = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        conn.execute(f"PRAGMA busy_timeout = {PROBE_TIMEOUT_MS}")
    except sqlite3.Error as exc:
        return reason_of(exc)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_TABLE)
        conn.execute("INSERT INTO health_probe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                     (datetime.now(timezone.utc).isoformat(timespec="seconds"),))
        conn.execute("SAVEPOINT health_grow")
        conn.execute("INSERT INTO health_probe (id, at, pad) VALUES (2, '', zeroblob(?))", (GROW_PAGES * page,))
        conn.execute("ROLLBACK TO health_grow")
        conn.execute("RELEASE health_grow")
        conn.execute("COMMIT")
        return None
    except sqlite3.Error as exc:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        return reason_of(exc)
    finally:
        try:
            conn.execute(f"PRAGMA busy_timeout = {old_timeout}")
        except sqlite3.Error:
            pass


@health.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    svc = services()
    reason: str | None
    try:
        store = svc.bot.store
    except Exception:  # the database cannot even be opened
        reason = "database cannot be opened"
    else:
        # The worker's one connection is shared with the pipeline: wait for it, bounded.
        if svc._lock.acquire(timeout=PROBE_TIMEOUT_MS / 1000):
            try:
                reason = write_probe(store.conn)
            finally:
                svc._lock.release()
        else:
            reason = "worker busy: the database connection is held too long"
    if reason is None:
        return jsonify(status="ok")
    return jsonify(status="error", error=reason), 503
