"""The queue's label and snooze filters on a big store (issue 12 item 3).

Target: the queue page stays under 200 ms with 100,000 tickets. This measures the query
side of the page (handoff/views.queue_page: rows, last messages, labels, counts) in
process, after bench/seed_tickets.py seeds 100,000 tickets (default mix, then all open),
one ticket in 7 labelled (3 labels) and one in 50 snoozed until the customer writes.

    .venv/bin/python bench/bench_queue_labels.py [--n 100000] [--runs 15]

Prints p50/max per filter; asserts nothing. The HTTP page adds rendering on top
(bench/bench_queue.py measures that part).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seed_tickets import seed  # noqa: E402

from handoff import views  # noqa: E402
from handoff.store import Store, utc_iso  # noqa: E402

LABELS = ("VIP", "Garansi", "Rusak")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for all_open in (False, True):
            db = os.path.join(tmp, f"q{int(all_open)}.db")
            seed(db, args.n, all_open=all_open)
            store = Store(db)
            now = datetime.now(timezone.utc)
            with store.write(now) as tx:
                for name in LABELS:
                    tx.conn.execute("INSERT INTO labels (name, created_at) VALUES (?, ?)", (name, tx.now))
                ids = [r[0] for r in tx.conn.execute("SELECT id FROM tickets")]
                tx.conn.executemany("INSERT INTO ticket_labels (ticket_id, label, added_at) VALUES (?, ?, ?)",
                                    [(i, LABELS[i % 3], tx.now) for i in ids if i % 7 == 0])
                tx.conn.executemany("UPDATE tickets SET snoozed_by = 'bench' WHERE id = ?",
                                    [(i,) for i in ids if i % 50 == 0])
            at = utc_iso(now)
            print(f"{args.n} tickets, {'all open' if all_open else 'default mix'}:")
            for name, f in [("active", views.QueueFilter(now=at)),
                            ("active + label", views.QueueFilter(now=at, label="VIP")),
                            ("snoozed", views.QueueFilter(status="snoozed", now=at)),
                            ("resolved + label", views.QueueFilter(status="resolved", now=at, label="Rusak")),
                            ("active, page 60", views.QueueFilter(now=at, page=60)),
                            ("active + label, page 40", views.QueueFilter(now=at, label="VIP", page=40))]:
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    views.queue_page(store, f)
                    times.append((time.perf_counter() - started) * 1000)
                print(f"  {name:<26} p50 {statistics.median(times):6.1f} ms   max {max(times):6.1f} ms")
            store.close()


if __name__ == "__main__":
    main()
