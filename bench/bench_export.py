"""The CSV export on a big store: 100,000 tickets under 10 s, streamed (memory flat).

    .venv/bin/python bench/bench_export.py                       # seeds 100,000 tickets in a temp dir
    .venv/bin/python bench/bench_export.py --database /tmp/q.db  # reuse (seeded if it has no tickets)

What it measures (and prints; it asserts nothing):
(a) `yessindo-bot export tickets --since DATE --csv > /dev/null` as a real subprocess over
    the whole seeded period: wall time, rows written, the child's peak RSS; and the same
    over one week, for scale (the process start and imports cost the same).
(b) In process, handoff.export.export_csv over the whole period and over a tenth of it,
    under tracemalloc: the peak Python memory of both. Streamed means the two peaks are
    about the same (one batch of 500 rows at a time), not ten times apart.
Seeding: bench/seed_tickets.py (100,000 tickets over 120 days), then labels on about a
third of them (1-3 each of 8 labels) so the per-batch labels query has work to do.
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handoff import export  # noqa: E402
from handoff.store import Store  # noqa: E402

TZ = ZoneInfo("Asia/Jakarta")
LABELS = ["vip", "refund", "kurir", "rusak", "promo", "grosir", "retur", "ulang"]


def ensure_seeded(path: str, n: int) -> None:
    Store(path).close()  # schema 7: labels tables
    conn = sqlite3.connect(path)
    have = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    conn.close()
    if have:
        return
    from bench.seed_tickets import seed

    t0 = time.perf_counter()
    seed(path, n)
    conn = sqlite3.connect(path)
    rng = random.Random(12)
    conn.executemany("INSERT OR IGNORE INTO labels (name, created_at) VALUES (?, '2026-01-01T00:00:00+00:00')",
                     [(x,) for x in LABELS])
    rows = []
    for (tid,) in conn.execute("SELECT id FROM tickets"):
        if rng.random() < 0.33:
            for name in rng.sample(LABELS, rng.randint(1, 3)):
                rows.append((tid, name))
    conn.executemany("INSERT OR IGNORE INTO ticket_labels (ticket_id, label, added_at) "
                     "VALUES (?, ?, '2026-01-01T00:00:00+00:00')", rows)
    conn.commit()
    conn.close()
    print(f"seeded {n} tickets, {len(rows)} labels in {time.perf_counter() - t0:.1f} s")


def cli_run(path: str, since: str) -> tuple[float, int, float, float]:
    """The CLI as a subprocess under /usr/bin/time: wall s, rows, its peak RSS (MiB) and CPU s.
    (getrusage in a child started by fork would count the pages it shared with this process.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YESSINDO_") or k == "YESSINDO_CACHE_DIR"}
    env.update(YESSINDO_DATABASE=path, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %M %U %S", sys.executable, "-m", "bot.cli", "export", "tickets",
                        "--since", since, "--csv"], env=env, capture_output=True, cwd=REPO, check=True)
    wall = time.perf_counter() - t0
    _, rss, user, system = p.stderr.decode().strip().splitlines()[-1].split()
    return wall, p.stdout.count(b"\r\n") - 1, int(rss) / 1024, float(user) + float(system)


def in_process(path: str, since: datetime, now: datetime, trace: bool) -> tuple[int, float, float, float]:
    """Rows, wall s, CPU s, and (with `trace`) the tracemalloc peak in MiB (tracemalloc slows it down)."""
    start, end = export.period(since.date(), None, TZ, now.date())
    if trace:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for chunk in export.export_csv(path, start, end, TZ, now):
        n += chunk.count("\r\n")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    return n - 1, wall, cpu, peak


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database")
    p.add_argument("--n", type=int, default=100_000)
    args = p.parse_args()
    path = args.database or str(Path(tempfile.mkdtemp(prefix="bench-export-")) / "export.db")
    ensure_seeded(path, args.n)
    conn = sqlite3.connect(path)
    first = conn.execute("SELECT min(created_at) FROM tickets").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    conn.close()
    now = datetime.now(TZ)
    since_all = datetime.fromisoformat(first).astimezone(TZ)
    print(f"database {path}: {total} tickets since {since_all.date()}")
    wall, rows, rss, cpu = cli_run(path, since_all.date().isoformat())
    print(f"(a) CLI, whole period: {rows} rows in {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MiB")
    wall, rows, rss, cpu = cli_run(path, (now - timedelta(days=6)).date().isoformat())
    print(f"    CLI, last 7 days:  {rows} rows in {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MiB")
    span = now - since_all
    for label, since in (("whole period", since_all), ("last tenth", now - span / 10)):
        rows, wall, cpu, _ = in_process(path, since, now, trace=False)
        _, _, _, peak = in_process(path, since, now, trace=True)
        print(f"(b) in process, {label}: {rows} rows in {wall:.2f} s wall, {cpu:.2f} s CPU; "
              f"tracemalloc peak {peak:.2f} MiB")
    print(f"load average now: {os.getloadavg()[0]:.1f} (wall times on a shared machine vary with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
