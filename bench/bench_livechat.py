"""N open live-chat streams (server-sent events) against `yessindo-bot serve` on this machine.

What it measures, with N visitors (default 1,000) on one server with the default workers:
  1. each visitor gets a token (POST /livechat/api/session) and asks for a person
     ("tolong sambungkan ke CS, ..."), which opens a ticket; an agent claims every ticket;
     then N streams (GET /livechat/api/stream) are opened from one asyncio process with
     hand-written HTTP/1.1 and kept open, reconnecting with ?after= when the server ends one;
  2. agent replies through bot.desk.Desk on the same database, one per visitor, spread
     over ~5 s, then as one burst, then spread over the 6 s in which the server ends every
     stream (60 s) and the client reconnects: delivered / N and the latency from the reply's
     commit to its arrival on the visitor's stream (p50, p99, max);
  3. RSS of each gunicorn worker before the streams and with N open: KB per open stream;
  4. the signed-webhook wrk load of bench/bench_webhook.py (10 s) with the N streams open,
     and again after they are closed, for comparison;
  5. afterwards: every visitor received each of its agent messages exactly once, and no
     other visitor's; the serve log is searched for tracebacks and errors.
Targets: every message delivered, p99 < 1 s; webhooks >= 1,000 msg/s with p99 < 200 ms.
    .venv/bin/python bench/bench_livechat.py [N]
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]
from bench_webhook import TOKEN, ensure_wrk, free_port, lua_script, run_wrk  # noqa: E402

ASK = "tolong sambungkan ke CS, paket saya hilang"
WRK_SECONDS = 10


class Stream:
    """One visitor's browser: its token, the last message id it has, what reached it and when."""

    def __init__(self, i: int, token: str, last: int) -> None:
        self.i, self.token, self.last = i, token, last
        self.customer = "web:" + token.split(".")[1]
        self.got: list[tuple[int, str, float]] = []  # (message id, text, arrival) of agent messages
        self.connects = self.failures = 0
        self.open = False


