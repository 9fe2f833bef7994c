"""The plan made before the write lock (bot/dialogue/forecast.py) is used only when the
conversation is still as it was read; otherwise the answer is planned again inside, and
the outcome is exactly what handling the messages one after another gives."""
from __future__ import annotations

import pytest

from bot.dialogue import forecast as forecast_module
from bot.models import Message
from tests.conftest import Conversation


@pytest.fixture
def decide_calls(monkeypatch):
    calls: list[str] = []
    real = forecast_module.decide

    def counting(turn, snapshot, context):  # type: ignore[no-untyped-def]
        calls.append(turn.text)
        return real(turn, snapshot, context)

    monkeypatch.setattr(forecast_module, "decide", counting)
    return calls


def message(clock, text: str, n: int, customer: str = "+6281234567890", channel: str = "whatsapp") -> Message:
    return Message(channel=channel, customer=customer, text=text, received_at=clock(), external_id=f"fc-{n}")


def test_an_unchanged_conversation_is_planned_once_before_the_lock(bot, clock, decide_calls):
    convo = Conversation(bot, clock)
    convo.say("halo kak")
    convo.say("2")
    reply = convo.say("nomor pesanan saya INV-20261102-0042")
    assert decide_calls == ["halo kak", "2", "nomor pesanan saya INV-20261102-0042"]  # once each, not twice
    assert "INV-20261102-0042" in reply


def test_a_forecast_made_stale_by_another_message_is_planned_again(bot, clock, decide_calls):
    first = bot.prepare(message(clock, "halo kak", 1))
    assert first.forecast is not None and first.forecast.snapshot.menu_shown is False
    second = bot.prepare(message(clock, "2", 2))  # before "halo kak" is recorded: no menu shown yet
    assert second.forecast is not None and second.forecast.turn.match.intent != "order_status"
    bot.record(first)  # the menu is shown now
    outcome = bot.record(second)
    # planned again from the menu just shown: "2" picks the second category
    assert outcome.intent.intent == "order_status"
    assert "nomor pesanan" in outcome.replies[0].text
    assert decide_calls.count("2") == 2
    assert [t.intent for t in bot.store.tickets()] == ["order_status"]


def test_interleaved_preparation_answers_as_one_after_another(bot, clock, settings, matcher, tmp_path):
    """Every message prepared first and recorded afterwards gives the same answers and
    tickets as the same messages handled in turn on a fresh database."""
    from bot.business_hours import BusinessCalendar
    from bot.pipeline import Bot
    from handoff.store import Store

    texts = ["halo kak", "1", "paket saya belum sampai", "INV-20261102-0042", "barangnya rusak minta refund",
             "tolong sambungkan ke supervisor", "makasih"]
    prepared = [bot.prepare(message(clock, t, i)) for i, t in enumerate(texts)]
    interleaved = [bot.record(p) for p in prepared]

    store = Store(tmp_path / "sequential.db")
    sequential_bot = Bot(bot.knowledge, matcher, BusinessCalendar(settings.hours), store, clock=clock)
    try:
        sequential = [sequential_bot.handle(message(clock, t, i)) for i, t in enumerate(texts)]
        assert [o.replies[0].text for o in interleaved] == [o.replies[0].text for o in sequential]
        assert [(t.intent, t.priority, t.details) for t in bot.store.tickets()] == \
            [(t.intent, t.priority, t.details) for t in store.tickets()]
    finally:
        store.close()


def test_no_forecast_where_the_bot_does_not_plan(bot, clock):
    """A duplicate, a conversation a person holds and mail are not planned ahead."""
    bot.handle(message(clock, "paket saya belum sampai", 1))
    assert bot.prepare(message(clock, "paket saya belum sampai", 1)).forecast is None  # a duplicate
    assert bot.prepare(message(clock, "halo", 2, customer="budi@example.com", channel="email")).forecast is None
    conv = bot.store.conn.execute("SELECT id FROM conversations").fetchone()[0]
    with bot.store.write(clock()) as tx:
        tx.update_conversation(conv, state="human", agent="sari")
    assert bot.prepare(message(clock, "halo?", 3)).forecast is None


def test_the_forecast_reads_on_its_own_query_only_connection(bot, clock):
    bot.prepare(message(clock, "halo kak", 1))
    reader = bot.store._reader
    assert reader is not None and reader is not bot.store.conn
    assert reader.execute("PRAGMA query_only").fetchone()[0] == 1
    bot.store.close()
    assert bot.store._reader is None
