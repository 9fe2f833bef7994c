"""Files customers send by email (a transfer receipt, a photo of a damaged parcel), kept
in the database beside their message so an agent can open them from the console.

WhatsApp media stay at Twilio (the message keeps the media URL); email has no such
place, so the bytes the parser kept (at most 5 MB a file) live here. They belong to a
conversation and go with it: `forget` and retention delete them (store.delete_conversations).
"""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any, Sequence

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS attachment_blobs (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL, "
    "message_id INTEGER, filename TEXT, content_type TEXT, size INTEGER NOT NULL, sha256 TEXT NOT NULL, "
    "data BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_attachment_blobs_conversation ON attachment_blobs (conversation_id)",
)


@dataclass(frozen=True)
class Blob:
    id: int
    conversation_id: int
    filename: str | None
    content_type: str | None
    size: int
    data: bytes


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def keep(tx: Any, conversation_id: int, attachments: list[dict[str, Any]], payloads: Sequence[bytes | None]) -> None:
    """Store each payload inside the caller's transaction and note its `blob_id` on the
    matching attachment dict (which is what the message row records)."""
    if not any(payloads):
        return
    ensure_schema(tx.conn)
    for attachment, data in zip(attachments, payloads):
        if not data:
            continue
        cur = tx.conn.execute(
            "INSERT INTO attachment_blobs (conversation_id, filename, content_type, size, sha256, data, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, attachment.get("filename"), attachment.get("content_type"), len(data),
             hashlib.sha256(data).hexdigest(), data, tx.now))
        attachment["blob_id"] = int(cur.lastrowid)  # type: ignore[arg-type]


def link(tx: Any, attachments: list[dict[str, Any]], message_id: int) -> None:
    ids = [a["blob_id"] for a in attachments if a.get("blob_id")]
    if ids:
        tx.conn.execute(f"UPDATE attachment_blobs SET message_id = ? WHERE id IN ({','.join('?' * len(ids))})",
                        (message_id, *ids))


def get(conn: sqlite3.Connection, blob_id: int) -> Blob | None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attachment_blobs'").fetchone():
        return None
    row = conn.execute("SELECT id, conversation_id, filename, content_type, size, data FROM attachment_blobs "
                       "WHERE id = ?", (blob_id,)).fetchone()
    return Blob(*row) if row else None
