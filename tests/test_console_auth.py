"""Console login security: the rate limit holds under parallel guesses (one transaction
counts and records each attempt before its password is checked), its keys (name and
address, address, name from everywhere), server-side sessions (logout, absolute 12-hour
lifetime, password change and removal end them, no fixation) and a busy database at
login (503, quickly, no traceback)."""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from werkzeug.security import generate_password_hash

from bot.web import console_auth as auth
from handoff import queue
from handoff.store import Store
from tests.browser import run_live_server
from tests.test_console import PASSWORDS, Console, csrf_of, login, post

COOKIE = "yessindo_console"
BUSY = "Basis data sedang sibuk. Coba lagi sebentar lagi."


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def login_from(console, addr: str, name: str, password: str):  # type: ignore[no-untyped-def]
    c = console.client()
    token = csrf_of(c)
    return c.post("/console/login", data={"name": name, "password": password, "csrf_token": token},
                  environ_base={"REMOTE_ADDR": addr})


def attempts(console, key: str) -> int:
    return console.db().execute("SELECT count(*) FROM login_attempts WHERE key = ?", (key,)).fetchone()[0]


def sid_of(client) -> str | None:  # type: ignore[no-untyped-def]
    with client.session_transaction("/console") as s:
        return s.get("sid")


def sessions(console, agent: str | None = None) -> list[tuple]:
    sql = "SELECT id, agent, created_at, last_seen_at FROM console_sessions"
    rows = console.db().execute(sql + (" WHERE agent = ?" if agent else "") + " ORDER BY created_at, id",
                                (agent,) if agent else ()).fetchall()
    return rows


