"""`yessindo-bot backup` on a large database while another process keeps writing.

    .venv/bin/python bench/bench_backup.py            # 100,000 tickets (bench/seed_tickets.py)
    .venv/bin/python bench/bench_backup.py --n 20000

Prints the database size, the time the backup took (the CLI end to end, and the copy
alone), the rows the writer committed during it, and the writer's commit latency (p50,
p99, max) without and during backups: the backup must not stall writers (WAL snapshot).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WRITER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
end = time.monotonic() + float(sys.argv[2])
out = open(sys.argv[3], "w")
while time.monotonic() < end:
    t0 = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO events (at, kind, actor, data) VALUES ('2026-11-30T00:00:00+00:00', 'bench.write', 'bench', '{}')")
    conn.execute("COMMIT")
    out.write(f"{t0:.6f} {time.monotonic() - t0:.6f}\n")
    time.sleep(0.005)
out.close()
"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000, help="tickets in the database")
    ap.add_argument("--backups", type=int, default=3)
    args = ap.parse_args()
    from bench.seed_tickets import seed
    from bot.ops.backup import backup_database

    work = Path(tempfile.mkdtemp(prefix="yessindo-bench-backup-"))
    db = work / "bot.db"
    t0 = time.perf_counter()
    seed(db, args.n)
    print(f"seeded {args.n} tickets in {time.perf_counter() - t0:.1f} s; database {db.stat().st_size / 1e6:.1f} MB")

    env = dict(os.environ, PYTHONPATH=str(REPO), YESSINDO_DATABASE=str(db))
    log = work / "writer.log"
    duration = 6.0 + args.backups * 4.0
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(duration), str(log)])
    time.sleep(2.0)
    windows: list[tuple[float, float]] = []
    cli_times, copy_times = [], []
    for i in range(args.backups):
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bot.cli", "backup", str(work / f"cli{i}.db")], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        cli_times.append(time.monotonic() - start)
        start = time.monotonic()
        result = backup_database(str(db), work / f"copy{i}.db")
        copy_times.append(time.monotonic() - start)
        windows.append((start, time.monotonic()))
        time.sleep(1.5)
    writer.wait()
    rows = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    during = [lat for at, lat in rows if any(a <= at <= b for a, b in windows)]
    outside = [lat for at, lat in rows if not any(a - 0.1 <= at <= b + 0.1 for a, b in windows)]
    print(f"backup ({args.backups} runs): CLI end to end {statistics.median(cli_times):.2f} s median, "
          f"copy alone {statistics.median(copy_times):.2f} s median (max {max(copy_times):.2f} s); "
          f"copy {result.size / 1e6:.1f} MB, integrity ok")
    ms = lambda v: f"p50 {pct(v, 50) * 1000:.1f} ms, p99 {pct(v, 99) * 1000:.1f} ms, max {max(v) * 1000:.1f} ms"  # noqa: E731
    print(f"writer commits without a backup: {len(outside)} ({ms(outside)})")
    print(f"writer commits during the copies: {len(during)} ({ms(during) if during else 'none'})")
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # a few copies of a large database
    return 0


if __name__ == "__main__":
    sys.exit(main())
