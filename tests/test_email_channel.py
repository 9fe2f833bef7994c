"""The email channel against a real Dovecot (IMAP) and a real aiosmtpd (SMTP) on 127.0.0.1."""
from __future__ import annotations

import json
import re

import smtplib

from tests.mail_servers import dovecot, smtp_server  # noqa: F401  (fixtures)
from tests.mail_servers import customer_mail as mail, write_config


def test_servers_dovecot_appends_unread_and_smtp_records(dovecot, smtp_server):  # noqa: F811
    dovecot.append(b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nhello\r\n")
    flags = dovecot.flags()
    assert len(flags) == 1 and b"\\Seen" not in next(iter(flags.values()))
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nbody\r\n")
    smtp_server.stop()
    smtp_server.start()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as s:
        s.sendmail("a@example.com", ["b@example.com"], b"Subject: t2\r\n\r\nbody\r\n")
    assert [r.message["Subject"] for r in smtp_server.received] == ["t", "t2"]


# -- the channel ---------------------------------------------------------------------------------
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from bot.config import settings_from_mapping  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEEN = b"\\Seen"



@pytest.fixture
def config(tmp_path, dovecot, smtp_server):  # noqa: F811
    return write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table()})


@pytest.fixture
def settings_(config):
    import tomllib

    return settings_from_mapping(tomllib.loads(config.read_text()), str(config))


@pytest.fixture
def intake(settings_):
    from bot.channels.email_intake import build_intake

    it = build_intake(settings_)
    yield it
    it.store.close()


