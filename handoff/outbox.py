"""The outbox: outbound messages that are not the immediate TwiML answer.

An agent reply, a follow-up or a template is written to the `outbox` table in
the *same* transaction as the change that causes it (`Transaction.enqueue_outbound`),
so a committed change always has its message queued and a rolled-back one never
does. A sender (`deliver_due`) then delivers the rows; the transport is behind the
small `Sender` protocol (the Twilio part is `bot.channels.whatsapp_sender`), so this
module never imports Twilio.

How one row is delivered
------------------------
1. Claim, in one short write transaction: the oldest due row (`pending` whose
   `next_attempt_at` has come, or `sending` whose lease ran out) becomes `sending`
   with `lease_until = now + 60 s` and `attempts + 1`. `BEGIN IMMEDIATE` makes the
   claim exclusive, so two senders (threads or processes on the same file) never
   hold the same row at once.
2. Free text to a WhatsApp customer whose last inbound message is more than 24 h
   old is refused here, before any call: status `refused`, error_code `63016`.
   Templates (`kind='template'` with a ContentSid) go out at any time.
3. Call the provider OUTSIDE the transaction, then record the provider id (the
   Twilio SID, unique in the table) and `sent` in a second short transaction.
4. Errors: network errors, HTTP 5xx and 429 are retried with exponential backoff
   and jitter (5 s, 30 s, 2 min, 10 min, 1 h, then 1 h; Retry-After is honoured as
   a minimum) until `max_attempts` (8), then `failed`. Any other 4xx / Twilio error
   code (21211 bad number, 21610 opted out, 63016 window closed...) is permanent:
   `failed` at once with the code and message, never retried. So is anything else the
   sender raises for a row (an address it cannot encode, a bug): that row is `failed`
   with the reason, and the others go on.
5. A row left `sending` by a process that died (its lease ran out) is reconciled, then
   sent once more; if the next process dies on it too (`lost_leases` > 1) it is `failed`
   ("the sending process died 2 times..."), so one row can never take every run down.

What "never sends twice" means here (and where it stops)
--------------------------------------------------------
A send has three points of failure: before the request reached Twilio, after
Twilio accepted it but before we recorded the SID (the process was killed, the
response timed out, a 5xx came back after the message was created), or after we
recorded it. Only the middle one can cause a duplicate, and it is exactly the
case in which the row is left `sending` with an expired lease, or `pending` with
`needs_reconcile = 1` (read timeouts, resets and 5xx set it). Before such a row
is sent again, the sender *reconciles*: it asks Twilio for the recent messages
to that number (`DateSent>` the first claim minus a margin, plus the latest 20
without a date filter, because a still-queued message has no DateSent yet) and
looks for an API-created message (`direction = outbound-api`) created since the
first claim, whose SID is not already recorded for another row and, for free
text, whose body is identical. Found: its SID is recorded and the row is `sent`
with no new request. Not found: the row is sent again.

So the guarantee is "at most once, as long as Twilio's message list answers and
shows the message": if reconciliation itself fails (network), the row waits and
reconciliation is retried, it is never skipped. The limits, stated honestly:
a template's rendered body is unknown to us, so a template row matches on
number, direction and time alone (two template rows to the same number in flight
at the same moment could swap SIDs, never duplicate); and a message Twilio
accepted but had not yet made visible in its list API when we asked would be
sent again. Delivery itself is at-least-once from our side only in that sense;
rows are never lost: a killed process leaves them `pending` or `sending`, and the
next sender picks them up.
"""
from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

from handoff.records import Conversation, parse_iso, utc_iso

if TYPE_CHECKING:  # the store calls into this module: only its types here
    from handoff.store import Store, Transaction

OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "read", "failed", "undelivered", "refused")
KINDS = ("text", "template")
WINDOW = timedelta(hours=24)
DEFAULT_BACKOFF: tuple[float, ...] = (5, 30, 120, 600, 3600)
MAX_ATTEMPTS = 8
LEASE_SECONDS = 60.0
MAX_LOST_LEASES = 1  # a row whose sender died once is tried once more; twice: failed
RECONCILE_MARGIN = timedelta(minutes=5)
WINDOW_CLOSED_CODE = "63016"
WINDOW_CLOSED_REASON = ("outside WhatsApp's 24-hour window (the customer's last message is older than 24 hours "
                        "or there is none); send the approved template instead")

