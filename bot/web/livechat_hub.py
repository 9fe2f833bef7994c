"""The live stream to the widget (GET /livechat/api/stream, server-sent events) and the
hub that feeds it.

Why one poller per worker: a message for a visitor may be written by any process (the
worker that ran the pipeline, another worker where an agent pressed "send", the CLI).
Each worker runs one background loop that reads what is new for live chat (messages,
typing marks, agents' read marks) every POLL_SECONDS with one indexed query, and hands
it to the streams of that worker. A thousand open widgets cost one query per worker per
poll, not a thousand. Under gunicorn's gevent workers (bot/serve.py) the loop and every
stream are greenlets: an open stream costs a few KB and no thread, and the pipeline
still answers webhooks between two polls.

A stream ends after about STREAM_SECONDS (give or take STREAM_JITTER); the widget reconnects at once with the last id it
has (`?after=`), so a proxy's idle timeout or a lost connection never loses a message.
"""
from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from typing import Any, Iterator

from flask import Blueprint, Response, current_app, g, request

from bot.config import is_loopback
from bot.web.request_input import message_id_arg
from handoff import livechat as lc

log = logging.getLogger("yessindo.livechat")
stream = Blueprint("livechat_stream", __name__)

CONSOLE = "*console"  # the subscription key of the agents' consoles: a doorbell on any change
POLL_SECONDS = 0.25
STREAM_SECONDS = 60.0
STREAM_JITTER = 15.0  # +- seconds: streams opened together (after a restart) do not all reconnect together
HEARTBEAT_SECONDS = 15.0
QUEUE_SIZE = 500  # events waiting for one slow stream; past it the stream is ended (it reconnects)
# Bounds on open streams, so that streams can never take the connections webhooks need
# (a gevent worker serves at most 1,000 connections, bot/serve.py): per worker, per client
# address, and per visitor (a visitor's oldest stream is ended when they open one more).
MAX_STREAMS = 800
MAX_STREAMS_PER_ADDRESS = 100
MAX_STREAMS_PER_VISITOR = 3


class TooManyStreams(Exception):
    pass


class Subscription:
    def __init__(self, customer: str, address: str = "") -> None:
        self.customer = customer
        self.address = address
        self.opened = time.monotonic()
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(maxsize=QUEUE_SIZE)
        self.overflowed = False

    def put(self, kind: str, data: dict[str, Any]) -> None:
        try:
            self.events.put_nowait((kind, data))
        except queue.Full:
            self.overflowed = True


