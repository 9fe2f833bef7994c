"""The satisfaction question's answer, through the real pipeline: a short rating is recorded
on the resolved ticket and thanked; anything else is an ordinary message and lets the
question lapse."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.knowledge import REPLY_KEYS
from bot.models import Message
from bot.pipeline import CSAT_WINDOW, parse_rating
from tests.conftest import WIB, Conversation

CSAT_KEYS = ("csat_question", "csat_thanks", "csat_thanks_low", "escalated_to_supervisor")
# Used only while bot/knowledge.py does not list the CSAT keys yet (the texts themselves
# belong in knowledge/replies.toml; see test_csat_texts_are_knowledge below).
_FALLBACK = {
    "id": {
        "csat_question": "Tiket {ref} sudah selesai. Seberapa puas Kakak dengan bantuan kami? Balas dengan angka 1 "
                         "(kecewa) sampai 5 (sangat puas).",
        "csat_thanks": "Terima kasih atas penilaiannya, Kak! 🙏",
        "csat_thanks_low": "Terima kasih atas penilaiannya, Kak, dan mohon maaf bantuan kami belum memuaskan. 🙏 "
                           "Boleh ceritakan apa yang kurang?",
        "escalated_to_supervisor": "Tiket {ref} kami teruskan ke supervisor, paling lambat {when}.",
    },
    "en": {
        "csat_question": "Ticket {ref} is resolved. How satisfied are you with our help? Reply with a number from "
                         "1 (disappointed) to 5 (very satisfied).",
        "csat_thanks": "Thank you for your rating! 🙏",
        "csat_thanks_low": "Thank you for your rating, and we are sorry our help fell short. 🙏 Could you tell us "
                           "what went wrong?",
        "escalated_to_supervisor": "Ticket {ref} has gone to a supervisor, by {when}.",
    },
}


@pytest.fixture
def csat(bot, clock):
    for lang, texts in _FALLBACK.items():
        for key, text in texts.items():
            bot.knowledge.texts[lang].setdefault(key, text)
    return bot


def resolved_and_asked(bot, convo: Conversation, clock, text="paket saya belum sampai"):
    """The customer's case, resolved by an agent, and the satisfaction question asked (as bot/desk.py does)."""
    convo.say(text)
    ref, conv_id = convo.last.ticket_ref, convo.last.conversation_id
    ticket = bot.store.ticket(ref)
    clock.at = clock.at + timedelta(hours=1)
    with bot.store.write(clock()) as tx:
        tx.update_ticket(ticket, status="resolved", resolved_at=clock(), first_response_at=clock())
        tx.update_conversation(conv_id, csat_ticket=ref, csat_asked_at=clock())
    clock.at = clock.at + timedelta(minutes=5)
    return ref, conv_id


def inbound(bot, conv_id):
    return [m for m in bot.store.messages(conv_id) if m["direction"] == "in"]


@pytest.mark.parametrize("text,score", [
    ("5", 5), ("5 mantap", 5), ("4/5", 4), ("nilai 3", 3), ("⭐⭐⭐⭐", 4), ("⭐️⭐️", 2), ("1", 1),
    ("4 dari 5, makasih kak 🙏", 4), ("bintang 5", 5), ("lima", 5), ("5!!", 5),
])
def test_ratings(text, score):
    assert parse_rating(text) == score


@pytest.mark.parametrize("text", [
    "1 barang rusak lagi", "2 barang belum sampai kak", "paket saya belum sampai", "INV-20261101-0001",
    "0", "6", "10/10", "12", "5 5", "⭐⭐⭐⭐⭐⭐", "satu lagi kak", "", "halo", "0812-3456-7890",
])
def test_not_ratings(text):
    assert parse_rating(text) is None


def test_rating_is_recorded_and_thanked(csat, clock):
    convo = Conversation(csat, clock)
    ref, conv_id = resolved_and_asked(csat, convo, clock)
    tickets_before = len(csat.store.tickets())
    reply = convo.say("5 mantap")
    assert convo.last.status == "answered" and convo.last.ticket_ref == ref
    assert reply == csat.responder.render("id", "csat_thanks", ref=ref)
    t = csat.store.ticket(ref)
    assert t.csat == 5 and t.status == "resolved"
    row = csat.store.conn.execute("SELECT csat_at FROM tickets WHERE ref = ?", (ref,)).fetchone()
    assert datetime.fromisoformat(row[0]) == clock()
    [event] = csat.store.events("csat.recorded")
    assert event["actor"] == "customer" and event["ticket_ref"] == ref and json.loads(event["data"]) == {"score": 5}
    last_in = inbound(csat, conv_id)[-1]
    assert last_in["text"] == "5 mantap" and last_in["intent"] is None and json.loads(last_in["meta"])["csat"] == 5
    assert csat.store.conversation(conv_id).csat_ticket is None
    assert len(csat.store.tickets()) == tickets_before  # never a new ticket


def test_low_rating_asks_what_went_wrong(csat, clock):
    convo = Conversation(csat, clock)
    ref, _ = resolved_and_asked(csat, convo, clock)
    reply = convo.say("2")
    assert csat.store.ticket(ref).csat == 2
    assert reply == csat.responder.render("id", "csat_thanks_low", ref=ref)
    assert reply != csat.responder.render("id", "csat_thanks", ref=ref)


