"""Per-mail checkpoint of the email intake, and the quarantine of mails that cannot be handled.

Every fetched UID goes through `email_uid_state`:

- `begin` (its own commit, before the body is fetched or parsed): status `in_progress`,
  `attempts + 1`, with the sender, subject, Message-ID and size read from the envelope
  (a few header fields and RFC822.SIZE, never the body);
- `done` once the mail is recorded, answered or found a duplicate;
- `failed` when handling raised (retried on the next pass); `gone` if it was expunged
  before that retry;
- `quarantined` when it failed or was in progress while the process died, twice
  (`MAX_ATTEMPTS`): never fetched again, flagged for a person in the console.

A mail still `in_progress` at the next pass was being handled when the process died
(kill -9, out of memory, a parser that never came back).
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

from bot.logsafe import mask_address  # noqa: F401  (re-exported: the console's lists)
from bot.masking import mask_secrets

MAX_ATTEMPTS = 2
HEADER_FIELDS = b"BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)]"
HEADER_KEY = b"BODY[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS email_uid_state (folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, "
        "uid INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, reason TEXT, "
        "sender TEXT, subject TEXT, message_id TEXT, size INTEGER, updated_at TEXT, "
        "PRIMARY KEY (folder, uidvalidity, uid))")
    conn.execute("CREATE INDEX IF NOT EXISTS email_uid_state_status ON email_uid_state (status)")
    conn.execute("CREATE INDEX IF NOT EXISTS email_uid_state_mid ON email_uid_state (message_id)")


@dataclass(frozen=True)
class Envelope:
    """What is known of a mail before its body is read."""

    uid: int
    size: int
    sender: str  # masked
    subject: str
    message_id: str | None


def _clean(value: str, limit: int) -> str:
    return _CONTROL.sub(" ", value).strip()[:limit]


def envelope(uid: int, item: dict[bytes, Any]) -> Envelope:
    """Sender, subject and Message-ID from the fetched header fields (never raises)."""
    size = int(item.get(b"RFC822.SIZE") or 0)
    raw = bytes(item.get(HEADER_KEY) or b"")[:16384]
    sender = subject = ""
    mid = None
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        pairs = getaddresses([str(headers.get("From", ""))])
        sender = next((addr for _, addr in pairs if addr), "")
        try:
            subject = str(make_header(decode_header(str(headers.get("Subject", "")))))
        except Exception:  # noqa: BLE001 - an undecodable subject stays as written
            subject = str(headers.get("Subject", ""))
        found = re.search(r"<[^<>\s]+>", str(headers.get("Message-ID", "")))
        mid = found.group(0) if found else None
    except Exception:  # noqa: BLE001 - the envelope is a best effort; the body decides
        pass
    # Only the masked sender is kept: enough for a person to find the mail, nothing for `forget` to miss.
    return Envelope(uid, size, mask_address(_clean(sender.lower(), 320)),
                    mask_secrets(_clean(subject, 300)).text, mid)  # no OTP in the subject kept (H4)


def state(conn: sqlite3.Connection, folder: str, uidvalidity: int, uid: int) -> tuple[str, int] | None:
    row = conn.execute("SELECT status, attempts FROM email_uid_state WHERE folder = ? AND uidvalidity = ? "
                       "AND uid = ?", (folder, uidvalidity, uid)).fetchone()
    return (str(row[0]), int(row[1])) if row else None


def is_quarantined_id(conn: sqlite3.Connection, message_id: str | None) -> bool:
    """A mail already quarantined under another UID (a rescan after a UIDVALIDITY change)."""
    if not message_id:
        return False
    return conn.execute("SELECT 1 FROM email_uid_state WHERE message_id = ? AND status = 'quarantined' LIMIT 1",
                        (message_id,)).fetchone() is not None


def retry_uids(conn: sqlite3.Connection, folder: str, uidvalidity: int) -> list[int]:
    """UIDs that failed or were cut off once and get one more try."""
    return [int(r[0]) for r in conn.execute(
        "SELECT uid FROM email_uid_state WHERE folder = ? AND uidvalidity = ? AND status IN ('in_progress', "
        "'failed') ORDER BY uid", (folder, uidvalidity))]


def begin(tx: Any, folder: str, uidvalidity: int, env: Envelope) -> int:
    """Mark the mail in progress (committed by the caller's transaction); returns the attempt number."""
    tx.conn.execute(
        "INSERT INTO email_uid_state (folder, uidvalidity, uid, status, attempts, sender, subject, message_id, size, "
        "updated_at) VALUES (?, ?, ?, 'in_progress', 1, ?, ?, ?, ?, ?) ON CONFLICT(folder, uidvalidity, uid) DO "
        "UPDATE SET status = 'in_progress', attempts = email_uid_state.attempts + 1, updated_at = excluded.updated_at",
        (folder, uidvalidity, env.uid, env.sender, env.subject, env.message_id, env.size, tx.now))
    return int(tx.conn.execute("SELECT attempts FROM email_uid_state WHERE folder = ? AND uidvalidity = ? AND "
                               "uid = ?", (folder, uidvalidity, env.uid)).fetchone()[0])


def finish(tx: Any, folder: str, uidvalidity: int, uid: int, status: str, reason: str | None = None) -> None:
    tx.conn.execute("UPDATE email_uid_state SET status = ?, reason = coalesce(?, reason), updated_at = ? "
                    "WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                    (status, reason[:500] if reason else None, tx.now, folder, uidvalidity, uid))


def quarantine(tx: Any, folder: str, uidvalidity: int, env: Envelope, reason: str) -> None:
    """Never try this mail again; an event flags it for a person."""
    tx.conn.execute(
        "INSERT INTO email_uid_state (folder, uidvalidity, uid, status, attempts, reason, sender, subject, "
        "message_id, size, updated_at) VALUES (?, ?, ?, 'quarantined', 0, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(folder, uidvalidity, uid) DO UPDATE SET status = 'quarantined', reason = excluded.reason, "
        "updated_at = excluded.updated_at",
        (folder, uidvalidity, env.uid, reason[:500], env.sender, env.subject, env.message_id, env.size, tx.now))
    tx.log_event("email.quarantined", "email", data={"uid": env.uid, "size": env.size, "reason": reason[:200]})



@dataclass(frozen=True)
class QuarantinedMail:
    at: datetime | None
    sender: str  # masked when stored
    subject: str
    reason: str
    size: int


def quarantined(conn: sqlite3.Connection, limit: int = 50) -> list[QuarantinedMail]:
    """The latest quarantined mails, newest first (the console's list)."""
    from handoff.store import parse_iso

    try:
        rows = conn.execute("SELECT updated_at, sender, subject, reason, size FROM email_uid_state "
                            "WHERE status = 'quarantined' ORDER BY updated_at DESC LIMIT ?", (limit,)).fetchall()
    except sqlite3.OperationalError:  # no email intake has run on this database
        return []
    return [QuarantinedMail(parse_iso(r[0]), r[1] or "—", r[2] or "", r[3] or "", int(r[4] or 0))
            for r in rows]
