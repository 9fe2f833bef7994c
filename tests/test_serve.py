"""`yessindo-bot serve` as a real gunicorn subprocess: signed webhooks end to end."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import REPO
from tests.procs import free_port, wait_until_up  # noqa: F401  (other tests take free_port from here too)

TOKEN = "serve-test-token"


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env.update(YESSINDO_DATABASE=str(tmp_path / "serve.db"), TWILIO_AUTH_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(proc, base)
    yield base, tmp_path / "serve.db"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def post(base, data, signature=None):
    url = base + "/webhooks/whatsapp"
    sig = signature if signature is not None else RequestValidator(TOKEN).compute_signature(url, data)
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST",
                                 headers={"X-Twilio-Signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_serve_answers_signed_webhooks_and_refuses_forged(server):
    base, db = server
    data = {"From": "whatsapp:+6281234567890", "To": "whatsapp:+6282129666065", "Body": "halo kak",
            "MessageSid": "SMserve1", "NumMedia": "0"}
    status, body = post(base, data)
    assert status == 200
    texts = [m.text for m in ET.fromstring(body).findall("Message")]
    assert texts and "1. " in texts[0]
    status, _ = post(base, dict(data, MessageSid="SMserve2"), signature="forged")
    assert status == 403
    status, again = post(base, data)  # Twilio's retry (it lost the answer): the same answer again
    assert status == 200 and [m.text for m in ET.fromstring(again).findall("Message")] == texts
    import sqlite3

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0] == 1
    with urllib.request.urlopen(base + "/healthz") as r:
        assert json.loads(r.read()) == {"status": "ok"}
    with urllib.request.urlopen(base + "/try") as r:  # embedded defaults: simulator on
        assert b"Yessindo" in r.read()


def test_serve_delivers_the_outbox_through_twilio(tmp_path):
    """A row queued in the outbox is sent by serve's background sender to the (fake) Twilio API."""
    from datetime import datetime, timezone

    from handoff.store import Store
    from tests.fake_twilio import FakeTwilio

    fake = FakeTwilio()
    try:
        db = tmp_path / "out.db"
        store = Store(db)
        now = datetime.now(timezone.utc)
        with store.write(now) as tx:
            conv = tx.create_conversation("whatsapp", "+6281234567890", "id", None)
            tx.add_message(conv, "in", "halo", author="customer", external_id="SMin")
            tx.enqueue_outbound(conv, "Balasan dari agen Sari")
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[storage]\ndatabase = "{db}"\n[whatsapp]\naccount_sid = "{fake.account_sid}"\n'
                       f'auth_token = "{fake.auth_token}"\napi_base_url = "{fake.url}"\n')
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
        env["PYTHONPATH"] = str(REPO)
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(cfg), "--port", str(port),
                                 "--workers", "2"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 30
            while time.time() < deadline and not store.outbox(status="sent") and proc.poll() is None:
                time.sleep(0.2)
            [row] = store.outbox()
            if row["status"] != "sent":
                proc.terminate()
                print(proc.communicate(timeout=15)[0].decode())
            assert row["status"] == "sent" and row["provider_id"].startswith("SM")
            time.sleep(1.5)  # the other worker's sender must not send it again
            creates = fake.creates()
            assert len(creates) == 1 and creates[0].form["Body"] == "Balasan dari agen Sari"
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        fake.close()


def test_slow_clients_neither_starve_webhooks_nor_hold_connections_forever(server):
    """Slowloris (issue 10, item 13): with more slow clients than sync workers could ever
    serve, a signed webhook and /healthz are still answered; the slow clients are cut off
    (408 for a body that never ends, a close for headers that never end)."""
    base, _ = server
    port = int(base.rsplit(":", 1)[1])
    slow = []
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: t\r\nX-Twilio-Signature: eA==\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nBody=")
        else:
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        slow.append(s)
    try:
        data = {"From": "whatsapp:+6281234567891", "To": "whatsapp:+6282129666065", "Body": "halo kak",
                "MessageSid": "SMslowtest", "NumMedia": "0"}
        status, body = post(base, data)
        assert status == 200 and ET.fromstring(body).findall("Message")
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            assert r.status == 200
        answers = []
        for s in slow:  # never a worker held for good: each is answered or closed
            s.settimeout(30)
            answers.append(s.recv(200))
        assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers)
        assert any(a.startswith(b"HTTP/1.1 408") for a in answers)
    finally:
        for s in slow:
            s.close()


def test_serve_raises_the_open_file_limit_for_open_streams():
    """1,000 live-chat streams per worker need more than the usual soft limit of 1,024 files."""
    import resource

    from bot.serve import raise_open_files

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        got = raise_open_files(4096)
        assert got == min(4096, hard) and resource.getrlimit(resource.RLIMIT_NOFILE)[0] == got
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
