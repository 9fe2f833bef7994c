"""Where `serve` puts the generated password of the first supervisor (`admin`).

On a terminal it is shown (someone is looking at it: `make run`). Otherwise stdout is
usually a log (systemd's journal, `docker logs`, a file) that others can read and that
is kept for long: the password goes to a 0600 file beside the database, and only that
file's path is printed.
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TextIO

SUFFIX = ".admin-password"


def password_file(database: str) -> Path:
    return Path(database + SUFFIX)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by this user only from the first byte on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def show_first_password(database: str, url: str, password: str, out: TextIO | None = None) -> None:
    """Tell the operator how to log in as `admin` with `password`, without the password
    ever reaching a log."""
    out = out or sys.stdout
    advice = ("    (a first supervisor for trying things out; the console asks for a new password at the "
              "first login; add agents in the console (Petugas) or with "
              "`yessindo-bot agent add NAME --role agent --password-stdin`)")
    if out.isatty():
        print(f"  Agent console: {url}  name: admin  password: {password}\n" + advice, file=out)
        return
    path = password_file(database)
    write_private(path, password + "\n")
    print(f"  Agent console: {url}  name: admin  password: in {path.resolve()} (readable only by this user; "
          "delete it once you have changed the password)\n" + advice, file=out)
