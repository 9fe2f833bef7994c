"""What the console's dashboard shows of email that needs a person: mails the intake
quarantined ("Email yang tidak bisa diproses") and email answers that failed for good
("Balasan email yang gagal dikirim"). Addresses masked; reasons as recorded."""
from __future__ import annotations

import sqlite3
from typing import Any

from bot.channels.email_uidstate import mask_address, quarantined
from handoff.store import parse_iso


def failed_email_rows(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Email outbox rows that failed, newest first."""
    rows = conn.execute("SELECT id, customer, ticket_ref, error_code, last_error, updated_at FROM outbox "
                        "WHERE channel = 'email' AND status = 'failed' ORDER BY updated_at DESC, id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [{"id": r[0], "to": mask_address(r[1] or ""), "ref": r[2], "code": r[3] or "",
             "reason": (r[4] or "")[:300], "at": parse_iso(r[5]) if r[5] else None} for r in rows]


def mail_problems(conn: sqlite3.Connection, when: Any) -> dict[str, list[dict[str, Any]]]:
    """Both lists, each item's time formatted by `when` (the console's formatter)."""
    quarantine = [{"at": when(q.at) if q.at else "—", "sender": q.sender, "subject": q.subject or "(tanpa subjek)",
                   "reason": q.reason, "size": q.size} for q in quarantined(conn)]
    failed = [dict(r, at=when(r["at"]) if r["at"] else "—") for r in failed_email_rows(conn)]
    return {"quarantined": quarantine, "failed": failed}
