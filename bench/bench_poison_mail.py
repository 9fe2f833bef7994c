"""Time and peak memory of parsing the poison mail (nested `<ol>` x n then `<li>` x n).

    .venv/bin/python bench/bench_poison_mail.py [--sizes 1000,3000,10000,30000] [--old]

For each n: the mail's size, CPU seconds of `parse_mail`, peak Python memory
(tracemalloc, in a second run), the text length and the first problem noted. `--old` also runs the
converter as it was before issue 10 (read from git, commit dbb5509) on the sizes up
to 3000, for comparison. Also runs every mail of tests/data/mail/hostile/.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.channels.email_parse import parse_mail  # noqa: E402

OLD_COMMIT = "dbb5509"


def poison(n: int) -> bytes:
    html = "<ol>" * n + "<li>x" * n
    return (
        b"From: Ani <ani@contoh.id>\r\nTo: cs@yessindo.test\r\nSubject: poison\r\n"
        b"Message-ID: <poison@contoh.id>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )


def measure(fn, raw: bytes) -> tuple[float, int, object]:
    """CPU seconds of a plain run, then peak traced memory of a second run (tracemalloc
    slows Python down several times, so it is not on during the timed run)."""
    start = time.process_time()
    result = fn(raw)
    cpu = time.process_time() - start
    tracemalloc.start()
    fn(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return cpu, peak, result


def old_parser():
    try:
        source = subprocess.run(["git", "show", f"{OLD_COMMIT}:bot/channels/email_parse.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        print("old parser not available (no git history here)")
        return None
    module = types.ModuleType("old_email_parse")
    sys.modules["old_email_parse"] = module  # dataclasses look their module up
    exec(compile(source, "old_email_parse.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module.parse_mail


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,3000,10000,30000")
    ap.add_argument("--old", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'parser':6} {'n':>6} {'mail KB':>8} {'CPU s':>7} {'peak MB':>8} {'text':>6}  first problem")
    runs = [("new", parse_mail)]
    if args.old:
        old = old_parser()
        if old is not None:
            runs.append(("old", old))
    for label, fn in runs:
        for n in sizes:
            if label == "old" and n > 3000:
                continue  # quadratic: 10,000 would take minutes and gigabytes
            raw = poison(n)
            cpu, peak, m = measure(fn, raw)
            first = m.problems[0] if m.problems else "-"
            print(f"{label:6} {n:>6} {len(raw) / 1024:>8.0f} {cpu:>7.3f} {peak / 2**20:>8.1f} {len(m.text):>6}  {first}")
    hostile = sorted((ROOT / "tests" / "data" / "mail" / "hostile").glob("*.eml"))
    if hostile:
        print(f"\nhostile corpus ({len(hostile)} mails), new parser:")
        total = 0.0
        worst = ("", 0.0, 0)
        for path in hostile:
            cpu, peak, m = measure(parse_mail, path.read_bytes())
            total += cpu
            if cpu > worst[1]:
                worst = (path.name, cpu, peak)
            print(f"  {path.name:34} {path.stat().st_size / 1024:>8.0f} KB {cpu:>7.3f} s {peak / 2**20:>7.1f} MB"
                  f"  ok={m.parse_ok}")
        print(f"  total CPU {total:.2f} s; slowest {worst[0]} {worst[1]:.3f} s")


if __name__ == "__main__":
    main()
