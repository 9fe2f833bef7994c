"""Shared fixtures: settings on a temporary database, a bot on a fixed clock, and a
`Conversation` helper so pipeline tests read like a chat."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import settings_from_mapping
from bot.intents import IntentMatcher
from bot.models import Message, Outcome

WIB = ZoneInfo("Asia/Jakarta")
REPO = Path(__file__).resolve().parents[1]
# The trained intent model is cached here (bot/intents/cache.py), for every process the
# tests start too: the first run trains it once, later runs load it.
os.environ.setdefault("YESSINDO_CACHE_DIR", str(REPO / ".cache"))


@pytest.fixture(scope="session", autouse=True)
def matcher() -> IntentMatcher:
    """Loaded (on a fresh machine: trained, about 20 s) once, before any test, so the
    processes the tests start find the model in the cache."""
    return IntentMatcher.load(REPO / "knowledge" / "intents")


@pytest.fixture
def settings(tmp_path):
    return settings_from_mapping({"storage": {"database": str(tmp_path / "bot.db")}})


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, iso: str) -> None:
        self.at = datetime.fromisoformat(iso)


@pytest.fixture
def clock() -> Clock:
    # Tuesday 24 November 2026, 10:00 WIB: open.
    return Clock(datetime(2026, 11, 24, 10, 0, tzinfo=WIB))


@pytest.fixture
def bot(settings, clock, matcher):
    from bot.business_hours import BusinessCalendar
    from bot.knowledge import load_knowledge
    from bot.pipeline import Bot
    from handoff.store import Store

    store = Store(settings.database)
    b = Bot(load_knowledge(settings.knowledge_dir), matcher, BusinessCalendar(settings.hours), store, clock=clock)
    yield b
    store.close()


class Conversation:
    """One customer talking to the bot: `say` returns the bot's reply text."""

    def __init__(self, bot, clock: Clock, channel: str = "whatsapp", customer: str = "+6281234567890") -> None:
        self.bot, self.clock, self.channel, self.customer = bot, clock, channel, customer
        self.last: Outcome | None = None
        self._n = 0

    def send(self, text: str, **kw) -> Outcome:
        self._n += 1
        kw.setdefault("external_id", f"{self.customer}-{self._n}-{id(self)}")
        msg = Message(channel=self.channel, customer=self.customer, text=text, received_at=self.clock(), **kw)
        self.last = self.bot.handle(msg)
        return self.last

    def say(self, text: str, **kw) -> str:
        outcome = self.send(text, **kw)
        return "\n".join(r.text for r in outcome.replies)


@pytest.fixture
def convo(bot, clock) -> Conversation:
    return Conversation(bot, clock)


@pytest.fixture
def email_convo(bot, clock) -> Conversation:
    return Conversation(bot, clock, channel="email", customer="budi@example.com")


@pytest.fixture
def runner(bot, settings, clock):
    """Scripted conversations (tests/conversations.py) with a desk and two people on it."""
    from werkzeug.security import generate_password_hash

    from bot.desk import Desk
    from handoff import queue
    from tests.conversations import Runner

    desk = Desk.from_settings(settings, bot.store)
    for name, role in (("sari", "agent"), ("dewi", "supervisor")):
        queue.add_agent(bot.store, clock(), name, role, generate_password_hash("rahasia-" + name))
    return Runner(bot, desk, clock)
