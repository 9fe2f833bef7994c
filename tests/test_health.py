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


@pytest.fixture
def read_only(tmp_path):
    """Make a file read-only for this process: chmod 0400 is ignored by root, an
    immutable file (chattr +i) is not."""
    made: list[str] = []

    def lock(path) -> None:
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"running as root and chattr +i failed: {done.stderr.decode().strip()}")
            made.append(str(path))
        else:
            os.chmod(path, 0o400)

    yield lock
    for path in made:
        subprocess.run(["chattr", "-i", path], check=False)


def test_read_only_database_file_is_503(tmp_path, clock, read_only):
    path = tmp_path / "ro.db"
    Store(path).close()
    read_only(path)
    with pytest.raises(OSError):
        open(path, "r+b")  # really read-only for this process
    app = make(path, clock)
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


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2 MB file system (tmpfs): needs root and the right to mount, else skipped
    (test_full_database_is_503_and_recovers covers SQLITE_FULL everywhere)."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(where)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_really_full_disk_is_503(tiny_disk, clock):
    app = make(tiny_disk / "bot.db", clock)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass  # ENOSPC: the disk is full
    finally:
        os.close(fd)
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["error"] == "disk or database full"
    os.unlink(tiny_disk / "filler")
    assert client.get("/healthz").status_code == 200
