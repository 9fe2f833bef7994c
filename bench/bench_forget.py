"""How long `forget` takes on a large database (it scans every text column for mentions,
then checkpoints the WAL). Prints the figures; no limits asserted.

    .venv/bin/python bench/bench_forget.py [CONVERSATIONS]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handoff.store import Store  # noqa: E402


def main(n: int = 20000) -> None:
    now = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = Store(db)
        t0 = time.perf_counter()
        with store.write(now) as tx:
            for i in range(n):
                customer = f"+62812{i:08d}"
                cur = tx.conn.execute(
                    "INSERT INTO conversations (channel, customer, state, lang, unknown_streak, menu_shown, created_at, "
                    "updated_at) VALUES ('whatsapp', ?, 'bot', 'id', 0, 0, ?, ?)", (customer, tx.now, tx.now))
                conv = cur.lastrowid
                for j in range(5):
                    tx.conn.execute(
                        "INSERT INTO messages (conversation_id, direction, channel, customer, author, external_id, text, "
                        "attachments, meta, created_at) VALUES (?, 'in', 'whatsapp', ?, 'customer', ?, ?, '[]', ?, ?)",
                        (conv, customer, f"SM{i}-{j}", f"paket saya INV-20261101-{i:04d} belum sampai, pesan {j}",
                         json.dumps({"n": j}), tx.now))
                tx.conn.execute(
                    "INSERT INTO tickets (conversation_id, channel, customer, intent, priority, status, due_at, created_at, "
                    "details, summary) VALUES (?, 'whatsapp', ?, 'order_status', 'normal', 'open', ?, ?, ?, 'x')",
                    (conv, customer, tx.now, tx.now, json.dumps({"orders": [f"INV-20261101-{i:04d}"]})))
        built = time.perf_counter() - t0
        size = db.stat().st_size + (Path(str(db) + "-wal").stat().st_size if Path(str(db) + "-wal").exists() else 0)
        t0 = time.perf_counter()
        counts = store.forget("+6281200000042", now)
        took = time.perf_counter() - t0
        print(f"database: {n} conversations, {5 * n} messages, {n} tickets, {size / 1e6:.1f} MB (built in {built:.1f} s)")
        print(f"forget one customer: {took:.2f} s (deleted {counts['messages']} messages, "
              f"{counts['scrubbed']} rows scrubbed, WAL truncated: {bool(counts['wal_truncated'])})")
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
