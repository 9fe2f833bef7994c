"""kill -9 of `yessindo-bot serve` under load: nothing stored is lost, nothing is answered twice.

A real `serve` (2 workers, temporary database) delivers its outbox to the fake Twilio
server of the tests (tests/fake_twilio.py, behind the real twilio client). CLIENTS
threads post signed webhooks, each message with its own MessageSid, and behave like
Twilio: an answer that does not arrive (connection cut, refused, 5xx, 15 s timeout) is
retried with the same MessageSid until a 200 comes. Meanwhile agent replies are queued
in the outbox. Then:
  1. at KILL_WORKER s one worker is killed with SIGKILL (gunicorn starts another);
  2. at KILL_ALL s the whole process tree (master and workers) is killed with SIGKILL
     and `serve` is started again on the same port and database.
Afterwards the database and the fake Twilio are checked:
  - every message that got a 200 is stored once;
  - no inbound message has two bot answers; no webhook got two answers;
  - every stored bot answer reached the client exactly once (in a TwiML 200: the
    first answer or a retry's replay), with the stored text;
  - every outbox row was sent to Twilio exactly once.
    .venv/bin/python bench/bench_kill.py [DURATION] [OUTBOX_ROWS]
"""
from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from twilio.request_validator import RequestValidator  # noqa: E402

from tests.fake_twilio import FakeTwilio  # noqa: E402

