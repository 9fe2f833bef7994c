"""Bad input gets a clear answer and loses nothing: a burst of messages from several
workers at once, stickers, bare punctuation, huge or empty messages, odd characters."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.business_hours import BusinessCalendar
from bot.knowledge import load_knowledge
from bot.models import Attachment, Message
from bot.pipeline import Bot
from handoff.store import Store


def test_twenty_messages_in_two_seconds_from_four_workers_are_all_answered_in_one_case(settings, clock, matcher):
    """Four workers (each its own connection, as gunicorn's processes) take 20 messages of one
    customer within two seconds: every one recorded and answered, one conversation, one ticket."""
    texts = ["paket saya belum sampai", "INV-20261125-0456", "atas nama Sri Wahyuni", "kapan sampainya?", "halo?",
             "?", "gimana kak", "tolong dicek ya", "masih lama?", "ditunggu", "min", "halo kak", "any update?",
             "...", "udah dicek belum", "kok lama", "p", "halo", "ada orang?", "makasih"]
    knowledge = load_knowledge(settings.knowledge_dir)
    bots = [Bot(knowledge, matcher, BusinessCalendar(settings.hours), Store(settings.database), clock=clock)
            for _ in range(4)]
    start = clock()
    outcomes: dict[int, object] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(k, len(texts), 4):
                msg = Message("whatsapp", "+6281234567890", texts[i], start + timedelta(milliseconds=100 * i),
                              external_id=f"SM{i:03d}")
                outcomes[i] = bots[k].handle(msg)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    store = bots[0].store
    assert sorted(outcomes) == list(range(20))
    assert all(o.status == "answered" and o.replies for o in outcomes.values())  # type: ignore[attr-defined]
    inbound = store.conn.execute("SELECT count(*) FROM messages WHERE direction = 'in'").fetchone()[0]
    outbound = store.conn.execute("SELECT count(*) FROM messages WHERE direction = 'out'").fetchone()[0]
    assert (inbound, outbound) == (20, 20)
    assert store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1
    assert len(store.tickets()) <= 1
    for b in bots:
        b.store.close()


def test_a_sticker_gets_a_request_for_words(convo, bot):
    out = convo.send("", attachments=(Attachment(url="https://api.twilio.test/m/1", content_type="image/webp"),))
    assert out.status == "answered" and "teks" in out.replies[0].text
    assert bot.store.tickets() == []


@pytest.mark.parametrize("text", ["?", "...", "🙏", "👍👍", "   ", "\u200b", "\x00\x01", "😀" * 5000])
def test_punctuation_emoji_and_invisible_input_get_a_clear_answer(convo, text):
    out = convo.send(text)
    assert out.status == "answered" and out.replies and out.replies[0].text.strip()


def test_a_question_mark_on_an_open_case_gives_its_state(convo):
    convo.say("paket saya belum sampai")
    reply = convo.say("?")
    assert "YS-000001" in reply and "1. Produk" not in reply


def test_hundred_kilobytes_answered_and_stored_bounded(convo, bot):
    text = ("barang saya datang rusak, pecah semua. " * 3000)[:100_000]
    out = convo.send(text)
    assert out.status == "answered" and out.intent.intent == "return_refund"
    stored = bot.store.messages(out.conversation_id)[0]["text"]
    assert len(stored) <= 200_100


def test_mixed_scripts_and_odd_characters_do_not_crash(convo):
    for text in ("بضاعة لم تصل", "包裹还没到", "Ｐａｋｅｔ　belum　sampai", "pa\u0301ket belum sampai", "INV\u2011202611\u20110042"):
        out = convo.send(text)
        assert out.status == "answered" and out.replies
