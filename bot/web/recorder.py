"""Group commit for the pipeline in one process of `serve`.

A worker answers many connections, but its pipeline records one message at a time (one
SQLite connection). Messages that arrive while one is being recorded queue behind it;
the next to get the turn records all of them (up to `MAX_BATCH`) in one transaction,
each message in a savepoint of its own (handoff/write_path.py `batch`): one turn at the
write gate, one commit, and pages that several messages change (the last page of the
messages table, of each index) written once. A message whose recording fails is undone
alone and its request fails as before; when the shared commit fails, none of the batch
is stored and every one of its requests fails (Twilio sends them again).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from bot.errors import StoreError
from bot.models import Outcome

MAX_BATCH = 16


@dataclass
class _Slot:
    prepared: Any
    outcome: Outcome | None = None
    error: BaseException | None = None
    done: bool = False


class Recorder:
    """`record(bot, prepared)` for every request handler of one process."""

    def __init__(self, lock: Any | None = None, max_batch: int = MAX_BATCH) -> None:
        """`lock`: the one that guards the pipeline's connection in this process (Services'
        lock, which other handlers take for their reads and writes on that connection);
        gevent's under `serve`, so waiting for it yields to other greenlets."""
        self.max_batch = max_batch
        self._lock = lock if lock is not None else threading.Lock()
        self._waiting: list[_Slot] = []
        self.batches = 0  # how many transactions, and how many messages in them (bench_webhook.py)
        self.recorded = 0

    def record(self, bot: Any, prepared: Any) -> Outcome:
        slot = _Slot(prepared)
        self._waiting.append(slot)
        with self._lock:
            while not slot.done:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: len(batch)]
                self._run(bot, batch)
        if slot.error is not None:
            raise slot.error
        assert slot.outcome is not None
        return slot.outcome

    def _run(self, bot: Any, batch: list[_Slot]) -> None:
        self.batches += 1
        self.recorded += len(batch)
        if len(batch) == 1:
            slot = batch[0]
            try:
                slot.outcome = bot.record(slot.prepared)
            except BaseException as exc:
                slot.error = exc
            finally:
                slot.done = True
            return
        try:
            with bot.store.batch(batch[0].prepared.now):
                for slot in batch:
                    try:
                        slot.outcome = bot.record(slot.prepared)
                    except Exception as exc:  # this message's savepoint is undone; the others go on
                        slot.error = exc
        except BaseException as exc:  # nothing of the batch was committed
            for slot in batch:
                slot.outcome = None
                slot.error = exc if slot is batch[0] or isinstance(exc, StoreError) else \
                    StoreError("the message was not recorded: its shared transaction failed")
            if not isinstance(exc, Exception):
                raise
        finally:
            for slot in batch:
                slot.done = True