def poll_once(config: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "YESSINDO_EMAIL_CRASH_AT"}
    if crash_at:
        env["YESSINDO_EMAIL_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_plain_mail_answered_once_threaded_and_seen_after(dovecot, smtp_server, intake):  # noqa: F811
    dovecot.append(mail(1, extra="References: <older@example.com>\r\nIn-Reply-To: <older@example.com>\r\n",
                        subject="Re: RE: Paket belum sampai"))
    assert SEEN not in dovecot.flags()[1]
    summary, sent = intake.run_once()
    assert (summary.fetched, summary.answered, sent.sent) == (1, 1, 1)
    got = smtp_server.wait_for(1)
    assert len(got) == 1
    reply = got[0].message
    assert got[0].rcpt_tos == ["budi@example.com"]
    assert reply["In-Reply-To"] == "<m1@example.com>"
    assert reply["References"].split() == ["<older@example.com>", "<m1@example.com>"]
    assert reply["Subject"].startswith("Re: Paket belum sampai") and "Re: Re" not in reply["Subject"]
    ticket = intake.store.tickets()[0].ref
    assert f"[{ticket}]" in reply["Subject"] and ticket in reply.get_content()
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Message-ID"].endswith("@gmail.com>")
    assert "ptyessindo@gmail.com" in reply["From"]
    assert SEEN in dovecot.flags()[1]
    # The provider id is our Message-ID: a customer's answer to it threads back.
    assert intake.store.outbox()[0]["provider_id"] == reply["Message-ID"]
    # The answer in the transcript points at its outbox row (the console shows its delivery status).
    [answer] = [m for m in intake.store.messages(intake.store.tickets()[0].conversation_id) if m["direction"] == "out"]
    assert json.loads(answer["meta"])["outbox_id"] == intake.store.outbox()[0]["id"]
    summary, sent = intake.run_once()
    assert (summary.fetched, sent.sent) == (0, 0)
    time.sleep(0.2)
    assert len(smtp_server.received) == 1


def test_automatic_mail_recorded_not_answered(dovecot, smtp_server, intake):  # noqa: F811
    auto = mail("auto", text="Saya sedang cuti sampai 1 Desember.", sender="siti@example.com",
                subject="Balasan otomatis: Paket", extra="Auto-Submitted: auto-replied\r\n")
    bounce = (b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\r\nTo: ptyessindo@gmail.com\r\n"
              b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@mx.example.net>\r\n"
              b"Return-Path: <>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
              b"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
              b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
              b"Final-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n")
    listmail = mail("list", text="Promo minggu ini: diskon 50%", sender="news@list.example.org",
                    subject="Promo", extra="List-Id: <promo.list.example.org>\r\nPrecedence: list\r\n"
                                           "List-Unsubscribe: <mailto:unsub@list.example.org>\r\n")
    dovecot.append(auto, bounce, listmail, mail(2))
    summary, sent = intake.run_once()
    assert summary.fetched == 4 and summary.answered == 1 and summary.recorded == 3
    got = smtp_server.wait_for(1)
    time.sleep(0.2)
    assert [r.rcpt_tos for r in smtp_server.received] == [["budi@example.com"]]
    recorded = {r[0] for r in intake.store.conn.execute(
        "SELECT external_id FROM messages WHERE direction = 'in'")}
    assert {"<mauto@example.com>", "<bounce1@mx.example.net>", "<mlist@example.com>", "<m2@example.com>"} <= recorded
    assert all(SEEN in f for f in dovecot.flags().values())
    assert got


def test_mail_held_back_by_the_hourly_limit_says_why(dovecot, smtp_server, intake):  # noqa: F811
    """Over the automatic answers allowed per sender per hour, the mail is recorded with
    the reason (the rate limit), not a bare "ignored" an agent cannot act on."""
    texts = ["paket saya belum sampai", "bisa COD?", "stok kemeja batik ada?", "cara ganti password?",
             "mau tukar ukuran", "refund kapan masuk?", "jam buka toko?", "ada promo?"]
    dovecot.append(*(mail(f"rl{i}", text=t, sender="rina@example.com") for i, t in enumerate(texts)))
    summary, _ = intake.run_once()
    assert summary.fetched == len(texts)
    rows = intake.store.conn.execute("SELECT status, reason FROM email_inbox ORDER BY uid").fetchall()
    held = [r for r in rows if r[0] != "answered"]
    assert held and summary.answered == len(texts) - len(held)
    assert all(r[1].startswith("rate limit:") for r in held), held
    assert any(k.startswith("rate limit:") for k in summary.reasons)


def test_malformed_mail_does_not_block_the_next(dovecot, smtp_server, intake):  # noqa: F811
    garbage = b"\x00\xff\xfe garbage \x00 no headers at all\r\n\x89PNG\r\n\x1a\n" * 3
    dovecot.append(garbage, mail(3, sender="ani@example.com"), mail(4, sender="rina@example.com"))
    summary, sent = intake.run_once()
    assert summary.fetched == 3 and summary.answered == 2 and summary.failed == 0
    smtp_server.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["ani@example.com", "rina@example.com"]
    assert all(SEEN in f for f in dovecot.flags().values())
    rows = intake.store.conn.execute("SELECT status FROM email_inbox ORDER BY uid").fetchall()
    assert [r[0] for r in rows][0] in ("unparseable", "recorded")


def test_poll_email_once_twice_answers_nothing_twice(dovecot, smtp_server, config):  # noqa: F811
    dovecot.append(mail(5), mail(6, sender="ani@example.com"))
    first = poll_once(config)
    assert first.returncode == 0, first.stderr
    smtp_server.wait_for(2)
    dovecot.append(mail(7, sender="rina@example.com"))
    second = poll_once(config)
    assert second.returncode == 0, second.stderr
    smtp_server.wait_for(3)
    third = poll_once(config)
    assert third.returncode == 0, third.stderr
    time.sleep(0.2)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == \
        ["ani@example.com", "budi@example.com", "rina@example.com"]


@pytest.mark.parametrize("crash_at", ["after_fetch", "after_record", "after_enqueue", "after_seen"])
def test_killed_between_steps_then_rerun_answers_exactly_once(dovecot, smtp_server, config, crash_at):  # noqa: F811
    dovecot.append(mail(8), mail(9, sender="ani@example.com"))
    killed = poll_once(config, crash_at)
    assert killed.returncode == -9, killed.stderr
    if crash_at in ("after_fetch", "after_record", "after_enqueue"):
        assert all(SEEN not in f for f in dovecot.flags().values())  # nothing read before it is handled
    assert smtp_server.received == []
    rerun = poll_once(config)
    assert rerun.returncode == 0, rerun.stderr
    smtp_server.wait_for(2)
    again = poll_once(config)
    assert again.returncode == 0, again.stderr
    time.sleep(0.2)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["ani@example.com", "budi@example.com"]
    assert all(SEEN in f for f in dovecot.flags().values())


def test_uidvalidity_change_rescans_without_answering_twice(dovecot, smtp_server, intake):  # noqa: F811
    dovecot.append(mail(10))
    intake.run_once()
    smtp_server.wait_for(1)
    with intake.store.write(datetime.now(timezone.utc)) as tx:
        tx.conn.execute("UPDATE email_checkpoint SET uidvalidity = 1, last_uid = 99")
        tx.conn.execute("UPDATE email_uid_state SET uidvalidity = 1")  # as if every UID had been renumbered
    c = dovecot.client()
    c.select_folder("INBOX")
    c.remove_flags(c.search(["ALL"]), [SEEN])
    c.logout()
    summary, sent = intake.run_once()
    # Known by its Message-ID from the envelope: not even fetched again.
    assert summary.uidvalidity_changed and summary.duplicates == 1 and summary.fetched == 0
    assert summary.answered == 0
    time.sleep(0.2)
    assert len(smtp_server.received) == 1


def test_smtp_down_then_back_reply_delivered_after_retry(dovecot, smtp_server, intake):  # noqa: F811
    from bot.channels.email_smtp import EmailSender
    from handoff.outbox import deliver_due

    smtp_server.stop()
    dovecot.append(mail(11))
    summary, sent = intake.run_once()
    assert summary.answered == 1 and sent.retried == 1 and sent.sent == 0
    row = intake.store.outbox()[0]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert SEEN in dovecot.flags()[1]  # recorded and queued: the outbox owns it now
    smtp_server.start()
    sender = EmailSender(intake.email, intake.store)
    try:
        later = datetime.now(timezone.utc) + timedelta(minutes=5)
        done = deliver_due(intake.store, sender, later, channel="email")
    finally:
        sender.close()
    assert done.sent == 1
    got = smtp_server.wait_for(1)
    assert len(got) == 1 and got[0].message["Message-ID"] == intake.store.outbox()[0]["provider_id"]


def test_recipient_refused_5xx_is_permanent(dovecot, smtp_server, intake):  # noqa: F811
    smtp_server.handler.reject_rcpt = True
    dovecot.append(mail(12))
    summary, sent = intake.run_once()
    assert sent.failed == 1
    row = intake.store.outbox()[0]
    assert row["status"] == "failed" and row["error_code"] == "550"


def test_idle_picks_up_a_mail_appended_while_waiting(dovecot, smtp_server, intake):  # noqa: F811
    stop = threading.Event()
    batches = []
    # The intake's store connection belongs to this thread: give the loop its own intake.
    from bot.channels.email_intake import build_intake

    loop = build_intake(intake.settings)
    t = threading.Thread(target=loop.run_forever,
                         kwargs={"stop": stop, "idle_seconds": 20, "on_batch": batches.append}, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not batches and time.monotonic() < deadline:
        time.sleep(0.02)
    assert batches, "the loop did not start"
    time.sleep(0.3)  # now in IDLE
    appended = time.monotonic()
    dovecot.append(mail(13))
    got = smtp_server.wait_for(1, timeout=10)
    latency = time.monotonic() - appended
    stop.set()
    assert len(got) == 1
    assert latency < 5, latency  # far inside the 20 s IDLE: the server's push woke it
    dovecot.append(mail(14, sender="ani@example.com"))  # wakes the IDLE so the loop sees `stop`
    t.join(timeout=30)
    assert not t.is_alive()
    loop.store.close()


def _run_loop(settings, batches, idle_seconds=20.0):
    from bot.channels.email_intake import build_intake

    stop = threading.Event()
    loop = build_intake(settings)
    t = threading.Thread(target=loop.run_forever,
                         kwargs={"stop": stop, "idle_seconds": idle_seconds, "on_batch": batches.append},
                         daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not batches and time.monotonic() < deadline:
        time.sleep(0.02)
    assert batches, "the loop did not start"
    return loop, stop, t


def test_idle_loop_reconnects_after_the_server_restarts(dovecot, smtp_server, intake):  # noqa: F811
    batches: list = []
    loop, stop, t = _run_loop(intake.settings, batches)
    time.sleep(0.3)
    dovecot.restart(down_for=0.5)  # the IDLE connection drops; the loop reconnects with backoff
    dovecot.append(mail(20))
    got = smtp_server.wait_for(1, timeout=20)
    stop.set()
    assert len(got) == 1 and got[0].rcpt_tos == ["budi@example.com"]
    dovecot.append(mail(21, sender="ani@example.com"))
    t.join(timeout=30)
    assert not t.is_alive()
    loop.store.close()
    assert len(smtp_server.wait_for(2, timeout=2)) <= 2


def test_polling_without_idle_finds_new_mail(dovecot, smtp_server, intake):  # noqa: F811
    from bot.channels import email_imap

    client = email_imap.connect(intake.email)
    try:
        intake.process_folder(client)
        dovecot.append(mail(22))
        started = time.monotonic()
        assert email_imap.wait_for_mail(client, 0.3, poll=True)
        assert time.monotonic() - started >= 0.3
        summary = intake.process_folder(client)
    finally:
        client.logout()
    assert summary.answered == 1
    assert intake.deliver().sent == 1


REAL_MAIL = {
    "html_only": ("Content-Type: text/html; charset=utf-8\r\n",
                  "<html><body><p>Halo kak,</p><p>paket saya <b>belum sampai</b></p></body></html>", "belum sampai"),
    "latin1": ("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n",
               "Bonjour, ma commande n'est pas arrivée", "arrivée"),
    "base64": ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
               "SGFsbyBrYWssIHBha2V0IHNheWEgYmVsdW0gc2FtcGFp", "paket saya belum sampai"),
    "quoted_id": ("Content-Type: text/plain; charset=utf-8\r\n",
                  "Paketnya belum sampai juga kak\r\n\r\nPada Sen, 23 Nov 2026 pukul 10.00 Yessindo "
                  "<ptyessindo@gmail.com> menulis:\r\n> Halo Kak, pesanan sedang dikirim\r\n", "belum sampai juga"),
}


@pytest.mark.parametrize("kind", sorted(REAL_MAIL))
def test_real_world_mail_answered_with_the_new_text(dovecot, smtp_server, intake, kind):  # noqa: F811
    headers, body, expect = REAL_MAIL[kind]
    raw = (f"From: Budi <budi@example.com>\r\nTo: ptyessindo@gmail.com\r\nSubject: Pesanan\r\n"
           f"Message-ID: <{kind}@example.com>\r\nMIME-Version: 1.0\r\n{headers}\r\n").encode() \
        + body.encode("latin-1" if kind == "latin1" else "utf-8") + b"\r\n"
    dovecot.append(raw)
    summary, sent = intake.run_once()
    assert summary.answered == 1 and sent.sent == 1
    stored = intake.store.conn.execute("SELECT text FROM messages WHERE direction = 'in'").fetchone()[0]
    assert expect in stored
    assert "menulis:" not in stored and "<b>" not in stored
    assert len(smtp_server.wait_for(1)) == 1


def test_customer_answer_to_our_reply_threads_into_the_same_ticket(dovecot, smtp_server, intake):  # noqa: F811
    dovecot.append(mail(30))
    intake.run_once()
    first = smtp_server.wait_for(1)[0].message
    ours = first["Message-ID"]
    dovecot.append(mail(31, text="Nomor resinya berapa kak? Sudah 5 hari belum sampai", subject=first["Subject"],
                        extra=f"In-Reply-To: {ours}\r\nReferences: <m30@example.com> {ours}\r\n"))
    intake.run_once()
    second = smtp_server.wait_for(2)[1].message
    assert second["In-Reply-To"] == "<m31@example.com>"
    assert second["References"].split() == ["<m30@example.com>", ours, "<m31@example.com>"]
    assert second["Subject"] == first["Subject"] and second["Subject"].count("Re:") == 1
    convs = {r[0] for r in intake.store.conn.execute("SELECT conversation_id FROM messages")}
    assert len(convs) == 1 and len(intake.store.tickets()) == 1


def test_crash_after_smtp_accepted_is_reconciled_not_sent_twice(dovecot, smtp_server, intake, monkeypatch):  # noqa: F811
    import handoff.outbox as outbox
    from bot.channels.email_smtp import EmailSender

    dovecot.append(mail(32))
    smtp_server.stop()
    intake.run_once()  # queued; SMTP down
    smtp_server.start()
    real = outbox._record_sent

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the SMTP server said 250")

    monkeypatch.setattr(outbox, "_record_sent", killed)
    sender = EmailSender(intake.email, intake.store)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver_due(intake.store, sender, datetime.now(timezone.utc) + timedelta(minutes=5), channel="email")
    assert len(smtp_server.wait_for(1)) == 1
    assert intake.store.outbox()[0]["status"] == "sending"
    monkeypatch.setattr(outbox, "_record_sent", real)
    done = outbox.deliver_due(intake.store, sender, datetime.now(timezone.utc) + timedelta(minutes=10),
                              channel="email")
    sender.close()
    assert done.reconciled == 1 and done.sent == 0
    time.sleep(0.2)
    assert len(smtp_server.received) == 1
    assert intake.store.outbox()[0]["status"] == "sent"


def test_poll_email_wrong_password_one_line_exit_1(dovecot, smtp_server, config):  # noqa: F811
    env = {**os.environ, "YESSINDO_EMAIL_PASSWORD": "salah"}
    r = subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "poll-email" in r.stderr and "Traceback" not in r.stderr


def test_attachment_bytes_are_kept_for_the_console_and_forgotten_with_the_customer(dovecot, smtp_server, intake):  # noqa: F811
    from email.message import EmailMessage

    receipt = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    msg = EmailMessage()
    msg["From"] = "Budi <budi@example.com>"
    msg["To"] = "ptyessindo@gmail.com"
    msg["Subject"] = "Bukti transfer"
    msg["Message-ID"] = "<att-1@example.com>"
    msg.set_content("Kak, saya sudah transfer, ini buktinya. Pesanan INV-20261101-0007")
    msg.add_attachment(receipt, maintype="image", subtype="png", filename="bukti transfer.png")
    dovecot.append(msg.as_bytes())
    summary, sent = intake.run_once()
    assert summary.answered == 1
    [inbound] = [m for m in intake.store.messages(intake.store.tickets()[0].conversation_id) if m["direction"] == "in"]
    [att] = json.loads(inbound["attachments"])
    assert att["filename"] == "bukti transfer.png" and "data" not in att
    from handoff import blobs

    blob = blobs.get(intake.store.conn, att["blob_id"])
    assert blob.data == receipt and blob.content_type == "image/png"
    intake.store.forget("budi@example.com", datetime.now(timezone.utc))
    assert blobs.get(intake.store.conn, att["blob_id"]) is None


# -- a mail that cannot be handled: retried once, then quarantined ------------------------------
def _uid_state(store, uid):
    return store.conn.execute("SELECT status, attempts, sender, subject, reason FROM email_uid_state "
                              "WHERE uid = ?", (uid,)).fetchone()


def test_poison_mail_between_good_ones_is_quarantined_after_two_failures(dovecot, smtp_server, intake,
                                                                          monkeypatch):  # noqa: F811
    # The parser process dies on this mail each time (as a parser blowing its memory limit would).
    monkeypatch.setenv("YESSINDO_EMAIL_CRASH_AT", "in_parse@POISON-7f3a")
    poison = mail("poison", text="isi: POISON-7f3a", sender="racun@example.com", subject="Tagihan")
    dovecot.append(mail(40), poison, mail(41, sender="ani@example.com"))
    first, _ = intake.run_once()
    assert (first.fetched, first.answered, first.failed, first.quarantined) == (3, 2, 1, 0)
    assert _uid_state(intake.store, 2)[:2] == ("failed", 1)
    assert SEEN not in dovecot.flags()[2]
    second, _ = intake.run_once()
    assert (second.fetched, second.failed, second.quarantined) == (1, 1, 1)
    status, attempts, sender, subject, reason = _uid_state(intake.store, 2)
    assert (status, attempts, sender, subject) == ("quarantined", 2, "r***@example.com", "Tagihan")
    assert "parser process died" in reason
    assert SEEN in dovecot.flags()[2]
    third, _ = intake.run_once()
    assert (third.fetched, third.failed, third.quarantined) == (0, 0, 0)  # never fetched a third time
    assert _uid_state(intake.store, 2)[:2] == ("quarantined", 2)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.wait_for(2)) == ["ani@example.com", "budi@example.com"]
    from bot.channels.email_uidstate import quarantined

    [q] = quarantined(intake.store.conn)
    assert (q.sender, q.subject) == ("r***@example.com", "Tagihan") and q.at is not None


def test_parse_over_its_time_budget_fails_that_mail_only(dovecot, smtp_server, intake, monkeypatch):  # noqa: F811
    from bot.channels.email_parse_worker import ParseWorker

    monkeypatch.setenv("YESSINDO_EMAIL_CRASH_AT", "hang_parse@SLOW-91c2")
    intake.parser = ParseWorker(seconds=1.0)
    dovecot.append(mail("slow", text="SLOW-91c2"), mail(42, sender="ani@example.com"))
    summary, sent = intake.run_once()
    assert (summary.fetched, summary.answered, summary.failed) == (2, 1, 1)
    assert "longer than" in _uid_state(intake.store, 1)[4]
    assert sent.sent == 1


def test_process_killed_twice_on_one_mail_quarantines_it(dovecot, smtp_server, config):  # noqa: F811
    dovecot.append(mail(43), mail("killer", text="KILL-55d1", sender="x@example.com", subject="Aneh"),
                   mail(44, sender="ani@example.com"))
    assert poll_once(config, "after_fetch@KILL-55d1").returncode == -9
    assert poll_once(config, "after_fetch@KILL-55d1").returncode == -9
    third = poll_once(config, "after_fetch@KILL-55d1")  # the same mail would kill it again: it is not read
    assert third.returncode == 0, third.stderr
    assert sorted(r.rcpt_tos[0] for r in smtp_server.wait_for(2)) == ["ani@example.com", "budi@example.com"]
    fourth = poll_once(config, "after_fetch@KILL-55d1")
    assert fourth.returncode == 0, fourth.stderr
    time.sleep(0.2)
    assert len(smtp_server.received) == 2
    import sqlite3

    db = sqlite3.connect(config.parent / "bot.db")
    assert db.execute("SELECT status, attempts, reason FROM email_uid_state WHERE uid = 2").fetchone() == \
        ("quarantined", 2, "the process died 2 times while handling it")
    assert SEEN in dovecot.flags()[2]


# -- outbox rows that cannot be sent never block the others --------------------------------------
UTF8_SENDER = "jdöe@mächine.example"


def _utf8_mail(n: int) -> bytes:
    return (f"From: J Doe <{UTF8_SENDER}>\r\nTo: ptyessindo@gmail.com\r\nSubject: Pesanan\r\n"
            f"Message-ID: <utf8-{n}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "\r\nHalo kak, paket saya belum sampai, nomor pesanan INV-20261101-0001\r\n").encode()


def _queue_raw(db_path, customer: str, body: str = "Halo Kak, ini jawaban kami.") -> None:
    """An outbox row as an agent's reply would leave it (no conversation needed for sending)."""
    from handoff.store import Store

    from datetime import timedelta

    from handoff.records import utc_iso

    store = Store(db_path)
    # in the store's own format (isoformat's microseconds sort after the same second without them,
    # so a row written in the very second poll-email starts was not yet due: a flaky test)
    now = utc_iso(datetime.now(timezone.utc) - timedelta(seconds=1))
    with store.write(datetime.now(timezone.utc)) as tx:
        tx.conn.execute("INSERT INTO outbox (channel, customer, kind, body, status, attempts, next_attempt_at, "
                        "created_at, updated_at) VALUES ('email', ?, 'text', ?, 'pending', 0, ?, ?, ?)",
                        (customer, body, now, now, now))
    store.close()


@pytest.fixture
def ascii_smtp():
    from tests.mail_servers import SMTPServer

    server = SMTPServer(smtputf8=False)
    server.start()
    yield server
    server.stop()


def test_unmailable_and_non_ascii_recipients_fail_alone_poll_email_goes_on(dovecot, ascii_smtp, tmp_path):  # noqa: F811
    smtp_server = ascii_smtp
    config = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table()})
    db = config.parent / "bot.db"
    _queue_raw(db, "root@localhost")
    _queue_raw(db, "Big Bug bb@bug.com")
    _queue_raw(db, "nodomain")
    dovecot.append(_utf8_mail(1), mail(50))
    first = poll_once(config)
    assert first.returncode == 0, first.stderr
    assert "jdöe" not in first.stderr + first.stdout and "UnicodeEncodeError" not in first.stderr
    assert [r.rcpt_tos for r in smtp_server.wait_for(1)] == [["budi@example.com"]]
    import sqlite3

    rows = dict(((r[0], (r[1], r[2], r[3])) for r in sqlite3.connect(db).execute(
        "SELECT customer, status, error_code, last_error FROM outbox")))
    assert rows[UTF8_SENDER][:2] == ("failed", "smtputf8")
    for bad in ("root@localhost", "Big Bug bb@bug.com", "nodomain"):
        assert rows[bad][:2] == ("failed", "address") and "cannot be mailed" in rows[bad][2]
    assert rows["budi@example.com"][0] == "sent"
    dovecot.append(mail(51, sender="ani@example.com"))
    second = poll_once(config)  # nothing is left "sending": the next run is not blocked
    assert second.returncode == 0, second.stderr
    assert sorted(r.rcpt_tos[0] for r in smtp_server.wait_for(2)) == ["ani@example.com", "budi@example.com"]


