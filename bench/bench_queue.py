"""The human queue on a big store: is it still fast with 100,000 tickets?

Target: "With 100,000 tickets in the database, the queue page and
`queue list --json --status open` answer in under 200 ms."

    .venv/bin/python bench/bench_queue.py                      # seeds 100,000 tickets in a temp dir
    .venv/bin/python bench/bench_queue.py --all-open           # worst case: all 100,000 open
    .venv/bin/python bench/bench_queue.py --database /tmp/q.db # reuse (seeded if it has no tickets)
    .venv/bin/python bench/bench_queue.py --n 20000 --cli-runs 10 --http-runs 20

What it measures (and prints; it asserts nothing):
(a) `yessindo-bot queue list --json --status open` as a real subprocess of
    .venv/bin/yessindo-bot, as an operator runs it: wall time of each run (process start,
    imports, query, JSON printing), p50/p95/max over --cli-runs runs after one unmeasured
    warm-up, the number of tickets printed and the bytes of output. For scale, the same
    command on an EMPTY database: what process start and imports alone cost.
(b) The agent console's queue page over HTTP through a real `yessindo-bot serve`
    subprocess (2 workers) on the seeded database: a supervisor is added with
    `yessindo-bot agent add NAME --role supervisor --password-stdin`, logs in through
    GET/POST /console/login (csrf_token form field, session cookie, 303 to /console), then
    GET /console (the default page), filtered pages (?channel=email&status=open,
    ?status=resolved, the last page of the active and of the resolved queue, ?mine=1 as a
    seeded supervisor who holds claimed tickets) and the JSON polling endpoint
    /console/api/queue when it exists: p50/p95/max over --http-runs requests each, status
    codes and bytes. Without /console/login (404) part (b) prints "console not built yet".
Plus the database size (file + WAL) and the tickets by status. Seeding goes through
bench/seed_tickets.py (one executemany transaction, not the pipeline).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_tickets import AGENT_PASSWORD, seed  # noqa: E402

TARGET_MS = 200.0
SECRET_KEY = "bench-queue-secret-key-0123456789"
SUPERVISOR, PASSWORD = "benchspv", "bench-supervisor-pw"
SEEDED_HOLDER = "spv01"  # a seeded supervisor (bench/seed_tickets.py) holding claimed tickets


def command() -> list[str]:
    script = REPO / ".venv" / "bin" / "yessindo-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def write_config(directory: Path, database: Path) -> Path:
    config = directory / f"{database.stem}.toml"
    config.write_text(f'[storage]\ndatabase = "{database}"\n\n[console]\nsecret_key = "{SECRET_KEY}"\n\n'
                      '[dev]\nsimulator = false\n')
    return config


def stats(ms: list[float]) -> str:
    s = sorted(ms)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]
    verdict = "under" if p95 < TARGET_MS else "OVER"
    return (f"p50 {statistics.median(s):7.1f} ms  p95 {p95:7.1f} ms  max {s[-1]:7.1f} ms  (n={len(s)}; "
            f"p95 {verdict} {TARGET_MS:.0f} ms)")


def database_report(database: Path) -> None:
    import sqlite3

    size = sum(p.stat().st_size for p in (database, Path(f"{database}-wal")) if p.exists())
    conn = sqlite3.connect(database)
    by_status = dict(conn.execute("SELECT status, count(*) FROM tickets GROUP BY status").fetchall())
    total = sum(by_status.values())
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("conversations", "messages", "events", "outbox")}
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    print(f"database {database}: {size / 2**20:.1f} MiB (schema {version[0] if version else '?'})")
    print(f"  tickets {total:,}: " + ", ".join(f"{s} {by_status.get(s, 0):,}" for s in ("open", "claimed", "resolved")))
    print("  " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))


def count_tickets(config: Path, status: str) -> int:
    import sqlite3
    import tomllib

    database = tomllib.loads(config.read_text())["storage"]["database"]
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT count(*) FROM tickets WHERE status = ?", (status,)).fetchone()[0]
    finally:
        conn.close()


# -- (a) the CLI ------------------------------------------------------------------------------
def run_cli(config: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    t0 = time.perf_counter()
    done = subprocess.run([*command(), *args, "--config", str(config)], capture_output=True, env=clean_env(),
                          cwd=config.parent, check=False)
    return (time.perf_counter() - t0) * 1000, done


def bench_cli(config: Path, empty_config: Path, runs: int) -> None:
    print(f"\n(a) yessindo-bot queue list --json --status open  ({runs} runs after 1 warm-up)")
    args = ("queue", "list", "--json", "--status", "open")
    for label, cfg in (("100k database", config), ("empty database", empty_config)):
        first, done = run_cli(cfg, *args)
        if done.returncode != 0:
            print(f"  {label}: exit {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
            continue
        times = []
        for _ in range(runs):
            ms, done = run_cli(cfg, *args)
            times.append(ms)
        printed = len(json.loads(done.stdout))
        print(f"  {label:15s} {stats(times)}")
        print(f"  {'':15s} first run {first:.1f} ms; {printed:,} tickets printed, {len(done.stdout):,} bytes")


# -- (b) the console over HTTP ------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                                 "--config", str(config)], env=clean_env(), cwd=config.parent, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_server(proc)
    raise SystemExit(f"serve not healthy after 60 s:\n{log_path.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)


def login(url: str, name: str, password: str) -> requests.Session | str:
    """A logged-in session, or a string saying why not."""
    s = requests.Session()
    r = s.get(url + "/console/login", timeout=10)
    if r.status_code == 404:
        return "console not built yet (GET /console/login: 404)"
    m = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', r.text) or re.search(
        r'value="([^"]*)"[^>]*name="csrf_token"', r.text)
    if r.status_code != 200 or not m:
        return f"GET /console/login: {r.status_code}, csrf_token field {'found' if m else 'NOT found'}"
    r = s.post(url + "/console/login", data={"name": name, "password": password, "csrf_token": m.group(1)},
               allow_redirects=False, timeout=10)
    if r.status_code not in (302, 303) or not r.headers.get("Location", "").rstrip("/").endswith("/console"):
        return f"POST /console/login: {r.status_code} (Location {r.headers.get('Location')!r}), not logged in"
    return s


def bench_http(config: Path, runs: int, log_path: Path) -> None:
    print(f"\n(b) the console queue over HTTP: yessindo-bot serve, 2 workers ({runs} requests each, after 2 warm-ups)")
    done = subprocess.run([*command(), "agent", "add", SUPERVISOR, "--role", "supervisor", "--password-stdin",
                           "--config", str(config)], input=PASSWORD + "\n", capture_output=True, text=True,
                          env=clean_env(), cwd=config.parent, check=False)
    if done.returncode != 0 and "already exists" not in done.stderr:
        print(f"  agent add: exit {done.returncode}: {done.stderr.strip()}")
    proc, url = start_server(config, log_path)
    try:
        spv = login(url, SUPERVISOR, PASSWORD)
        if isinstance(spv, str):
            print(f"  {spv}")
            return
        # "mine" as a seeded supervisor who holds claimed tickets (the bench supervisor holds none).
        holder, holder_name = login(url, SEEDED_HOLDER, AGENT_PASSWORD), SEEDED_HOLDER
        if isinstance(holder, str):
            print(f"  login as {SEEDED_HOLDER}: {holder}; ?mine=1 measured as {SUPERVISOR}")
            holder, holder_name = spv, SUPERVISOR
        # The deepest pages (50 tickets a page): the OFFSET walk at its longest.
        last_active = max(1, -(-(count_tickets(config, "open") + count_tickets(config, "claimed")) // 50))
        last_resolved = max(1, -(-count_tickets(config, "resolved") // 50))
        paths = [(spv, "/console"), (spv, "/console?channel=email&status=open"), (spv, "/console?status=open"),
                 (spv, f"/console?page={last_active}"), (spv, "/console?status=resolved"),
                 (spv, f"/console?status=resolved&page={last_resolved}"), (holder, "/console?mine=1"),
                 (spv, "/console/api/queue"), (spv, "/console/api/queue?status=open&channel=whatsapp")]
        for session, path in paths:
            statuses: set[int] = set()
            times, size, refs = [], 0, 0
            for i in range(runs + 2):
                t0 = time.perf_counter()
                r = session.get(url + path, timeout=30, allow_redirects=False)
                ms = (time.perf_counter() - t0) * 1000
                if i >= 2:
                    times.append(ms)
                statuses.add(r.status_code)
                size, refs = len(r.content), len(set(re.findall(r"YS-\d{6,}", r.text)))
            if path.startswith("/console/api/") and statuses == {404}:
                print(f"  GET {path:50s} 404: no JSON polling endpoint yet")
                continue
            codes = ",".join(str(c) for c in sorted(statuses))
            who = f" (as {holder_name})" if "mine=1" in path else ""
            print(f"  GET {path + who:50s} {stats(times)}")
            print(f"      {'':50s} status {codes}, {size:,} bytes, {refs} ticket refs on the page")
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="queue list and the console queue page on a big database")
    p.add_argument("--database", type=Path, help="reuse this database (seeded first when it has no tickets)")
    p.add_argument("--n", type=int, default=100_000, help="tickets to seed (default 100000)")
    p.add_argument("--all-open", action="store_true", help="seed every ticket open (worst case)")
    p.add_argument("--cli-runs", type=int, default=20)
    p.add_argument("--http-runs", type=int, default=50)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        work = Path(tmp)
        database = (args.database or work / "queue.db").resolve()
        import sqlite3

        has = 0
        if database.exists():
            conn = sqlite3.connect(database)
            try:
                has = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            except sqlite3.Error:
                has = 0
            conn.close()
        if has:
            print(f"reusing {database} ({has:,} tickets)")
            # Let the current migrations run (e.g. a newer schema version) before measuring.
            from handoff.store import Store

            Store(database).close()
        else:
            print(f"seeding {args.n:,} tickets{' (all open)' if args.all_open else ''} into {database} ...")
            result = seed(database, args.n, all_open=args.all_open)
            print(f"  seeded in {result['total_s']} s (build {result['build_s']} s, insert {result['insert_s']} s): "
                  f"{result['messages']:,} messages, {result['events']:,} events, {result['outbox']:,} outbox rows")
        database_report(database)
        config = write_config(work, database)
        empty = work / "empty.db"
        empty_config = write_config(work, empty)
        subprocess.run([*command(), "init-db", "--config", str(empty_config)], capture_output=True, env=clean_env(),
                       check=True)
        bench_cli(config, empty_config, args.cli_runs)
        bench_http(config, args.http_runs, work / "serve.log")
        log = (work / "serve.log")
        if log.exists() and "Traceback" in log.read_text(errors="replace"):
            print("\nserver log had a traceback:\n" + log.read_text(errors="replace")[-4000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
