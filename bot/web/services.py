"""What request handlers need from the app, built once per process: the settings, the
bot (built lazily, so workers forked after import never share a SQLite connection) and
the clock. Blueprints reach it with `services()`, never by importing the app module."""
from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Callable, TypeVar

from bot.web.recorder import Recorder

T = TypeVar("T")

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.pipeline import Bot


class Services:
    """What request handlers need, built once per process."""

    def __init__(self, settings: Settings, bot: Bot | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        if clock is None and settings.simulator:
            # a try-out server may pretend it is another time (/try, /livechat/demo)
            from bot.web.simulator_clock import SimulatorClock

            clock = SimulatorClock(settings.database, settings.hours.timezone)
        self.clock = clock
        self._bot = bot
        # One pipeline call at a time per process (one SQLite connection): handlers that use the
        # pipeline's connection take this lock, and the recorder takes it to record a group.
        self._lock = threading.Lock()
        self.recorder = Recorder(self._lock)
        # Under `serve` (set by bot/serve.py): the workers' pipelines take turns at a write
        # gate and leave WAL checkpoints to a loop of their own (handoff/write_gate.py,
        # handoff/checkpoint.py).
        self.serving = False

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            with self._lock:
                if self._bot is None:
                    from bot.assemble import build_bot

                    bot = build_bot(self.settings, clock=self.clock)
                    if self.serving:
                        _tune_for_serving(bot.store)
                    self._bot = bot
        return self._bot

    def handle(self, message):  # type: ignore[no-untyped-def]
        bot = self.bot
        prepared = bot.prepare(message)  # no write lock: other greenlets' turns go on meanwhile
        return self.recorder.record(bot, prepared)  # with others that queued meanwhile (group commit)

    def now(self) -> datetime:
        return self.bot.clock()


def _tune_for_serving(store) -> None:  # type: ignore[no-untyped-def]
    from handoff.checkpoint import defer_checkpoints
    from handoff.write_gate import WriteGate

    if store.path != ":memory:":
        store.gate = WriteGate(store.path, store.gid)
        defer_checkpoints(store.conn)


def per_app(name: str, build: Callable[[], T]) -> T:
    """One `build()` per app, made on first use and kept in the app's extensions (a calendar
    with its holiday cache, the validated knowledge, the live-chat hub)."""
    from flask import current_app

    key = "yessindo_" + name
    if key not in current_app.extensions:
        current_app.extensions[key] = build()
    return current_app.extensions[key]  # type: ignore[no-any-return]


def services() -> Services:
    from flask import current_app

    return current_app.extensions["yessindo"]  # type: ignore[no-any-return]