class LiveHub:
    """One per worker process: the streams open here, by visitor, and the loop feeding them."""

    def __init__(self, database: str, poll_seconds: float = POLL_SECONDS, *, loop: bool = True) -> None:
        """`loop=False`: no background loop; the caller polls (tests)."""
        self.database = database
        self.poll_seconds = poll_seconds
        self.loop = loop
        self._subs: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_message = -1
        self._last_typing = -1
        self._last_seen = ""
        self._last_change: tuple[int, int] = (-1, -1)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def end(self, sub: Subscription) -> None:
        """End a stream from outside (it wakes up and returns)."""
        sub.overflowed = True
        try:
            sub.events.put_nowait(("end", {}))
        except queue.Full:
            pass

    def subscribe(self, customer: str, address: str = "", *, limits: bool = False) -> Subscription:
        """A new stream for `customer`. With `limits` (the widget's streams): TooManyStreams
        when this worker or this client address holds too many; a visitor's oldest stream
        ends when they open more than MAX_STREAMS_PER_VISITOR."""
        sub = Subscription(customer, address)
        with self._lock:
            if limits:
                total = sum(len(s) for s in self._subs.values())
                if total >= MAX_STREAMS:
                    raise TooManyStreams("this worker holds its most streams")
                # (a loopback address is a reverse proxy that did not say who its client is: no
                # per-address bound there, or one proxy would cap the whole shop; the per-worker one holds)
                if address and not is_loopback(address) and sum(
                        1 for subs in self._subs.values() for x in subs if x.address == address) >= MAX_STREAMS_PER_ADDRESS:
                    raise TooManyStreams("this address holds its most streams")
                mine = sorted(self._subs.get(customer, ()), key=lambda x: x.opened)
                for old in mine[: max(0, len(mine) - MAX_STREAMS_PER_VISITOR + 1)]:
                    self.end(old)
                    self._subs[customer].discard(old)
            self._subs.setdefault(customer, set()).add(sub)
            if self.loop and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="livechat-hub", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.customer)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.customer]

    # -- the loop ----------------------------------------------------------------------------
    def _run(self) -> None:
        from handoff.store import Store

        store = None
        while True:
            try:
                if store is None:
                    store = Store(self.database, create=False)
                self.poll(store.conn)
            except Exception as exc:  # a locked or vanished database: try again next round
                log.warning("live chat hub: %s", exc.__class__.__name__)
                if store is not None:
                    store.close()
                store = None
            time.sleep(self.poll_seconds)

    def prime(self, conn: Any) -> None:
        """Start from what the database holds now (once, before the first stream reads its
        history): what comes after is the hub's to deliver, what came before the history's."""
        if self._last_message >= 0:
            return
        self._last_typing = conn.execute("SELECT coalesce(max(seq), 0) FROM livechat_typing").fetchone()[0]
        self._last_seen = conn.execute("SELECT coalesce(max(seen_at), '') FROM presence").fetchone()[0]
        self._last_message = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]

    def poll(self, conn: Any) -> None:
        """Read what is new since the last round and hand it to the open streams."""
        self.prime(conn)
        with self._lock:
            consoles = CONSOLE in self._subs
        newest = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        if consoles:
            # any message or event anywhere (every channel, every worker, the CLI): the consoles poll now
            change = (newest, conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])
            if change != self._last_change:
                if self._last_change[0] >= 0:
                    self._send(CONSOLE, "changed", {"message": change[0], "event": change[1]})
                self._last_change = change
        # What is new is a range of rowids: walk it (`+m.channel` keeps SQLite off the channel
        # index, which would visit every web message ever stored), at most 5,000 rows a round.
        top = min(newest, self._last_message + 5000)
        rows = conn.execute(
            f"SELECT {lc.WIDGET_COLUMNS}, m.customer FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE m.id > ? AND m.id <= ? AND +m.channel = 'web' ORDER BY m.id", (self._last_message, top)).fetchall()
        self._last_message = max(self._last_message, top)
        with self._lock:  # who listens, read after the rows: a stream opened meanwhile read its history later
            wanted = frozenset(self._subs)
        for row in rows:
            if row[-1] in wanted and not json.loads(row[6] or "{}").get("private"):
                self._send(row[-1], "message", lc.widget_message(tuple(row)[:-1]))
        typing = conn.execute("SELECT seq, customer, name, typing FROM livechat_typing WHERE seq > ? AND who = 'agent' "
                              "ORDER BY seq", (self._last_typing,)).fetchall()
        if typing:
            self._last_typing = max(self._last_typing, max(r[0] for r in typing))
        for _seq, customer, name, on in typing:
            if customer in wanted:
                self._send(customer, "typing", {"who": "agent", "name": name, "typing": bool(on)})
        seen = conn.execute(
            "SELECT c.customer, max(p.seen_at) FROM presence p JOIN conversations c ON c.id = p.conversation_id "
            "WHERE p.seen_at > ? AND c.channel = 'web' GROUP BY c.customer", (self._last_seen,)).fetchall()
        for customer, seen_at in seen:
            self._last_seen = max(self._last_seen, seen_at)
            if customer in wanted:
                up_to = conn.execute("SELECT max(id) FROM messages WHERE customer = ? AND channel = 'web' "
                                     "AND direction = 'in' AND created_at <= ?", (customer, seen_at)).fetchone()[0]
                if up_to:
                    self._send(customer, "read", {"up_to": up_to})

    def _send(self, customer: str, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.get(customer, ()))
        for sub in subs:
            sub.put(kind, data)


def hub() -> LiveHub:
    """This worker's hub (one per app)."""
    from bot.web.services import per_app

    return per_app("livechat_hub", lambda: LiveHub(current_app.config["SETTINGS"].database))


def _event(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@stream.get("/livechat/api/stream")
def live():  # type: ignore[no-untyped-def]
    """The visitor's events as server-sent events. Auth and origin: livechat_api's guard
    does not run for this blueprint, so the same checks are made here."""
    from bot.web.livechat_api import _guard

    refused = _guard()
    if refused is not None:
        return refused
    after = message_id_arg(request.args.get("after"))
    customer = g.visitor
    from bot.web.services import services

    svc = services()
    store = svc.bot.store
    live_hub = hub()
    with svc._lock:
        live_hub.prime(store.conn)
        with store.write(svc.now()) as tx:
            lc.seen(tx, customer)  # an open widget is a visitor who is here (handoff.livechat.away)
    try:  # before reading the history: nothing falls between the two
        sub = live_hub.subscribe(customer, request.remote_addr or "", limits=True)
    except TooManyStreams:
        resp = Response('{"error": "too many open streams"}\n', status=429, mimetype="application/json")
        resp.headers["Retry-After"] = "10"
        return resp
    with svc._lock:
        backlog = lc.history(store.conn, customer, after)
        while after and len(backlog) % 200 == 0 and backlog and len(backlog) < 2000:  # page on: skip nothing
            more = lc.history(store.conn, customer, backlog[-1]["id"])
            if not more:
                break
            backlog += more

    def events() -> Iterator[str]:
        last = after
        try:
            yield "retry: 2000\n\n"
            for msg in backlog:
                last = max(last, msg["id"])
                yield _event("message", msg, msg["id"])
            deadline = time.monotonic() + STREAM_SECONDS + random.uniform(-STREAM_JITTER, STREAM_JITTER)
            while not sub.overflowed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    kind, data = sub.events.get(timeout=min(HEARTBEAT_SECONDS, left))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if kind == "end":
                    break
                if kind == "message":
                    if data["id"] <= last:
                        continue
                    last = data["id"]
                    yield _event(kind, data, data["id"])
                else:
                    yield _event(kind, data)
        finally:
            live_hub.unsubscribe(sub)

    resp = Response(events(), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return resp
