"""The console signing key when none is configured (`YESSINDO_SECRET_KEY` or `[console]
secret_key` unset): a random key in a 0600 file beside the database, `<database>.secret`,
made once and shared by every worker and every restart.

Why a file and not the database: whoever gets a copy of the database (a backup, a stolen
disk image) must not also get the key that signs console cookies and device tokens. A
database made by an older version kept the key in `meta.console_secret_key`: that value
moves to the file (sessions signed with it stay valid across the upgrade) and the row is
deleted.

The file is written to a private temporary name and hard-linked into place, so a worker
reading it sees either no file or the whole key, and two workers making it at the same
time end up with the same key (the second link fails, that worker reads the first one's).
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from handoff.store import Store

SECRET_META_KEY = "console_secret_key"
SUFFIX = ".secret"


def secret_key_path(database: str) -> Path | None:
    """Where the generated key of this database lives; None for an in-memory database."""
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database + SUFFIX)


def read_key(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return text or None


def create_key_file(path: Path, value: str) -> str:
    """Put `value` at `path` unless a key is there already; returns the key that is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask: only the server's user reads it
        os.write(fd, (value + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another worker was first: its key wins
    except OSError:
        # A file system without hard links: O_EXCL on the final name is as atomic for
        # creation (a reader may, for an instant, see an empty file: read_key says None).
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(value + "\n")
    finally:
        os.unlink(tmp)
    key = read_key(path)
    if key is None:
        raise OSError(f"{path}: the console key file is empty")
    return key


def load_or_create_key(store: Store, now: datetime) -> str:
    """The generated console key of `store`'s database: from the file, else moved there
    from the old meta row, else new. The meta row is deleted once the file holds the key."""
    path = secret_key_path(store.path)
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_META_KEY,)).fetchone()
    old = str(row[0]) if row and row[0] else None
    if path is None:
        return old or secrets.token_urlsafe(48)  # nothing outlives an in-memory database anyway
    key = read_key(path) or create_key_file(path, old or secrets.token_urlsafe(48))
    if row is not None:
        with store.write(now) as tx:
            tx.conn.execute("DELETE FROM meta WHERE key = ?", (SECRET_META_KEY,))
    return key