def test_non_ascii_recipient_is_sent_when_the_server_offers_smtputf8(dovecot, tmp_path):  # noqa: F811
    from bot.channels.email_intake import build_intake
    from tests.mail_servers import SMTPServer

    server = SMTPServer()  # offers SMTPUTF8
    server.start()
    try:
        import tomllib

        path = write_config(tmp_path, {**dovecot.settings_table(), **server.settings_table()})
        it = build_intake(settings_from_mapping(tomllib.loads(path.read_text()), str(path)))
        dovecot.append(_utf8_mail(2))
        summary, sent = it.run_once()
        it.store.close()
        assert (summary.answered, sent.sent) == (1, 1)
        [got] = server.wait_for(1)
        assert got.rcpt_tos == ["jdöe@xn--mchine-bua.example"]
    finally:
        server.stop()


def test_sender_never_answering_about_an_unmailable_address(dovecot, smtp_server, intake):  # noqa: F811
    dovecot.append(mail(52, sender="admin@localhost"), mail(53))
    summary, sent = intake.run_once()
    assert (summary.fetched, summary.answered, summary.recorded) == (2, 1, 1)
    assert [o["customer"] for o in intake.store.outbox()] == ["budi@example.com"]


def test_row_whose_sending_process_died_is_retried_once_then_failed(dovecot, smtp_server, intake,
                                                                     monkeypatch):  # noqa: F811
    import handoff.outbox as outbox
    from bot.channels.email_smtp import EmailSender

    smtp_server.stop()
    dovecot.append(mail(54), mail(55, sender="ani@example.com"))
    intake.run_once()  # both queued, SMTP down
    smtp_server.start()
    real = EmailSender.create

    def dies_on_budi(self, to, **kw):  # the process dies while sending this one row
        if to == "budi@example.com":
            raise KeyboardInterrupt("killed mid-send")
        return real(self, to, **kw)

    monkeypatch.setattr(EmailSender, "create", dies_on_budi)
    sender = EmailSender(intake.email, intake.store)
    t0 = datetime.now(timezone.utc)
    try:
        with pytest.raises(KeyboardInterrupt):
            outbox.deliver_due(intake.store, sender, t0 + timedelta(minutes=5), channel="email")
        with pytest.raises(KeyboardInterrupt):  # lease expired: reconciled (not sent), tried once more
            outbox.deliver_due(intake.store, sender, t0 + timedelta(minutes=10), channel="email")
        done = outbox.deliver_due(intake.store, sender, t0 + timedelta(minutes=15), channel="email")
    finally:
        sender.close()
    rows = {r["customer"]: r for r in intake.store.outbox()}
    assert rows["budi@example.com"]["status"] == "failed" and rows["budi@example.com"]["error_code"] == "crashed"
    assert rows["ani@example.com"]["status"] == "sent"
    assert done.failed == 1  # (ani's row may have gone out in an earlier call: the retry order has jitter)
    assert [r.rcpt_tos for r in smtp_server.wait_for(1)] == [["ani@example.com"]]


