"""Build the bot's parts from settings: the one place that wires them together."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from bot.business_hours import BusinessCalendar
from bot.config import Settings
from bot.desk_assign import policy_of
from bot.intents import IntentMatcher
from bot.knowledge import load_knowledge
from bot.pipeline import Bot
from handoff.store import Store


def load_matcher(settings: Settings) -> IntentMatcher:
    return IntentMatcher.load(settings.knowledge_dir / "intents")


def build_bot(settings: Settings, clock: Callable[[], datetime] | None = None, store: Store | None = None) -> Bot:
    knowledge = load_knowledge(settings.knowledge_dir)
    matcher = load_matcher(settings)
    calendar = BusinessCalendar(settings.hours)
    store = store or Store(settings.database, group=settings.storage_group or None)  # files 0600 or the group
    bot = Bot(knowledge, matcher, calendar, store, clock=clock,
              auto_reply_limit_per_hour=settings.email.auto_replies_per_hour)
    bot.assign_policy = policy_of(settings)  # [desk] auto_assign: new tickets to online agents (bot/desk_assign.py)
    bot.warm_up()
    return bot
