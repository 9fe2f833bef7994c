"""The email channel over real TLS: Dovecot with `ssl = yes` and aiosmtpd with TLS, on 127.0.0.1.

Certificates come from a throwaway CA made per test session (`test_certs`); the client
verifies them as usual and is only told to trust that CA (`YESSINDO_EMAIL_CA_FILE`).
"""
from __future__ import annotations

import functools
import os
import ssl
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Iterator

import pytest

from bot.config import settings_from_mapping
from tests.mail_servers import DovecotServer, SMTPServer, dovecot, smtp_server, test_certs  # noqa: F401
from tests.mail_servers import customer_mail, running_dovecot, write_config

REPO = Path(__file__).resolve().parents[1]
SEEN = b"\\Seen"
CA_ENV = "YESSINDO_EMAIL_CA_FILE"
mail = functools.partial(customer_mail, id_prefix="tls")




def load_settings(config: Path):  # type: ignore[no-untyped-def]
    import tomllib

    return settings_from_mapping(tomllib.loads(config.read_text()), str(config))


def poll_once(config: Path, ca_file: Path | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (CA_ENV, "YESSINDO_EMAIL_CRASH_AT")}
    if ca_file is not None:
        env[CA_ENV] = str(ca_file)
    return subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def tls_logins(server: DovecotServer, timeout: float = 5.0) -> list[str]:
    """Dovecot's login lines for the user, waiting a little for its log process to write them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [ln for ln in server.log().splitlines() if "Login: user=<ptyessindo@gmail.com>" in ln]
        if any(", TLS," in ln for ln in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.fixture
def dovecot_tls(test_certs) -> Iterator[DovecotServer]:  # noqa: F811
    yield from running_dovecot(tls=test_certs.server)


@pytest.fixture
def dovecot_rogue(test_certs) -> Iterator[DovecotServer]:  # noqa: F811
    yield from running_dovecot(tls=test_certs.rogue)


# -- IMAP ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["imaps", "starttls"])
def test_poll_over_tls_answers_the_mail(mode, tmp_path, test_certs, dovecot_tls, smtp_server):  # noqa: F811
    dovecot_tls.append(mail(1))
    port, implicit = (dovecot_tls.tls_port, True) if mode == "imaps" else (dovecot_tls.port, False)
    config = write_config(tmp_path, {**dovecot_tls.settings_table(), "imap_port": port, "imap_ssl": implicit,
                                     **smtp_server.settings_table()})
    r = poll_once(config, test_certs.ca)
    assert r.returncode == 0, r.stderr
    assert "1 fetched, 1 answered" in r.stdout and "1 sent" in r.stdout
    got = smtp_server.wait_for(1)
    assert [g.rcpt_tos for g in got] == [["budi@example.com"]]
    assert got[0].message["In-Reply-To"] == "<tls1@example.com>"
    assert SEEN in dovecot_tls.flags()[1]
    # The bot logged in once, over TLS (Dovecot logs ", TLS," for implicit TLS and STARTTLS alike); the
    # fixture's own APPEND and FLAGS helpers are the only plain logins ("secured": localhost).
    logins = tls_logins(dovecot_tls)
    assert len([ln for ln in logins if ", TLS," in ln]) == 1, logins
    assert len([ln for ln in logins if ", TLS," not in ln]) <= 2, logins


@pytest.mark.parametrize("mode", ["imaps", "starttls"])
def test_connect_is_tls_socket(mode, test_certs, dovecot_tls, monkeypatch):  # noqa: F811
    from bot.channels import email_imap

    monkeypatch.setenv(CA_ENV, str(test_certs.ca))
    port, implicit = (dovecot_tls.tls_port, True) if mode == "imaps" else (dovecot_tls.port, False)
    s = types.SimpleNamespace(**{**dovecot_tls.settings_table(), "imap_port": port, "imap_ssl": implicit})
    client = email_imap.connect(s, timeout=10)
    try:
        assert isinstance(client._imap.sock, ssl.SSLSocket)
        assert client._imap.sock.getpeercert()["subjectAltName"]  # verified: a parsed peer certificate
    finally:
        client.logout()


@pytest.mark.parametrize("mode", ["imaps", "starttls"])
def test_untrusted_certificate_refused_one_line_nothing_read(mode, tmp_path, test_certs, dovecot_rogue,
                                                             smtp_server):  # noqa: F811
    dovecot_rogue.append(mail(1))
    port, implicit = (dovecot_rogue.tls_port, True) if mode == "imaps" else (dovecot_rogue.port, False)
    config = write_config(tmp_path, {**dovecot_rogue.settings_table(), "imap_port": port, "imap_ssl": implicit,
                                     **smtp_server.settings_table()})
    # The client trusts the test CA, not the rogue self-signed certificate the server shows.
    r = poll_once(config, test_certs.ca)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "poll-email" in r.stderr and "certificate verify failed" in r.stderr, r.stderr
    assert r.stdout == ""
    assert SEEN not in dovecot_rogue.flags()[1]
    time.sleep(0.2)
    assert smtp_server.received == []
    # Without the CA file the properly signed server is refused too: verification is never off.
    r = poll_once(config, None)
    assert r.returncode == 1 and "certificate verify failed" in r.stderr


def test_missing_ca_file_is_a_config_error(tmp_path, dovecot_tls, smtp_server):  # noqa: F811
    dovecot_tls.append(mail(1))
    config = write_config(tmp_path, {**dovecot_tls.settings_table(), "imap_port": dovecot_tls.tls_port,
                                     "imap_ssl": True, **smtp_server.settings_table()})
    r = poll_once(config, tmp_path / "no-such-ca.pem")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "CA file" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert SEEN not in dovecot_tls.flags()[1]


def test_plain_imap_to_a_remote_host_refused(tmp_path, smtp_server):  # noqa: F811
    # 127.0.0.2 is loopback too, but not "localhost" to the client: it stands for a remote host.
    for server in running_dovecot(listen="127.0.0.2"):
        server.append(mail(1))
        config = write_config(tmp_path, {**server.settings_table(), **smtp_server.settings_table()})
        r = poll_once(config, None)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "plain IMAP is only allowed" in r.stderr, r.stderr
        assert SEEN not in server.flags()[1]


# -- SMTP ---------------------------------------------------------------------------------------
@pytest.fixture
def intake_for(tmp_path, monkeypatch, test_certs):  # noqa: F811
    from bot.channels.email_intake import build_intake

    monkeypatch.setenv(CA_ENV, str(test_certs.ca))
    made = []

    def build(email: dict[str, object]):  # type: ignore[no-untyped-def]
        it = build_intake(load_settings(write_config(tmp_path, email)))
        made.append(it)
        return it

    yield build
    for it in made:
        it.store.close()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_reply_delivered_over_smtp_tls(mode, test_certs, dovecot, intake_for):  # noqa: F811
    server = SMTPServer(tls=test_certs.server, mode=mode)
    server.start()
    try:
        settings = server.settings_table()
        assert settings["smtp_ssl" if mode == "ssl" else "smtp_starttls"] is True
        dovecot.append(mail(1))
        intake = intake_for({**dovecot.settings_table(), **settings})
        summary, sent = intake.run_once()
        assert (summary.answered, sent.sent, sent.retried) == (1, 1, 0)
        got = server.wait_for(1)
        assert len(got) == 1 and got[0].message["In-Reply-To"] == "<tls1@example.com>"
        assert SEEN in dovecot.flags()[1]
        # Logged in (with the IMAP credentials, no SMTP ones given) inside the TLS session.
        assert [(login, ok) for _, login, ok in server.auth_attempts] == [("ptyessindo@gmail.com", True)]
    finally:
        server.stop()


def test_smtp_plain_client_cannot_use_the_tls_servers(test_certs):  # noqa: F811
    """The servers really demand TLS: the same delivery without it fails (so the test above proves TLS)."""
    import smtplib

    starttls = SMTPServer(tls=test_certs.server, mode="starttls")
    starttls.start()
    try:
        with smtplib.SMTP(starttls.host, starttls.port, timeout=10) as s:
            with pytest.raises(smtplib.SMTPSenderRefused) as exc:
                s.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nbody\r\n")
            assert exc.value.smtp_code == 530
    finally:
        starttls.stop()
    implicit = SMTPServer(tls=test_certs.server, mode="ssl")
    implicit.start()
    try:
        with pytest.raises((smtplib.SMTPException, OSError)):
            with smtplib.SMTP(implicit.host, implicit.port, timeout=1) as s:  # no plain banner comes
                s.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nbody\r\n")
        assert implicit.received == [] and starttls.received == []
    finally:
        implicit.stop()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_smtp_untrusted_certificate_not_delivered(mode, test_certs, dovecot, intake_for):  # noqa: F811
    server = SMTPServer(tls=test_certs.rogue, mode=mode)
    server.start()
    try:
        dovecot.append(mail(1))
        intake = intake_for({**dovecot.settings_table(), **server.settings_table()})
        summary, sent = intake.run_once()
        assert summary.answered == 1 and sent.sent == 0 and sent.retried == 1
        rows = intake.store.outbox()
        assert [r["status"] for r in rows] == ["pending"] and "certificate verify failed" in str(rows[0]), rows
        time.sleep(0.2)
        assert server.received == []
    finally:
        server.stop()


def test_smtp_password_never_sent_in_clear_to_a_remote_host(dovecot, intake_for):  # noqa: F811
    # AUTH offered without TLS on 127.0.0.2 (not "localhost" to the client): the sender refuses to log in.
    server = SMTPServer(host="127.0.0.2", auth_plain=True)
    server.start()
    try:
        dovecot.append(mail(1))
        intake = intake_for({**dovecot.settings_table(), **server.settings_table(), "smtp_password": "rahasia"})
        summary, sent = intake.run_once()
        assert summary.answered == 1 and sent.sent == 0
        assert server.auth_attempts == [] and server.received == []
        rows = intake.store.outbox()
        assert [r["status"] for r in rows] == ["pending"] and "clear text" in str(rows[0]), rows
    finally:
        server.stop()
