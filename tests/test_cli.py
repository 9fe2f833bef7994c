"""The command line of INTERFACE.md, run as a real subprocess."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

OWN_SET = REPO / "tests" / "data" / "intents_own_holdout6.tsv"

BIN = [sys.executable, "-m", "bot.cli"]


def run(args, stdin="", env=None, cwd=None, user=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    cmd = BIN + args
    if user == "no-dac":
        # Root ignores file modes; without these capabilities it obeys them like any user.
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"] + cmd
    return subprocess.run(cmd, input=stdin.encode() if isinstance(stdin, str) else stdin, capture_output=True,
                          env=full_env, cwd=cwd or REPO, timeout=60)


@pytest.fixture
def db_env(tmp_path):
    return {"YESSINDO_DATABASE": str(tmp_path / "cli.db")}


def test_hours_json():
    p = run(["hours", "--at", "2026-11-29T21:30:00+07:00"])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"at": "2026-11-29T21:30:00+07:00", "open": False,
                                     "next_open": "2026-11-30T08:00:00+07:00", "holiday": None}
    p = run(["hours", "--at", "2026-08-17T10:00:00+07:00"])
    data = json.loads(p.stdout)
    assert data["open"] is True and data["closes_at"] == "2026-08-17T17:00:00+07:00"
    assert "Kemerdekaan" in data["holiday"]


def test_hours_bad_time_is_one_line():
    p = run(["hours", "--at", "tomorrow"])
    assert p.returncode == 2
    assert p.stderr.decode().count("\n") == 1 and "Traceback" not in p.stderr.decode()


def test_classify_lines_to_json():
    p = run(["classify"], stdin="paket sy udh dikirim blm ya\nhalo\n\n😀\n")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert len(rows) == 4
    assert rows[0]["intent"] == "order_status" and rows[0]["lang"] == "id"
    assert rows[1]["intent"] == "greeting"
    for row in rows:
        assert set(row) == {"intent", "confidence", "lang", "topic"} and 0.0 <= row["confidence"] <= 1.0


def test_classify_survives_non_utf8_input():
    p = run(["classify"], stdin=b"\xff\xfe\x00garbage\nhalo\n")
    assert p.returncode == 0
    assert len(p.stdout.decode().splitlines()) == 2


def test_eval_prints_scope_figures_topics_and_the_reliability_table():
    p = run(["eval", str(OWN_SET)])
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "accuracy" in out and "precision" in out
    assert "in scope: accuracy" in out and "wrong support category" in out
    assert "out of scope: sent to a support category" in out
    assert "topics:" in out
    assert "reliability:" in out and "confidence >= 0.80:" in out


def test_eval_missing_file():
    p = run(["eval", "/nonexistent.tsv"])
    assert p.returncode == 1 and "no such file" in p.stderr.decode()


def test_chat_reads_lines_and_answers_each_with_blank_line(db_env):
    lines = ["halo kak", "2", "INV-20261102-0042 belum sampai", "makasih"]
    p = run(["chat", "--at", "2026-11-24T10:00:00+07:00"], stdin="\n".join(lines) + "\n", env=db_env)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert out.endswith("\n\n")
    replies = out[:-2].split("\n\n")  # each reply, then one empty line
    assert len(replies) == len(lines) and all(r.strip() for r in replies)
    assert "1. Produk" in replies[0] and "Status pesanan" in replies[1]
    assert "1. Produk" in out and "YS-000001" in out and "Sama-sama" in out


def test_chat_email_channel_and_queue_list_json(db_env):
    p = run(["chat", "--channel", "email", "--from", "budi@example.com", "--at", "2026-11-24T10:00:00+07:00"],
            stdin="Saya mau retur barang, ukurannya kekecilan\n", env=db_env)
    assert p.returncode == 0, p.stderr
    p = run(["queue", "list", "--json"], env=db_env)
    assert p.returncode == 0, p.stderr
    [t] = json.loads(p.stdout)
    for key in ("ref", "channel", "customer", "intent", "priority", "status", "agent", "due_at", "created_at"):
        assert key in t
    assert (t["channel"], t["customer"], t["intent"], t["priority"], t["status"]) == (
        "email", "budi@example.com", "return_refund", "complex", "open")
    assert t["due_at"] == "2026-11-26T10:00:00+07:00"
    p = run(["queue", "list", "--json", "--status", "resolved"], env=db_env)
    assert json.loads(p.stdout) == []


def test_chat_answers_bad_input_without_traceback(db_env):
    junk = b"\n   \n\xf0\x9f\x98\x80\xf0\x9f\x98\x80\n\xff\xfe\x00\x01\n" + b"a" * 100_000 + b"\n"
    p = run(["chat"], stdin=junk, env=db_env)
    assert p.returncode == 0, p.stderr
    assert b"Traceback" not in p.stderr


def test_bad_config_exits_2_with_one_line(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[email]\nimap_port = "abc"\n')
    p = run(["hours", "--config", str(cfg)])
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.count("\n") == 1
    assert str(cfg) in err and "email.imap_port" in err
    p = run(["chat"], env={"YESSINDO_CONFIG": str(cfg)})
    assert p.returncode == 2 and "email.imap_port" in p.stderr.decode()


def test_read_only_database_is_refused_clearly():
    """A database file the bot may not write: one clear line, exit 1, nothing half-done."""
    work = Path(tempfile.mkdtemp(prefix="yessindo-ro-"))
    try:
        db = work / "ro.db"
        assert run(["init-db"], env={"YESSINDO_DATABASE": str(db)}).returncode == 0
        os.chmod(work, 0o755)
        os.chmod(db, 0o444)
        user = "no-dac" if os.geteuid() == 0 else None
        p = run(["chat"], stdin="paket saya belum sampai\n", env={"YESSINDO_DATABASE": str(db)}, user=user,
                cwd=str(work))
        err = p.stderr.decode()
        assert p.returncode == 1, (p.stdout, err)
        assert "read-only" in err and "Traceback" not in err
        assert b"YS-" not in p.stdout  # no promise of a ticket that was never stored
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_forget_deletes_one_customer_only(db_env):
    at = ["--at", "2026-11-24T10:00:00+07:00"]
    run(["chat", "--from", "+6281234567890", *at], stdin="paket saya INV-20261102-0042 belum sampai\n", env=db_env)
    run(["chat", "--from", "+6289999999999", *at], stdin="barang rusak minta refund\n", env=db_env)
    p = run(["forget", "0812-3456-7890"], env=db_env)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "+6281234567890" in out and "2 messages" in out and "1 tickets" in out and "1 conversations" in out
    left = json.loads(run(["queue", "list", "--json"], env=db_env).stdout)
    assert [t["customer"] for t in left] == ["+6289999999999"]
    import sqlite3

    conn = sqlite3.connect(db_env["YESSINDO_DATABASE"])
    dump = "\n".join(str(r) for table in ("messages", "tickets", "conversations", "events")
                     for r in conn.execute(f"SELECT * FROM {table}"))
    assert "6281234567890" not in dump and "INV-20261102-0042" not in dump
    assert conn.execute("SELECT count(*) FROM events WHERE kind = 'customer.forgotten'").fetchone()[0] == 1


def test_forget_rejects_garbage(db_env):
    p = run(["forget", "not-a-customer"], env=db_env)
    assert p.returncode == 1 and "not a phone number, email address or live-chat visitor" in p.stderr.decode()


def test_two_processes_share_the_database(db_env):
    """Two writers at once (as two server workers would be): nothing lost, refs unique."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env.update(db_env, PYTHONPATH=str(REPO))
    lines = "".join(f"paket saya INV-2026110{i % 10}-00{i:02d} belum sampai\nbarang rusak minta refund\n"
                    for i in range(40)).encode()
    procs = [subprocess.Popen(BIN + ["chat", "--from", f"+62811111111{n}"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
             for n in range(3)]
    outs = [p.communicate(lines, timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.decode().count("\n\n") == 80
    import sqlite3

    conn = sqlite3.connect(db_env["YESSINDO_DATABASE"])
    assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 3 * 80 * 2
    refs = [r[0] for r in conn.execute("SELECT ref FROM tickets")]
    assert len(refs) == len(set(refs)) == 3


def test_train_reports_the_model_and_where_it_is_kept():
    p = run(["train"])
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "training messages" in out and "33 topics" in out and "cached in" in out


def test_chat_email_reads_one_whole_mail_per_message(db_env):
    """With --channel email a mail spans lines, blank ones included, up to a line holding
    only "."; a first line "Subject: ..." is its subject."""
    mails = ("Subject: Refund pesanan INV-20261120-0042\nDengan hormat,\n\nSaya ingin menanyakan refund untuk\n"
             "pesanan INV-20261120-0042 yang dibatalkan.\n\nTerima kasih,\nRina\n.\n"
             "Subject: Re: Refund pesanan INV-20261120-0042\nTerima kasih kak, refundnya sudah masuk.\n\nSalam,\nRina\n")
    p = run(["chat", "--channel", "email", "--from", "rina@example.com", "--at", "2026-11-24T10:00:00+07:00"],
            stdin=mails, env=db_env)
    assert p.returncode == 0, p.stderr
    replies = p.stdout.decode()[:-2].split("\n\n")
    assert len(replies) == 2, replies
    assert "refund" in replies[0].lower() and "YS-000001" in replies[0]
    assert "Sama-sama" in replies[1] and "YS-000002" not in replies[1]
    listed = json.loads(run(["queue", "list", "--json"], env=db_env).stdout)
    assert [t["ref"] for t in listed] == ["YS-000001"] and listed[0]["topic"] == "refund_status"


@pytest.mark.parametrize("argv,expected", [
    (["--config", "a.toml", "serve"], "a.toml"),
    (["serve", "--config", "b.toml"], "b.toml"),
    (["--config", "a.toml", "agent", "list"], "a.toml"),
    (["serve"], None),
])
def test_config_is_read_before_or_after_the_command(argv, expected):
    """`yessindo-bot --config X serve` used to drop X (the subcommand's default overwrote it)."""
    from bot.cli import _parser

    assert _parser().parse_args(argv).config == expected