def test_dashboard_lists_quarantined_mails_and_failed_answers_masked(dovecot, ascii_smtp, tmp_path,
                                                                       monkeypatch):  # noqa: F811
    import tomllib

    from werkzeug.security import generate_password_hash

    from bot.app import create_app
    from bot.channels.email_intake import build_intake
    from handoff import queue
    from tests.test_console import login

    path = write_config(tmp_path, {**dovecot.settings_table(), **ascii_smtp.settings_table()})
    settings = settings_from_mapping(tomllib.loads(path.read_text()), str(path))
    it = build_intake(settings)
    monkeypatch.setenv("YESSINDO_EMAIL_CRASH_AT", "in_parse@POISON-d00d")
    dovecot.append(mail("p", text="POISON-d00d", sender="racun@example.com", subject="Invoice aneh"),
                   _utf8_mail(3))
    it.run_once()
    it.run_once()
    it.store.close()
    app = create_app(settings)
    store = app.extensions["yessindo"].bot.store
    queue.add_agent(store, datetime.now(timezone.utc), "dewi", "supervisor",
                    generate_password_hash("rahasia-dewi", method="pbkdf2:sha256:1000"))
    client = app.test_client()
    assert login(client, "dewi", "rahasia-dewi").status_code == 303
    page = client.get("/console/dashboard").text
    assert "Email yang tidak bisa diproses" in page
    [row] = re.findall(r'<tr class="quarantined-mail">(.*?)</tr>', page, re.S)
    assert "r***@example.com" in row and "Invoice aneh" in row and "racun@" not in page
    [failed] = re.findall(r'<tr class="failed-mail"[^>]*>(.*?)</tr>', page, re.S)
    assert "j***@mächine.example" in failed and "SMTPUTF8" in failed and "jdöe" not in page


