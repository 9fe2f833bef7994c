"""`yessindo-bot serve`: the app under gunicorn.

Pre-forked sync workers: each is a process with its own SQLite connection (WAL lets
them share the file, `Store.write` serialises writers with BEGIN IMMEDIATE), so a slow
request never stalls the others and the GIL is not shared. Each worker builds its bot
after the fork (see `bot.app.Services`).
"""
from __future__ import annotations

import logging
import os
import random
import threading
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from gunicorn.app.base import BaseApplication

from bot.config import Settings

log = logging.getLogger("yessindo.serve")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from bot.app import create_app

        return create_app(self.settings)


def start_outbox_thread(settings: Settings) -> threading.Event:
    """Deliver the outbox (agent replies, follow-ups) from a background thread of this
    worker. Every worker runs one: rows are claimed exclusively with a lease, so none is
    sent twice, and a killed worker's rows are picked up by the others."""
    from bot.channels.whatsapp_sender import run_sender_loop

    stop = threading.Event()
    thread = threading.Thread(target=run_sender_loop, args=(settings, stop), name="outbox", daemon=True)
    thread.start()
    return stop


RETENTION_INTERVAL = 3600.0  # seconds between two retention runs of one worker


def run_retention_loop(settings: Settings, stop: threading.Event, interval: float = RETENTION_INTERVAL,
                       first_delay: float | None = None, clock: Callable[[], datetime] | None = None) -> None:
    """Purge conversations older than `[storage] retention_days` once per `interval`,
    the first time after `first_delay` (default: a random part of the interval, so the
    workers do not all start at once). Idempotent, so workers racing is harmless.
    Logs counts only, never whose data it was."""
    from handoff.retention import purge_older_than
    from handoff.store import Store

    zone = ZoneInfo(settings.hours.timezone)
    clock = clock or (lambda: datetime.now(zone))
    delay = random.uniform(0, interval) if first_delay is None else first_delay
    if stop.wait(delay):
        return
    store = Store(settings.database)
    try:
        while True:
            try:
                counts = purge_older_than(store, clock(), settings.retention_days)
                if any(counts.values()):
                    log.info("retention (%d days): %s", settings.retention_days,
                             ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
            except Exception:  # keep the loop alive; the next round tries again
                log.exception("retention round failed")
            if stop.wait(interval):
                return
    finally:
        store.close()


def start_retention_thread(settings: Settings) -> threading.Event | None:
    """Run the retention loop in a background thread of this worker, when retention is on."""
    if settings.retention_days <= 0:
        return None
    stop = threading.Event()
    thread = threading.Thread(target=run_retention_loop, args=(settings, stop), name="retention", daemon=True)
    thread.start()
    return stop


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)  # measured: more workers than cores only add lock waits on SQLite


def serve(settings: Settings, host: str, port: int, workers: int | None) -> int:
    from bot.logsafe import MaskingFilter, configure_logging
    from handoff.store import Store

    configure_logging()
    Store(settings.database).close()  # create or upgrade the schema once, before the workers start
    workers = workers or default_workers()
    print(f"Yessindo bot serving on http://{host}:{port} ({workers} workers, database {settings.database})")
    print(f"  WhatsApp webhook: POST http://{host}:{port}/webhooks/whatsapp"
          + ("" if settings.whatsapp.auth_token else "  (no TWILIO_AUTH_TOKEN: answers 503 until set)"))
    if settings.simulator:
        print(f"  Try the bot in your browser: http://{host}:{port}/try")
    print(f"  Health: http://{host}:{port}/healthz", flush=True)

    def on_worker_start(worker: Any) -> None:
        for handler in logging.getLogger("gunicorn.error").handlers + logging.getLogger("gunicorn.access").handlers:
            handler.addFilter(MaskingFilter())
        start_outbox_thread(settings)
        start_retention_thread(settings)

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "backlog": 2048,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,  # access lines would carry customer numbers in query strings; the app logs masked
        "errorlog": "-",
        "loglevel": "info",
        "post_worker_init": on_worker_start,
        "proc_name": "yessindo-bot",
        "control_socket_disable": True,  # one shared socket path would clash between instances
    }
    _Gunicorn(settings, options).run()
    return 0
