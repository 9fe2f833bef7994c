"""IMAP login with XOAUTH2 against a real Dovecot whose oauth2 passdb asks a local token endpoint.

`introspection` is a tiny HTTP server on 127.0.0.1 (ephemeral port) playing the OAuth2
provider: RFC 7662 introspection (`POST token=...`) answers `{"active": true, "username":
USER}` for GOOD_TOKEN and `{"active": false}` for anything else. Dovecot
(`DovecotServer(oauth2_introspection_url=...)`) offers XOAUTH2 and checks each token there.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs

import pytest

from tests.mail_servers import USER, DovecotServer, smtp_server  # noqa: F401
from tests.mail_servers import customer_mail, write_config

mail = functools.partial(customer_mail, id_prefix="oauth")

REPO = Path(__file__).resolve().parents[1]
SEEN = b"\\Seen"
GOOD_TOKEN = "ya29.uji-token-yang-benar"
BAD_TOKEN = "ya29.token-kedaluwarsa"
ENV_DROP = ("YESSINDO_EMAIL_OAUTH2_TOKEN", "YESSINDO_EMAIL_PASSWORD", "YESSINDO_EMAIL_CA_FILE",
            "YESSINDO_EMAIL_CRASH_AT")


class Introspection:
    """The token endpoint: records every token it was asked about."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._answer(parse_qs(body).get("token", [""])[0])

            def do_GET(self) -> None:  # noqa: N802
                auth = self.headers.get("Authorization", "")
                self._answer(auth.removeprefix("Bearer ").strip())

            def _answer(self, token: str) -> None:
                outer.tokens.append(token)
                reply = {"active": True, "username": USER} if token == GOOD_TOKEN else {"active": False}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/introspect"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def introspection() -> Iterator[Introspection]:
    server = Introspection()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot_oauth2(introspection) -> Iterator[DovecotServer]:
    server = DovecotServer(oauth2_introspection_url=introspection.url)
    server.start()
    try:
        yield server
    finally:
        server.stop()




def poll_once(config: Path, token: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    env["YESSINDO_EMAIL_OAUTH2_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def no_password(server: DovecotServer, smtp) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {**server.settings_table(), "imap_password": "", **smtp.settings_table()}


def bot_logins(server: DovecotServer, mech: str, timeout: float = 5.0) -> list[str]:
    """Dovecot's login lines for USER with the mechanism, waiting a little for its log writer."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in server.log().splitlines()
                 if f"Login: user=<{USER}>, method={mech}" in ln]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_good_token_no_password_answers_the_mail(tmp_path, introspection, dovecot_oauth2,
                                                 smtp_server):  # noqa: F811
    dovecot_oauth2.append(mail(1))
    config = write_config(tmp_path, no_password(dovecot_oauth2, smtp_server))
    r = poll_once(config, GOOD_TOKEN)
    assert r.returncode == 0, (r.stdout, r.stderr, dovecot_oauth2.log())
    assert "1 fetched, 1 answered" in r.stdout and "1 sent" in r.stdout, r.stdout
    got = smtp_server.wait_for(1)
    assert [g.rcpt_tos for g in got] == [["budi@example.com"]]
    assert got[0].message["In-Reply-To"] == "<oauth1@example.com>"
    assert SEEN in dovecot_oauth2.flags()[1]
    # The bot really logged in with XOAUTH2, and Dovecot asked the endpoint about its token.
    assert len(bot_logins(dovecot_oauth2, "XOAUTH2")) == 1, dovecot_oauth2.log()
    assert introspection.tokens == [GOOD_TOKEN]


def test_bad_token_one_line_exit_1_nothing_read(tmp_path, introspection, dovecot_oauth2,
                                                smtp_server):  # noqa: F811
    dovecot_oauth2.append(mail(1))
    config = write_config(tmp_path, no_password(dovecot_oauth2, smtp_server))
    r = poll_once(config, BAD_TOKEN)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "poll-email" in r.stderr and "LoginError" in r.stderr, r.stderr
    assert r.stdout == ""
    assert BAD_TOKEN in introspection.tokens  # refused by the provider, not before it was asked
    assert SEEN not in dovecot_oauth2.flags()[1]
    time.sleep(0.2)
    assert smtp_server.received == []
    assert bot_logins(dovecot_oauth2, "XOAUTH2", timeout=0.5) == []


def test_connect_with_token_only(introspection, dovecot_oauth2, monkeypatch):  # noqa: F811
    """`connect` itself: the token from the settings (`imap_oauth2_token`), no password at all."""
    from bot.channels import email_imap

    monkeypatch.delenv("YESSINDO_EMAIL_OAUTH2_TOKEN", raising=False)
    s = types.SimpleNamespace(**{**dovecot_oauth2.settings_table(), "imap_password": "",
                                 "imap_oauth2_token": GOOD_TOKEN})
    client = email_imap.connect(s, timeout=10)
    try:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    finally:
        client.logout()