# The delivery statuses Twilio reports, in the order they progress.
_PROGRESS = {"pending": 0, "sending": 0, "queued": 0, "accepted": 0, "scheduled": 0,
             "sent": 1, "delivered": 2, "read": 3}
_FAILURES = ("failed", "undelivered")


# -- schema ---------------------------------------------------------------------------
def _ensure_lost_leases(conn: sqlite3.Connection) -> None:
    """`lost_leases` (how often a sender died holding the row), added to older databases
    on first need: the store's migration runs only when its schema version changes."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(outbox)")}
    if "lost_leases" not in have:
        conn.execute("ALTER TABLE outbox ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0")


def create_schema(db: Any) -> None:
    """Create the outbox table and its indexes (idempotent; called by `handoff.schema.migrate`).

    No foreign key to conversations: `forget` deletes conversations, and an outbox
    row must never block that (it deletes the outbox rows itself when it knows them).
    """
    db["outbox"].create(
        {
            "id": int, "channel": str, "customer": str, "conversation_id": int, "ticket_ref": str,
            "kind": str, "body": str, "content_sid": str, "content_variables": str, "status": str,
            "attempts": int, "next_attempt_at": str, "lease_until": str, "provider_id": str,
            "error_code": str, "last_error": str, "created_at": str, "updated_at": str, "sent_at": str,
            "first_claimed_at": str, "needs_reconcile": int, "lost_leases": int,
        },
        pk="id", not_null={"channel", "customer", "kind", "status", "attempts", "created_at"},
        defaults={"attempts": 0, "needs_reconcile": 0, "lost_leases": 0}, if_not_exists=True,
    )
    db["outbox"].create_index(["provider_id"], unique=True, if_not_exists=True)
    db["outbox"].create_index(["channel", "status", "next_attempt_at"], if_not_exists=True)
    db["outbox"].create_index(["customer"], if_not_exists=True)
    db["outbox"].create_index(["conversation_id"], if_not_exists=True)


# -- enqueue (inside the caller's transaction) --------------------------------------------
def enqueue(
    tx: Transaction,
    conversation: Conversation,
    body: str,
    *,
    kind: str = "text",
    ticket_ref: str | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, Any] | None = None,
) -> int:
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r} (known: {', '.join(KINDS)})")
    if kind == "template" and not content_sid:
        raise ValueError("a template message needs its content_sid (the approved template's ContentSid)")
    if kind == "text" and not (body or "").strip():
        raise ValueError("a text message needs a body")
    cur = tx.conn.execute(
        "INSERT INTO outbox (channel, customer, conversation_id, ticket_ref, kind, body, content_sid, "
        "content_variables, status, attempts, next_attempt_at, created_at, updated_at, needs_reconcile) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, 0)",
        (
            conversation.channel, conversation.customer, conversation.id, ticket_ref, kind, body or "",
            content_sid, json.dumps(content_variables, ensure_ascii=False) if content_variables else None,
            tx.now, tx.now, tx.now,
        ),
    )
    row_id = int(cur.lastrowid)  # type: ignore[arg-type]
    tx.log_event("outbound.queued", "bot", conversation_id=conversation.id, ticket_ref=ticket_ref,
                 data={"outbox_id": row_id, "kind": kind})
    return row_id


# -- the 24-hour window -----------------------------------------------------------------
def _last_inbound(conn: sqlite3.Connection, customer: str) -> datetime | None:
    row = conn.execute(
        "SELECT max(created_at) FROM messages WHERE customer = ? AND direction = 'in' AND channel = 'whatsapp'",
        (customer,),
    ).fetchone()
    return parse_iso(row[0]) if row and row[0] else None


def last_inbound_at(store: Store, customer: str) -> datetime | None:
    """When this WhatsApp customer last wrote to us (UTC), or None if never."""
    return _last_inbound(store.conn, customer)


def _window_open(conn: sqlite3.Connection, customer: str, now: datetime) -> bool:
    last = _last_inbound(conn, customer)
    return last is not None and now - last < WINDOW


def window_open(store: Store, customer: str, now: datetime) -> bool:
    """True while free text may be sent: the customer wrote within the last 24 hours."""
    return _window_open(store.conn, customer, now)


# -- the transport ------------------------------------------------------------------------
class SendError(Exception):
    """A provider call that did not succeed.

    permanent: never retry (bad number, opted out, window closed...).
    maybe_sent: the provider may have accepted the message (read timeout, reset,
    5xx): reconcile before trying again.
    retry_after: seconds the provider asked us to wait (429).
    """

    def __init__(self, message: str, *, code: str | None = None, permanent: bool = False,
                 maybe_sent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        self.retry_after = retry_after


@dataclass(frozen=True)
class ProviderMessage:
    """One message as the provider lists it (for reconciliation)."""

    sid: str
    body: str
    created_at: datetime | None
    direction: str = "outbound-api"


class Sender(Protocol):
    def create(self, to: str, *, body: str | None, content_sid: str | None,
               content_variables: dict[str, Any] | None) -> str:
        """Send one message; return the provider id. Raise SendError on failure."""

    def recent(self, to: str, since: datetime) -> Sequence[ProviderMessage]:
        """Outbound messages to this customer created since `since`. Raise SendError on failure."""


@dataclass
class DeliverySummary:
    sent: int = 0
    reconciled: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.reconciled + self.retried + self.failed + self.refused


# -- delivery ---------------------------------------------------------------------------
def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def backoff_delay(attempt: int, backoff: Sequence[float] = DEFAULT_BACKOFF, jitter: float = 0.2,
                  rng: random.Random | None = None) -> float:
    """Delay before retry number `attempt` (1-based): the schedule's step, +/- `jitter` of it."""
    if not backoff:
        return 0.0
    base = float(backoff[min(max(attempt, 1), len(backoff)) - 1])
    r = (rng or random).uniform(-jitter, jitter) if jitter else 0.0
    return max(0.0, base * (1.0 + r))


