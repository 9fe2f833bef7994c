"""The console login's brute-force limit: guessing stays slow, and no attacker can turn
it into a lock-out of an agent who has the right password.

Each attempt is counted under a few keys (rows of `login_attempts`, shared by every worker):

- From a browser holding a valid device token for the name typed (it logged in as that
  agent before, see `bot.web.device_token`): `dev:<token id>` only. Only that browser's own
  failures count there, so a correct password from a known device always works, however
  many guesses others make.
- Otherwise `pair:<address>|<name>` and `name:<name>` (one name guessed from one address,
  from all addresses together), and for a name that is no agent also `addr:<address>`.
  The address key never touches real names: an attacker behind the office NAT spraying
  names slows down only unknown names there, never a colleague at the next desk. The
  price: once an address has used up its budget for unknown names, 429 (unknown) versus
  401 (an agent) tells it which names exist; the per-name keys still bound the guessing.

Every key has a budget of free failures within WINDOW; past it, the next attempt must
wait BASE_DELAY * 2**(failures - budget) after the latest one, at most MAX_DELAY. So
failures slow guessing down to about four an hour per key, but nobody is locked out for good.

Each attempt is recorded in one BEGIN IMMEDIATE transaction BEFORE its password is
checked (workers checking in parallel cannot all slip under the budget); a refused
attempt (429) writes nothing; a success deletes its own rows, its address's failures for
that name and its device's failures (never the name's total: an attacker's count is not
reset by the real agent logging in).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handoff.store import Store, utc_iso

WINDOW = timedelta(hours=24)  # failures older than this no longer count (retention also drops them after a day)
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FREE_PER_NAME_AND_ADDRESS = 5
FREE_PER_NAME = 20  # from all addresses together, only attempts without a device token
FREE_PER_ADDRESS = 20  # unknown names from one address
FREE_PER_DEVICE = 10  # a known browser's own typing mistakes


@dataclass(frozen=True)
class Attempt:
    """The keys one login attempt is counted under, with the budget of each."""

    keys: tuple[tuple[str, int], ...]
    cleared_on_success: tuple[str, ...]


def attempt_keys(address: str, name: str, *, known: bool, device: str | None) -> Attempt:
    """The keys of an attempt for `name` from `address`; `device` is the id of a valid
    device token for this name, `known` whether the name is an agent."""
    who = name.strip().lower()
    if device:
        key = "dev:" + device
        return Attempt(((key, FREE_PER_DEVICE),), (key,))
    pair = "pair:" + address + "|" + who
    keys: list[tuple[str, int]] = [(pair, FREE_PER_NAME_AND_ADDRESS), ("name:" + who, FREE_PER_NAME)]
    if not known:
        keys.append(("addr:" + address, FREE_PER_ADDRESS))
    return Attempt(tuple(keys), (pair,))


def delay_after(failures: int, budget: int) -> timedelta | None:
    """How long after the latest failure the next attempt waits; None within the budget."""
    if failures < budget:
        return None
    over = min(failures - budget, 20)  # 2**20 * 30 s is far past the cap already
    return min(MAX_DELAY, BASE_DELAY * (2 ** over))


def _wait(conn: Any, now: datetime, attempt: Attempt) -> timedelta | None:
    """How long until one more attempt is allowed under every key, or None (allowed now)."""
    since = utc_iso(now - WINDOW)
    wait: timedelta | None = None
    for key, budget in attempt.keys:
        count, latest = conn.execute("SELECT count(*), max(at) FROM login_attempts WHERE key = ? AND at >= ?",
                                     (key, since)).fetchone()
        delay = delay_after(int(count), budget)
        if delay is None or latest is None:
            continue
        left = datetime.fromisoformat(latest) + delay - now
        if left > timedelta(0):
            left = max(left, timedelta(seconds=1))
            wait = left if wait is None else max(wait, left)
    return wait


def reserve(store: Store, now: datetime, attempt: Attempt) -> tuple[timedelta | None, list[int]]:
    """(wait, []) when the attempt must wait; else (None, ids of its rows), counted as a
    failure under every key before its password is checked. Raises StoreError."""
    wait = _wait(store.conn, now, attempt)
    if wait is not None:
        # Already over: answer without taking the write lock (a flood of guesses must not
        # queue up behind it). Otherwise the count is made again under the lock.
        return wait, []
    with store.write(now) as tx:
        wait = _wait(tx.conn, now, attempt)
        if wait is not None:
            return wait, []
        ids = [int(tx.conn.execute("INSERT INTO login_attempts (key, at) VALUES (?, ?)", (key, tx.now)).lastrowid)
               for key, _budget in attempt.keys]
        tx.conn.execute("DELETE FROM login_attempts WHERE at < ?", (utc_iso(now - WINDOW),))
    return None, ids


def forget_failures(conn: Any, attempt: Attempt, ids: list[int]) -> None:
    """After the right password (inside the caller's write transaction): this attempt was
    no failure, and its address (or device) starts afresh for this name."""
    if ids:
        conn.execute(f"DELETE FROM login_attempts WHERE id IN ({','.join('?' * len(ids))})", ids)
    for key in attempt.cleared_on_success:
        conn.execute("DELETE FROM login_attempts WHERE key = ?", (key,))


def masked_address(address: str) -> str:
    """An address for the log: the network, not the host (10.1.2.x, 2001:db8:1::x)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "-"
    if ip.version == 4:
        return ".".join(address.split(".")[:3]) + ".x"
    return ":".join(ip.exploded.split(":")[:3]) + "::x"
