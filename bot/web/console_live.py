"""The console's doorbell: GET /console/api/stream, server-sent events that say "something
changed" (a message or an event anywhere) within a poll of the live hub, so an open queue
or ticket page fetches its JSON at once instead of on its next 3-second poll. The data
itself still comes from the JSON endpoints, with the console's own login and CSRF rules;
the polling stays as the fallback when the stream is down."""
from __future__ import annotations

import queue
import random
import time
from typing import Iterator

from flask import Response

from bot.web.console_base import console

STREAM_SECONDS = 120.0
HEARTBEAT_SECONDS = 20.0


@console.get("/api/stream")
def live_stream():  # type: ignore[no-untyped-def]
    from bot.web.livechat_hub import CONSOLE, hub
    from bot.web.services import services

    svc = services()
    store = svc.bot.store
    live_hub = hub()
    with svc._lock:
        live_hub.prime(store.conn)
    sub = live_hub.subscribe(CONSOLE)

    def events() -> Iterator[str]:
        try:
            yield "retry: 3000\n\n"
            deadline = time.monotonic() + STREAM_SECONDS + random.uniform(-20, 20)
            while not sub.overflowed and time.monotonic() < deadline:
                try:
                    kind, _data = sub.events.get(timeout=HEARTBEAT_SECONDS)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                # many changes while a page is busy: one ring is enough
                while not sub.events.empty():
                    sub.events.get_nowait()
                yield f"event: {kind}\ndata: {{}}\n\n"
        finally:
            live_hub.unsubscribe(sub)

    resp = Response(events(), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
