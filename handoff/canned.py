"""Saved replies (canned responses): one text per (shortcut, language), written by
supervisors (console) or the operator (CLI), inserted by agents with `/shortcut`.

The texts hold variables (`{nama}`, `{tiket}` ...) filled per ticket at send time by
bot/canned_fill.py; a text naming a variable nobody can fill is refused here already, so
a typo shows when the reply is saved, not when an agent needs it. Every write is one
`store.write` transaction with its audit event (canned.added / .changed / .removed);
the events carry the shortcut and language only, never the text.
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handoff.queue import QueueError
from handoff.store import Store

LANGS = ("id", "en")
MAX_TEXT = 4000
MAX_TITLE = 120
SHORTCUT_RE = re.compile(r"[a-z0-9_-]{1,40}")
# `{word}`: a variable; other braces (a JSON snippet, a smiley) are plain text.
VARIABLE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# What bot/canned_fill.py can fill; kept here so a save can refuse an unknown one.
VARIABLES = {
    "nama": "nama pelanggan (boleh kosong: dihapus tanpa celah)",
    "nomor_pesanan": "nomor pesanan",
    "tiket": "nomor tiket",
    "agen": "nama agen yang membalas",
    "produk": "produk",
    "varian": "ukuran/warna",
    "resi": "nomor resi",
    "email": "alamat email pelanggan",
    "telepon": "nomor telepon pelanggan",
    "penerima": "nama penerima",
}


@dataclass(frozen=True)
class CannedReply:
    id: int
    shortcut: str
    lang: str
    title: str | None
    text: str
    created_by: str | None
    created_at: str
    updated_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "shortcut": self.shortcut, "lang": self.lang, "title": self.title, "text": self.text,
                "created_by": self.created_by, "created_at": self.created_at, "updated_at": self.updated_at}


def _row(row: sqlite3.Row | tuple) -> CannedReply:  # type: ignore[type-arg]
    return CannedReply(*row)


_COLS = "id, shortcut, lang, title, text, created_by, created_at, updated_at"


# -- checks ------------------------------------------------------------------------------
def clean_shortcut(raw: str) -> str:
    """`/Terima-Kasih ` -> `terima-kasih`; QueueError unless [a-z0-9_-]{1,40}."""
    shortcut = (raw or "").strip().lstrip("/").lower()
    if not SHORTCUT_RE.fullmatch(shortcut):
        raise QueueError("shortcut: 1 to 40 of a-z, 0-9, '-' and '_' (for example: terima-kasih)",
                         "Pintasan: 1–40 huruf kecil a–z, angka, '-' atau '_' (misalnya: terima-kasih).")
    return shortcut


def clean_lang(raw: str | None) -> str:
    lang = (raw or "id").strip().lower()
    if lang not in LANGS:
        raise QueueError("language: id or en", "Bahasa: id (Indonesia) atau en (Inggris).")
    return lang


def clean_text(raw: str) -> str:
    text = (raw or "").replace("\r\n", "\n").strip()
    if not text:
        raise QueueError("the text is empty", "Isi balasan masih kosong.")
    if len(text) > MAX_TEXT:
        raise QueueError(f"the text is too long ({len(text)} characters; at most 4,000)",
                         f"Isi balasan terlalu panjang ({len(text)} karakter; maksimal 4.000).")
    unknown = sorted({name for name in VARIABLE_RE.findall(text) if name not in VARIABLES})
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        known = ", ".join("{" + n + "}" for n in VARIABLES)
        raise QueueError(f"unknown variable {names}; known: {known}",
                         f"Variabel {names} tidak dikenal; yang bisa dipakai: {known}.")
    return text


def clean_title(raw: str | None) -> str | None:
    title = " ".join((raw or "").split())
    if len(title) > MAX_TITLE:
        raise QueueError(f"the title is too long (at most {MAX_TITLE} characters)",
                         f"Judul terlalu panjang (maksimal {MAX_TITLE} karakter).")
    return title or None


# -- writes ------------------------------------------------------------------------------
def save(store: Store, now: datetime, actor: str, shortcut: str, text: str, *, lang: str = "id",
         title: str | None = None, replace: bool = True) -> tuple[CannedReply, bool]:
    """Add the (shortcut, lang) text or replace it (its title kept when `title` is None);
    with `replace=False` an existing one is refused (the console's "add" form must not
    overwrite a colleague's text by accident). Returns the reply and whether it is new."""
    keep_title = title is None
    shortcut, lang, text, title = clean_shortcut(shortcut), clean_lang(lang), clean_text(text), clean_title(title)
    with store.write(now) as tx:
        old = tx.conn.execute("SELECT id FROM canned_replies WHERE shortcut = ? AND lang = ?",
                              (shortcut, lang)).fetchone()
        if old and not replace:
            raise QueueError(f"/{shortcut} ({lang}) already exists",
                             f"/{shortcut} ({lang}) sudah ada: ubah yang itu atau pilih pintasan lain.")
        if old:
            tx.conn.execute("UPDATE canned_replies SET text = ?, title = CASE WHEN ? THEN title ELSE ? END, "
                            "updated_at = ? WHERE id = ?", (text, keep_title, title, tx.now, old[0]))
            row_id = int(old[0])
        else:
            row_id = int(tx.conn.execute(
                "INSERT INTO canned_replies (shortcut, lang, title, text, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (shortcut, lang, title, text, actor, tx.now)).lastrowid or 0)
        tx.log_event("canned.changed" if old else "canned.added", actor, data={"shortcut": shortcut, "lang": lang})
    return _by_id(store.conn, row_id), not old  # type: ignore[return-value]


def update(store: Store, now: datetime, actor: str, reply_id: int, shortcut: str, text: str, *,
           lang: str = "id", title: str | None = None) -> CannedReply:
    """Edit one saved reply, its shortcut and language included (the console's edit form)."""
    shortcut, lang, text, title = clean_shortcut(shortcut), clean_lang(lang), clean_text(text), clean_title(title)
    with store.write(now) as tx:
        old = tx.conn.execute("SELECT shortcut, lang FROM canned_replies WHERE id = ?", (reply_id,)).fetchone()
        if old is None:
            raise QueueError(f"no saved reply {reply_id}", "Balasan tersimpan itu tidak ada (mungkin sudah dihapus).")
        clash = tx.conn.execute("SELECT 1 FROM canned_replies WHERE shortcut = ? AND lang = ? AND id != ?",
                                (shortcut, lang, reply_id)).fetchone()
        if clash:
            raise QueueError(f"/{shortcut} ({lang}) already exists",
                             f"/{shortcut} ({lang}) sudah ada: ubah yang itu atau pilih pintasan lain.")
        tx.conn.execute("UPDATE canned_replies SET shortcut = ?, lang = ?, title = ?, text = ?, updated_at = ? "
                        "WHERE id = ?", (shortcut, lang, title, text, tx.now, reply_id))
        data: dict[str, Any] = {"shortcut": shortcut, "lang": lang}
        if (old[0], old[1]) != (shortcut, lang):
            data["was"] = f"{old[0]} ({old[1]})"
        tx.log_event("canned.changed", actor, data=data)
    return _by_id(store.conn, reply_id)  # type: ignore[return-value]


def remove(store: Store, now: datetime, actor: str, shortcut: str, lang: str | None = None) -> int:
    """Remove a shortcut (both languages, or only `lang`). Returns how many texts went."""
    shortcut = clean_shortcut(shortcut)
    lang = clean_lang(lang) if lang else None
    with store.write(now) as tx:
        if lang:
            gone = tx.conn.execute("DELETE FROM canned_replies WHERE shortcut = ? AND lang = ?", (shortcut, lang)).rowcount
        else:
            gone = tx.conn.execute("DELETE FROM canned_replies WHERE shortcut = ?", (shortcut,)).rowcount
        if not gone:
            what = f"/{shortcut}" + (f" ({lang})" if lang else "")
            raise QueueError(f"no saved reply {what}", f"Balasan tersimpan {what} tidak ada.")
        tx.log_event("canned.removed", actor, data={"shortcut": shortcut, "lang": lang or "id+en", "count": gone})
    return int(gone)


def remove_id(store: Store, now: datetime, actor: str, reply_id: int) -> CannedReply:
    """Remove one text by id (the console's remove button)."""
    with store.write(now) as tx:
        row = tx.conn.execute(f"SELECT {_COLS} FROM canned_replies WHERE id = ?", (reply_id,)).fetchone()
        if row is None:
            raise QueueError(f"no saved reply {reply_id}", "Balasan tersimpan itu tidak ada (mungkin sudah dihapus).")
        gone = _row(row)
        tx.conn.execute("DELETE FROM canned_replies WHERE id = ?", (reply_id,))
        tx.log_event("canned.removed", actor, data={"shortcut": gone.shortcut, "lang": gone.lang, "count": 1})
    return gone


# -- reads -------------------------------------------------------------------------------
def _by_id(conn: sqlite3.Connection, reply_id: int) -> CannedReply | None:
    row = conn.execute(f"SELECT {_COLS} FROM canned_replies WHERE id = ?", (reply_id,)).fetchone()
    return _row(row) if row else None


def get_id(conn: sqlite3.Connection, reply_id: int) -> CannedReply | None:
    return _by_id(conn, reply_id)


def all_replies(conn: sqlite3.Connection) -> list[CannedReply]:
    return [_row(r) for r in conn.execute(f"SELECT {_COLS} FROM canned_replies ORDER BY shortcut, lang")]


def versions(conn: sqlite3.Connection, shortcut: str) -> dict[str, CannedReply]:
    """The shortcut's texts by language (empty when there is none)."""
    rows = conn.execute(f"SELECT {_COLS} FROM canned_replies WHERE shortcut = ?",
                        ((shortcut or "").strip().lstrip("/").lower(),))
    return {r.lang: r for r in map(_row, rows)}


def _like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: sqlite3.Connection, query: str, limit: int = 20) -> list[str]:
    """Shortcuts matching what the agent typed after `/`, best first: shortcuts starting
    with it, then those containing it, then those whose title or text contains it. An
    empty query lists them all (alphabetically). The table holds a team's few hundred
    texts at most, so a LIKE over it stays well under a millisecond."""
    q = " ".join((query or "").strip().lstrip("/").lower().split())[:100]
    if not q:
        rows = conn.execute("SELECT DISTINCT shortcut FROM canned_replies ORDER BY shortcut LIMIT ?", (limit,))
        return [r[0] for r in rows]
    pat = _like(q)
    rows = conn.execute(
        "SELECT shortcut, MIN(CASE WHEN shortcut LIKE ? || '%' ESCAPE '\\' THEN 0 "
        "WHEN shortcut LIKE '%' || ? || '%' ESCAPE '\\' THEN 1 ELSE 2 END) AS rank FROM canned_replies "
        "WHERE shortcut LIKE '%' || ? || '%' ESCAPE '\\' OR lower(coalesce(title, '')) LIKE '%' || ? || '%' ESCAPE '\\' "
        "OR lower(text) LIKE '%' || ? || '%' ESCAPE '\\' GROUP BY shortcut ORDER BY rank, shortcut LIMIT ?",
        (pat, pat, pat, pat, pat, limit))
    return [r[0] for r in rows]
