"""Throughput of the real `yessindo-bot classify` process: N lines on stdin, N JSON lines out.

Pinned to one core with `taskset -c 0` when available. Target: >= 5,000 messages/second.
    .venv/bin/python bench/bench_classify_cli.py [N]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "eval" / "intents_dev.tsv"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    msgs = [line.split("\t", 1)[1].strip() for line in DEV.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#") and "\t" in line]
    lines = ("\n".join(msgs[i % len(msgs)] for i in range(n)) + "\n").encode()
    cmd = [sys.executable, "-m", "bot.cli", "classify"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    subprocess.run(cmd, input=b"", env=env, check=True, capture_output=True, cwd=REPO)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = subprocess.run(cmd, input=lines, env=env, check=True, capture_output=True, cwd=REPO)
    total = time.perf_counter() - t0
    out = p.stdout.decode().splitlines()
    assert len(out) == n, (len(out), n)
    rate = n / (total - startup)
    print(f"yessindo-bot classify, {n} lines, one core: start-up {startup * 1000:.0f} ms, "
          f"{rate:,.0f} msg/s after start-up ({n / total:,.0f} msg/s including it)")


if __name__ == "__main__":
    main()
