"""The SMTP side of the email outbox: an outbox `Sender` for channel "email".

The delivery logic (claims with leases, retries with backoff, what "never sends
twice" means) lives in `handoff.outbox`; this module turns one claimed row into a
threaded reply and SMTP's answers into `SendError`s.

Headers of a reply live in the `email_outbound` table, one row per outbox row,
written by the intake in the same transaction as the outbox row itself: the
Message-ID is generated there, once, so a retry reuses it; In-Reply-To and
References of the customer's mail; the subject ("Re: ..." once, with the ticket
ref); `auto` for automatic answers (`Auto-Submitted: auto-replied`). An outbox row
without one (an agent's reply queued by the console) gets its headers built on
first send from the customer's last mail, stored, and reused on retry.

The outbox `Sender.create(to, body=...)` does not pass the row id: the row is the
one this customer's `sending` row with this body and the latest lease (the one
`deliver_due` has just claimed; claims are exclusive).

Errors: connection refused/reset/timeout, 4xx answers and a dropped connection
are transient (the outbox retries with backoff); a 5xx answer to the sender,
recipient or data is permanent (`failed`, never retried). So is an address that cannot
be mailed (`email_address.unmailable_reason`: no domain, `localhost`, a display name
taken for an address...; decided before connecting), a non-ASCII local part when the
server does not offer SMTPUTF8, and anything that cannot be encoded. A non-ASCII domain
goes out in its IDNA form. Error texts never carry the address (the row has it). The provider id returned
is our Message-ID, so the core's threading (`thread_conversation`) finds the
conversation from a customer's In-Reply-To.

`recent()` (reconciliation after a crash between SMTP's 250 and recording it) lists
the rows this sender saw accepted (`accepted_at`): the window in which a reply could
be sent twice is between the server's 250 and that one local write.
"""
from __future__ import annotations

import logging
import smtplib
import socket
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Sequence

from bot.channels.email_address import envelope_address, needs_smtputf8, unmailable_reason
from bot.channels.email_imap import IMAPSetupError, tls_context
from handoff.outbox import DeliverySummary, ProviderMessage, SendError, deliver_due
from handoff.store import Store, parse_iso, utc_iso

log = logging.getLogger("yessindo.email.smtp")

SHOP_NAME = "Yessindo"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_REFERENCES = 20


def create_schema(conn: Any) -> None:
    """The `email_outbound` table (idempotent)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS email_outbound (outbox_id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, "
        "in_reply_to TEXT, refs TEXT, subject TEXT, auto INTEGER NOT NULL DEFAULT 1, accepted_at TEXT)"
    )


def queue_reply(tx: Any, conv: Any, body: str, *, ticket_ref: str | None, from_address: str,
                in_reply_to: str | None, references: Sequence[str], subject: str, auto: bool) -> int:
    """Queue one email to the customer in the outbox, with the headers the sender will
    use (our Message-ID, made now so a retry reuses it), inside the caller's transaction.
    `auto` marks an automatic answer (`Auto-Submitted: auto-replied`)."""
    outbox_id = int(tx.enqueue_outbound(conv, body, ticket_ref=ticket_ref))
    refs = " ".join(references_for(in_reply_to, references)) if in_reply_to else ""
    tx.conn.execute(
        "INSERT INTO email_outbound (outbox_id, message_id, in_reply_to, refs, subject, auto) VALUES (?, ?, ?, ?, ?, ?)",
        (outbox_id, new_message_id(from_address), in_reply_to, refs, subject, int(auto)))
    return outbox_id


def new_message_id(address: str) -> str:
    """`<...@our-domain>` for a reply (the domain of the support address)."""
    domain = address.rpartition("@")[2] or "yessindo.local"
    return make_msgid(idstring="ys", domain=domain)


def angle(msgid: str | None) -> str | None:
    if not msgid:
        return None
    msgid = msgid.strip()
    return msgid if msgid.startswith("<") else f"<{msgid}>"


def references_for(in_reply_to: str | None, references: Sequence[str]) -> list[str]:
    """References of a reply: the customer's References then their Message-ID, once each, last 20."""
    out: list[str] = []
    for ref in (*references, in_reply_to):
        ref = angle(ref)
        if ref and ref not in out and "@synthetic.yessindo" not in ref:
            out.append(ref)
    return out[-MAX_REFERENCES:]


