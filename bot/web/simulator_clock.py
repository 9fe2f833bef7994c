"""The time a try-out server pretends it is ("pretend it is Saturday 22.00"), so anyone
can see out-of-hours answers, promises that cross a weekend, or a satisfaction question
that lapses, without waiting. Only when the simulator is on (bot/web/services.py).

The offset from the real time lives in the database (`meta.simulator_clock_offset`,
seconds), so every worker and the console see the same pretend time; each process
re-reads it at most once a second.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

KEY = "simulator_clock_offset"
REREAD_SECONDS = 1.0


class SimulatorClock:
    def __init__(self, database: str, timezone: str) -> None:
        self.database = database
        self.tz = ZoneInfo(timezone)
        self._offset = timedelta(0)
        self._read_at = float("-inf")

    def __call__(self) -> datetime:
        return datetime.now(self.tz) + self.offset()

    def offset(self) -> timedelta:
        if time.monotonic() - self._read_at >= REREAD_SECONDS:
            self._offset = read_offset(self.database)
            self._read_at = time.monotonic()
        return self._offset

    def forget_cache(self) -> None:
        self._read_at = float("-inf")


def read_offset(database: str) -> timedelta:
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return timedelta(0)  # no database or no meta table yet: the real time
    try:
        return timedelta(seconds=float(row[0])) if row else timedelta(0)
    except (TypeError, ValueError):
        return timedelta(0)


def set_offset(tx, offset: timedelta | None) -> None:  # type: ignore[no-untyped-def]
    """Pretend (offset from the real time), or back to the real time (None)."""
    if offset is None:
        tx.conn.execute("DELETE FROM meta WHERE key = ?", (KEY,))
    else:
        tx.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, str(offset.total_seconds())))
    tx.log_event("simulator.clock_set", "simulator", data={"offset_seconds": offset.total_seconds() if offset else 0})
