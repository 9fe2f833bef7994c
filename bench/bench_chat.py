"""How long `chat` takes to answer one message: the whole pipeline (classify, store,
ticket, reply text) on a real SQLite file, as `yessindo-bot chat` runs it.

Target: every message under 50 ms. Prints p50/p95/p99/max per message and the
start-up time (loading knowledge, intent data and the database).
    .venv/bin/python bench/bench_chat.py [N]
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.assemble import build_bot  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from bot.models import Message  # noqa: E402

MESSAGES = [
    "halo kak", "2", "paket sy udh dikirim blm ya, INV-20261102-0042", "makasih min",
    "barang yang datang rusak, minta refund", "jam berapa cs buka?", "saya mau eskalasi masalah ini",
    "kode OTP saya 123456 ga bisa login", "Where is my order? It's been a week", "asdfghjkl",
    "ready stock ga min?", "bisa bayar COD?", "saran aja, aplikasinya suka lemot", "nomor whatsapp resmi berapa?",
]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    tmp = Path(tempfile.mkdtemp())
    settings = settings_from_mapping({"storage": {"database": str(tmp / "bench.db")}})
    t0 = time.perf_counter()
    at = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    bot = build_bot(settings, clock=lambda: at)
    startup = time.perf_counter() - t0
    times = []
    for i in range(n):
        text = MESSAGES[i % len(MESSAGES)]
        msg = Message("whatsapp", f"+62812{i // 7:08d}", text, at, external_id=f"SM{i}")
        s = time.perf_counter()
        outcome = bot.handle(msg)
        times.append((time.perf_counter() - s) * 1000)
        assert outcome.status == "answered" and outcome.replies
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]  # noqa: E731
    print(f"chat pipeline, {n} messages on a SQLite file (WAL), one process")
    print(f"  start-up (knowledge + intents + database): {startup * 1000:.0f} ms")
    print(f"  per message: mean {statistics.mean(times):.2f} ms  p50 {q(0.5):.2f} ms  p95 {q(0.95):.2f} ms  "
          f"p99 {q(0.99):.2f} ms  max {times[-1]:.2f} ms")
    print(f"  target < 50 ms per message: {'met' if times[-1] < 50 else 'NOT met'} (max)")
    cli(tmp, min(n, 1000))


def cli(tmp: Path, n: int) -> None:
    """The real `yessindo-bot chat` process: lines on stdin, replies on stdout."""
    import os
    import subprocess

    env = dict(os.environ, YESSINDO_DATABASE=str(tmp / "cli.db"), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, "-m", "bot.cli", "chat", "--at", "2026-11-24T10:00:00+07:00"]
    t0 = time.perf_counter()
    subprocess.run(cmd, input=b"", env=env, check=True, capture_output=True)
    empty = time.perf_counter() - t0
    lines = "\n".join(MESSAGES[i % len(MESSAGES)] for i in range(n)) + "\n"
    t0 = time.perf_counter()
    p = subprocess.run(cmd, input=lines.encode(), env=env, check=True, capture_output=True)
    total = time.perf_counter() - t0
    replies = p.stdout.decode().count("\n\n")
    print(f"yessindo-bot chat as a process, {n} lines on stdin")
    print(f"  process start-up to ready: {empty * 1000:.0f} ms; replies received: {replies}")
    print(f"  per message after start-up: {(total - empty) / n * 1000:.2f} ms")


if __name__ == "__main__":
    main()
