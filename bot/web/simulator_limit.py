"""Bounds on the customer simulator (/try), which anyone who can reach it may use: a few
messages a minute per client, a daily total per client, and a daily cap on the tickets
simulated customers may open (they land in the agents' real queue).

Hits are rows of `simulator_hits` (made here on first use, shared by every worker); the
client is kept only as a hash of its address, and rows older than a day are deleted as
new ones come in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from handoff.store import Store, utc_iso

PER_MINUTE = 20
PER_DAY = 300
TICKETS_PER_DAY = 50
CUSTOMER_RANGE = ("+62000", "+62001")  # simulated customers: +62000xxxxxxx (bot/web/simulator.py)
DDL = ("CREATE TABLE IF NOT EXISTS simulator_hits (id INTEGER PRIMARY KEY, client TEXT NOT NULL, at TEXT NOT NULL)",
       "CREATE INDEX IF NOT EXISTS idx_simulator_hits_client ON simulator_hits (client, at)")


@dataclass(frozen=True)
class Refusal:
    wait: timedelta
    message: str


def client_key(address: str) -> str:
    return sha256(("yessindo-try|" + address).encode()).hexdigest()[:24]


def tickets_today(store: Store, now: datetime) -> int:
    low, high = CUSTOMER_RANGE
    row = store.conn.execute("SELECT count(*) FROM tickets WHERE customer >= ? AND customer < ? AND created_at >= ?",
                             (low, high, utc_iso(now - timedelta(days=1)))).fetchone()
    return int(row[0])


def _oldest_leaves(conn, client: str, now: datetime, span: timedelta, limit: int) -> timedelta | None:  # type: ignore[no-untyped-def]
    rows = conn.execute("SELECT at FROM simulator_hits WHERE client = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                        (client, utc_iso(now - span), limit)).fetchall()
    if len(rows) < limit:
        return None
    return max(datetime.fromisoformat(rows[-1][0]) + span - now, timedelta(seconds=1))


def admit(store: Store, now: datetime, address: str) -> Refusal | None:
    """Count one simulator message from `address`, or say why it must wait."""
    if tickets_today(store, now) >= TICKETS_PER_DAY:
        return Refusal(timedelta(hours=1), "Simulator sedang istirahat: batas tiket uji coba hari ini sudah "
                                           "tercapai. Silakan coba lagi besok ya, Kak.")
    client = client_key(address)
    with store.write(now) as tx:
        for sql in DDL:
            tx.conn.execute(sql)
        for span, limit in ((timedelta(minutes=1), PER_MINUTE), (timedelta(days=1), PER_DAY)):
            wait = _oldest_leaves(tx.conn, client, now, span, limit)
            if wait is not None:
                seconds = int(wait.total_seconds())
                when = f"{seconds} detik" if seconds < 60 else f"{max(1, seconds // 60)} menit"
                return Refusal(wait, f"Pelan-pelan ya, Kak: terlalu banyak pesan dari perangkat ini. "
                                     f"Coba lagi dalam {when}.")
        tx.conn.execute("INSERT INTO simulator_hits (client, at) VALUES (?, ?)", (client, tx.now))
        tx.conn.execute("DELETE FROM simulator_hits WHERE at < ?", (utc_iso(now - timedelta(days=1)),))
    return None
