"""Real mail servers for the email tests: Dovecot (IMAP) and aiosmtpd (SMTP), both on 127.0.0.1.

`dovecot` starts Debian's `dovecot-imapd` in the foreground (`dovecot -F -c conf`) on an
ephemeral port with its own config, passwd file, maildir, base_dir and state_dir in a
temporary directory, and stops it at teardown. `DovecotServer.append(raw)` puts a mail in
the INBOX (unread), `flags(...)` reads its flags back.

`smtp_server` is an aiosmtpd `Controller` recording every message it accepts; `stop()` and
`start()` take it down and bring it back on the same port (the "SMTP down, then back" test).
Import the fixtures into a test module with `from tests.mail_servers import dovecot, smtp_server`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "ptyessindo@gmail.com"
PASSWORD = "rahasia-uji"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{root}/mail/%n
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class DovecotServer:
    """One running Dovecot with one user (USER / PASSWORD) and an INBOX."""

    def __init__(self) -> None:
        if not os.path.exists(DOVECOT):
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd; `make test` does it)")
        # Not under pytest's tmp_path: its parents are 0700 and the mail processes run as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="yessindo-dovecot-"))
        os.chmod(self.root, 0o755)
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        for sub in ("mail", "home"):
            os.chmod(self.root / sub, 0o777)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user, self.password = USER, PASSWORD
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(_CONF.format(root=self.root, port=self.port))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_port(self.port, proc=self.proc)
        except RuntimeError as exc:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            log = (self.root / "dovecot.log").read_text(errors="replace") if (self.root / "dovecot.log").exists() else ""
            self.stop()
            raise RuntimeError(f"dovecot did not start: {exc}\n{err}\n{log}") from None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the server (connections drop), wait, start it again on the same port and mail."""
        self._terminate()
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # -- helpers for tests ------------------------------------------------------------------
    def client(self):  # type: ignore[no-untyped-def]
        from imapclient import IMAPClient

        c = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        c.login(self.user, self.password)
        return c

    def append(self, *raws: bytes, folder: str = "INBOX") -> None:
        """APPEND raw mails (unread) to the folder."""
        c = self.client()
        try:
            for raw in raws:
                c.append(folder, raw, flags=())
        finally:
            c.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every mail in the folder (read-only: changes nothing)."""
        c = self.client()
        try:
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            return {uid: tuple(d[b"FLAGS"]) for uid, d in c.fetch(uids, ["FLAGS"]).items()} if uids else {}
        finally:
            c.logout()

    def settings_table(self) -> dict[str, object]:
        """The `[email]` keys pointing at this server (IMAP plain on localhost)."""
        return {"address": USER, "imap_host": self.host, "imap_port": self.port, "imap_ssl": False,
                "imap_user": self.user, "imap_password": self.password, "imap_folder": "INBOX"}


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class SMTPRecorder:
    """An aiosmtpd handler keeping what it accepted; `reject_rcpt` answers 550 to every RCPT."""

    received: list[Received] = field(default_factory=list)
    reject_rcpt: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.reject_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = SMTPRecorder()
        self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        # A new Controller each time: the port is the same, so "down, then back" is a restart.
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)

    def settings_table(self) -> dict[str, object]:
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_ssl": False, "smtp_starttls": False,
                "smtp_user": "", "smtp_password": ""}


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
