"""The live stream through `serve` (gunicorn, gevent workers, two processes): an agent's
reply written by another process reaches the visitor's open stream within a second, a
stream picks up after a reconnect with `after`, and webhooks keep being answered while
streams are open."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from werkzeug.security import generate_password_hash

from bot.config import settings_from_mapping
from bot.desk import Desk
from handoff import queue
from handoff.store import Store
from tests.conftest import REPO
from tests.procs import free_port, stop, wait_until_up


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "live.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[storage]\ndatabase = "{db}"\n[console]\nsecret_key = "{"s" * 40}"\n')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(cfg), "serve", "--port", str(port),
                             "--workers", "2"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_until_up(proc, f"http://127.0.0.1:{port}")
    yield port, cfg, db
    stop(proc)


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


class Stream:
    """One open event stream, read line by line."""

    def __init__(self, port: int, token: str, after: int = 0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", f"/livechat/api/stream?after={after}", headers={"Authorization": f"Bearer {token}"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200 and self.resp.getheader("Content-Type").startswith("text/event-stream")

    def next_event(self, timeout: float = 5.0) -> tuple[str, dict]:
        """The next event (the connection's own 10 s timeout bounds the wait)."""
        kind, data = "message", None
        while True:
            line = self.resp.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                return kind, data

    def close(self) -> None:
        self.conn.close()


def test_agent_reply_reaches_the_open_stream_within_a_second(server):
    port, cfg, db = server
    status, session = call(port, "POST", "/livechat/api/session", {})
    assert status == 200
    token = session["token"]
    status, sent = call(port, "POST", "/livechat/api/messages",
                        {"text": "tolong sambungkan ke CS, paket saya hilang", "client_id": "serve-0001"}, token)
    assert status == 200 and sent["replies"]
    last = sent["replies"][-1]["id"]
    stream = Stream(port, token, after=last)
    try:
        store = Store(str(db))
        now = datetime.now(timezone.utc)
        queue.add_agent(store, now, "sari", "agent", generate_password_hash("rahasia-sari", method="pbkdf2:sha256:1000"))
        desk = Desk.from_settings(settings_from_mapping({"storage": {"database": str(db)}}), store)
        ref = store.conn.execute("SELECT ref FROM tickets").fetchone()[0]
        desk.claim(now, ref, "sari")
        sent_at = time.monotonic()
        desk.reply(now, ref, "sari", "Halo Kak, saya Sari dari tim CS.")
        kind, data = stream.next_event(timeout=5)
        took = time.monotonic() - sent_at
        assert kind == "message" and data["author"] == "agent" and data["text"] == "Halo Kak, saya Sari dari tim CS."
        assert took < 1.0, f"agent reply took {took:.2f} s to arrive"
        # while the stream is open the webhook and the API still answer at once
        t0 = time.monotonic()
        status, _ = call(port, "POST", "/livechat/api/messages", {"text": "oke kak", "client_id": "serve-0002"}, token)
        assert status == 200 and time.monotonic() - t0 < 2.0
        kind, data = stream.next_event(timeout=5)  # the customer's own message, for their other tabs
        assert data["author"] == "customer" and data["client_id"] == "serve-0002"
        agent_id = None
        for m in call(port, "GET", "/livechat/api/messages?after=0", token=token)[1]["messages"]:
            if m["author"] == "agent":
                agent_id = m["id"]
        store.close()
    finally:
        stream.close()
    # a reconnect with an older `after` replays what came since, in order
    again = Stream(port, token, after=last)
    try:
        kind, data = again.next_event(timeout=5)
        assert data["id"] == agent_id and data["author"] == "agent"
    finally:
        again.close()


def test_stream_refuses_without_a_valid_token(server):
    port, _cfg, _db = server
    status, body = call(port, "GET", "/livechat/api/stream", token="v1.00000000000000000000000000000000.x")
    assert status == 401 and body["error"]


def test_a_three_megabyte_photo_goes_through_serve(server):
    """Through gunicorn and the body-deadline guard, whose 1 MB bound is raised for the upload only."""
    import uuid

    port, _cfg, db = server
    status, session = call(port, "POST", "/livechat/api/session", {})
    token = session["token"]
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024)
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nphoto-0001\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"paket.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/livechat/api/upload", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = conn.getresponse()
    data = json.loads(r.read())
    assert r.status == 200, data
    assert data["message"]["attachments"][0]["type"] == "image/png"
    import sqlite3

    size = sqlite3.connect(db).execute("SELECT size FROM attachment_blobs").fetchone()[0]
    assert size == len(image)