def post(base: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def visit(base: str, i: int) -> Stream:
    token = post(base, "/livechat/api/session", {"token": None})["token"]
    sent = post(base, "/livechat/api/messages", {"text": ASK, "client_id": f"bench-{i:06d}"}, token)
    return Stream(i, token, max(m["id"] for m in [sent["message"], *sent["replies"]]))


async def body_lines(reader: asyncio.StreamReader, chunked: bool):  # type: ignore[no-untyped-def]
    if not chunked:
        while line := await reader.readline():
            yield line.rstrip(b"\r\n")
        return
    buf = b""
    while True:
        size_line = await reader.readline()
        if not size_line or (size := int(size_line.split(b";")[0], 16)) == 0:
            return
        buf += (await reader.readexactly(size + 2))[:-2]
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r")


async def listen(s: Stream, port: int) -> None:
    """Hold the visitor's stream open for ever (until cancelled), reconnecting as the widget does."""
    while True:
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write((f"GET /livechat/api/stream?after={s.last} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                          f"Authorization: Bearer {s.token}\r\nAccept: text/event-stream\r\n\r\n").encode())
            status = (await reader.readline()).split()
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                k, _, v = line.decode().partition(":")
                headers[k.strip().lower()] = v.strip().lower()
            if len(status) < 2 or status[1] != b"200":
                s.failures += 1
                await asyncio.sleep(1)
                continue
            s.connects += 1
            s.open = True
            kind, data = "message", ""
            async for line in body_lines(reader, headers.get("transfer-encoding") == "chunked"):
                if line.startswith(b"event:"):
                    kind = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    data = line[5:].strip().decode()
                elif not line:
                    if kind == "message" and data:
                        msg = json.loads(data)
                        s.last = max(s.last, msg["id"])
                        if msg["author"] == "agent":
                            s.got.append((msg["id"], msg["text"], time.monotonic()))
                    kind, data = "message", ""
        except (OSError, asyncio.IncompleteReadError, ValueError):
            s.failures += 1
            await asyncio.sleep(0.5)
        finally:
            s.open = False
            if writer is not None:
                writer.close()


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
        except OSError:
            pass
    return sorted(found)


def rss_kb(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1])


def sockets(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def agent_round(desk, refs: list[tuple[Stream, str]], label: str, spread: float, zone) -> dict[Stream, float]:  # type: ignore[no-untyped-def]
    """One reply per visitor through the desk, evenly over `spread` seconds; when each committed."""
    sent: dict[Stream, float] = {}
    t0 = time.monotonic()
    for k, (s, ref) in enumerate(refs):
        wait = t0 + spread * k / len(refs) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        desk.reply(datetime.now(zone), ref, "sari", f"{label} #{s.i}: Halo Kak, saya Sari, saya cek dulu ya.")
        sent[s] = time.monotonic()
    return sent


async def measure(desk, refs, label: str, spread: float, zone) -> tuple[dict[Stream, float], float]:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    sent = await asyncio.to_thread(agent_round, desk, refs, label, spread, zone)
    written = time.monotonic() - t0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(any(t.startswith(label + " ") for _, t, _ in s.got) for s, _ in refs):
        await asyncio.sleep(0.1)
    lat = [next(a for _, t, a in s.got if t.startswith(label + " ")) - at for s, at in sent.items()
           if any(t.startswith(label + " ") for _, t, _ in s.got)]
    print(f"  {label:<6}: {len(refs)} replies written in {written:.1f} s; delivered {len(lat)}/{len(refs)}; "
          f"latency p50 {pct(lat, .5) * 1000:.0f} ms  p99 {pct(lat, .99) * 1000:.0f} ms  "
          f"max {max(lat, default=float('nan')) * 1000:.0f} ms")
    return sent, pct(lat, .99)


def show_wrk(label: str, r: dict) -> None:
    print(f"  {label}: {r['rps']:7.0f} msg/s  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
          f"non-2xx {r['non2xx']}  socket errors {r['socket_errors']}")


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="bench-livechat-"))
    db, log_path, config = tmp / "bench.db", tmp / "serve.log", tmp / "bench.toml"
    config.write_text(f'[storage]\ndatabase = "{db}"\n[livechat]\nnew_visitors_per_hour_per_address = 100000\n'
                      f'messages_per_minute_per_address = 100000\n[console]\nsecret_key = "{secrets.token_hex(20)}"\n')
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))}
    env.update(YESSINDO_DATABASE=str(db), TWILIO_AUTH_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    wrk = ensure_wrk()
    # Two sets of signed bodies (new MessageSids each), so the second run is not answered as retries.
    script_a = lua_script(base + "/webhooks/whatsapp", 60_000, tmp)
    bodies = (tmp / "bodies.tsv").read_text().splitlines(keepends=True)
    (tmp / "b").mkdir()
    (tmp / "bodies.tsv").write_text("".join(bodies[:30_000]))
    (tmp / "b" / "bodies.tsv").write_text("".join(bodies[30_000:]))
    script_b = tmp / "b" / "post.lua"
    script_b.write_text(script_a.read_text().replace(str(tmp / "bodies.tsv"), str(tmp / "b" / "bodies.tsv")))

    log = log_path.open("wb")
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    tasks: list[asyncio.Task] = []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"server did not start: see {log_path}")
        workers = children(server.pid)
        print(f"live chat, N = {n} visitors, {len(workers)} gunicorn workers, {os.cpu_count()} cores, "
              f"client and server on the same machine (NOFILE {soft} -> {hard})")

        t0 = time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            streams = list(pool.map(lambda i: visit(base, i), range(n)))
        print(f"  {n} sessions + first messages in {time.monotonic() - t0:.1f} s")

        from bot.config import load_settings
        from bot.desk import Desk
        from handoff import queue
        from handoff.store import Store
        from werkzeug.security import generate_password_hash

        settings = load_settings(str(config))
        zone = ZoneInfo(settings.hours.timezone)
        store = Store(str(db), create=False)
        desk = Desk.from_settings(settings, store)
        queue.add_agent(store, datetime.now(zone), "sari", "agent", generate_password_hash("rahasia-sari"))
        ref_of = dict(store.conn.execute("SELECT c.customer, t.ref FROM tickets t JOIN conversations c "
                                         "ON c.id = t.conversation_id WHERE c.channel = 'web'").fetchall())
        refs = [(s, ref_of[s.customer]) for s in streams if s.customer in ref_of]
        for _, ref in refs:
            desk.claim(datetime.now(zone), ref, "sari")
        print(f"  tickets opened and claimed: {len(refs)}/{n}")

        rss0 = {p: rss_kb(p) for p in workers}
        sock0 = {p: sockets(p) for p in workers}
        t0 = t_open = time.monotonic()
        tasks = [asyncio.create_task(listen(s, port)) for s in streams]
        while sum(s.open for s in streams) < n and time.monotonic() - t0 < 60:
            await asyncio.sleep(0.1)
        opened = sum(s.open for s in streams)
        print(f"  streams open: {opened}/{n} after {time.monotonic() - t0:.1f} s")
        await asyncio.sleep(2)
        rss1 = {p: rss_kb(p) for p in workers}
        print("  memory (VmRSS) per worker, before -> with the streams open:")
        for p in workers:
            print(f"    pid {p}: {rss0[p]:7d} KB -> {rss1[p]:7d} KB  (+{rss1[p] - rss0[p]} KB, "
                  f"{sockets(p) - sock0[p]} more sockets)")
        grown = sum(rss1.values()) - sum(rss0.values())
        print(f"    total +{grown} KB = {grown / max(opened, 1):.1f} KB per open stream")

        print("  agent replies (Desk on the same database) -> the visitor's stream:")
        sent_spread, p99 = await measure(desk, refs, "spread", 5.0, zone)
        sent_burst, _ = await measure(desk, refs, "burst", 0.0, zone)

        before = sum(s.connects for s in streams)
        with_streams = await asyncio.to_thread(run_wrk, wrk, base, script_a, WRK_SECONDS)
        open_after = sum(s.open for s in streams)
        reconnects = sum(s.connects for s in streams) - before
        # The server ends each stream after 60 s: replies spread over the 6 s around that moment
        # reach the visitor on the old stream or in the new one's backlog (?after=).
        await asyncio.sleep(max(0.0, t_open + 57 - time.monotonic()))
        sent_cross, _ = await measure(desk, refs, "across", 6.0, zone)
        print(f"    (streams reconnected after the server ended them at 60 s: "
              f"{sum(s.connects > 1 for s in streams)}/{n})")
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(2)
        without = await asyncio.to_thread(run_wrk, wrk, base, script_b, WRK_SECONDS)
        print(f"signed WhatsApp webhooks, {WRK_SECONDS} s, 32 wrk connections:")
        show_wrk(f"with {opened} streams open", with_streams)
        print(f"    (streams still open at the end: {open_after}/{n}; reconnects during it: "
              f"{reconnects})")
        show_wrk("no streams open     ", without)

        rounds = {"spread": sent_spread, "burst": sent_burst, "across": sent_cross}
        exact = sum(all(sum(t.startswith(f"{lb} #{s.i}:") for _, t, _ in s.got) == 1 for lb in rounds) for s, _ in refs)
        stray = sum(any(not t.split(":")[0].endswith(f"#{s.i}") for _, t, _ in s.got) for s in streams)
        repeated = sum(len(s.got) != len({m for m, _, _ in s.got}) for s in streams)
        print("check: every visitor got each of its agent messages exactly once: "
              f"{exact}/{len(refs)} visitors ({'yes' if exact == len(refs) == n else 'NO'}); "
              f"visitors with another visitor's message: {stray}; with a repeated id: {repeated}; "
              f"stream connects {sum(s.connects for s in streams)}, failed attempts {sum(s.failures for s in streams)}")
        print(f"targets: all delivered, p99 < 1 s {'met' if exact == n and p99 < 1 else 'NOT met'} (spread round); "
              f">= 1,000 msg/s {'met' if with_streams['rps'] >= 1000 else 'NOT met'} and p99 < 200 ms "
              f"{'met' if with_streams['p99'] < 200 else 'NOT met'} with the streams open")
        store.close()
    finally:
        for t in tasks:
            t.cancel()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    text = log_path.read_text(errors="replace").splitlines()
    bad = [x for x in text if "Traceback" in x or "ERROR" in x or "CRITICAL" in x]
    warn = [x for x in text if "WARNING" in x]
    print(f"serve log {log_path}: {len(bad)} Traceback/ERROR lines, {len(warn)} WARNING lines")
    for line in (bad + warn)[:8]:
        print("   ", line[:200])


if __name__ == "__main__":
    asyncio.run(main())
