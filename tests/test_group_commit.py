"""Group commit (bot/web/recorder.py over handoff/write_path.py `batch`): messages that queue
behind a worker's pipeline are recorded in one transaction, each in a savepoint, and a
failure stays with its own message."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from bot.errors import StoreError
from bot.models import Outcome
from bot.web.recorder import Recorder
from handoff.store import Store

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "bot.db")
    yield s
    s.close()


def kinds(store: Store) -> list[str]:
    return [e["kind"] for e in store.events() if e["kind"].startswith("t.")]


def test_writes_in_a_batch_commit_once_and_a_failing_one_is_undone_alone(store):
    with store.batch(NOW):
        with store.write(NOW) as tx:
            tx.log_event("t.one", "test")
        with pytest.raises(ValueError):
            with store.write(NOW) as tx:
                tx.log_event("t.broken", "test")
                raise ValueError("this message fails")
        with store.write(NOW) as tx:
            tx.log_event("t.three", "test")
        other = Store(store.path)
        try:
            assert kinds(other) == []  # nothing is visible before the batch commits
        finally:
            other.close()
    assert kinds(store) == ["t.one", "t.three"]


def test_a_batch_that_fails_stores_nothing(store):
    with pytest.raises(RuntimeError):
        with store.batch(NOW):
            with store.write(NOW) as tx:
                tx.log_event("t.one", "test")
            raise RuntimeError("the shared transaction fails")
    assert kinds(store) == []
    assert not store.conn.in_transaction
    with store.write(NOW) as tx:  # and the store goes on
        tx.log_event("t.after", "test")
    assert kinds(store) == ["t.after"]


@dataclass(frozen=True)
class Item:
    name: str
    now: datetime = NOW


class SlowBot:
    """Records an event per item; the first one waits until told, so the others queue."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entered = threading.Event()
        self.go_on = threading.Event()
        self.transactions: list[list[str]] = []

    def record(self, item: Item) -> Outcome:
        if item.name == "first":
            self.entered.set()
            assert self.go_on.wait(10)
        if item.name == "bad":
            with self.store.write(item.now) as tx:
                tx.log_event("t.bad", "test")
                raise ValueError("bad message")
        with self.store.write(item.now) as tx:
            tx.log_event(f"t.{item.name}", "test")
        return Outcome(status="answered", notes=(item.name,))


def test_messages_that_queue_are_recorded_together_and_each_gets_its_own_outcome(store):
    bot, recorder = SlowBot(store), Recorder()
    results: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            results[name] = recorder.record(bot, Item(name)).notes
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[name] = exc

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert bot.entered.wait(10)
    others = [threading.Thread(target=send, args=(n,)) for n in ("a", "bad", "b")]
    for t in others:
        t.start()
    while len(recorder._waiting) < 3:  # all three queued behind the first
        threading.Event().wait(0.01)
    bot.go_on.set()
    for t in [first, *others]:
        t.join(10)
    assert results["first"] == ("first",) and results["a"] == ("a",) and results["b"] == ("b",)
    assert isinstance(results["bad"], ValueError)
    assert (recorder.batches, recorder.recorded) == (2, 4)  # the first alone, then the three together
    assert sorted(kinds(store)) == ["t.a", "t.b", "t.first"]


def test_when_the_shared_commit_fails_every_message_of_the_batch_fails(store, monkeypatch):
    bot, recorder = SlowBot(store), Recorder()
    real_batch = store.batch

    def failing_batch(now):  # type: ignore[no-untyped-def]
        class Failing:
            def __enter__(self):
                self.inner = real_batch(now)
                self.inner.__enter__()

            def __exit__(self, *exc):
                self.inner.__exit__(RuntimeError, RuntimeError("x"), None)  # rolls back
                raise StoreError("database is full")
        return Failing()

    monkeypatch.setattr(store, "batch", failing_batch)
    results: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            results[name] = recorder.record(bot, Item(name)).notes
        except Exception as exc:  # noqa: BLE001
            results[name] = exc

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert bot.entered.wait(10)
    others = [threading.Thread(target=send, args=(n,)) for n in ("a", "b")]
    for t in others:
        t.start()
    while len(recorder._waiting) < 2:
        threading.Event().wait(0.01)
    bot.go_on.set()
    for t in [first, *others]:
        t.join(10)
    assert results["first"] == ("first",)  # alone: its own transaction
    assert isinstance(results["a"], StoreError) and isinstance(results["b"], StoreError)
    assert kinds(store) == ["t.first"]
