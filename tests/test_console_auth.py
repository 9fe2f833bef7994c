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


# -- the keys: slower, never a lock-out of the right password -----------------------------------------
def test_failures_from_one_address_slow_down_that_name_there_and_spare_other_addresses(console, clock):
    for _ in range(5):
        assert login_from(console, "10.0.0.1", "sari", "tebak-tebak").status_code == 401
    refused = login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"])
    assert refused.status_code == 429
    assert "Terlalu banyak percobaan masuk. Coba lagi dalam 30 detik." in refused.text
    assert refused.headers["Retry-After"] == "30"
    assert attempts(console, "pair:10.0.0.1|sari") == 5  # the refusal itself is not counted
    # Someone else guessing sari's password does not stop sari at her own desk...
    assert login_from(console, "10.0.0.2", "sari", PASSWORDS["sari"]).status_code == 303
    # ...and the guesser's address may still log in as someone else.
    assert login_from(console, "10.0.0.1", "budi", PASSWORDS["budi"]).status_code == 303
    # Each further failure doubles the wait: 30 s, 60 s, 120 s...
    clock.at += timedelta(seconds=30)
    assert login_from(console, "10.0.0.1", "sari", "tebak-lagi").status_code == 401
    again = login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"])
    assert again.status_code == 429 and again.headers["Retry-After"] == "60"
    clock.at += timedelta(seconds=60)
    assert login_from(console, "10.0.0.1", "sari", PASSWORDS["sari"]).status_code == 303
    assert attempts(console, "pair:10.0.0.1|sari") == 0  # a success there starts that address afresh


def test_the_wait_is_capped_and_failures_leave_the_window(console, clock):
    waits = []
    for _ in range(30):
        r = login_from(console, "10.0.0.9", "sari", "tebak-tebak")
        if r.status_code == 429:
            waits.append(int(r.headers["Retry-After"]))
            clock.at += timedelta(seconds=int(r.headers["Retry-After"]))
    assert max(waits) == auth.login_limit.MAX_DELAY.total_seconds() == 15 * 60
    assert waits[:4] == [30, 60, 120, 240]
    clock.at += auth.login_limit.WINDOW + timedelta(seconds=1)
    assert login_from(console, "10.0.0.9", "sari", PASSWORDS["sari"]).status_code == 303


def test_delay_after_doubles_up_to_the_cap():
    d = auth.login_limit.delay_after
    assert d(4, 5) is None and d(5, 5) == timedelta(seconds=30) and d(6, 5) == timedelta(seconds=60)
    assert d(10, 5) == timedelta(minutes=15) and d(10_000, 5) == timedelta(minutes=15)


