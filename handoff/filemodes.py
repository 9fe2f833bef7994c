"""Who may read the bot's files: the database, its WAL and shared-memory files, and any
file or folder kept beside it.

Owner only by default (files 0600, folders 0700). An operator who wants a group (a
backup user, a monitoring agent) to read them sets `[storage] group`: files are then
0640 and folders 0750, owned by that group.

New files are created with the right mode from the start (`create_private`: never a
moment world-readable); existing ones are tightened on every open (a database an older
version made 0644 becomes 0600; one the operator handed to another group keeps 0640).
SQLite creates `-wal` and `-shm` lazily, with the database file's own mode, so a database
created 0600 keeps its WAL 0600; the ones that already exist are set here too.
"""
from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

FILE_MODE, DIR_MODE = 0o600, 0o700
GROUP_FILE_MODE, GROUP_DIR_MODE = 0o640, 0o750
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def group_id(group: str | int | None) -> int | None:
    """The numeric id of `group` (a name or a number); None when not set. KeyError when
    no such group exists (the config check reports it)."""
    if group is None or group == "":
        return None
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    return grp.getgrnam(str(group)).gr_gid


def wanted_mode(is_dir: bool, gid: int | None) -> int:
    if is_dir:
        return GROUP_DIR_MODE if gid is not None else DIR_MODE
    return GROUP_FILE_MODE if gid is not None else FILE_MODE


def secure_path(path: str | Path, gid: int | None = None) -> bool:
    """Give an existing file or folder the mode (and group) it should have. A file
    another user owns is left alone (we cannot change it): returns False then."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return True
    if st.st_uid != os.geteuid() and os.geteuid() != 0:
        return False
    is_dir = stat.S_ISDIR(st.st_mode)
    if gid is not None and st.st_gid != gid:
        os.chown(p, -1, gid)
    mode = wanted_mode(is_dir, gid)
    if gid is None and st.st_gid != os.getegid():
        # Without a configured group, keep the read access of a group an operator handed
        # the file to (chgrp + chmod g+r, or an earlier run with `[storage] group`); our
        # own primary group (a file made 0644 by an older version) gets nothing.
        mode |= stat.S_IMODE(st.st_mode) & (0o050 if is_dir else 0o040)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(p, mode)
    return True


def create_private(path: str | Path, gid: int | None = None) -> None:
    """Create an empty file with the right mode unless it exists (O_EXCL: no window in
    which another user could open it, whatever the process umask)."""
    mode = wanted_mode(False, gid)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away from `mode`; set exactly
        if gid is not None:
            os.fchown(fd, -1, gid)
    finally:
        os.close(fd)


def make_private_dir(path: str | Path, gid: int | None = None) -> Path:
    """Create a folder (and its missing parents) for the bot's own files, 0700 (0750
    with a group)."""
    p = Path(path)
    missing = []
    for level in (p, *p.parents):
        if level.exists():
            break
        missing.append(level)
    for level in reversed(missing):  # the ones made here, outermost first; never an existing one
        try:
            level.mkdir(mode=wanted_mode(True, gid))
        except FileExistsError:
            continue
        secure_path(level, gid)
    return p


def secure_database(path: str | Path, gid: int | None = None) -> None:
    """The database file and whatever side files SQLite has made beside it."""
    base = str(path)
    secure_path(base, gid)
    try:
        db_gid = os.stat(base).st_gid
        db_mode = stat.S_IMODE(os.stat(base).st_mode)
    except FileNotFoundError:
        return
    for suffix in SQLITE_SIDE_FILES:
        side = base + suffix
        try:
            st = os.stat(side)
        except FileNotFoundError:
            continue
        if st.st_uid != os.geteuid() and os.geteuid() != 0:
            continue
        # The side files follow the database file: its group and its mode, no wider.
        if st.st_gid != db_gid and db_mode & 0o040:
            os.chown(side, -1, db_gid)
        if stat.S_IMODE(st.st_mode) != db_mode:
            os.chmod(side, db_mode)
