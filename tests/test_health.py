"""`/healthz` answers ok only while a write to the database would succeed (issue 10, item 15)."""
from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from bot.app import create_app
from bot.config import settings_from_mapping
from handoff.store import Store


def make(path, clock):
    return create_app(settings_from_mapping({"storage": {"database": str(path)}}), clock=clock)


def store_of(app) -> Store:
    return app.extensions["yessindo"].bot.store


def test_ok_while_all_is_fine_and_a_write_really_happens(tmp_path, clock):
    app = make(tmp_path / "ok.db", clock)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    conn = sqlite3.connect(tmp_path / "ok.db")
    assert conn.execute("SELECT count(*) FROM health_probe").fetchone()[0] == 1  # the grow row was rolled back
    assert not store_of(app).conn.in_transaction


def test_full_database_is_503_and_recovers(tmp_path, clock):
    """SQLITE_FULL, as on a full disk: the file may not grow past the pages it has."""
    app = make(tmp_path / "full.db", clock)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    conn = store_of(app).conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] < 4
    conn.execute(f"PRAGMA max_page_count = {pages}")
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "error": "disk or database full"}
    assert not conn.in_transaction
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert client.get("/healthz").get_json() == {"status": "ok"}


def make_read_only(path) -> bool:
    """Make the file read-only for this process; False where the file system cannot (root
    ignores chmod 0400; an immutable file, chattr +i, needs a file system that has it)."""
    if os.geteuid() != 0:
        os.chmod(path, 0o400)
        return True
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def test_read_only_database_file_is_503(tmp_path, clock):
    path = tmp_path / "ro.db"
    Store(path).close()
    if make_read_only(path):
        try:
            with pytest.raises(OSError):
                open(path, "r+b")  # really read-only for this process
            app = make(path, clock)
            resp = app.test_client().get("/healthz")
        finally:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    else:
        # root on a file system without immutable files (overlayfs): SQLite's own read-only
        # state, the same SQLITE_READONLY a read-only file gives
        app = make(path, clock)
        store_of(app).conn.execute("PRAGMA query_only = ON")
        resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["error"] in ("database is read-only", "database cannot be opened")


def test_database_held_by_a_long_writer_is_503_within_bounded_time(tmp_path, clock):
    app = make(tmp_path / "busy.db", clock)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        resp = client.get("/healthz")
        assert resp.status_code == 503 and "busy" in resp.get_json()["error"]
    finally:
        other.execute("ROLLBACK")
    assert client.get("/healthz").status_code == 200
    assert store_of(app).conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000  # left as it was


_FULL_DISK = """
import json, os, resource, signal, sys
from bot.app import create_app
from bot.config import settings_from_mapping
db = sys.argv[1]
app = create_app(settings_from_mapping({"storage": {"database": db}}))
client = app.test_client()
out = [client.get("/healthz").status_code]
conn = app.extensions["yessindo"].bot.store.conn
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
# From here no file of this process may grow past 4 KB: the WAL cannot take one more
# page, as on a disk with no room left (EFBIG instead of ENOSPC, but a real failed write).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
r = client.get("/healthz")
out += [r.status_code, r.get_json()]
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
out.append(client.get("/healthz").status_code)
print(json.dumps(out))
"""


def test_a_disk_that_takes_no_more_bytes_is_503_and_recovers(tmp_path):
    """A real failed write at the file-system level (a file-size limit on the process, which
    needs no root and no mount), not SQLite's page limit."""
    import json
    import sys

    from tests.conftest import REPO

    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path / "bot.db")], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    first, status, body, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert (first, status, after) == (200, 503, 200)
    assert body["status"] == "error" and body["error"] in ("disk or database full", "database I/O error")