def build_reply(*, from_address: str, to: str, subject: str, body: str, message_id: str,
                in_reply_to: str | None, references: Sequence[str], auto: bool,
                now: datetime | None = None) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((SHOP_NAME, from_address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now or datetime.now(timezone.utc))
    msg["Message-ID"] = message_id
    if in_reply_to and "@synthetic.yessindo" not in in_reply_to:
        msg["In-Reply-To"] = angle(in_reply_to)
    if references:
        msg["References"] = " ".join(references)
    if auto:
        # RFC 3834: an automatic answer; other robots must not answer it.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(body, charset="utf-8")
    return msg


class EmailSender:
    """Outbox `Sender` over smtplib, one connection kept open across rows (closed by `close()`)."""

    def __init__(self, email_settings: Any, store: Store, *, timeout: float = 30.0) -> None:
        self.settings = email_settings
        self.store = store
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        with store.write(datetime.now(timezone.utc)) as tx:
            create_schema(tx.conn)

    # -- the Sender protocol ----------------------------------------------------------------
    def create(self, to: str, *, body: str | None, content_sid: str | None,
               content_variables: dict[str, Any] | None) -> str:
        if content_sid:
            raise SendError("templates are a WhatsApp feature; an email is always text", permanent=True)
        bad = unmailable_reason(to)
        if bad:  # decided before any connection: never sent, the reason recorded on the row
            raise SendError(f"address cannot be mailed: {bad}", code="address", permanent=True)
        utf8 = needs_smtputf8(to)
        if utf8:
            if self._smtp is None:
                self._smtp = self._connect()
            if not self._smtp.has_extn("smtputf8"):
                raise SendError("address cannot be mailed: non-ASCII local part and the SMTP server does not "
                                "offer SMTPUTF8", code="smtputf8", permanent=True)
        headers = self._headers(to, body or "")
        rcpt = envelope_address(to)
        msg = build_reply(from_address=self.settings.address, to=rcpt, subject=headers["subject"], body=body or "",
                          message_id=headers["message_id"], in_reply_to=headers["in_reply_to"],
                          references=headers["refs"], auto=headers["auto"])
        try:
            data = msg.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
        except (UnicodeError, ValueError, TypeError) as exc:
            raise SendError(f"the message cannot be encoded: {type(exc).__name__}", code="encoding",
                            permanent=True) from None
        self._send(rcpt, data, utf8=utf8)
        with self.store.write(datetime.now(timezone.utc)) as tx:
            tx.conn.execute("UPDATE email_outbound SET accepted_at = ? WHERE outbox_id = ?",
                            (tx.now, headers["outbox_id"]))
        return headers["message_id"]

    def recent(self, to: str, since: datetime) -> Sequence[ProviderMessage]:
        rows = self.store.conn.execute(
            "SELECT e.message_id, o.body, e.accepted_at FROM email_outbound e JOIN outbox o ON o.id = e.outbox_id "
            "WHERE o.customer = ? AND e.accepted_at IS NOT NULL AND e.accepted_at >= ?",
            (to, utc_iso(since)),
        ).fetchall()
        return [ProviderMessage(sid=r[0], body=r[1], created_at=parse_iso(r[2]), direction="outbound-api")
                for r in rows]

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    # -- headers ----------------------------------------------------------------------------
    def _headers(self, to: str, body: str) -> dict[str, Any]:
        conn = self.store.conn
        row = conn.execute(
            "SELECT id, ticket_ref FROM outbox WHERE channel = 'email' AND customer = ? AND body = ? "
            "AND status = 'sending' ORDER BY lease_until DESC, id DESC LIMIT 1", (to, body)).fetchone()
        if row is None:
            raise SendError("no claimed outbox row for this message", permanent=True)
        outbox_id, ticket_ref = row[0], row[1]
        found = conn.execute("SELECT message_id, in_reply_to, refs, subject, auto FROM email_outbound "
                             "WHERE outbox_id = ?", (outbox_id,)).fetchone()
        if found is None:
            found = self._headers_for_agent_reply(outbox_id, to, ticket_ref)
        return {"outbox_id": outbox_id, "message_id": found[0], "in_reply_to": found[1],
                "refs": (found[2] or "").split(), "subject": found[3] or "Re: Yessindo", "auto": bool(found[4])}

    def _headers_for_agent_reply(self, outbox_id: int, to: str, ticket_ref: str | None) -> tuple:
        """A row queued by someone else (an agent): thread it to the customer's last mail."""
        from bot.pipeline import reply_subject

        last = self.store.conn.execute(
            "SELECT external_id, meta FROM messages WHERE channel = 'email' AND customer = ? AND direction = 'in' "
            "ORDER BY id DESC LIMIT 1", (to,)).fetchone()
        import json

        in_reply_to = last[0] if last else None
        subject = None
        if last is not None:
            try:
                subject = json.loads(last[1] or "{}").get("subject")
            except ValueError:
                subject = None
        values = (new_message_id(self.settings.address), in_reply_to,
                  " ".join(references_for(in_reply_to, ())), reply_subject(subject, ticket_ref), 0)
        with self.store.write(datetime.now(timezone.utc)) as tx:
            tx.conn.execute("INSERT OR IGNORE INTO email_outbound (outbox_id, message_id, in_reply_to, refs, subject, "
                            "auto) VALUES (?, ?, ?, ?, ?, ?)", (outbox_id, *values))
            stored = tx.conn.execute("SELECT message_id, in_reply_to, refs, subject, auto FROM email_outbound "
                                     "WHERE outbox_id = ?", (outbox_id,)).fetchone()
        return tuple(stored)

    # -- SMTP -------------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            context = tls_context(s)
        except IMAPSetupError as exc:
            raise SendError(str(exc), code="config") from None
        try:
            if s.smtp_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
                if s.smtp_starttls:
                    smtp.starttls(context=context)
            user = s.smtp_user or s.imap_user or ""
            password = s.smtp_password or s.imap_password or ""
            smtp.ehlo_or_helo_if_needed()
            # A server without AUTH (a local relay, the test server) takes mail without login.
            if user and password and smtp.has_extn("auth"):
                if not (s.smtp_ssl or s.smtp_starttls) and s.smtp_host not in LOCAL_HOSTS:
                    smtp.close()
                    raise SendError(f"refusing to send the password in clear text to {s.smtp_host}: set "
                                    "[email] smtp_ssl or smtp_starttls", code="config")
                smtp.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            # Usually a config problem an operator fixes: retried with backoff, then failed.
            raise SendError(f"SMTP login refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                            code=str(exc.smtp_code)) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP server refused the session: {exc.smtp_code} {_text(exc.smtp_error)}",
                            code=str(exc.smtp_code)) from None
        except SendError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"cannot reach the SMTP server {s.smtp_host}:{s.smtp_port}: {exc}",
                            code="connect") from None
        return smtp

    def _send(self, to: str, data: bytes, *, utf8: bool = False) -> None:
        for attempt in (1, 2):
            reused = self._smtp is not None
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                self._smtp.sendmail(self.settings.address, [to], data, mail_options=["SMTPUTF8"] if utf8 else ())
                return
            except (UnicodeError, smtplib.SMTPNotSupportedError) as exc:
                self._reset()
                raise SendError(f"the address or message cannot be encoded for SMTP: {type(exc).__name__}",
                                code="encoding", permanent=True) from None
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                code, msg = next(iter(exc.recipients.values()))
                raise SendError(f"recipient refused: {code} {_text(msg)}", code=str(code),
                                permanent=500 <= code < 600) from None
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                self._reset()
                raise SendError(f"SMTP refused the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                                code=str(exc.smtp_code), permanent=500 <= exc.smtp_code < 600) from None
            except (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout, OSError) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue  # the kept connection had gone stale: one fresh try
                raise SendError(f"SMTP connection lost: {exc}", code="disconnected") from None
            except smtplib.SMTPException as exc:
                self._drop()
                raise SendError(f"SMTP error: {exc}", code="smtp") from None

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            except OSError:
                pass
            self._smtp = None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def deliver_email(store: Store, email_settings: Any, sender: EmailSender | None = None,
                  **kwargs: Any) -> DeliverySummary:
    """Deliver every due email outbox row (one SMTP connection for the batch)."""
    own = sender is None
    sender = sender or EmailSender(email_settings, store)
    try:
        return deliver_due(store, sender, channel="email", **kwargs)
    finally:
        if own:
            sender.close()