def _with_attachment(n: int, size: int, extra: dict[str, str] | None = None) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Budi <budi@example.com>"
    msg["To"] = "ptyessindo@gmail.com"
    msg["Subject"] = f"Bukti {n}"
    msg["Message-ID"] = f"<cap-{n}@example.com>"
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content(f"Kak, ini bukti transfer ke-{n}. Pesanan INV-20261101-000{n}")
    msg.add_attachment(bytes([n]) * size, maintype="image", subtype="png", filename=f"bukti{n}.png")
    return msg.as_bytes()


def test_attachment_bytes_capped_per_sender_per_day_and_none_for_recorded_mail(dovecot, smtp_server,
                                                                                tmp_path):  # noqa: F811
    import tomllib

    from bot.channels.email_intake import build_intake

    path = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table(),
                                   "max_attachment_bytes_per_sender_day": 30_000})
    it = build_intake(settings_from_mapping(tomllib.loads(path.read_text()), str(path)))
    dovecot.append(_with_attachment(1, 12_000), _with_attachment(2, 12_000), _with_attachment(3, 12_000),
                   _with_attachment(4, 12_000, {"Auto-Submitted": "auto-generated"}))
    summary, _ = it.run_once()
    assert summary.fetched == 4
    kept = {}
    for ext, atts in it.store.conn.execute("SELECT external_id, attachments FROM messages WHERE direction = 'in'"):
        [att] = json.loads(atts)
        kept[ext] = bool(att.get("blob_id"))
        assert att["size"] >= 12_000  # name and size stay listed
    it.store.close()
    assert kept == {"<cap-1@example.com>": True, "<cap-2@example.com>": True, "<cap-3@example.com>": False,
                    "<cap-4@example.com>": False}


