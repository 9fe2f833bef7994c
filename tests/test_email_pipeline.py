"""Email behaviour of the pipeline: threading, subjects, loop protection, the email promise."""
from __future__ import annotations

import pytest

from bot.models import Message
from bot.pipeline import reply_subject
from tests.conftest import Conversation


def mail(bot, clock, text, *, sender="budi@example.com", mid, subject="Pesanan", refs=(), meta=()):
    return bot.handle(Message("email", sender, text, clock(), external_id=mid, subject=subject,
                              thread_refs=tuple(refs), meta=tuple(meta)))


@pytest.mark.parametrize("subject,ref,expected", [
    ("Pesanan belum sampai", "YS-000001", "Re: Pesanan belum sampai [YS-000001]"),
    ("Re: Re: RE: Pesanan", "YS-000001", "Re: Pesanan [YS-000001]"),
    ("Re: Pesanan [YS-000001]", "YS-000001", "Re: Pesanan [YS-000001]"),
    ("Balas: Fwd: tanya", None, "Re: tanya"),
    ("", None, "Re: Yessindo"),
    (None, "YS-000002", "Re: [YS-000002]"),
])
def test_reply_subject(subject, ref, expected):
    assert reply_subject(subject, ref) == expected


def test_email_answer_has_threaded_subject_and_email_promise(bot, clock):
    out = mail(bot, clock, "Pesanan saya INV-20261102-0042 belum sampai", mid="<a1@example.com>",
               subject="Re: Re: pesanan")
    [reply] = out.replies
    assert reply.subject == f"Re: pesanan [{out.ticket_ref}]"
    assert reply.in_reply_to == "<a1@example.com>"
    assert "1–2 jam" in reply.text


def test_threading_by_references_then_subject_ref_then_open_conversation(bot, clock):
    first = mail(bot, clock, "Pesanan saya belum sampai", mid="<m1@example.com>")
    # A closed-by-agent conversation would be a new one; simulate the customer starting fresh elsewhere:
    with bot.store.write(clock()) as tx:
        tx.update_conversation(first.conversation_id, state="closed")
    by_refs = mail(bot, clock, "Ini nomor pesanannya INV-20261102-0042", mid="<m2@example.com>",
                   refs=("<m1@example.com>",))
    assert by_refs.conversation_id == first.conversation_id
    by_subject = mail(bot, clock, "Ada kabar?", mid="<m3@example.com>", subject=f"Re: [{first.ticket_ref}]")
    assert by_subject.conversation_id == first.conversation_id
    fresh = mail(bot, clock, "Halo", mid="<m4@example.com>", subject="Pertanyaan baru")
    assert fresh.conversation_id != first.conversation_id


def test_threading_never_crosses_customers(bot, clock):
    first = mail(bot, clock, "Pesanan saya belum sampai", mid="<x1@example.com>")
    other = mail(bot, clock, "Pesanan saya juga", mid="<x2@example.com>", sender="siti@example.com",
                 refs=("<x1@example.com>",), subject=f"Re: [{first.ticket_ref}]")
    assert other.conversation_id != first.conversation_id


def test_flagged_automatic_mail_is_recorded_not_answered(bot, clock):
    out = mail(bot, clock, "I am out of the office", mid="<ooo@example.com>", meta=(("no_auto_reply", "out of office"),))
    assert out.status == "ignored" and out.replies == ()
    conn = bot.store.conn
    assert conn.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM messages WHERE direction='out'").fetchone()[0] == 0
    assert bot.store.events("message.no_auto_reply")


def test_at_most_a_few_automatic_answers_per_sender_per_hour(bot, clock):
    answered = [mail(bot, clock, f"pertanyaan ke-{i} soal pesanan", mid=f"<r{i}@example.com>").status
                for i in range(8)]
    assert answered == ["answered"] * 5 + ["ignored"] * 3
    clock.set("2026-11-24T11:01:00+07:00")
    assert mail(bot, clock, "pertanyaan lagi", mid="<r9@example.com>").status == "answered"
    # WhatsApp has no such limit (a person typing, not a mail loop).
    wa = Conversation(bot, clock)
    assert all(wa.send(f"pesan {i}").status == "answered" for i in range(7))


def test_an_email_reply_to_an_agents_email_to_a_whatsapp_customer_stays_email(tmp_path):
    """The agent emailed a WhatsApp customer; their answer by email is an email
    conversation (answered by email), never a WhatsApp message of the other one."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from werkzeug.security import generate_password_hash

    from bot.assemble import build_bot
    from bot.config import settings_from_mapping
    from bot.desk import Desk
    from bot.models import Message
    from handoff import queue

    now = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "x.db")}})
    bot = build_bot(s, clock=lambda: now)
    wa = "+6281234567890"
    ref = bot.handle(Message(channel="whatsapp", customer=wa, text="tolong sambungkan ke CS, paket saya hilang",
                             received_at=now, external_id="SM1")).ticket_ref
    queue.add_agent(bot.store, now, "sari", "agent", generate_password_hash("x", method="pbkdf2:sha256:1000"))
    desk = Desk.from_settings(s, bot.store)
    desk.claim(now, ref, "sari")
    bot.handle(Message(channel="whatsapp", customer=wa, text="email saya rina@contoh.test", received_at=now,
                       external_id="SM2"))
    oid = desk.email_customer(now, ref, "sari", "Halo Kak, lanjut lewat email ya", "rina@contoh.test")
    bot.store.conn.execute("UPDATE outbox SET provider_id = '<abc@yessindo.test>', status = 'sent' WHERE id = ?", (oid,))
    out = bot.handle(Message(channel="email", customer="rina@contoh.test", text="baik, terima kasih. kapan sampainya?",
                             received_at=now, external_id="<r1@contoh.test>", thread_refs=("<abc@yessindo.test>",),
                             subject=f"Re: Yessindo: tiket {ref}"))
    conv = bot.store.conversation(out.conversation_id)
    assert conv.channel == "email" and conv.customer == "rina@contoh.test"
    row = bot.store.conn.execute("SELECT channel, customer FROM messages WHERE external_id = '<r1@contoh.test>'").fetchone()
    assert tuple(row) == ("email", "rina@contoh.test")
    assert bot.store.conn.execute("SELECT count(*) FROM messages WHERE channel = 'whatsapp' AND direction = 'in'"
                                  ).fetchone()[0] == 2