def _device_browser(console, name: str, addr: str):  # type: ignore[no-untyped-def]
    """A browser that has logged in as `name` before (it keeps the device token), logged out."""
    c = console.client()
    token = csrf_of(c)
    r = c.post("/console/login", data={"name": name, "password": PASSWORDS[name], "csrf_token": token},
               environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 303
    assert _logout(c, addr).status_code == 303
    return c


def _logout(c, addr: str):  # type: ignore[no-untyped-def]
    return c.post("/console/logout", data={"csrf_token": csrf_of(c)}, environ_base={"REMOTE_ADDR": addr})


def _login_with(c, addr: str, name: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(c)
    return c.post("/console/login", data={"name": name, "password": password, "csrf_token": token},
                  environ_base={"REMOTE_ADDR": addr})


def test_100_guesses_for_the_supervisor_do_not_lock_out_her_known_browser(console, clock):
    dewi = _device_browser(console, "dewi", "10.0.5.7")
    # 100 wrong passwords for dewi from one new address, then 100 from 100 addresses.
    single = [login_from(console, "203.0.113.9", "dewi", f"tebak-{i}").status_code for i in range(100)]
    spread = [login_from(console, f"198.51.100.{i}", "dewi", f"tebak-{i}").status_code for i in range(100)]
    # The attacker without a device token is throttled: 5 checks from one address, 20 for the name.
    assert single.count(401) == 5 and single.count(429) == 95
    assert spread.count(401) == 15 and spread.count(429) == 85
    assert attempts(console, "name:dewi") == 20
    # A new browser (no device token) is throttled too, even with the right password...
    fresh = login_from(console, "10.0.5.7", "dewi", PASSWORDS["dewi"])
    assert fresh.status_code == 429 and int(fresh.headers["Retry-After"]) == 30
    # ...but dewi's own browser logs in at once with the right password.
    assert _login_with(dewi, "10.0.5.7", "dewi", PASSWORDS["dewi"]).status_code == 303
    assert dewi.get("/console").status_code == 200
    assert attempts(console, "name:dewi") == 20  # her login does not reset the attacker's count


def test_a_six_hour_guessing_campaign_stays_slow_and_the_agent_always_gets_in(console, clock):
    sari = _device_browser(console, "sari", "10.0.5.8")
    checked = 0
    for minute in range(6 * 60):
        for a in range(3):  # three attacker addresses, each trying once a minute
            r = login_from(console, f"198.51.{minute % 200}.{a}", "sari", f"tebak-{minute}-{a}")
            checked += r.status_code == 401
        if minute % 60 == 59:
            assert _login_with(sari, "10.0.5.8", "sari", PASSWORDS["sari"]).status_code == 303
            assert _logout(sari, "10.0.5.8").status_code == 303
        clock.at += timedelta(minutes=1)
    assert checked <= 20 + 6 * 5, checked  # 1,080 guesses sent: past the first 20, about 4 an hour are checked


def test_one_attacker_behind_the_office_address_does_not_lock_out_colleagues(console, clock):
    office = "10.0.3.2"
    sari = _device_browser(console, "sari", office)
    codes = [login_from(console, office, f"orang{i}", "tebak-tebak").status_code for i in range(50)]
    assert codes.count(401) == 20 and codes.count(429) == 30  # unknown names from there are throttled
    # Colleagues at the same address: with a device token, and on a fresh browser too.
    assert _login_with(sari, office, "sari", PASSWORDS["sari"]).status_code == 303
    assert login_from(console, office, "budi", PASSWORDS["budi"]).status_code == 303
    assert login_from(console, office, "dewi", PASSWORDS["dewi"]).status_code == 303
    # 25 successful logins from one address never use up anything.
    for i in range(25):
        name = ("sari", "budi", "dewi")[i % 3]
        assert login_from(console, "10.0.3.1", name, PASSWORDS[name]).status_code == 303, i
    assert console.db().execute("SELECT count(*) FROM login_attempts WHERE key LIKE '%10.0.3.1%'").fetchone()[0] == 0


def test_a_known_browser_is_limited_only_by_its_own_mistakes(console, clock):
    sari = _device_browser(console, "sari", "10.0.6.1")
    for _ in range(10):
        assert _login_with(sari, "10.0.6.1", "sari", "salah-ketik").status_code == 401
    slowed = _login_with(sari, "10.0.6.1", "sari", PASSWORDS["sari"])
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "30"
    # That browser's mistakes do not count against sari elsewhere.
    assert attempts(console, "name:sari") == 0
    assert login_from(console, "10.0.6.2", "sari", PASSWORDS["sari"]).status_code == 303
    clock.at += timedelta(seconds=30)
    assert _login_with(sari, "10.0.6.1", "sari", PASSWORDS["sari"]).status_code == 303
    assert console.db().execute("SELECT count(*) FROM login_attempts WHERE key LIKE 'dev:%'").fetchone()[0] == 0


def test_a_device_token_counts_only_for_its_agent_and_only_when_signed(console, clock):
    sari = _device_browser(console, "sari", "10.0.7.1")
    value = sari.get_cookie(auth.device_token.cookie_name("sari"), path="/console/login").value
    # sari's token planted under budi's cookie name, and a tampered one: neither is a device.
    for n, fake in enumerate((value, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))):
        c = console.client()
        c.set_cookie(auth.device_token.cookie_name("budi"), fake, path="/console/login")
        for _ in range(5):
            assert _login_with(c, f"10.0.7.{n + 2}", "budi", "tebak").status_code == 401
        assert _login_with(c, f"10.0.7.{n + 2}", "budi", PASSWORDS["budi"]).status_code == 429
    assert attempts(console, "name:budi") == 10  # counted as browsers without a token


def test_the_device_cookie(console):
    c = console.app.test_client()
    token = csrf_of(c)
    r = c.post("/console/login", data={"name": "sari", "password": PASSWORDS["sari"], "csrf_token": token})
    [cookie] = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("yessindo_device_")]
    attrs = {p.strip().split("=")[0].lower(): p.strip() for p in cookie.split(";")[1:]}
    assert attrs["path"] == "Path=/console/login" and "httponly" in attrs and attrs["samesite"] == "SameSite=Strict"
    assert attrs["max-age"] == f"Max-Age={180 * 24 * 3600}" and "secure" not in attrs
    s = console.app.test_client()
    token = csrf_of(s)
    r = s.post("/console/login", base_url="https://localhost",
               data={"name": "sari", "password": PASSWORDS["sari"], "csrf_token": token})
    assert any(h.startswith("yessindo_device_") and "Secure" in h for h in r.headers.getlist("Set-Cookie"))
    assert "rahasia" not in cookie


