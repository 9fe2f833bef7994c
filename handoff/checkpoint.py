"""WAL checkpoints off the webhook's path.

By default SQLite copies the write-ahead log back into the database inside whichever
commit pushes it past 1,000 pages, with that writer still holding the write lock. At
webhook load that was every ~50 messages, and it made the average commit about 0.16 ms
dearer (measured in process), all of it time the other worker waited. Under `serve` the
pipeline's connection leaves that to this loop: once a second a PASSIVE checkpoint (it
waits for no reader or writer) on a real thread, so writers go on meanwhile, and a page
written many times in that second is copied once. The pipeline keeps a high
autocheckpoint of its own as a bound, should this loop ever stop.
"""
from __future__ import annotations

import logging
import sqlite3
import threading

from handoff.write_gate import run_off_loop

log = logging.getLogger("yessindo.checkpoint")

INTERVAL = 1.0  # seconds between checkpoints
BOUND_PAGES = 20_000  # the pipeline's own autocheckpoint meanwhile (~80 MB of log at most)


def defer_checkpoints(conn: sqlite3.Connection) -> None:
    """Let this (busy) connection leave checkpoints to `run_checkpoint_loop`."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {BOUND_PAGES}")


def checkpoint_once(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(busy, log pages, pages copied) of one PASSIVE checkpoint."""
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def run_checkpoint_loop(database: str, stop: threading.Event, interval: float = INTERVAL) -> None:
    """Checkpoint `database` every `interval` seconds until `stop` is set. Each worker of
    `serve` runs one; when two meet, one finds the checkpoint busy and simply waits for
    the next round."""
    conn: sqlite3.Connection | None = None
    while not stop.wait(interval):
        try:
            if conn is None:
                conn = sqlite3.connect(database, timeout=0.1, isolation_level=None, check_same_thread=False)
            run_off_loop(checkpoint_once, conn)
        except sqlite3.Error as exc:
            log.debug("checkpoint skipped: %s", exc)
    if conn is not None:
        conn.close()
