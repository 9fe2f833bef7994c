"""The IMAP connection: connect, log in, wait for new mail (IDLE or a poll interval).

TLS: `imap_ssl = true` (or port 993) is implicit TLS; otherwise STARTTLS when the
server offers it; plain text only to 127.0.0.1/localhost (the test server), never
across a network. Login with the password (`YESSINDO_EMAIL_PASSWORD` or
`[email] imap_password`; a Gmail app password works), or XOAUTH2 when a token is
given (`YESSINDO_EMAIL_OAUTH2_TOKEN`, or `[email] imap_oauth2_token` once config
declares it).

Certificates are always verified (IMAP and SMTP alike, `tls_context`): against the
system's CAs, plus the CA file in `YESSINDO_EMAIL_CA_FILE` (or `[email] ca_file` once
config declares it) when one is given, for a server with a private CA.

`wait_for_mail` holds one IDLE for at most `max_idle` seconds (re-issued well
inside the 29 minutes of RFC 2177 and the 10 minutes Gmail tolerates), then ends it
and sends NOOP: imapclient's `idle_check` cannot tell a quiet mailbox from a dead
socket, NOOP can (it raises, and the loop reconnects with backoff).
"""
from __future__ import annotations

import os
import ssl
import time
from typing import Any

from imapclient import IMAPClient

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_IDLE_SECONDS = 9 * 60


class IMAPSetupError(Exception):
    """A configuration that must not be used (plain text across a network, no user)."""


def oauth2_token(email_settings: Any) -> str:
    return os.environ.get("YESSINDO_EMAIL_OAUTH2_TOKEN") or getattr(email_settings, "imap_oauth2_token", "") or ""


def ca_file(email_settings: Any) -> str:
    return os.environ.get("YESSINDO_EMAIL_CA_FILE") or getattr(email_settings, "ca_file", "") or ""


def tls_context(email_settings: Any) -> ssl.SSLContext:
    """A verifying client context: system CAs, plus the configured CA file (never unverified)."""
    context = ssl.create_default_context()
    extra = ca_file(email_settings)
    if extra:
        try:
            context.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError) as exc:
            raise IMAPSetupError(f"cannot load the CA file {extra}: {exc}") from None
    return context


def connect(email_settings: Any, *, timeout: float = 30.0) -> IMAPClient:
    """An IMAPClient logged in (not yet in a folder)."""
    s = email_settings
    host, port = s.imap_host, s.imap_port
    context = tls_context(s)
    if s.imap_ssl or port == 993:
        client = IMAPClient(host, port=port, ssl=True, ssl_context=context, timeout=timeout)
    else:
        client = IMAPClient(host, port=port, ssl=False, timeout=timeout)
        if client.has_capability("STARTTLS"):
            client.starttls(context)
        elif host not in LOCAL_HOSTS:
            client.shutdown()
            raise IMAPSetupError(f"{host}:{port} offers neither TLS nor STARTTLS; plain IMAP is only allowed "
                                 "to 127.0.0.1/localhost")
    user = s.imap_user or s.address
    try:
        token = oauth2_token(s)
        if token:
            client.oauth2_login(user, token)
        else:
            client.login(user, s.imap_password)
    except Exception:
        try:
            client.shutdown()
        except OSError:
            pass
        raise
    return client


def has_idle(client: IMAPClient) -> bool:
    return bool(client.has_capability("IDLE"))


def wait_for_mail(client: IMAPClient, seconds: float, *, poll: bool | None = None) -> bool:
    """Block until the selected folder may hold new mail, or `seconds` passed.

    True when the server announced something (EXISTS/RECENT). With IDLE: one IDLE of at
    most `seconds` (capped at MAX_IDLE_SECONDS), then DONE and a NOOP (raises on a dead
    connection). Without IDLE: sleep, then NOOP.
    """
    seconds = max(0.05, min(seconds, MAX_IDLE_SECONDS))
    use_idle = has_idle(client) if poll is None else not poll
    if not use_idle:
        time.sleep(seconds)
        client.noop()
        return True
    client.idle()
    got: list[Any] = []
    try:
        deadline = time.monotonic() + seconds
        while not got:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = [r for r in client.idle_check(timeout=left)
                   if isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")]
    finally:
        client.idle_done()
    client.noop()
    return bool(got)
