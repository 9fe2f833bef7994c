"""Real mail servers for the email tests: Dovecot (IMAP) and aiosmtpd (SMTP), both on 127.0.0.1.

`dovecot` starts Debian's `dovecot-imapd` in the foreground (`dovecot -F -c conf`) on an
ephemeral port with its own config, passwd file, maildir, base_dir and state_dir in a
temporary directory, and stops it at teardown. `DovecotServer.append(raw)` puts a mail in
the INBOX (unread), `flags(...)` reads its flags back.

`smtp_server` is an aiosmtpd `Controller` recording every message it accepts; `stop()` and
`start()` take it down and bring it back on the same port (the "SMTP down, then back" test).
Import the fixtures into a test module with `from tests.mail_servers import dovecot, smtp_server`.

TLS: `test_certs` (session) makes a throwaway CA with `openssl` and a server certificate
it signed for 127.0.0.1/localhost, plus a self-signed "rogue" certificate no client
trusts. `DovecotServer(tls=certs.server)` runs Dovecot with `ssl = yes`: STARTTLS on
`port`, implicit TLS on `tls_port`. `SMTPServer(tls=..., mode="ssl"|"starttls")` runs
aiosmtpd with implicit TLS, or with STARTTLS required before MAIL.

OAuth2: `DovecotServer(oauth2_introspection_url=url)` also offers XOAUTH2 and OAUTHBEARER,
checked by an oauth2 passdb that POSTs the token to `url` (RFC 7662 introspection) and
accepts it when the answer has `"active": true` and `"username"` equal to the login user.
Password logins (the helpers) keep working through the passwd-file passdb.
"""
from __future__ import annotations

import json
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
from typing import Iterator, Literal

import pytest

from tests.procs import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "ptyessindo@gmail.com"
PASSWORD = "rahasia-uji"


def _wait_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None,
               host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout} s")


_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""

_OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login{auth_mechanisms}
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{root}/mail/%n
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
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


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TestCerts:
    ca: Path          # the CA file a client is given (YESSINDO_EMAIL_CA_FILE)
    server: CertPair  # signed by `ca`, for IP 127.0.0.1 and DNS localhost
    rogue: CertPair   # self-signed, same names, trusted by nobody


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_test_certs(root: Path) -> TestCerts:
    """A throwaway CA, a server certificate it signed and an untrusted self-signed one (openssl)."""
    names = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Yessindo test CA",
             "-keyout", str(root / "ca.key"), "-out", str(root / "ca.pem"),
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(root / "server.key"), "-out", str(root / "server.csr"))
    (root / "server.ext").write_text(f"{names}\nbasicConstraints=critical,CA:FALSE\n"
                                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                     "extendedKeyUsage=serverAuth\n"
                                     "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _openssl("x509", "-req", "-in", str(root / "server.csr"), "-CA", str(root / "ca.pem"),
             "-CAkey", str(root / "ca.key"), "-CAcreateserial", "-days", "2", "-sha256",
             "-extfile", str(root / "server.ext"), "-out", str(root / "server.pem"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-keyout", str(root / "rogue.key"), "-out", str(root / "rogue.pem"), "-addext", names)
    for f in root.iterdir():
        os.chmod(f, 0o644)  # throwaway test keys: readable by whichever process loads them
    return TestCerts(ca=root / "ca.pem", server=CertPair(root / "server.pem", root / "server.key"),
                     rogue=CertPair(root / "rogue.pem", root / "rogue.key"))


class DovecotServer:
    """One running Dovecot with one user (USER / PASSWORD) and an INBOX.

    With `tls` (a certificate and key): `ssl = yes`, STARTTLS offered on `port` and
    implicit TLS on `tls_port`. `listen` is the one address it listens on.
    """

    def __init__(self, tls: CertPair | None = None, listen: str = "127.0.0.1",
                 oauth2_introspection_url: str | None = None) -> None:
        if not os.path.exists(DOVECOT):
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd; `make test` does it)")
        # Not under pytest's tmp_path: its parents are 0700 and the mail processes run as nobody.
        self.root = Path(tempfile.mkdtemp(prefix="yessindo-dovecot-"))
        os.chmod(self.root, 0o755)
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        for sub in ("mail", "home"):
            os.chmod(self.root / sub, 0o777)
        self.host = listen
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.user, self.password = USER, PASSWORD
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        ssl_conf = f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}" if tls else "ssl = no"
        mechanisms, oauth2_passdb = "", ""
        if oauth2_introspection_url:
            (self.root / "dovecot-oauth2.conf.ext").write_text(_OAUTH2_CONF.format(url=oauth2_introspection_url))
            mechanisms, oauth2_passdb = " xoauth2 oauthbearer", _OAUTH2_PASSDB.format(root=self.root)
        self.conf = self.root / "dovecot.conf"
        self.conf.write_text(_CONF.format(root=self.root, port=self.port, tls_port=self.tls_port, ssl=ssl_conf,
                                          auth_mechanisms=mechanisms, oauth2_passdb=oauth2_passdb)
                             .replace("127.0.0.1", listen))
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_port(self.port, proc=self.proc, host=self.host)
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

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

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
    """aiosmtpd on 127.0.0.1; with `tls`, implicit TLS (`mode="ssl"`) or STARTTLS required (`"starttls"`)."""

    def __init__(self, port: int | None = None, tls: CertPair | None = None,
                 mode: Literal["ssl", "starttls"] = "ssl", host: str = "127.0.0.1",
                 auth_plain: bool = False, smtputf8: bool = True) -> None:
        self.host = host
        self.smtputf8 = smtputf8  # offer SMTPUTF8 (RFC 6531; aiosmtpd's Controller does by default)
        self.port = port or free_port()
        self.handler = SMTPRecorder()
        self.controller = None
        self.tls, self.mode = tls, mode
        # AUTH (USER / PASSWORD) is offered with TLS, and with auth_plain even without it;
        # every attempt is recorded as (mechanism, login, accepted).
        self.auth_plain = auth_plain
        self.auth_attempts: list[tuple[str, str, bool]] = []

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = False
        login = ""
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode(errors="replace")
            ok = login == USER and auth_data.password.decode(errors="replace") == PASSWORD
        self.auth_attempts.append((mechanism, login, ok))
        return AuthResult(success=ok)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, object] = {}
        if self.tls is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
            kwargs["authenticator"] = self._authenticate
            if self.mode == "ssl":
                # aiosmtpd counts only STARTTLS as TLS for AUTH; the whole session is TLS here.
                kwargs.update(ssl_context=context, auth_require_tls=False)
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if self.auth_plain:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if not self.smtputf8:
            kwargs.update(enable_SMTPUTF8=False)
        # A new Controller each time: the port is the same, so "down, then back" is a restart.
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, ready_timeout=10,
                                     **kwargs)
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
        tls = self.tls is not None
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_ssl": tls and self.mode == "ssl",
                "smtp_starttls": tls and self.mode == "starttls", "smtp_user": "", "smtp_password": ""}


def running_dovecot(**kwargs) -> Iterator[DovecotServer]:  # type: ignore[no-untyped-def]
    """A started Dovecot (DovecotServer options), stopped when the generator closes."""
    server = DovecotServer(**kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    yield from running_dovecot()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def test_certs(tmp_path_factory) -> TestCerts:  # type: ignore[no-untyped-def]
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    return make_test_certs(tmp_path_factory.mktemp("certs"))


def customer_mail(n: int | str, text: str = "Halo kak, paket saya belum sampai, nomor pesanan INV-20261101-0001",
                  sender: str = "budi@example.com", subject: str = "Paket belum sampai", extra: str = "",
                  id_prefix: str = "m") -> bytes:
    """A plain customer mail to the support address, Message-ID <{id_prefix}{n}@example.com>."""
    return (f"From: Budi <{sender}>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 24 Nov 2026 10:00:00 +0700\r\nMessage-ID: <{id_prefix}{n}@example.com>\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()


def write_config(tmp_path: Path, email: dict[str, object]) -> Path:
    """A config.toml with a database in tmp_path and the given [email] table."""
    lines = ["[storage]", f'database = "{tmp_path / "bot.db"}"', "[email]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in email.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