# -- the rate limit under parallel guesses ------------------------------------------------------
def test_parallel_wrong_logins_on_several_app_instances_are_bounded(console, monkeypatch):
    """Three app instances (three workers) on one database, 15 guesses at once, each password
    check made slow so that they all overlap: exactly 5 are checked (401), 10 refused (429)."""
    real_check = auth.check_password_hash
    checked: list[str] = []

    def slow_check(pwhash: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.15)  # every guess is "inside" the check at the same time
        return real_check(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", slow_check)
    apps = [console.app, console.make_app(), console.make_app()]
    n = 15
    clients = []
    for i in range(n):
        c = apps[i % len(apps)].test_client()
        clients.append((c, csrf_of(c)))
    start = threading.Barrier(n)

    def guess(i: int) -> int:
        c, token = clients[i]
        start.wait()
        return c.post("/console/login", data={"name": "sari", "password": f"tebak-{i}", "csrf_token": token}).status_code

    with ThreadPoolExecutor(n) as pool:
        codes = list(pool.map(guess, range(n)))
    assert sorted(codes) == [401] * 5 + [429] * 10, codes
    assert len(checked) == 5
    assert attempts(console, "pair:127.0.0.1|sari") == 5 and attempts(console, "name:sari") == 5
    # And the right password is refused too while the limit holds.
    assert login(console.client(), "sari", PASSWORDS["sari"]).status_code == 429


def test_parallel_guesses_against_a_real_server_are_bounded(tmp_path):
    """`yessindo-bot serve --workers 4` (gunicorn, real processes, scrypt hashes): 24
    wrong passwords sent at once -> at most 5 password checks (401), the rest 429."""
    n = 24
    with run_live_server(tmp_path, workers=4) as server:
        server.add_agent("sari", "agent", "rahasia-sari-123")
        sessions_: list[tuple[requests.Session, str]] = []
        for _ in range(n):
            s = requests.Session()
            page = s.get(server.url + "/console/login", timeout=15)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            sessions_.append((s, token))
        start = threading.Barrier(n)

        def guess(i: int) -> int:
            s, token = sessions_[i]
            start.wait()
            r = s.post(server.url + "/console/login", timeout=60, allow_redirects=False,
                       data={"name": "sari", "password": f"tebak-tebak-{i}", "csrf_token": token})
            return r.status_code

        with ThreadPoolExecutor(n) as pool:
            codes = list(pool.map(guess, range(n)))
        assert codes.count(401) <= 5, codes  # the limit per name and address
        assert codes.count(401) + codes.count(429) == n, codes
        assert codes.count(401) == 5  # nothing else (a busy database) got in the way
        db = sqlite3.connect(server.database)
        assert db.execute("SELECT count(*) FROM login_attempts WHERE key = 'pair:127.0.0.1|sari'").fetchone()[0] == 5
        assert "Traceback" not in server.log()


# -- the keys --------------------------------------------------------------------------------------
def test_lock_per_name_and_address_spares_other_addresses(console, clock):
    for _ in range(5):
        assert login_from(console, "10.0.0.1", "sari", "tebak-tebak").status_code == 401
    refused = login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"])
    assert refused.status_code == 429
    assert "Terlalu banyak percobaan masuk. Coba lagi dalam 15 menit." in refused.text
    assert refused.headers["Retry-After"] == str(15 * 60)
    # The refusal itself is not counted.
    assert attempts(console, "pair:10.0.0.1|sari") == 5
    # Someone else guessing sari's password does not lock sari out at her own desk...
    assert login_from(console, "10.0.0.2", "sari", PASSWORDS["sari"]).status_code == 303
    # ...and the guesser's address may still log in as someone else (5 < 20 for the address).
    assert login_from(console, "10.0.0.1", "budi", PASSWORDS["budi"]).status_code == 303
    # sari's success at 10.0.0.2 cleared her total count, not the pair rows of 10.0.0.1: that
    # address stays limited for sari until its guesses leave the 15-minute window.
    assert login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"]).status_code == 429
    clock.at += timedelta(minutes=15, seconds=1)
    assert login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"]).status_code == 303


def test_per_name_limit_over_all_addresses_stops_a_distributed_guess(console, clock):
    # 50 wrong passwords for sari from 10 addresses (5 each: under every other limit).
    for a in range(10):
        for _ in range(5):
            assert login_from(console, f"10.0.1.{a}", "sari", "tebak-tebak").status_code == 401
    assert attempts(console, "name:sari") == 50
    refused = login_from(console, "10.0.2.1", "sari", PASSWORDS["sari"])  # a fresh address, the right password
    assert refused.status_code == 429 and "Terlalu banyak percobaan masuk" in refused.text
    assert int(refused.headers["Retry-After"]) == 15 * 60
    # Another name from that address is not affected.
    assert login_from(console, "10.0.2.1", "budi", PASSWORDS["budi"]).status_code == 303
    clock.at += timedelta(minutes=15, seconds=1)
    assert login_from(console, "10.0.2.1", "sari", PASSWORDS["sari"]).status_code == 303
    assert attempts(console, "name:sari") == 0


def test_address_limit_and_successful_logins_do_not_use_it_up(console):
    # 25 successful logins from one address (an office behind one NAT): never limited.
    for i in range(25):
        name = ("sari", "budi", "dewi")[i % 3]
        assert login_from(console, "10.0.3.1", name, PASSWORDS[name]).status_code == 303, i
    assert attempts(console, "addr:10.0.3.1") == 0
    # 20 failures from one address lock that address for every name, not other addresses.
    for i in range(20):
        assert login_from(console, "10.0.3.2", f"orang{i}", "tebak-tebak").status_code == 401
    assert login_from(console, "10.0.3.2", "budi", PASSWORDS["budi"]).status_code == 429
    assert login_from(console, "10.0.3.3", "budi", PASSWORDS["budi"]).status_code == 303


# -- server-side sessions ------------------------------------------------------------------------------
def test_replayed_cookie_after_logout_is_no_session(console):
    c = console.client("sari")
    cookie = c.get_cookie(COOKIE, path="/console").value
    copy = console.app.test_client()
    copy.set_cookie(COOKIE, cookie, path="/console")
    assert copy.get("/console").status_code == 200  # the copy works while the session lives
    assert post(c, "/console/logout").status_code == 303
    assert sessions(console, "sari") == []
    replay = console.app.test_client()
    replay.set_cookie(COOKIE, cookie, path="/console")
    resp = replay.get("/console")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/console/login")
    api = replay.get("/console/api/queue")
    assert api.status_code == 401 and api.json["login"] == "/console/login"
    assert copy.get("/console").status_code == 303
    # Another worker (another app on the same database) agrees.
    other = console.make_app().test_client()
    other.set_cookie(COOKIE, cookie, path="/console")
    assert other.get("/console/api/queue").status_code == 401


def test_the_cookie_holds_only_the_session_id_and_csrf_token(console):
    c = console.client("sari")
    with c.session_transaction("/console") as s:
        assert set(s) <= {"sid", "csrf", "_permanent"}, dict(s)
        assert len(s["sid"]) >= 43  # 32 random bytes, urlsafe
    [(sid, agent, created, seen)] = sessions(console)
    assert sid == sid_of(c) and agent == "sari" and created == seen


def test_session_ends_12_hours_after_login_even_when_active(console, clock):
    c = console.client("sari")
    for _ in range(11):
        clock.at += timedelta(hours=1)
        assert c.get("/console/api/queue").status_code == 200
    clock.at += timedelta(minutes=59, seconds=59)  # 11:59:59 after login, active all along
    assert c.get("/console").status_code == 200
    clock.at += timedelta(seconds=1)
    resp = c.get("/console")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/console/login")
    assert c.get("/console/api/queue").status_code == 401
    # Logging in again gives a new session; the next login deletes the expired row.
    fresh = console.client("sari")
    assert [r[0] for r in sessions(console, "sari")] == [sid_of(fresh)]


def test_last_seen_is_written_at_most_once_a_minute(console, clock):
    c = console.client("sari")
    [(_, _, created, seen)] = sessions(console)
    assert seen == created
    for _ in range(5):
        clock.at += timedelta(seconds=11)
        assert c.get("/console/api/queue").status_code == 200
    assert sessions(console)[0][3] == seen  # 55 s of polling: not one write
    # While another process holds the write lock, polling neither waits nor fails.
    blocker = sqlite3.connect(console.config["storage"]["database"], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        clock.at += timedelta(seconds=10)
        t0 = time.monotonic()
        assert c.get("/console/api/queue").status_code == 200
        assert time.monotonic() - t0 < 2
    finally:
        blocker.execute("ROLLBACK")
    clock.at += timedelta(seconds=1)
    assert c.get("/console/api/queue").status_code == 200
    after = sessions(console)[0][3]
    assert after > seen
    assert c.get("/console/api/queue").status_code == 200
    assert sessions(console)[0][3] == after


def test_password_change_and_removal_end_existing_sessions(console, clock):
    sari, sari2, budi = console.client("sari"), console.client("sari"), console.client("budi")
    assert len(sessions(console, "sari")) == 2
    queue.set_password(console.store, clock(), "sari",
                       generate_password_hash("sandi-baru-sari", method="pbkdf2:sha256:1000"))
    assert sessions(console, "sari") == []
    assert sari.get("/console").status_code == 303 and sari2.get("/console/api/queue").status_code == 401
    assert budi.get("/console").status_code == 200  # others keep theirs
    assert login(console.client(), "sari", "sandi-baru-sari").status_code == 303
    queue.remove_agent(console.store, clock(), "budi")
    assert sessions(console, "budi") == []
    assert budi.get("/console").status_code == 303 and budi.get("/console/api/queue").status_code == 401


def test_login_makes_a_new_session_id_and_deletes_expired_ones(console, clock):
    c = console.client("sari")
    first = sid_of(c)
    assert login(c, "sari", PASSWORDS["sari"]).status_code == 303  # logging in again, same browser
    second = sid_of(c)
    assert second and second != first
    with console.db() as db:
        db.execute("INSERT INTO console_sessions (id, agent, created_at) VALUES ('old', 'budi', ?)",
                   (auth.utc_iso(clock() - timedelta(hours=12, seconds=1)),))
    console.client("dewi")
    ids = {r[0] for r in sessions(console)}
    assert "old" not in ids and {first, second} <= ids
    # A session id never comes from the client: a planted (validly signed) one is ignored.
    planted = console.app.test_client()
    with planted.session_transaction("/console") as s:
        s["sid"] = "chosen-by-the-attacker"
    assert login(planted, "sari", PASSWORDS["sari"]).status_code == 303
    assert sid_of(planted) != "chosen-by-the-attacker"
    assert "chosen-by-the-attacker" not in {r[0] for r in sessions(console)}


# -- a busy database ---------------------------------------------------------------------------------
@pytest.fixture
def short_busy(monkeypatch):
    monkeypatch.setattr(auth, "LOGIN_BUSY_MS", 200)


def _locked(console) -> sqlite3.Connection:  # type: ignore[no-untyped-def]
    blocker = sqlite3.connect(console.config["storage"]["database"], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def test_busy_database_at_login_is_a_quick_503_with_the_form(console, short_busy):
    c = console.client()
    token = csrf_of(c)
    blocker = _locked(console)
    try:
        t0 = time.monotonic()
        resp = c.post("/console/login", data={"name": "sari", "password": PASSWORDS["sari"], "csrf_token": token})
        took = time.monotonic() - t0
    finally:
        blocker.execute("ROLLBACK")
    assert resp.status_code == 503 and took < 2, took
    assert BUSY in resp.text and 'id="login-form"' in resp.text and 'id="login-error"' in resp.text
    assert "Traceback" not in resp.text and resp.headers["Retry-After"]
    assert sid_of(c) is None
    assert login(c, "sari", PASSWORDS["sari"]).status_code == 303  # free again: works


def test_busy_database_after_the_password_check_is_a_503_too(console, short_busy, monkeypatch):
    """The lock is taken between recording the attempt and opening the session."""
    real_check = auth.check_password_hash
    held: list[sqlite3.Connection] = []

    def check_then_lock(pwhash: str, password: str) -> bool:
        ok = real_check(pwhash, password)
        held.append(_locked(console))
        return ok

    monkeypatch.setattr(auth, "check_password_hash", check_then_lock)
    c = console.client()
    try:
        resp = login(c, "sari", PASSWORDS["sari"])
    finally:
        for blocker in held:
            blocker.execute("ROLLBACK")
    assert resp.status_code == 503 and BUSY in resp.text
    assert sid_of(c) is None and sessions(console) == []


def test_busy_database_at_logout_keeps_the_session_to_try_again(console, short_busy):
    c = console.client("sari")
    token = csrf_of(c)
    blocker = _locked(console)
    try:
        resp = c.post("/console/logout", data={"csrf_token": token})
    finally:
        blocker.execute("ROLLBACK")
    assert resp.status_code == 503 and BUSY in resp.text
    assert len(sessions(console, "sari")) == 1
    assert post(c, "/console/logout").status_code == 303
    assert sessions(console, "sari") == [] and c.get("/console").status_code == 303


# -- the table ----------------------------------------------------------------------------------------
def _shape(conn: sqlite3.Connection) -> tuple:
    cols = [(r[1], r[2], r[3], r[5]) for r in conn.execute("PRAGMA table_info(console_sessions)")]
    idx = sorted(r[1] for r in conn.execute("PRAGMA index_list(console_sessions)") if r[3] == "c")
    return cols, idx


def test_migration_and_first_use_make_the_same_table(tmp_path):
    store = Store(tmp_path / "fresh.db")
    migrated = _shape(store.conn)
    assert migrated[0] == [("id", "TEXT", 0, 1), ("agent", "TEXT", 1, 0), ("created_at", "TEXT", 1, 0),
                           ("last_seen_at", "TEXT", 0, 0), ("password_fp", "TEXT", 0, 0)]
    assert migrated[1] == ["idx_console_sessions_agent"]
    other = sqlite3.connect(tmp_path / "other.db")
    auth.ensure_session_table(other)
    auth.ensure_session_table(other)  # idempotent
    assert _shape(other) == migrated


def test_a_database_already_at_version_3_without_the_table_gets_it_at_first_login(console):
    with console.db() as db:
        db.execute("DROP TABLE console_sessions")
    assert console.make_app() is not None  # schema version 3: the migration does not run again
    assert console.db().execute("SELECT count(*) FROM sqlite_master WHERE name = 'console_sessions'").fetchone()[0] == 0
    stranger = console.app.test_client()
    with stranger.session_transaction("/console") as s:
        s["sid"] = "x"
    assert stranger.get("/console").status_code == 303  # no table: no session, no error
    queue.set_password(console.store, console.clock(), "budi", "x")  # no table: nothing to end, no error
    c = console.client("sari")
    assert c.get("/console").status_code == 200 and len(sessions(console, "sari")) == 1