def deliver_due(
    store: Store,
    sender: Sender,
    now: datetime | None = None,
    *,
    channel: str = "whatsapp",
    lease_seconds: float = LEASE_SECONDS,
    backoff: Sequence[float] = DEFAULT_BACKOFF,
    jitter: float = 0.2,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 500,
    rng: random.Random | None = None,
) -> DeliverySummary:
    """Deliver every due outbox row of `channel`, one at a time; return what happened.

    `now` fixes the clock for the whole call (tests); None reads the clock per row.
    Each row is handled at most once per call (a retry waits for a later call).
    """
    summary = DeliverySummary()
    done: list[int] = []
    while len(done) < limit:
        at = now or _utcnow()
        claimed = _claim(store, at, channel, lease_seconds, done)
        if claimed is None:
            break
        row, action = claimed
        done.append(row["id"])
        summary.ids.append(row["id"])
        if action == "refused":
            summary.refused += 1
            continue
        outcome = _deliver_claimed(store, sender, row, action == "reconcile", at, now,
                                   backoff, jitter, max_attempts, rng)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _claim(store: Store, now: datetime, channel: str, lease_seconds: float,
           skip: Iterable[int]) -> tuple[dict[str, Any], str] | None:
    skip = list(skip)
    t = utc_iso(now)
    not_in = f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else ""
    with store.write(now) as tx:
        row = tx.conn.execute(
            "SELECT * FROM outbox WHERE channel = ? AND ((status = 'pending' AND next_attempt_at <= ?) "
            f"OR (status = 'sending' AND lease_until <= ?)){not_in} ORDER BY next_attempt_at, id LIMIT 1",
            (channel, t, t, *skip),
        ).fetchone()
        if row is None:
            return None
        row = dict(row)
        lost = row["status"] == "sending"  # the process that held it died mid-send
        reconcile = lost or bool(row["needs_reconcile"])
        if lost:
            _ensure_lost_leases(tx.conn)
            row["lost_leases"] = int(tx.conn.execute("SELECT lost_leases FROM outbox WHERE id = ?",
                                                     (row["id"],)).fetchone()[0] or 0) + 1
            tx.conn.execute("UPDATE outbox SET lost_leases = ? WHERE id = ?", (row["lost_leases"], row["id"]))
        if not reconcile and row["kind"] == "text" and channel == "whatsapp" \
                and not _window_open(tx.conn, row["customer"], now):
            _refuse(tx, row)
            return row, "refused"
        tx.conn.execute(
            "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, "
            "first_claimed_at = coalesce(first_claimed_at, ?), needs_reconcile = ?, updated_at = ? WHERE id = ?",
            (utc_iso(now + timedelta(seconds=lease_seconds)), t, 1 if reconcile else 0, t, row["id"]),
        )
        row["attempts"] += 1
        row["first_claimed_at"] = row["first_claimed_at"] or t
        return row, "reconcile" if reconcile else "send"


