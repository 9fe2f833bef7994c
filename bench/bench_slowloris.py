"""Slowloris against a real `yessindo-bot serve`: signed webhooks while slow clients hold
connections open.

Starts `serve` (fake Twilio token, temporary database), opens SLOW connections that
never finish their request (half send one header byte every few seconds, half send
complete headers and then one body byte every few seconds; one the server cuts off is
reopened at once, so SLOW stay open), then posts signed
webhooks from CLIENTS threads for DURATION seconds, each on a new connection as Twilio
does, and prints p50/p99/max latency, errors (timeouts, refused, non-200) and how many
slow connections the server still holds at the end. `/healthz` is timed too.
Target (issue 10, item 13): p99 under 500 ms with 100 slow connections open.
    .venv/bin/python bench/bench_slowloris.py [DURATION] [SLOW] [WORKERS]
"""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from twilio.request_validator import RequestValidator  # noqa: E402

TOKEN = "bench-token"
CLIENTS = 4
TIMEOUT = 5.0  # seconds a webhook may take before it counts as an error (Twilio waits 15 s)
DRIP = 3.0  # seconds between two bytes of a slow client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(port: int, tmp: Path, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))
           or k == "YESSINDO_CACHE_DIR"}
    env.update(YESSINDO_DATABASE=str(tmp / "bench.db"), TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32,
               PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, cwd=tmp, stdout=open(tmp / "serve.log", "wb"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not start:\n" + (tmp / "serve.log").read_text())


class SlowClients:
    """SLOW sockets dribbling a request that never ends, one byte per DRIP seconds."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.socks: list[socket.socket] = []
        self.stop = threading.Event()
        self.closed = 0
        self.held: list[float] = []  # seconds from the start to each close by the server
        self.opened = 0.0

    def open(self) -> None:
        self.opened = time.monotonic()
        for i in range(self.count):
            self.socks.append(self._connect(i))
        threading.Thread(target=self._drip, daemon=True).start()

    def _connect(self, i: int) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if i % 2:  # slow body: whole headers (a signature, so the app reads the body), then a body that never ends
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: bench\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2xvdw==\r\n"
                      b"Content-Length: 100000\r\n\r\nB")
        else:  # slow headers
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: bench\r\nX-a: ")
        return s

    def _drip(self) -> None:
        while not self.stop.wait(DRIP):
            for i, s in enumerate(list(self.socks)):
                try:
                    s.send(b"a")
                    s.setblocking(False)
                    try:
                        closed = s.recv(1024) is not None  # an answer (408) or b"" (closed)
                    except BlockingIOError:
                        closed = False
                    finally:
                        s.setblocking(True)
                    if closed:
                        raise ConnectionResetError
                except OSError:
                    s.close()
                    self.closed += 1
                    self.held.append(time.monotonic() - self.opened)
                    try:  # like an attacker: open another one at once, so SLOW stay open
                        self.socks[i] = self._connect(i)
                    except OSError:
                        pass  # the server's backlog is full: try again next round

    def close(self) -> None:
        self.stop.set()
        for s in self.socks:
            s.close()


def webhook_load(port: int, duration: float) -> tuple[list[float], dict[str, int]]:
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client(k: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            form = {"From": f"whatsapp:+628{1000000000 + k * 1_000_000 + i}", "To": "whatsapp:+6282129666065",
                    "Body": "paket saya belum sampai kak", "MessageSid": f"SMslow{k}x{i:07d}", "NumMedia": "0"}
            body = urllib.parse.urlencode(form)
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form),
                       "Content-Type": "application/x-www-form-urlencoded"}
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
                conn.request("POST", "/webhooks/whatsapp", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                kind = None if resp.status == 200 else f"HTTP {resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                kind = type(exc).__name__
            spent = time.perf_counter() - t0
            with lock:
                if kind:
                    errors[kind] = errors.get(kind, 0) + 1
                else:
                    latencies.append(spent * 1000)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def health_probe(port: int) -> str:
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT) as r:
            status = str(r.status)
    except urllib.error.HTTPError as e:
        status = str(e.code)
    except OSError as e:
        status = type(e).__name__
    return f"{status} in {(time.perf_counter() - t0) * 1000:.0f} ms"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    slow = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else max(2, os.cpu_count() or 1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-slowloris-"))
    port = free_port()
    proc = start_serve(port, tmp, workers)
    slowc = SlowClients(port, slow)
    try:
        slowc.open()
        time.sleep(DRIP + 1)  # every slow client has started dribbling
        health_before = health_probe(port)
        latencies, errors = webhook_load(port, duration)
        health_after = health_probe(port)
        still_open = len(slowc.socks)
    finally:
        slowc.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    log = (tmp / "serve.log").read_text(errors="replace")
    print(f"slowloris: {slow} slow connections (half slow headers, half slow bodies, a byte every {DRIP:.0f} s, "
          "reopened when cut off), "
          f"{CLIENTS} webhook clients for {duration:.0f} s, {workers} workers, {os.cpu_count()} cores")
    n = len(latencies)
    print(f"  webhooks answered 200: {n} ({n / duration:.0f}/s)  p50 {pct(latencies, 50):.1f} ms  "
          f"p99 {pct(latencies, 99):.1f} ms  max {max(latencies, default=float('nan')):.1f} ms")
    print(f"  errors: {sum(errors.values())} {dict(sorted(errors.items())) or ''}")
    print(f"  /healthz during the attack: {health_before}; after the load: {health_after}")
    first = f", the first after {min(slowc.held):.0f} s" if slowc.held else ""
    print(f"  slow connections open at the end: {still_open}; cut off by the server and reopened at once: "
          f"{slowc.closed}{first}")
    print(f"  worker timeouts/kills in the server log: {log.count('WORKER TIMEOUT')}")
    ok = n > 0 and not errors and pct(latencies, 99) < 500
    print(f"  target p99 < 500 ms with no error: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