def test_a_rating_never_opens_a_ticket_even_after_the_menu(csat, clock):
    convo = Conversation(csat, clock)
    convo.say("halo kak")  # the menu: a bare digit would pick a category
    ref, conv_id = resolved_and_asked(csat, convo, clock, text="2")
    assert len(csat.store.tickets()) == 1
    convo.say("4")
    assert csat.store.ticket(ref).csat == 4
    assert len(csat.store.tickets()) == 1 and csat.store.tickets(status="open") == []


def test_other_message_is_handled_normally_and_the_question_lapses(csat, clock):
    convo = Conversation(csat, clock)
    ref, conv_id = resolved_and_asked(csat, convo, clock)
    reply = convo.say("1 barang rusak lagi")
    assert convo.last.intent is not None and convo.last.intent.intent in ("return_refund", "order_status", "product")
    assert "Mohon maaf" in reply
    assert csat.store.ticket(ref).csat is None
    assert csat.store.conversation(conv_id).csat_ticket is None
    assert not csat.store.events("csat.recorded")
    new = [t for t in csat.store.tickets() if t.ref != ref]
    assert len(new) == 1 and new[0].priority == "complex"
    # The question has lapsed: a later "5" is no rating any more.
    convo.say("5")
    assert csat.store.ticket(ref).csat is None and not csat.store.events("csat.recorded")


def test_expired_question_is_not_answered_by_a_digit(csat, clock):
    convo = Conversation(csat, clock)
    ref, conv_id = resolved_and_asked(csat, convo, clock)
    clock.at = clock.at + CSAT_WINDOW
    convo.say("5")
    assert csat.store.ticket(ref).csat is None and not csat.store.events("csat.recorded")
    assert inbound(csat, conv_id)[-1]["intent"] is not None  # classified like any message
    assert csat.store.conversation(conv_id).csat_ticket is None


def test_duplicate_message_is_not_recorded_twice(csat, clock):
    convo = Conversation(csat, clock)
    ref, conv_id = resolved_and_asked(csat, convo, clock)
    msg = Message("whatsapp", convo.customer, "4", clock(), external_id="SM-csat-1")
    assert csat.handle(msg).status == "answered"
    assert csat.handle(msg).status == "duplicate"
    assert len(csat.store.events("csat.recorded")) == 1
    assert sum(1 for m in inbound(csat, conv_id) if m["external_id"] == "SM-csat-1") == 1
    assert csat.store.ticket(ref).csat == 4


def test_conversation_held_by_a_person_is_not_affected(csat, clock):
    convo = Conversation(csat, clock)
    ref, conv_id = resolved_and_asked(csat, convo, clock)
    with csat.store.write(clock()) as tx:
        tx.update_conversation(conv_id, state="human", agent="sari")
    outcome = convo.send("5")
    assert outcome.status == "silenced"
    assert csat.store.ticket(ref).csat is None
    assert csat.store.conversation(conv_id).csat_ticket == ref  # still pending once the agent lets go


def test_english_rating_gets_english_thanks(csat, clock):
    convo = Conversation(csat, clock)
    convo.say("Where is my order? It has been a week")
    ref = convo.last.ticket_ref
    with csat.store.write(clock()) as tx:
        tx.update_ticket(csat.store.ticket(ref), status="resolved", resolved_at=clock())
        tx.update_conversation(convo.last.conversation_id, csat_ticket=ref, csat_asked_at=clock())
    reply = convo.say("4 of 5, thanks")
    assert reply == csat.responder.render("en", "csat_thanks", ref=ref)


def test_email_rating_threads_back_with_the_ref(csat, clock):
    convo = Conversation(csat, clock, channel="email", customer="budi@example.com")
    ref, _ = resolved_and_asked(csat, convo, clock, text="Saya sudah transfer tapi status masih menunggu pembayaran")
    outcome = convo.send("5", subject=f"Re: Pertanyaan [{ref}]")
    assert csat.store.ticket(ref).csat == 5
    assert outcome.replies[0].subject == f"Re: Pertanyaan [{ref}]"


@pytest.mark.skipif(not set(CSAT_KEYS) <= set(REPLY_KEYS),
                    reason="bot/knowledge.py REPLY_KEYS does not list the CSAT texts yet")
def test_csat_texts_are_knowledge(csat):
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.knowledge import load_knowledge

    k = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    for lang in ("id", "en"):
        for key in CSAT_KEYS:
            assert key in k.texts[lang]
    r = csat.responder
    assert "YS-000123" in r.render("id", "csat_question", ref="YS-000123")
    assert "1" in r.render("id", "csat_question", ref="YS-000123") and "5" in r.render("id", "csat_question", ref="x")
    when = datetime(2026, 11, 26, 10, 0, tzinfo=WIB)
    text = r.render("id", "escalated_to_supervisor", ref="YS-000123", when=when)
    assert "YS-000123" in text and "Kamis, 26 November 2026 pukul 10.00 WIB" in text and "supervisor" in text
    assert "Kak" in r.render("id", "csat_thanks") and "Kak" in r.render("id", "csat_thanks_low")