def _refuse(tx: Transaction, row: dict[str, Any]) -> None:
    tx.conn.execute(
        "UPDATE outbox SET status = 'refused', error_code = ?, last_error = ?, lease_until = NULL, "
        "updated_at = ? WHERE id = ?",
        (WINDOW_CLOSED_CODE, WINDOW_CLOSED_REASON, tx.now, row["id"]),
    )
    tx.log_event("outbound.refused", "sender", conversation_id=row["conversation_id"], ticket_ref=row["ticket_ref"],
                 data={"outbox_id": row["id"], "error_code": WINDOW_CLOSED_CODE, "reason": "24-hour window closed"})


def _deliver_claimed(store: Store, sender: Sender, row: dict[str, Any], reconcile: bool, at: datetime,
                     fixed_now: datetime | None, backoff: Sequence[float], jitter: float,
                     max_attempts: int, rng: random.Random | None) -> str:
    variables = json.loads(row["content_variables"]) if row["content_variables"] else None
    if reconcile:
        try:
            sid = _find_existing(store, sender, row)
        except SendError as exc:
            return _record_error(store, row, exc, fixed_now or _utcnow(), backoff, jitter, max_attempts, rng,
                                 still_reconcile=True)
        if sid:
            _record_sent(store, row, sid, fixed_now or _utcnow(), reconciled=True)
            return "reconciled"
        if row.get("lost_leases", 0) > MAX_LOST_LEASES:
            # Each process that tried this row died while sending it: a poison row. Fail it
            # rather than take the next sender down too.
            return _record_error(store, row, SendError(
                f"the sending process died {row['lost_leases']} times while sending this message",
                code="crashed", permanent=True), fixed_now or _utcnow(), backoff, jitter, max_attempts, rng)
        # Not at Twilio: a fresh send, but the window may have closed meanwhile.
        if row["kind"] == "text" and row["channel"] == "whatsapp" and not window_open(store, row["customer"], at):
            with store.write(fixed_now or _utcnow()) as tx:
                _refuse(tx, row)
            return "refused"
    try:
        if row["kind"] == "template":
            sid = sender.create(row["customer"], body=None, content_sid=row["content_sid"],
                                content_variables=variables)
        else:
            sid = sender.create(row["customer"], body=row["body"], content_sid=None, content_variables=None)
    except SendError as exc:
        return _record_error(store, row, exc, fixed_now or _utcnow(), backoff, jitter, max_attempts, rng)
    except sqlite3.Error:
        raise  # the database, not this row: the lease runs out and the row is tried again
    except Exception as exc:  # noqa: BLE001 - a row the sender cannot even attempt never blocks the others
        return _record_error(store, row, SendError(f"cannot be sent: {type(exc).__name__}: {exc}"[:500],
                                                   code="error", permanent=True),
                             fixed_now or _utcnow(), backoff, jitter, max_attempts, rng)
    _record_sent(store, row, sid, fixed_now or _utcnow())
    return "sent"


def _find_existing(store: Store, sender: Sender, row: dict[str, Any]) -> str | None:
    since = (parse_iso(row["first_claimed_at"]) or parse_iso(row["created_at"])) - RECONCILE_MARGIN  # type: ignore[operator]
    candidates = sender.recent(row["customer"], since)
    known = {r[0] for r in store.conn.execute(
        "SELECT provider_id FROM outbox WHERE customer = ? AND provider_id IS NOT NULL", (row["customer"],))}
    for msg in sorted(candidates, key=lambda m: m.created_at or since):
        if msg.sid in known or msg.direction != "outbound-api":
            continue
        if msg.created_at is not None and msg.created_at < since:
            continue
        if row["kind"] == "text" and msg.body != row["body"]:
            continue
        return msg.sid
    return None


def _record_sent(store: Store, row: dict[str, Any], sid: str, now: datetime, reconciled: bool = False) -> None:
    with store.write(now) as tx:
        tx.conn.execute(
            "UPDATE outbox SET status = CASE WHEN status IN ('delivered', 'read', 'failed', 'undelivered') "
            "THEN status ELSE 'sent' END, provider_id = ?, sent_at = ?, lease_until = NULL, needs_reconcile = 0, "
            "error_code = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
            (sid, tx.now, tx.now, row["id"]),
        )
        tx.log_event("outbound.sent", "sender", conversation_id=row["conversation_id"], ticket_ref=row["ticket_ref"],
                     data={"outbox_id": row["id"], "sid": sid, "attempts": row["attempts"], "reconciled": reconciled})


