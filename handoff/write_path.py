"""The store's one write path: short transactions, and (for the pipeline under `serve`)
several of them committed together.

`write(now)` is one transaction: BEGIN IMMEDIATE ... COMMIT, behind the write gate when
the store has one (handoff/write_gate.py). Inside `batch(now)` each `write` becomes a
savepoint of the batch's one transaction instead: a block that fails is undone alone,
and the batch commits once. One commit (and one turn at the gate) for several messages
is what a worker of `serve` saves when messages queue up behind its lock
(bot/web/recorder.py). `reading(now)` reads outside the write path on a connection of
its own.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from bot.errors import StoreError

if TYPE_CHECKING:
    from handoff.store import Transaction
    from handoff.write_gate import WriteGate


class WritePath:
    """Mixed into `Store`, which sets `path`, `conn` and `gate`."""

    path: str
    conn: sqlite3.Connection
    gate: WriteGate | None
    _in_batch: bool
    _reader: sqlite3.Connection | None  # `reading()`'s own connection, opened on first use
    _reader_lock: threading.Lock

    def _init_write_path(self) -> None:
        self._in_batch = False
        self._reader = None
        self._reader_lock = threading.Lock()

    def _describe(self, exc: sqlite3.Error) -> str:
        from handoff.store import describe_sqlite_error

        return describe_sqlite_error(self.path, exc)

    def _tx(self, now: datetime) -> Transaction:
        from handoff.store import Transaction

        return Transaction(self.conn, now)

    @contextmanager
    def write(self, now: datetime) -> Iterator[Transaction]:
        """One short write transaction (a savepoint inside a `batch`). Raises StoreError when
        the database refuses writes. With a `gate` the turn is taken there first."""
        with self.gate or nullcontext():
            with (self._savepoint(now) if self._in_batch else self._transaction(now)) as tx:
                yield tx

    @contextmanager
    def batch(self, now: datetime) -> Iterator[None]:
        """One transaction around several `write` blocks, committed once at the end. When
        that commit fails, every block in it is undone (StoreError)."""
        with self.gate or nullcontext(), self._transaction(now):
            self._in_batch = True
            try:
                yield
            finally:
                self._in_batch = False

    @contextmanager
    def _transaction(self, now: datetime) -> Iterator[Transaction]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(self._describe(exc)) from None
        try:
            yield self._tx(now)
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(self._describe(exc)) from None
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(self._describe(exc)) from None

    @contextmanager
    def _savepoint(self, now: datetime) -> Iterator[Transaction]:
        try:
            self.conn.execute("SAVEPOINT one_write")
        except sqlite3.Error as exc:
            raise StoreError(self._describe(exc)) from None
        try:
            yield self._tx(now)
        except BaseException as exc:
            if self.conn.in_transaction:  # SQLite may have ended the whole transaction (a full disk)
                self.conn.execute("ROLLBACK TO one_write")
                self.conn.execute("RELEASE one_write")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(self._describe(exc)) from None
            raise
        self.conn.execute("RELEASE one_write")

    @contextmanager
    def reading(self, now: datetime) -> Iterator[Transaction | None]:
        """Reads outside the write path, on a second, query-only connection of this store:
        each read sees the last commit and none waits for the write lock (the pipeline plans
        before taking it, bot/dialogue/forecast.py). None for an in-memory database, which
        another connection cannot see."""
        if self.path == ":memory:":
            yield None
            return
        from handoff.store import Transaction

        with self._reader_lock:
            if self._reader is None:
                conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA query_only = ON")
                self._reader = conn
            yield Transaction(self._reader, now)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
