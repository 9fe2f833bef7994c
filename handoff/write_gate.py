"""Writers of one database take turns in the kernel's queue, not in SQLite's sleeps.

SQLite lets one writer in at a time; a second one that finds the write lock taken sleeps
in its busy handler for 1, 2, 5, 10, 15 ... ms and tries again. Under webhook load every
worker's pipeline holds the lock for about a millisecond per message, so the sleeps were
longer than the work: measured in `serve` with two workers, each message waited about
0.9 ms for the lock beside 1.2 ms of work, and the cores sat idle meanwhile. An exclusive
`flock` on a file beside the database queues the workers in the kernel instead: the next
one wakes as soon as the lock is let go.

Only the pipeline's calls go through the gate (one at a time per worker already, and they
never yield to another greenlet while inside), so holding it can never wait on another
greenlet of the same process. Every other writer (the outbox, `poll-email`, the console)
keeps SQLite's own locking, which stays the guarantee; the gate only orders the busiest
writers.

In a gevent worker a greenlet that finds the gate taken sleeps and tries again
(`wait_turn`), so the worker's other connections (reading the next request, classifying
it) go on meanwhile. It used to wait in `flock` on a thread of gevent's pool, but that
thread got the lock the moment it was let go and then held it, unused, until the
worker's running greenlet yielded and the thread got the GIL back (up to the 5 ms switch
interval): the other worker waited for a lock nobody was using. Measured in `serve`
under bench_webhook's load: 92 % of turns waited, the machine was 13-16 % idle; trying
again after 0.5-2 ms instead, the machine was 2-4 % idle and the rate 12-20 % higher
(3 runs each, alternating). After POLL_FOR of trying, the wait goes back to the kernel's
queue, so no worker can be passed over for ever.
"""
from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

from handoff import filemodes

SUFFIX = "-writer.lock"


class WriteGate:
    """An exclusive lock on `<database>-writer.lock` (0600, or the [storage] group's mode)."""

    def __init__(self, database: str | Path, gid: int | None = None) -> None:
        self.path = str(database) + SUFFIX
        filemodes.create_private(self.path, gid)
        self._fd = os.open(self.path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        # The flock belongs to the process, so inside it the turn is taken first here:
        # a greenlet (or thread) waiting at the gate yields, and another one of this
        # process must not slip through on the same lock meanwhile.
        self._inside = threading.RLock()
        self._depth = 0

    def __enter__(self) -> WriteGate:
        self._inside.acquire()
        try:
            if self._depth == 0:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: no thread hop
                except BlockingIOError:
                    wait_turn(self._fd)
            self._depth += 1
        except BaseException:
            self._inside.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._depth -= 1
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._inside.release()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


POLL_FIRST = 0.0005  # seconds before trying the gate again, doubled up to POLL_MAX
POLL_MAX = 0.002
POLL_FOR = 0.25  # then wait in the kernel's queue


def _gevent_running() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def wait_turn(fd: int) -> None:
    """Take the exclusive lock on `fd`, which was just found taken. Under gevent: sleep
    (other greenlets run) and try again, so the lock is only taken by a greenlet that is
    running and will use it at once (see the module's docstring); after POLL_FOR, wait
    for it on a thread. Elsewhere: wait in `flock`."""
    if _gevent_running():
        import gevent

        delay, until = POLL_FIRST, time.monotonic() + POLL_FOR
        while time.monotonic() < until:
            gevent.sleep(delay)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                delay = min(delay * 2, POLL_MAX)
    run_off_loop(fcntl.flock, fd, fcntl.LOCK_EX)


def run_off_loop(call, *args) -> None:  # type: ignore[no-untyped-def]
    """Block in `call` on a real thread when gevent runs this process (so the other
    greenlets go on), else right here."""
    if _gevent_running():
        import gevent

        gevent.get_hub().threadpool.apply(call, args)
    else:
        call(*args)