def _record_error(store: Store, row: dict[str, Any], exc: SendError, now: datetime, backoff: Sequence[float],
                  jitter: float, max_attempts: int, rng: random.Random | None, still_reconcile: bool = False) -> str:
    reconcile = 1 if (still_reconcile or exc.maybe_sent) else 0
    with store.write(now) as tx:
        if exc.permanent or row["attempts"] >= max_attempts:
            reason = exc.message if exc.permanent else f"gave up after {row['attempts']} attempts: {exc.message}"
            tx.conn.execute(
                "UPDATE outbox SET status = 'failed', error_code = ?, last_error = ?, lease_until = NULL, "
                "updated_at = ? WHERE id = ?",
                (exc.code, reason, tx.now, row["id"]),
            )
            tx.log_event("outbound.failed", "sender", conversation_id=row["conversation_id"],
                         ticket_ref=row["ticket_ref"],
                         data={"outbox_id": row["id"], "error_code": exc.code, "attempts": row["attempts"],
                               "permanent": exc.permanent})
            return "failed"
        delay = backoff_delay(row["attempts"], backoff, jitter, rng)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        next_at = now + timedelta(seconds=delay)
        tx.conn.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, error_code = ?, "
            "last_error = ?, needs_reconcile = ?, updated_at = ? WHERE id = ?",
            (utc_iso(next_at), exc.code, exc.message, reconcile, tx.now, row["id"]),
        )
        tx.log_event("outbound.retry", "sender", conversation_id=row["conversation_id"], ticket_ref=row["ticket_ref"],
                     data={"outbox_id": row["id"], "error_code": exc.code, "attempts": row["attempts"],
                           "next_attempt_at": utc_iso(next_at)})
        return "retried"


# -- status callbacks -------------------------------------------------------------------
def record_status(store: Store, now: datetime, message_sid: str, status: str,
                  error_code: str | int | None = None, error_message: str | None = None) -> bool:
    """Apply one Twilio status callback to the outbox row with that SID.

    Callbacks can arrive out of order: a later `delivered` never turns `read` back,
    `sent` never turns `delivered` back. `failed`/`undelivered` are always recorded
    with their code. Returns False when no row has this SID (the route still answers 200).
    """
    status = (status or "").strip().lower()
    code = str(error_code) if error_code not in (None, "", 0, "0") else None
    with store.write(now) as tx:
        row = tx.conn.execute("SELECT * FROM outbox WHERE provider_id = ?", (message_sid,)).fetchone()
        if row is None:
            return False
        current = row["status"]
        new = current
        if status in _FAILURES:
            new = status
        elif status in _PROGRESS and current not in _FAILURES and current != "refused":
            if _PROGRESS[status] > _PROGRESS.get(current, 0):
                new = status
        if new != current or status in _FAILURES:
            if status in _FAILURES:
                tx.conn.execute(
                    "UPDATE outbox SET status = ?, error_code = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    (new, code, error_message or f"Twilio reported {status}", tx.now, row["id"]),
                )
            else:
                tx.conn.execute("UPDATE outbox SET status = ?, updated_at = ? WHERE id = ?",
                                (new, tx.now, row["id"]))
        tx.log_event("outbound.status", "twilio", conversation_id=row["conversation_id"], ticket_ref=row["ticket_ref"],
                     data={"outbox_id": row["id"], "sid": message_sid, "status": status, "recorded": new,
                           "error_code": code})
        return True


# -- reads ------------------------------------------------------------------------------
def outbox_rows(store: Store, *, conversation_id: int | None = None, status: str | None = None,
                customer: str | None = None) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM outbox WHERE 1 = 1", []
    for col, value in (("conversation_id", conversation_id), ("status", status), ("customer", customer)):
        if value is not None:
            sql += f" AND {col} = ?"
            params.append(value)
    rows = [dict(r) for r in store.conn.execute(sql + " ORDER BY id", params)]
    for r in rows:
        r["content_variables"] = json.loads(r["content_variables"]) if r["content_variables"] else None
    return rows