def test_attachment_bytes_capped_per_mail_from_the_config(dovecot, smtp_server, tmp_path):  # noqa: F811
    """`[email] max_attachment_bytes_per_mail` reaches the intake (parser child and store)."""
    import tomllib
    from email.message import EmailMessage

    from bot.channels.email_intake import build_intake

    path = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table(),
                                   "max_attachment_bytes_per_mail": 20_000})
    it = build_intake(settings_from_mapping(tomllib.loads(path.read_text()), str(path)))
    msg = EmailMessage()
    msg["From"] = "Dewi <dewi.cap@example.com>"
    msg["To"] = "ptyessindo@gmail.com"
    msg["Subject"] = "Bukti transfer"
    msg["Message-ID"] = "<permail-1@example.com>"
    msg.set_content("Kak, ini bukti transfer dan foto barangnya.")
    msg.add_attachment(b"\x01" * 12_000, maintype="image", subtype="png", filename="a.png")
    msg.add_attachment(b"\x02" * 12_000, maintype="image", subtype="png", filename="b.png")
    dovecot.append(msg.as_bytes())
    summary, _ = it.run_once()
    assert summary.fetched == 1
    [atts] = [json.loads(a) for (a,) in it.store.conn.execute(
        "SELECT attachments FROM messages WHERE direction = 'in'")]
    it.store.close()
    assert [bool(a.get("blob_id")) for a in atts] == [True, False]  # the second would pass 20,000 bytes
    assert all(a["size"] >= 12_000 for a in atts)