CLIENTS = 6
KILL_WORKER, KILL_ALL = 6.0, 14.0  # seconds into the load
TEXTS = ["paket saya belum sampai kak", "bisa bayar COD?", "jam berapa cs buka?", "barang datang rusak, minta refund",
         "Where is my order?", "lupa password gmn resetnya", "halo kak"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """`yessindo-bot serve` in its own process group, so the whole tree can be killed."""

    def __init__(self, config: Path, port: int, tmp: Path) -> None:
        self.config, self.port, self.tmp = config, port, tmp
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))
               or k == "YESSINDO_CACHE_DIR"}
        env["PYTHONPATH"] = str(REPO)
        self.starts += 1
        log = open(self.tmp / f"serve{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--config", str(self.config), "--port", str(self.port),
             "--workers", "2"], env=env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("serve did not start")

    def workers(self) -> list[int]:
        assert self.proc is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def kill_worker(self) -> int:
        pid = random.choice(self.workers())
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Customers:
    """Twilio's side: post each message until a 200 comes back, then record what it said."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
        self.validator = RequestValidator(token)
        self.delivered: dict[str, list[list[str]]] = {}  # sid -> the messages of every 200
        self.attempts: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()
        self.gave_up: list[str] = []
        self.lock = threading.Lock()
        self.stop_new = threading.Event()

    def run(self, k: int) -> None:
        i = 0
        while not self.stop_new.is_set():
            i += 1
            sid = f"SMkill{k:02d}x{i:06d}"
            form = {"From": f"whatsapp:+62812{k:02d}{i:06d}", "To": "whatsapp:+6282129666065",
                    "Body": TEXTS[(k + i) % len(TEXTS)], "MessageSid": sid, "NumMedia": "0"}
            self.send(sid, form)

    def send(self, sid: str, form: dict[str, str]) -> None:
        body = urllib.parse.urlencode(form)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.url, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with self.lock:
                self.attempts[sid] += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                conn.request("POST", "/webhooks/whatsapp", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if resp.status == 200:
                    texts = [m.text or "" for m in ET.fromstring(data).findall("Message")]
                    with self.lock:
                        self.delivered.setdefault(sid, []).append(texts)
                    return
            except (OSError, http.client.HTTPException):
                pass
            with self.lock:
                self.lost[sid] += 1
            time.sleep(0.3)  # Twilio waits before retrying
        with self.lock:
            self.gave_up.append(sid)


def queue_outbox(db: Path, n: int, first: int = 0) -> None:
    from handoff.store import Store

    store = Store(db)
    now = datetime.now(timezone.utc)
    for i in range(first, first + n):
        with store.write(now) as tx:
            conv = tx.create_conversation("whatsapp", f"+62813{i:08d}", "id", None)
            tx.add_message(conv, "in", "halo", author="customer", external_id=f"SMseed{i}")
            tx.enqueue_outbound(conv, f"Balasan agen nomor {i}")
    store.close()


def main() -> None:
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 22
    outbox_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    tmp = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    db = tmp / "kill.db"
    fake = FakeTwilio()
    config = tmp / "config.toml"
    config.write_text(f'[storage]\ndatabase = "{db}"\n[whatsapp]\naccount_sid = "{fake.account_sid}"\n'
                      f'auth_token = "{fake.auth_token}"\napi_base_url = "{fake.url}"\n')
    port = free_port()
    serve = Serve(config, port, tmp)
    serve.start()
    customers = Customers(port, fake.auth_token)
    threads = [threading.Thread(target=customers.run, args=(k,)) for k in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    events = []
    try:
        time.sleep(KILL_WORKER / 2)
        queue_outbox(db, outbox_rows // 2)
        time.sleep(KILL_WORKER / 2)
        events.append(f"{time.monotonic() - t0:.1f} s: SIGKILL worker {serve.kill_worker()}")
        time.sleep(KILL_ALL - KILL_WORKER - 1)
        queue_outbox(db, outbox_rows - outbox_rows // 2, outbox_rows // 2)
        time.sleep(1)
        serve.kill_all()
        events.append(f"{time.monotonic() - t0:.1f} s: SIGKILL master and workers")
        t1 = time.monotonic()
        serve.start()
        events.append(f"{time.monotonic() - t0:.1f} s: serve answering again ({time.monotonic() - t1:.1f} s down)")
        time.sleep(max(0.0, duration - (time.monotonic() - t0)))
        customers.stop_new.set()
        for t in threads:
            t.join()
        # rows a killed sender held are retried once their lease (60 s) runs out
        deadline = time.monotonic() + 150
        conn = sqlite3.connect(db)
        while time.monotonic() < deadline:
            pending = conn.execute("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')").fetchone()[0]
            if not pending:
                break
            time.sleep(1)
        time.sleep(2)  # a second sender must not send anything again
    finally:
        customers.stop_new.set()
        serve.stop()
        fake.close()
    logs = "".join(p.read_text(errors="replace") for p in tmp.glob("serve*.log"))
    replayed = sum(1 for line in logs.splitlines() if "answer(s) replayed" in line and ": 0 stored" not in line)
    report(db, customers, fake, events, duration, replayed)


def report(db: Path, customers: Customers, fake: FakeTwilio, events: list[str], duration: float,
           replayed: int) -> None:
    conn = sqlite3.connect(db)
    inbound = {r[0]: r[1] for r in conn.execute(
        "SELECT external_id, id FROM messages WHERE direction = 'in' AND external_id LIKE 'SMkill%'")}
    dup_in = conn.execute("SELECT count(*) FROM (SELECT external_id FROM messages WHERE direction='in' AND "
                          "external_id IS NOT NULL GROUP BY channel, external_id HAVING count(*) > 1)").fetchone()[0]
    from bot.channels.whatsapp import stored_answer

    got_200 = set(customers.delivered)
    not_stored = [sid for sid in got_200 if sid not in inbound]
    twice_delivered = [sid for sid, answers in customers.delivered.items() if len(answers) > 1]
    answers = {sid: [r.text for r in stored_answer(conn, sid)] for sid in inbound}
    two_answers = [sid for sid in inbound if conn.execute(
        "SELECT count(*) FROM messages m, messages i WHERE i.external_id = ? AND i.direction = 'in' AND "
        "m.conversation_id = i.conversation_id AND m.direction = 'out' AND m.author = 'bot' AND m.id > i.id AND "
        "m.created_at = i.created_at", (sid,)).fetchone()[0] > 1]
    undelivered = [sid for sid, texts in answers.items() if texts and sid not in got_200]
    from bot.channels.whatsapp import split_text

    wrong_text = [sid for sid, texts in answers.items() if sid in got_200 and
                  customers.delivered[sid][0] != [p for t in texts for p in split_text(t)]]
    retried = sum(1 for sid in customers.attempts if customers.attempts[sid] > 1)
    replays = sum(1 for sid in customers.lost if sid in got_200 and sid in inbound)
    rows = conn.execute("SELECT id, body, status FROM outbox").fetchall()
    sent_bodies = Counter(r.form.get("Body") for r in fake.creates())
    row_counts = Counter({r[1]: sent_bodies.get(r[1], 0) for r in rows})
    outbox_twice = [b for b, n in row_counts.items() if n > 1]
    outbox_never = [b for b, n in row_counts.items() if n == 0]
    status = Counter(r[2] for r in rows)

    print(f"kill -9 under load: {CLIENTS} webhook clients retrying like Twilio for {duration:.0f} s, 2 workers")
    for e in events:
        print(f"  {e}")
    print(f"  webhooks: {len(customers.attempts)} messages, {sum(customers.attempts.values())} posts, "
          f"{retried} needed a retry (answer lost: cut, refused or 5xx), {len(customers.gave_up)} gave up")
    print(f"  stored: {len(inbound)} inbound; duplicate inbound rows {dup_in}")
    print(f"  every 200 stored: {'yes' if not not_stored else f'NO ({len(not_stored)} missing)'}")
    print(f"  no message with two bot answers: {'yes' if not two_answers else f'NO ({len(two_answers)})'}; "
          f"no webhook answered twice: {'yes' if not twice_delivered else f'NO ({len(twice_delivered)})'}")
    print(f"  every stored answer delivered once in TwiML: {'yes' if not undelivered else f'NO ({len(undelivered)})'}"
          f" (answers that came in a retry: {replays}, of which replayed from the database: {replayed}); "
          f"text as stored: "
          f"{'yes' if not wrong_text else f'NO ({len(wrong_text)})'}")
    print(f"  outbox: {len(rows)} rows {dict(status)}; sent twice {len(outbox_twice)}, never sent {len(outbox_never)}")
    ok = not (not_stored or two_answers or twice_delivered or undelivered or wrong_text or outbox_twice
              or outbox_never or dup_in or customers.gave_up)
    print(f"  result: {'every 200 stored, none answered twice, every answer delivered once' if ok else 'FAILED'}")


if __name__ == "__main__":
    main()
