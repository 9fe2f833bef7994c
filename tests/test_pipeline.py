"""The conversation pipeline, end to end on a real SQLite store, read like chats."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from bot.models import Attachment, Message
from tests.conftest import WIB, Conversation


def tickets(bot):
    return bot.store.tickets()


def test_greeting_shows_menu_and_a_digit_picks_a_category(convo, bot):
    reply = convo.say("halo kak")
    for n, name in enumerate(bot.knowledge.menu("id"), 1):
        assert f"{n}. {name}" in reply
    assert tickets(bot) == []
    reply = convo.say("2")
    assert convo.last.intent.intent == "order_status"
    assert "nomor pesanan" in reply
    assert [t.intent for t in tickets(bot)] == ["order_status"]


def test_bare_digit_without_menu_is_not_a_category(convo, bot):
    convo.say("12345")
    assert convo.last.intent.intent == "unknown"
    assert tickets(bot) == []


def test_category_question_in_hours_opens_ticket_due_per_whatsapp_promise(convo, bot):
    reply = convo.say("paket saya INV-20261102-0042 belum sampai, tolong dicek")
    [t] = tickets(bot)
    assert t.intent == "order_status" and t.priority == "normal" and t.status == "open"
    assert t.ref == "YS-000001"
    assert t.due_at == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    assert "5–15 menit" in reply
    assert "YS-000001" in reply
    assert t.details["order_numbers"] == ["INV-20261102-0042"]
    assert "INV-20261102-0042" in reply


def test_email_promise_is_two_working_hours(email_convo, bot):
    reply = email_convo.say("Saya sudah transfer tapi status pesanan masih menunggu pembayaran")
    [t] = tickets(bot)
    assert t.intent == "payment"
    assert t.due_at == datetime(2026, 11, 24, 12, 0, tzinfo=WIB)
    assert "1–2 jam" in reply


def test_closed_answer_names_next_opening(convo, bot, clock):
    clock.set("2026-11-29T21:30:00+07:00")  # Sunday night
    reply = convo.say("akun saya tidak bisa login")
    assert "Senin, 30 November 2026 pukul 08.00 WIB" in reply
    [t] = tickets(bot)
    assert t.due_at == datetime(2026, 11, 30, 8, 15, tzinfo=WIB)


@pytest.mark.parametrize("text", ["halo", "makasih ya", "jam buka kapan?", "nomor whatsapp resmi berapa?",
                                  "saran: aplikasinya lemot"])
def test_every_answer_outside_hours_says_when_team_is_back(convo, clock, text):
    clock.set("2026-11-28T18:00:00+07:00")  # Saturday after 17.00
    reply = convo.say(text)
    assert "Minggu, 29 November 2026 pukul 09.00 WIB" in reply


def test_holiday_uses_holiday_window(convo, clock):
    clock.set("2026-12-25T08:30:00+07:00")  # Natal, a Friday
    reply = convo.say("jam operasional hari ini?")
    assert "Jumat, 25 Desember 2026 pukul 09.00 WIB" in reply
    assert "Natal" in reply and "09.00–17.00 WIB" in reply


def test_return_is_complex_case_due_in_two_working_days(convo, bot):
    reply = convo.say("barang yang datang rusak, saya minta refund")
    [t] = tickets(bot)
    assert (t.intent, t.priority) == ("return_refund", "complex")
    assert t.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=WIB)
    assert "nomor pesanan" in reply.lower()
    assert "Kamis, 26 November 2026 pukul 10.00 WIB" in reply


def test_wrong_shipment_is_complex_even_as_order_status(convo, bot):
    convo.say("pesanan saya salah kirim, warnanya beda")
    [t] = tickets(bot)
    assert t.priority == "complex"


def test_escalation_goes_to_supervisor_with_written_result(convo, bot):
    reply = convo.say("refund saya belum selesai, minta supervisor")
    assert convo.last.intent.intent == "escalation"
    [t] = tickets(bot)
    assert (t.intent, t.priority) == ("escalation", "escalation")
    assert t.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=WIB)
    assert "supervisor" in reply and "tertulis" in reply


def test_escalation_raises_priority_of_open_ticket(convo, bot):
    convo.say("paket saya belum sampai")
    convo.say("saya mau eskalasi ke atasan anda")
    [t] = tickets(bot)
    assert t.priority == "escalation" and t.intent == "escalation"
    assert [e["kind"] for e in bot.store.events("ticket.priority_raised")]


def test_human_request_gets_ticket_and_honest_promise(convo, bot):
    reply = convo.say("saya mau bicara dengan orang beneran, bukan bot")
    [t] = tickets(bot)
    assert t.intent == "human"
    assert "manusia" in reply and "menit" in reply


def test_feedback_is_thanked_and_recorded_without_ticket(convo, bot):
    reply = convo.say("saran aja, filter pencarian di website susah dipakai")
    assert "terima kasih" in reply.lower() and ("saran" in reply.lower() or "masukan" in reply.lower())
    assert tickets(bot) == []
    assert len(bot.store.events("feedback.recorded")) == 1


def test_second_unknown_in_a_row_hands_over(convo, bot):
    first = convo.say("asdfgh qwerty")
    assert "1. " in first and tickets(bot) == []
    convo.say("zxcvb poiuy")
    [t] = tickets(bot)
    assert t.intent == "unknown"


def test_unknown_streak_resets_after_understood_message(convo, bot):
    convo.say("asdfgh qwerty")
    convo.say("terima kasih")
    convo.say("zxcvb poiuy")
    assert tickets(bot) == []


def test_open_ticket_is_reused_not_duplicated(convo, bot):
    convo.say("status pesanan saya gimana ya")
    reply = convo.say("nomor pesanannya INV-20261101-0001")
    [t] = tickets(bot)
    assert t.details["order_numbers"] == ["INV-20261101-0001"]
    assert "Nomor pesanan INV-20261101-0001 sudah kami catat" in reply
    assert convo.last.ticket_ref == t.ref


def test_duplicate_external_id_is_dropped(bot, clock):
    msg = Message("whatsapp", "+6281111111111", "paket saya belum sampai", clock(), external_id="SM123")
    assert bot.handle(msg).status == "answered"
    assert bot.handle(msg).status == "duplicate"
    assert len(tickets(bot)) == 1
    n = bot.store.conn.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0]
    assert n == 1


def test_bot_is_silent_while_agent_holds_conversation(convo, bot):
    convo.say("paket saya belum sampai")
    conv_id = convo.last.conversation_id
    with bot.store.write(convo.clock()) as tx:
        tx.update_conversation(conv_id, state="human", agent="sari")
    outcome = convo.send("halo? ada orang?")
    assert outcome.status == "silenced" and outcome.replies == ()
    texts = [m["text"] for m in bot.store.messages(conv_id)]
    assert "halo? ada orang?" in texts  # recorded all the same


@pytest.mark.parametrize("text,kind,secret", [
    ("kode OTP saya 482913, kok ga bisa login", "otp", "482913"),
    ("password saya Rahasia123! tolong cek akun", "password", "Rahasia123!"),
    ("kartu 4111 1111 1111 1111 ditolak", "card", "4111 1111 1111 1111"),
])
def test_secrets_get_a_warning_and_are_stored_masked(convo, bot, text, kind, secret):
    reply = convo.say(text)
    assert "JANGAN PERNAH" in reply
    assert secret not in reply
    dump = "\n".join(str(tuple(r)) for r in bot.store.conn.execute("SELECT * FROM messages"))
    dump += "\n".join(str(tuple(r)) for r in bot.store.conn.execute("SELECT * FROM tickets"))
    assert secret not in dump
    assert bot.store.events("secret.masked")


def test_contact_details_are_kept_on_ticket(convo, bot):
    convo.say("tolong ganti email akun saya ke budi.baru@example.com, nomor hp saya 0812-3456-7890")
    [t] = tickets(bot)
    assert t.details["emails"] == ["budi.baru@example.com"]
    assert t.details["phones"] == ["+6281234567890"]


def test_english_gets_english(convo):
    reply = convo.say("Where is my order? It has been a week")
    assert "order number" in reply and "Kak" not in reply


def test_media_only_message_is_kept(convo, bot):
    outcome = convo.send("", attachments=(Attachment(url="https://api.twilio.com/m/1", content_type="image/jpeg"),))
    assert outcome.status == "answered"
    row = bot.store.conn.execute("SELECT attachments FROM messages WHERE direction='in'").fetchone()
    assert json.loads(row[0])[0]["content_type"] == "image/jpeg"


@pytest.mark.parametrize("text", [
    "", "   \n\t ", "😀😀😀", "🙏", "\x00\x01\x02\ufffd\ufffd", "x" * 100_000,
    "مرحبا 你好 halo kak paket saya", "\udcff\udcfe broken surrogates",
])
def test_bad_input_gets_a_reply_and_is_recorded(convo, bot, text):
    outcome = convo.send(text)
    assert outcome.status == "answered"
    assert outcome.replies and outcome.replies[0].text.strip()
    n = bot.store.conn.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0]
    assert n == 1


def test_100kb_message_is_stored_whole(convo, bot):
    text = ("paket saya belum sampai " * 5000)[:100_000]
    convo.send(text)
    stored = bot.store.conn.execute("SELECT text FROM messages WHERE direction='in'").fetchone()[0]
    assert len(stored) == len(text.strip())


def test_conversations_of_two_customers_are_separate(bot, clock):
    a = Conversation(bot, clock, customer="+6281000000001")
    b = Conversation(bot, clock, customer="+6281000000002")
    a.say("paket saya belum sampai")
    b.say("paket saya belum sampai")
    assert {t.customer for t in tickets(bot)} == {"+6281000000001", "+6281000000002"}


def test_data_deletion_request_gets_the_privacy_promise(convo):
    reply = convo.say("tolong hapus akun dan data pribadi saya")
    assert convo.last.intent.intent == "account"
    assert "kerahasiaannya" in reply


def test_tickets_carry_first_response_and_resolution_promises(convo, bot, clock):
    convo.say("paket saya belum sampai")
    [t] = tickets(bot)
    assert t.first_response_due == t.due_at == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    assert t.resolution_due == datetime(2026, 11, 26, 10, 0, tzinfo=WIB)  # 2 working days: the outer bound
    assert t.first_response_at is None and t.resolved_at is None


def test_complex_case_promises_two_working_days_for_both(convo, bot):
    convo.say("barang yang datang rusak, saya minta refund")
    [t] = tickets(bot)
    assert t.due_at == t.first_response_due == t.resolution_due == datetime(2026, 11, 26, 10, 0, tzinfo=WIB)


def test_raised_priority_takes_the_new_promises_and_states_them(convo, bot, clock):
    convo.say("paket saya belum sampai")  # normal: a person within 15 minutes
    clock.set("2026-11-24T10:05:00+07:00")
    reply = convo.say("saya mau eskalasi ke atasan anda")
    [t] = tickets(bot)
    assert t.priority == "escalation"
    review = datetime(2026, 11, 26, 10, 5, tzinfo=WIB)  # 2 working days from the request
    assert t.first_response_due == t.resolution_due == t.due_at == review
    assert "Kamis, 26 November 2026 pukul 10.05 WIB" in reply  # the review promise, not 10.15


def test_raised_priority_after_first_response_is_due_at_resolution(convo, bot, clock):
    convo.say("paket saya belum sampai")
    [t] = tickets(bot)
    with bot.store.write(clock()) as tx:
        tx.update_ticket(t, first_response_at=datetime(2026, 11, 24, 10, 3, tzinfo=WIB))
    clock.set("2026-11-24T11:00:00+07:00")
    convo.say("barangnya datang tapi rusak, mau retur")
    [t] = tickets(bot)
    assert t.priority == "complex"
    assert t.first_response_due == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    assert t.resolution_due == datetime(2026, 11, 26, 11, 0, tzinfo=WIB)
    # A person answered before, so this new message waits for a person: the next reply is due first.
    assert t.reply_since == clock() and t.reply_due == t.due_at == datetime(2026, 11, 24, 11, 15, tzinfo=WIB)