def test_no_parser_process_is_no_fault_of_the_mail_parsed_in_process(dovecot, smtp_server, intake,
                                                                      monkeypatch):  # noqa: F811
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # the child cannot start here
    dovecot.append(mail(60))
    summary, sent = intake.run_once()
    assert (summary.answered, summary.failed, summary.quarantined, sent.sent) == (1, 0, 0, 1)
    assert intake.parser is None


def test_a_failed_mail_deleted_before_its_retry_is_not_waited_for(dovecot, smtp_server, intake,
                                                                   monkeypatch):  # noqa: F811
    monkeypatch.setenv("YESSINDO_EMAIL_CRASH_AT", "in_parse@GONE-4b1e")
    dovecot.append(mail("gone", text="GONE-4b1e"))
    assert intake.run_once()[0].failed == 1
    c = dovecot.client()
    c.select_folder("INBOX")
    c.delete_messages([1])
    c.expunge()
    c.logout()
    assert intake.run_once()[0].fetched == 0
    assert _uid_state(intake.store, 1)[0] == "gone"
    from bot.channels.email_uidstate import retry_uids

    assert retry_uids(intake.store.conn, "INBOX", intake.checkpoint("INBOX")[0]) == []


def test_pipeline_failing_on_one_mail_quarantines_it_failing_on_all_quarantines_none(dovecot, smtp_server, intake,
                                                                                      monkeypatch):  # noqa: F811
    real = intake.bot.handle
    broken = {"all": False}

    def handle(message, **kw):  # a bug the pipeline hits on one mail, or (broken) on every mail
        if broken["all"] or "BUG-2e7f" in message.text:
            raise RuntimeError("pipeline bug")
        return real(message, **kw)

    monkeypatch.setattr(intake.bot, "handle", handle)
    dovecot.append(mail(70, text="BUG-2e7f"), mail(71, sender="ani@example.com"))
    intake.run_once()
    dovecot.append(mail(72, sender="rina@example.com"))
    second, _ = intake.run_once()
    assert (second.answered, second.failed, second.quarantined) == (1, 1, 1)
    assert _uid_state(intake.store, 1)[0] == "quarantined"
    # Now every mail fails: the fault is not theirs, nothing is quarantined.
    broken["all"] = True
    dovecot.append(mail(73, sender="sri@example.com"))
    intake.run_once()
    dovecot.append(mail(74, sender="tono@example.com"))
    fourth, _ = intake.run_once()
    assert fourth.quarantined == 0 and fourth.failed == 2
    assert [_uid_state(intake.store, u)[:2] for u in (4, 5)] == [("failed", 2), ("failed", 1)]
    broken["all"] = False  # fixed: both answered on the next pass
    fifth, sent = intake.run_once()
    assert (fifth.answered, fifth.quarantined) == (2, 0)
    assert sorted(r.rcpt_tos[0] for r in smtp_server.wait_for(4)) == \
        ["ani@example.com", "rina@example.com", "sri@example.com", "tono@example.com"]
