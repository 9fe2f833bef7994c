"""Agents working the queue from the command line: claim, reply, release, resolve."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.test_cli import BIN, REPO, run

# Tickets are made "now": agent replies check WhatsApp's 24-hour window against the real clock.
AT = ["--at", datetime.now(ZoneInfo("Asia/Jakarta")).isoformat(timespec="seconds")]


@pytest.fixture
def env(tmp_path):
    e = {"YESSINDO_DATABASE": str(tmp_path / "q.db")}
    assert run(["agent", "add", "sari", "--role", "agent", "--password-stdin"], stdin="rahasia-sari\n", env=e).returncode == 0
    assert run(["agent", "add", "budi", "--role", "agent", "--password-stdin"], stdin="rahasia-budi\n", env=e).returncode == 0
    assert run(["agent", "add", "dewi", "--role", "supervisor", "--password-stdin"], stdin="rahasia-dewi\n",
               env=e).returncode == 0
    return e


def ticket(env, text, sender="+6281234567890", channel="whatsapp"):
    run(["chat", "--channel", channel, "--from", sender, *AT], stdin=text + "\n", env=env)
    return json.loads(run(["queue", "list", "--json"], env=env).stdout)[-1]["ref"]


def db(env):
    return sqlite3.connect(env["YESSINDO_DATABASE"])


def test_agent_password_is_hashed_and_short_ones_refused(env):
    [(h,)] = db(env).execute("SELECT password_hash FROM agents WHERE name = 'sari'").fetchall()
    assert "rahasia-sari" not in h and h.startswith(("scrypt:", "pbkdf2:"))
    p = run(["agent", "add", "x", "--role", "agent", "--password-stdin"], stdin="short\n", env=env)
    assert p.returncode == 1 and "8 characters" in p.stderr.decode()
    p = run(["agent", "add", "sari", "--role", "agent", "--password-stdin"], stdin="another-pass\n", env=env)
    assert p.returncode == 1 and "already exists" in p.stderr.decode()


def test_claim_silences_bot_reply_queues_release_and_resolve(env):
    ref = ticket(env, "paket saya belum sampai")
    assert run(["queue", "claim", ref, "--agent", "sari"], env=env).returncode == 0
    p = run(["queue", "claim", ref, "--agent", "budi"], env=env)
    assert p.returncode == 1 and "held by sari" in p.stderr.decode()
    # The customer writes again: recorded, no bot answer.
    p = run(["chat", "--from", "+6281234567890", *AT], stdin="halo? ada orang?\n", env=env)
    assert p.stdout.decode().strip() == ""
    p = run(["queue", "reply", ref, "--agent", "sari", "--text", "Halo Kak, saya Sari, sedang saya cek."], env=env)
    assert p.returncode == 0, p.stderr
    [(channel, body, status)] = db(env).execute("SELECT channel, body, status FROM outbox").fetchall()
    assert (channel, body, status) == ("whatsapp", "Halo Kak, saya Sari, sedang saya cek.", "pending")
    p = run(["queue", "reply", ref, "--agent", "budi", "--text", "x"], env=env)
    assert p.returncode == 1 and "held by sari" in p.stderr.decode()
    assert run(["queue", "release", ref, "--agent", "sari"], env=env).returncode == 0
    [t] = json.loads(run(["queue", "list", "--json", "--status", "open"], env=env).stdout)
    assert t["agent"] is None
    assert run(["queue", "claim", ref, "--agent", "budi"], env=env).returncode == 0
    assert run(["queue", "resolve", ref, "--agent", "budi", "--note", "terkirim"], env=env).returncode == 0
    assert json.loads(run(["queue", "list", "--json", "--status", "resolved"], env=env).stdout)[0]["ref"] == ref
    kinds = [r[0] for r in db(env).execute("SELECT kind FROM events ORDER BY id")]
    for kind in ("ticket.claimed", "agent.replied", "ticket.released", "ticket.resolved"):
        assert kind in kinds


def test_escalation_is_a_supervisors_and_needs_a_written_result(env):
    ref = ticket(env, "saya tidak puas, minta eskalasi ke supervisor", sender="budi@example.com", channel="email")
    p = run(["queue", "claim", ref, "--agent", "sari"], env=env)
    assert p.returncode == 1 and "supervisor" in p.stderr.decode()
    assert run(["queue", "claim", ref, "--agent", "dewi"], env=env).returncode == 0
    p = run(["queue", "resolve", ref, "--agent", "dewi"], env=env)
    assert p.returncode == 1 and "written result" in p.stderr.decode()
    p = run(["queue", "resolve", ref, "--agent", "dewi", "--note", "Dana Kakak kami kembalikan penuh hari ini."],
            env=env)
    assert p.returncode == 0, p.stderr
    # The written result, then the one satisfaction question, both by email in the thread.
    (result, question) = db(env).execute("SELECT channel, customer, body FROM outbox ORDER BY id").fetchall()
    assert result[:2] == ("email", "budi@example.com") and "kembalikan penuh" in result[2]
    assert question[:2] == result[:2] and ref in question[2] and "1" in question[2] and "5" in question[2]
    for subject, auto in db(env).execute("SELECT subject, auto FROM email_outbound").fetchall():
        assert subject.startswith("Re: ") and f"[{ref}]" in subject and auto == 0


def test_unknown_ticket_or_agent(env):
    assert "no ticket" in run(["queue", "claim", "YS-999999", "--agent", "sari"], env=env).stderr.decode()
    ref = ticket(env, "paket saya belum sampai")
    assert "no agent" in run(["queue", "claim", ref, "--agent", "nobody"], env=env).stderr.decode()


def test_concurrent_claims_from_two_processes_one_wins(env):
    ref = ticket(env, "paket saya belum sampai")
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    full_env.update(env, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen(BIN + ["queue", "claim", ref, "--agent", a], env=full_env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for a in ("sari", "budi")]
    results = [(p.wait(timeout=60), p.stderr.read().decode()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1]
    loser_err = next(err for code, err in results if code == 1)
    [(holder,)] = db(env).execute("SELECT agent FROM tickets WHERE ref = ?", (ref,)).fetchall()
    assert f"held by {holder}" in loser_err


def test_agent_list_passwd_and_remove_releases_held_tickets(env):
    ref = ticket(env, "status pesanan INV-20261101-0009 gimana")
    assert run(["queue", "claim", ref, "--agent", "sari"], env=env).returncode == 0
    assert run(["agent", "list"], env=env).stdout.decode().split() == ["budi", "agent", "dewi", "supervisor",
                                                                       "sari", "agent"]
    (old,), = db(env).execute("SELECT password_hash FROM agents WHERE name = 'sari'").fetchall()
    assert run(["agent", "passwd", "sari", "--password-stdin"], stdin="baru-rahasia-1\n", env=env).returncode == 0
    (new,), = db(env).execute("SELECT password_hash FROM agents WHERE name = 'sari'").fetchall()
    assert new != old and "baru-rahasia-1" not in new
    p = run(["agent", "remove", "sari"], env=env)
    assert p.returncode == 0 and "1 ticket(s) back" in p.stdout.decode()
    [t] = json.loads(run(["queue", "list", "--json", "--status", "open"], env=env).stdout)
    assert t["ref"] == ref and t["agent"] is None
    assert run(["agent", "remove", "sari"], env=env).returncode == 1


def test_serve_hint_makes_a_first_supervisor_only_on_a_try_out_setup(tmp_path):
    from bot.serve import console_login_hint
    from bot.config import settings_from_mapping
    from handoff import queue
    from handoff.store import Store

    import contextlib
    import io

    dev = settings_from_mapping({"storage": {"database": str(tmp_path / "dev.db")}})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        console_login_hint(dev, "127.0.0.1", 5000)
    text = out.getvalue()
    # stdout is no terminal here: the password is in a 0600 file beside the database (bot/first_login.py).
    assert "http://127.0.0.1:5000/console" in text and "name: admin  password: in " in text
    password = (tmp_path / "dev.db.admin-password").read_text().strip()
    assert password not in text
    from werkzeug.security import check_password_hash

    store = Store(dev.database)
    [(h,)] = store.conn.execute("SELECT password_hash FROM agents WHERE name = 'admin'").fetchall()
    assert check_password_hash(h, password) and queue.get_agent(store, "admin").role == "supervisor"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        console_login_hint(dev, "127.0.0.1", 5000)
    assert "password" not in out.getvalue().split("agent list")[0].replace("name and password", "")
    prod = settings_from_mapping({"storage": {"database": str(tmp_path / "prod.db")}, "dev": {"simulator": False}})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        console_login_hint(prod, "127.0.0.1", 5000)
    assert "No agent yet" in out.getvalue() and not queue.list_agents(Store(prod.database))


def test_purge_deletes_idle_conversations_and_keeps_open_tickets(env):
    old_at = ["--at", "2025-01-06T10:00:00+07:00"]
    run(["chat", "--from", "+6281200000001", *old_at], stdin="makasih kak\n", env=env)  # no ticket
    run(["chat", "--from", "+6281200000002", *old_at], stdin="paket saya belum sampai\n", env=env)  # open ticket
    run(["chat", "--from", "+6281200000003", *AT], stdin="makasih kak\n", env=env)  # recent
    p = run(["purge"], env=env)
    assert p.returncode == 2 and "retention" in p.stderr.decode()
    p = run(["purge", "--older-than", "30"], env=env)
    assert p.returncode == 0, p.stderr
    assert "1 conversations" in p.stdout.decode()
    left = {c for (c,) in db(env).execute("SELECT customer FROM conversations")}
    assert left == {"+6281200000002", "+6281200000003"}


def test_events_show_who_did_what(env):
    ref = ticket(env, "paket saya belum sampai")
    assert run(["queue", "claim", ref, "--agent", "sari"], env=env).returncode == 0
    assert run(["queue", "release", ref, "--agent", "sari"], env=env).returncode == 0
    lines = run(["events", "--ticket", ref.lower()], env=env).stdout.decode().splitlines()
    kinds = [line.split()[2] for line in lines]
    assert kinds[:1] == ["ticket.created"] and kinds[-2:] == ["ticket.claimed", "ticket.released"]
    assert all(line.split()[1] == "sari" for line in lines[-2:])
    [last] = [json.loads(x) for x in run(["events", "--actor", "sari", "--limit", "1", "--json"],
                                         env=env).stdout.decode().splitlines()]
    assert last["kind"] == "ticket.released" and last["ticket"] == ref and last["at"].endswith("+07:00")
    assert run(["events", "--since", "2099-01-01T00:00:00+07:00"], env=env).stdout == b""


def test_supervisor_takes_over_a_ticket_an_agent_left(env):
    ref = ticket(env, "paket saya belum sampai")
    assert run(["queue", "claim", ref, "--agent", "sari"], env=env).returncode == 0
    p = run(["queue", "claim", ref, "--agent", "budi", "--take-over"], env=env)
    assert p.returncode == 1 and "only a supervisor" in p.stderr.decode()
    p = run(["queue", "claim", ref, "--agent", "dewi"], env=env)
    assert p.returncode == 1 and "held by sari" in p.stderr.decode()  # never by accident
    assert run(["queue", "claim", ref, "--agent", "dewi", "--take-over"], env=env).returncode == 0
    [t] = json.loads(run(["queue", "list", "--json", "--status", "claimed"], env=env).stdout)
    assert t["agent"] == "dewi"
    assert run(["queue", "reply", ref, "--agent", "sari", "--text", "halo"], env=env).returncode == 1
    [e] = [json.loads(x) for x in run(["events", "--kind", "ticket.taken_over", "--json"], env=env).stdout.splitlines()]
    assert e["actor"] == "dewi" and e["data"] == {"from": "sari"}
