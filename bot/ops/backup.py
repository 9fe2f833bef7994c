"""`yessindo-bot backup PATH`: a consistent copy of the database while everything runs.

SQLite's online backup API (`sqlite3.Connection.backup`) copies every page in a single
step inside one read transaction: in WAL mode that is a snapshot of the last commit,
taken without blocking `serve` or `poll-email` writing meanwhile (readers never block
writers in WAL). The copy is written to a private temporary file beside PATH (0600 from
its creation, never a moment world-readable), switched to rollback-journal mode so it is
one self-contained file, checked with `PRAGMA integrity_check`, fsynced, and only then
renamed to PATH. A failed backup leaves no partial file behind.

Restore (README, "Backup and restore"): stop the bot, copy the backup over the database
file, delete any `-wal` / `-shm` files beside it, start again.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class BackupError(Exception):
    """A backup that could not be made; the message names the file and the reason."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    pages: int


def backup_target(dest: str | Path, now: datetime | None = None) -> Path:
    """PATH itself, or a time-stamped file inside it when PATH is a folder (for timers)."""
    target = Path(dest)
    if target.is_dir():
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        target = target / f"yessindo-{stamp}.db"
    return target


def backup_database(database: str, dest: str | Path, *, mode: int = 0o600) -> BackupResult:
    """Copy `database` to `dest` (see the module docstring); returns where and how big."""
    source_path = Path(database)
    if database == ":memory:" or not source_path.is_file():
        raise BackupError(f"database {database}: no such file")
    target = backup_target(dest)
    if target.exists() and target.resolve() == source_path.resolve():
        raise BackupError(f"{target}: that is the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"{target}: folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise BackupError(f"{target}: cannot create ({exc.strerror})") from None
    os.fchmod(fd, mode)  # whatever the umask
    os.close(fd)
    try:
        pages = _copy(database, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {database} to {target} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"backup of {database} to {target} failed: {exc.strerror or exc}") from None
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(target, target.stat().st_size, pages)


def _copy(database: str, tmp: Path) -> int:
    # Read-only on the source: a backup never creates or migrates a database.
    src = sqlite3.connect(f"file:{Path(database).resolve()}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(tmp)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst, pages=-1)  # one step: one read transaction, one consistent snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchall()
        if [tuple(r) for r in check] != [("ok",)]:
            raise sqlite3.DatabaseError(f"integrity_check of the copy: {check[:3]}")
        return int(dst.execute("PRAGMA page_count").fetchone()[0])
    finally:
        dst.close()
        src.close()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
