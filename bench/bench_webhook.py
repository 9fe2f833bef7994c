"""Signed WhatsApp webhook posts against `yessindo-bot serve`, and the same load against
a bare Flask route returning fixed TwiML, on this machine.

wrk (Debian package; installed here when missing) drives 32 concurrent connections for
DURATION seconds, cycling through pre-signed form bodies, each with its own MessageSid
and customer, so every request is a new message to store, classify, ticket and answer.
Afterwards the database is counted: every 200 must be one stored inbound message with
one stored answer. Targets: >= 1,000 messages/s, p99 < 200 ms. Also printed: the server's
CPU per message (its process tree, from /proc), which the machine's other load moves far
less than the rate (on a shared VM the same code measured 540-800 msg/s within an hour).
    .venv/bin/python bench/bench_webhook.py [DURATION] [WORKERS]
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-token"
CONNECTIONS = 32
TEXTS = [
    "halo kak", "paket sy udh dikirim blm ya", "ready stock ga min?", "bisa bayar COD?", "makasih min",
    "barang yang datang rusak, minta refund", "jam berapa cs buka?", "lupa password gmn resetnya",
    "Where is my order? It's been a week", "saran aja, aplikasinya suka lemot", "tolong sambungkan ke supervisor",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        path = shutil.which("wrk")
    assert path, "wrk not available"
    return path


def lua_script(url: str, n: int, folder: Path) -> Path:
    """A wrk script cycling through n pre-signed bodies, read from a file at start-up
    (a Lua chunk with that many literals would overflow LuaJIT's constant table)."""
    validator = RequestValidator(TOKEN)
    data = folder / "bodies.tsv"
    with data.open("w") as f:
        for i in range(n):
            form = {"From": f"whatsapp:+628{1000000000 + i}", "To": "whatsapp:+6282129666065",
                    "Body": TEXTS[i % len(TEXTS)], "MessageSid": f"SMbench{i:08d}", "NumMedia": "0",
                    "AccountSid": "ACbench", "ProfileName": "Bench"}
            f.write(f"{validator.compute_signature(url, form)}\t{urllib.parse.urlencode(form)}\n")
    script = folder / "post.lua"
    script.write_text(f"""
sigs, bodies, n = {{}}, {{}}, 0
for line in io.lines("{data}") do
  local tab = string.find(line, "\\t", 1, true)
  n = n + 1
  sigs[n] = string.sub(line, 1, tab - 1)
  bodies[n] = string.sub(line, tab + 1)
end
counter = 0
request = function()
  counter = counter + 1
  local i = ((counter - 1) % n) + 1
  return wrk.format("POST", "/webhooks/whatsapp",
    {{["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = sigs[i]}}, bodies[i])
end
""")
    return script


def start(cmd: list[str], env: dict[str, str], base: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc
        except urllib.error.HTTPError:
            return proc  # the bare app has no /healthz: it answers 404, so it is up
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start: {' '.join(cmd)}")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the gunicorn master and workers),
    from /proc: the bench's other figure that the machine's other load hardly moves."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])
    return total / tick


def interpreter() -> str:
    """Which CPython ran: the same code runs its pure-Python work clearly slower on a build
    that calls a shared libpython (pyenv's and a source build's default) than on one with it
    linked in (Debian's, optimised with PGO and LTO): the Makefile prefers the system's."""
    with open("/proc/self/maps") as maps:
        shared = any("libpython" in line for line in maps)
    return (f"{platform.python_implementation()} {platform.python_version()}, {os.path.realpath(sys.executable)}, "
            f"libpython {'shared' if shared else 'linked in'}")


def loop_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop: this machine's speed at the moment. On a
    shared VM it moves (other guests on the same physical cores; steal time shows none of
    it), and every figure here moves with it: compare runs at like speeds."""
    t = time.process_time()
    s = 0
    for i in range(3_000_000):
        s += i * i % 7
    return time.process_time() - t


def run_wrk(wrk: str, base: str, script: Path, duration: int) -> dict[str, float]:
    out = subprocess.run([wrk, "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "p50": ms("50"), "p99": ms("99"),
            "socket_errors": errors.group(1) if errors else "none"}


def main() -> None:
    duration = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else max(2, os.cpu_count() or 1)
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))}
    env.update(YESSINDO_DATABASE=str(tmp / "bench.db"), TWILIO_AUTH_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    n_bodies = 60_000
    script = lua_script(base + "/webhooks/whatsapp", n_bodies, tmp)

    speed_before = loop_seconds()
    bot = start([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)], env, base)
    try:
        cpu0 = tree_cpu_seconds(bot.pid)
        r = run_wrk(wrk, base, script, duration)
        r["cpu_ms"] = (tree_cpu_seconds(bot.pid) - cpu0) * 1000 / max(1, r["requests"])
    finally:
        bot.terminate()
        bot.wait(timeout=20)
    conn = sqlite3.connect(tmp / "bench.db")
    inbound = conn.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0]
    answered = conn.execute("SELECT count(*) FROM messages WHERE direction='out'").fetchone()[0]
    ok = r["requests"] - r["non2xx"]
    expected = min(ok, n_bodies)  # past n_bodies wrk repeats bodies: Twilio retries, stored once

    port2 = free_port()
    base2 = f"http://127.0.0.1:{port2}"
    bare_cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port2}", "--workers", str(workers),
                "--worker-class", "sync", "--backlog", "2048", "--chdir", str(REPO / "bench"), "bare_app:app"]
    bare = start(bare_cmd, env, base2)
    try:
        b = run_wrk(wrk, base2, script, duration)
    finally:
        bare.terminate()
        bare.wait(timeout=20)

    speed_after = loop_seconds()
    print(f"signed WhatsApp webhooks, {CONNECTIONS} connections, {duration} s, {workers} gunicorn workers, "
          f"{os.cpu_count()} cores (wrk on the same machine)")
    print(f"  yessindo-bot serve : {r['rps']:8.0f} msg/s  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
          f"non-2xx {r['non2xx']}  socket errors {r['socket_errors']}")
    print(f"  bare Flask TwiML   : {b['rps']:8.0f} req/s  p50 {b['p50']:.1f} ms  p99 {b['p99']:.1f} ms")
    print(f"  ratio bot/bare     : {r['rps'] / b['rps']:.2f}")
    print(f"  server CPU per message: {r['cpu_ms']:.2f} ms (master and workers; "
          f"{2000 / max(r['cpu_ms'], 0.001):.0f} msg/s would fill two cores)")
    print(f"  machine speed: a fixed Python loop took {speed_before:.2f} s before, {speed_after:.2f} s after "
          "(lower is faster; in this interpreter, so compare like with like)")
    print(f"  interpreter (the server's too): {interpreter()}")
    # wrk stops counting at the deadline while up to CONNECTIONS requests are still in flight:
    # those are stored and answered by the server but not counted by wrk.
    complete = inbound == answered and expected <= inbound <= expected + CONNECTIONS
    print(f"  stored: {inbound} inbound, {answered} answers, for {ok} requests wrk saw answered "
          f"({'every message stored and answered' if complete else 'MISMATCH'})")
    print(f"  targets: >= 1,000 msg/s {'met' if r['rps'] >= 1000 else 'NOT met'}; "
          f"p99 < 200 ms {'met' if r['p99'] < 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
