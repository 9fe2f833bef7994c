"""People in the console (issue 12, item 9): supervisors add and remove agents, reset
passwords and change roles; every agent changes their own password; a generated password
must be changed at the first login. Through the real app and the Flask test client."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from handoff import queue
from tests.test_console import PASSWORDS, Console, csrf_of, flashes, login, post


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def shown_password(html: str) -> str:
    m = re.search(r'<code id="generated-password">([^<]+)</code>', html)
    assert m, html
    return m.group(1)


def agent_row(console, name):  # type: ignore[no-untyped-def]
    return console.db().execute("SELECT role, must_change_password, password_hash FROM agents WHERE name = ?",
                                (name,)).fetchone()


def add(console, client, name="rina", role="agent"):  # type: ignore[no-untyped-def]
    resp = post(client, "/console/people/add", name=name, role=role)
    assert resp.status_code == 200, resp.text
    return shown_password(resp.text)


def change(client, current, new, confirm=None):  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/password").text).group(1)
    return client.post("/console/password", data={"current_password": current, "new_password": new, "csrf_token": token,
                                                   "confirm_password": new if confirm is None else confirm})


# -- adding: a generated password, shown once, changed at the first login ---------------------------
def test_supervisor_adds_agent_password_shown_once_and_hashed(console):
    dewi = console.client("dewi")
    page = dewi.get("/console/people")
    assert page.status_code == 200 and 'id="people-add"' in page.text and 'id="nav-people"' in page.text
    password = add(console, dewi)
    assert len(password) >= 10
    role, must, hashed = agent_row(console, "rina")
    assert role == "agent" and must == 1 and password not in hashed and hashed.startswith(("scrypt", "pbkdf2"))
    again = dewi.get("/console/people")  # never shown again
    assert password not in again.text and 'data-agent="rina"' in again.text and "must-change" in again.text
    other = add(console, dewi, "tono")
    assert other != password


def test_first_login_must_change_before_anything_else(console):
    password = add(console, console.client("dewi"))
    rina = console.app.test_client()
    resp = login(rina, "rina", password)
    assert resp.status_code == 303
    queue_page = rina.get("/console")
    assert queue_page.status_code == 303 and queue_page.headers["Location"] == "/console/password"
    assert rina.get("/console/t/YS-000001").headers["Location"] == "/console/password"
    api = rina.get("/console/api/queue")
    assert api.status_code == 403 and "kata sandi" in api.json["error"] and api.json["password"] == "/console/password"
    page = rina.get("/console/password")
    assert page.status_code == 200 and 'id="password-forced"' in page.text
    done = change(rina, password, "rina-punya-sandi-baru")
    assert done.status_code == 303 and done.headers["Location"] == "/console"
    assert agent_row(console, "rina")[1] == 0
    after = rina.get("/console")  # the same session goes on
    assert after.status_code == 200 and "Kata sandi Anda sudah diganti" in " ".join(flashes(after.text))
    assert rina.get("/console/api/queue").status_code == 200
    assert login(console.app.test_client(), "rina", "rina-punya-sandi-baru").status_code == 303


def test_cli_password_stdin_agent_is_not_forced_to_change(console):
    queue.add_agent(console.store, console.clock(), "tono", "agent",
                    generate_password_hash("pilihan-operator", method="pbkdf2:sha256:1000"))
    tono = console.app.test_client()
    assert login(tono, "tono", "pilihan-operator").status_code == 303
    assert tono.get("/console").status_code == 200
    assert agent_row(console, "tono")[1] == 0


def test_serve_admin_must_change_at_first_login(console, tmp_path, capsys):
    from bot.config import settings_from_mapping
    from bot.serve import console_login_hint

    db = tmp_path / "fresh.db"
    settings = settings_from_mapping({"storage": {"database": str(db)}})
    assert settings.simulator  # the try-out set-up: serve makes `admin`
    console_login_hint(settings, "127.0.0.1", 5000)
    out = capsys.readouterr().out
    assert "admin" in out
    import sqlite3

    row = sqlite3.connect(db).execute("SELECT role, must_change_password FROM agents WHERE name = 'admin'").fetchone()
    assert row == ("supervisor", 1)


# -- own password rules ---------------------------------------------------------------------------
@pytest.mark.parametrize("current, new, confirm, why", [
    ("salah-sekali", "sandi-baru-sari-1", None, "saat ini salah"),
    (PASSWORDS["sari"], "pendek", None, "minimal 10"),
    (PASSWORDS["sari"], "SARI", None, "minimal 10"),
    (PASSWORDS["sari"], PASSWORDS["sari"], None, "berbeda"),
    (PASSWORDS["sari"], "sandi-baru-sari-1", "sandi-baru-sari-2", "Ulangi"),
])
def test_own_password_rules(console, current, new, confirm, why):
    sari = console.client("sari")
    before = agent_row(console, "sari")[2]
    resp = change(sari, current, new, confirm)
    assert resp.status_code == 400 and why in resp.text
    assert agent_row(console, "sari")[2] == before


def test_password_equal_to_name_refused(console):
    queue.add_agent(console.store, console.clock(), "panjangnama", "agent",
                    generate_password_hash("sandi-awal-123", method="pbkdf2:sha256:1000"))
    c = console.app.test_client()
    assert login(c, "panjangnama", "sandi-awal-123").status_code == 303
    resp = change(c, "sandi-awal-123", "PanjangNama")
    assert resp.status_code == 400 and "sama dengan nama" in resp.text


def test_own_change_ends_other_sessions_not_this_one(console):
    here, there = console.client("sari"), console.client("sari")
    assert change(here, PASSWORDS["sari"], "sari-sandi-yang-baru").status_code == 303
    assert here.get("/console").status_code == 200
    gone = there.get("/console")
    assert gone.status_code == 303 and gone.headers["Location"].startswith("/console/login")
    events = console.store.events("agent.password_changed")
    assert events and events[-1]["actor"] == "sari"


# -- reset, remove, role -------------------------------------------------------------------------
def test_reset_ends_sessions_and_forces_change(console):
    sari = console.client("sari")
    assert sari.get("/console").status_code == 200
    dewi = console.client("dewi")
    resp = post(dewi, "/console/people/sari/reset")
    assert resp.status_code == 200
    password = shown_password(resp.text)
    assert agent_row(console, "sari")[1] == 1
    ended = sari.get("/console")
    assert ended.status_code == 303 and ended.headers["Location"].startswith("/console/login")
    assert login(console.app.test_client(), "sari", PASSWORDS["sari"]).status_code == 401
    fresh = console.app.test_client()
    assert login(fresh, "sari", password).status_code == 303
    assert fresh.get("/console").headers["Location"] == "/console/password"
    ev = console.store.events("agent.password_reset")[-1]
    assert ev["actor"] == "dewi" and '"sari"' in ev["data"]
    own = post(dewi, "/console/people/dewi/reset")  # one's own: through "Ganti kata sandi"
    assert own.status_code == 400 and dewi.get("/console").status_code == 200


def test_remove_agent_releases_tickets(console):
    ref = console.customer("pesanan saya belum sampai, nomor pesanan 123456")
    queue.claim(console.store, console.clock(), ref, "sari")
    dewi = console.client("dewi")
    resp = post(dewi, "/console/people/sari/remove")
    assert resp.status_code == 303
    page = dewi.get("/console/people")
    assert "Petugas sari dihapus." in flashes(page.text) and 'data-agent="sari"' not in page.text
    assert console.db().execute("SELECT status, agent FROM tickets WHERE ref = ?", (ref,)).fetchone() == ("open", None)
    assert console.store.events("agent.removed")[-1]["actor"] == "dewi"


def test_change_role_and_last_supervisor_protected(console):
    dewi = console.client("dewi")
    post(dewi, "/console/people/dewi/role", role="agent")
    assert agent_row(console, "dewi")[0] == "supervisor"
    assert any("supervisor terakhir" in f for f in flashes(dewi.get("/console/people").text))
    post(dewi, "/console/people/dewi/remove")
    assert agent_row(console, "dewi") is not None
    assert any("supervisor terakhir" in f for f in flashes(dewi.get("/console/people").text))
    post(dewi, "/console/people/budi/role", role="supervisor")
    assert agent_row(console, "budi")[0] == "supervisor"
    ev = console.store.events("agent.role_changed")[-1]
    assert ev["actor"] == "dewi" and '"to": "supervisor"' in ev["data"]
    post(dewi, "/console/people/dewi/role", role="agent")  # budi is a supervisor now: allowed
    assert agent_row(console, "dewi")[0] == "agent"
    assert dewi.get("/console/people").status_code == 403  # and dewi's powers end at once


# -- access, CSRF, secrecy ----------------------------------------------------------------------------
def test_agents_get_403_and_no_link(console):
    sari = console.client("sari")
    page = sari.get("/console")
    assert 'id="nav-people"' not in page.text and 'id="nav-password"' in page.text
    assert sari.get("/console/people").status_code == 403
    for path, form in (("/console/people/add", {"name": "x1", "role": "supervisor"}),
                       ("/console/people/budi/reset", {}), ("/console/people/budi/remove", {}),
                       ("/console/people/sari/role", {"role": "supervisor"})):
        assert post(sari, path, **form).status_code == 403
    assert agent_row(console, "x1") is None and agent_row(console, "sari")[0] == "agent"
    assert agent_row(console, "budi") is not None


def test_csrf_required(console):
    dewi = console.client("dewi")
    csrf_of(dewi)
    for path in ("/console/people/add", "/console/people/budi/reset", "/console/people/budi/remove",
                 "/console/password"):
        resp = dewi.post(path, data={"name": "x2", "role": "agent", "csrf_token": "wrong",
                                     "current_password": PASSWORDS["dewi"], "new_password": "0123456789abc",
                                     "confirm_password": "0123456789abc"})
        assert resp.status_code == 400
    assert agent_row(console, "x2") is None and agent_row(console, "budi") is not None


def test_bad_names_refused(console):
    dewi = console.client("dewi")
    for name in ("", "a b", "<script>", "x" * 41):
        resp = post(dewi, "/console/people/add", name=name, role="agent")
        assert resp.status_code == 400 and 'id="people-error"' in resp.text and "generated-password" not in resp.text
    dup = post(dewi, "/console/people/add", name="sari", role="agent")
    assert dup.status_code == 409 and "sudah ada" in dup.text
    assert post(dewi, "/console/people/add", name="zz", role="boss").status_code == 400


def test_generated_password_never_in_logs_events_or_cookie(console, caplog):
    caplog.set_level(logging.DEBUG)
    dewi = console.client("dewi")
    added = add(console, dewi)
    reset = shown_password(post(dewi, "/console/people/rina/reset").text)
    rina = console.app.test_client()
    assert login(rina, "rina", reset).status_code == 303
    change(rina, reset, "rina-sandi-sendiri")
    db = console.db()
    dump = "\n".join(db.iterdump())
    for secret in (added, reset, "rina-sandi-sendiri"):
        assert secret not in caplog.text
        assert secret not in dump
        for cookie in list(dewi._cookies.values()) + list(rina._cookies.values()):  # type: ignore[attr-defined]
            assert secret not in cookie.value
    kinds = [r[0] for r in db.execute("SELECT kind FROM events WHERE kind LIKE 'agent.%' ORDER BY id")]
    assert kinds[-3:] == ["agent.added", "agent.password_reset", "agent.password_changed"]


def test_people_events_have_labels_on_the_events_page(console):
    dewi = console.client("dewi")
    add(console, dewi)
    post(dewi, "/console/people/rina/reset")
    post(dewi, "/console/people/rina/role", role="supervisor")
    post(dewi, "/console/people/rina/remove")
    page = dewi.get("/console/events")
    for text in ("Petugas ditambahkan", "Kata sandi petugas diatur ulang", "Peran petugas diubah", "Petugas dihapus",
                 "petugas: rina", "sesi diakhiri: 0"):
        assert text in page.text
    for raw in ("agent.password_reset", "agent.role_changed"):
        assert f"<td>{raw}</td>" not in page.text


def test_guessing_the_current_password_is_slowed_like_login(console):
    sari = console.client("sari")
    for i in range(5):
        assert change(sari, f"tebakan-{i}", "sandi-baru-sari-1").status_code == 400
    slowed = change(sari, PASSWORDS["sari"], "sandi-baru-sari-1")  # even the right one must wait now
    assert slowed.status_code == 429 and "Terlalu banyak percobaan" in slowed.text and slowed.headers["Retry-After"]
    console.clock.at = console.clock.at + timedelta(minutes=2)
    assert change(sari, PASSWORDS["sari"], "sandi-baru-sari-1").status_code == 303


def test_operator_passwd_clears_the_forced_change(console):
    dewi = console.client("dewi")
    post(dewi, "/console/people/sari/reset")
    assert agent_row(console, "sari")[1] == 1
    queue.set_password(console.store, console.clock(), "sari",
                       generate_password_hash("dipilih-operator", method="pbkdf2:sha256:1000"))
    assert agent_row(console, "sari")[1] == 0  # `agent passwd --password-stdin`: the operator chose it
    sari = console.app.test_client()
    assert login(sari, "sari", "dipilih-operator").status_code == 303 and sari.get("/console").status_code == 200
