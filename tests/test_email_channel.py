"""The email channel against a real Dovecot (IMAP) and a real aiosmtpd (SMTP) on 127.0.0.1."""
from __future__ import annotations

import smtplib

from tests.mail_servers import dovecot, smtp_server  # noqa: F401  (fixtures)


def test_servers_dovecot_appends_unread_and_smtp_records(dovecot, smtp_server):  # noqa: F811
    dovecot.append(b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nhello\r\n")
    flags = dovecot.flags()
    assert len(flags) == 1 and b"\\Seen" not in next(iter(flags.values()))
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nbody\r\n")
    smtp_server.stop()
    smtp_server.start()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"], b"Subject: t2\r\n\r\nbody\r\n")
    assert [r.message["Subject"] for r in smtp_server.received] == ["t", "t2"]
