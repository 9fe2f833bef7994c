"""How many attachment bytes the intake keeps: per mail, per sender per day, none for
mails that are only recorded (automatic, unparseable, quarantined, duplicates).

An attachment over a cap keeps its name, type and size (the console lists it) but
not its bytes; `email_attachment_usage` counts what was kept per sender (a hash of the address, so
nothing of the customer stays here after `forget`) and UTC day.
`[email] max_attachment_bytes_per_sender_day` sets the daily cap (0 = keep none).
"""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from typing import Any, Iterable

from bot.models import Attachment

MAX_BYTES_PER_MAIL = 10 * 1024 * 1024
DEFAULT_BYTES_PER_SENDER_DAY = 25 * 1024 * 1024


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS email_attachment_usage (sender TEXT NOT NULL, day TEXT NOT NULL, "
                 "bytes INTEGER NOT NULL, PRIMARY KEY (sender, day))")


def per_sender_day(email_settings: Any) -> int:
    value = getattr(email_settings, "max_attachment_bytes_per_sender_day", None)
    return DEFAULT_BYTES_PER_SENDER_DAY if value is None else max(0, int(value))


def per_mail(email_settings: Any) -> int:
    value = getattr(email_settings, "max_attachment_bytes_per_mail", None)
    return MAX_BYTES_PER_MAIL if value is None else max(0, int(value))


def _key(sender: str) -> str:
    return hashlib.sha256(sender.lower().encode("utf-8", "surrogatepass")).hexdigest()[:24]


def used(conn: sqlite3.Connection, sender: str, day: str) -> int:
    row = conn.execute("SELECT bytes FROM email_attachment_usage WHERE sender = ? AND day = ?",
                       (_key(sender), day)).fetchone()
    return int(row[0]) if row else 0


def keep(parsed: Iterable[Any], *, record_only: bool, used_today: int, per_day: int,
         per_mail: int = MAX_BYTES_PER_MAIL) -> tuple[tuple[Attachment, ...], int, int]:
    """The attachments to store (bytes dropped over a cap), the bytes kept, how many were cut."""
    out: list[Attachment] = []
    kept = cut = 0
    for a in parsed:
        data = a.data
        if data is not None and (record_only or kept + len(data) > per_mail or used_today + kept + len(data) > per_day):
            data, cut = None, cut + 1
        if data is not None:
            kept += len(data)
        out.append(Attachment(filename=a.filename, content_type=a.content_type, size=a.size, data=data))
    return tuple(out), kept, cut


def add_usage(tx: Any, sender: str, day: str, kept: int) -> None:
    if kept <= 0:
        return
    tx.conn.execute("INSERT INTO email_attachment_usage (sender, day, bytes) VALUES (?, ?, ?) "
                    "ON CONFLICT(sender, day) DO UPDATE SET bytes = bytes + excluded.bytes", (_key(sender), day, kept))


def day_of(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")