def test_login_events_are_logged_masked(console, caplog):
    caplog.set_level("DEBUG", logger="yessindo.console")
    for _ in range(6):
        login_from(console, "10.9.8.7", "Jakarta2024!", "tebak")  # a password typed as the name
    login_from(console, "10.9.8.7", "budi", PASSWORDS["budi"])
    text = caplog.text
    assert "10.9.8.x" in text and "10.9.8.7" not in text and "Jakarta2024" not in text
    assert "budi logged in" in text and "must wait" in text and "wrong name or password" in text
    # Refused guesses (429) are logged at DEBUG only: a flood of them cannot flood the log.
    assert {r.levelname for r in caplog.records if "must wait" in r.getMessage()} == {"DEBUG"}


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
    assert sid == auth.session_key(sid_of(c)) and agent == "sari" and created == seen


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
    assert [r[0] for r in sessions(console, "sari")] == [auth.session_key(sid_of(fresh))]


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
    assert "old" not in ids and {auth.session_key(first), auth.session_key(second)} <= ids
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


# -- the generated key and stored session ids ----------------------------------------------------
def test_generated_key_is_a_0600_file_and_the_old_meta_row_moves_there(tmp_path, clock):
    """A database from an older version kept the key in meta: it moves to `<db>.secret`
    (0600, whatever the umask), the row is deleted, and cookies signed with it stay valid."""
    import os
    import stat

    console = Console(tmp_path, clock)
    console.add_agents("sari")
    with console.db() as db:
        db.execute("INSERT INTO meta (key, value) VALUES ('console_secret_key', 'the-old-key-0123456789-abcdefghijklmnop')")
    old = os.umask(0o022)
    try:
        app = console.make_app()
        c = console.client("sari", app=app)
    finally:
        os.umask(old)
    path = tmp_path / "console.db.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == "the-old-key-0123456789-abcdefghijklmnop"
    assert console.db().execute("SELECT count(*) FROM meta WHERE key = 'console_secret_key'").fetchone()[0] == 0
    assert c.get("/console").status_code == 200
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_workers_making_the_key_at_once_agree(tmp_path):
    from bot.web.console_secret import create_key_file

    path = tmp_path / "bot.db.secret"
    start = threading.Barrier(8)

    def make(i: int) -> str:
        start.wait()
        return create_key_file(path, f"key-of-worker-{i}")

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(make, range(8)))
    assert len(keys) == 1 and keys == {path.read_text().strip()}


def test_a_stolen_database_opens_no_session(console):
    """Session rows hold only a hash: even with the signing key, an id read from the
    database (or a backup) is no session."""
    c = console.client("sari")
    sid = sid_of(c)
    [(stored, _agent, _c, _s)] = sessions(console, "sari")
    assert stored != sid and sid not in str(console.db().execute("SELECT * FROM console_sessions").fetchall())
    thief = console.app.test_client()
    with thief.session_transaction("/console") as s:  # signed with the real key
        s["sid"] = stored
        s["csrf"] = "x"
    assert thief.get("/console").status_code == 303
    assert thief.get("/console/api/queue").status_code == 401
    assert c.get("/console").status_code == 200  # the real cookie still works


def test_rows_of_clear_text_session_ids_are_dropped_at_the_next_login(console, clock):
    with console.db() as db:
        db.execute("INSERT INTO console_sessions (id, agent, created_at) VALUES (?, 'budi', ?)",
                   ("A" * 43, auth.utc_iso(clock())))
    old = console.app.test_client()
    with old.session_transaction("/console") as s:
        s["sid"] = "A" * 43
    assert old.get("/console").status_code == 303  # looked up by hash: the old row opens nothing
    console.client("sari")
    assert [r[1] for r in sessions(console)] == ["sari"]
