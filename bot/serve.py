"""`yessindo-bot serve`: the app under gunicorn.

Pre-forked gevent workers: each is a process with its own SQLite connection (WAL lets
them share the file, `Store.write` serialises writers with BEGIN IMMEDIATE; the pipelines
take their turns at a write gate, handoff/write_gate.py, and leave WAL checkpoints to a
loop, handoff/checkpoint.py), so the GIL is not shared. Each worker builds its bot after
the fork and before its first request (`ready_pipeline`). A message is prepared
(classified, its answer planned) outside any lock, and the messages that queue behind a
worker's pipeline are recorded together in one transaction (bot/web/recorder.py), so
the part the workers take turns at stays short.
Inside a worker every connection is a greenlet: a slow client (slowloris: headers or
body dribbled a byte at a time) costs a few KB, not a worker, and is cut off after
HEADER_DEADLINE / BODY_DEADLINE; sync workers were starved by four of them (issue 10,
item 13), gthread by as many as it has threads (bench/bench_slowloris.py). Long-lived
responses (server-sent events) cost a greenlet each too. A kept-alive connection yields
to the others after each response and is closed after KEEPALIVE_REQUESTS, so a client's
connections even out between the workers. The background loops below run as greenlets
(gevent patches threading in the worker).
"""
from __future__ import annotations

import logging
import os
import random
import sys
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

        app = create_app(self.settings)
        app.extensions["yessindo"].serving = True  # the pipeline takes turns at a write gate
        if self.options.get("worker_class") == "gevent":
            from bot.web.body_deadline import BodyDeadline

            from bot.web.livechat_api import UPLOAD_PATH, upload_body_limit

            app.wsgi_app = BodyDeadline(app.wsgi_app, BODY_DEADLINE,  # type: ignore[method-assign]
                                        int(app.config["MAX_CONTENT_LENGTH"]),
                                        {UPLOAD_PATH: upload_body_limit(self.settings.livechat.max_upload_bytes)})
        return app


def start_outbox_thread(settings: Settings) -> threading.Event:
    """Deliver the outbox (agent replies, follow-ups) from background threads of this
    worker, WhatsApp and email. Every worker runs them: rows are claimed exclusively with
    a lease, so none is sent twice (not even beside `poll-email`, which delivers email
    too), and a killed worker's rows are picked up by the others. Email from here means
    an agent's answer leaves within seconds instead of at poll-email's next wake-up."""
    from bot.channels.whatsapp_sender import run_sender_loop

    stop = threading.Event()
    for target, name in ((run_sender_loop, "outbox-whatsapp"), (run_email_outbox_loop, "outbox-email")):
        threading.Thread(target=target, args=(settings, stop), name=name, daemon=True).start()
    return stop


def run_email_outbox_loop(settings: Settings, stop: threading.Event, interval: float = 2.0) -> None:
    """Deliver due email outbox rows every `interval` seconds until `stop` is set. The
    SMTP connection is opened only when a row is due and closed after each round."""
    from bot.channels.email_smtp import EmailSender
    from handoff.outbox import deliver_due
    from handoff.store import Store

    store = Store(settings.database)
    sender = EmailSender(settings.email, store)
    try:
        while not stop.is_set():
            try:
                due = store.conn.execute(
                    "SELECT 1 FROM outbox WHERE channel = 'email' AND status IN ('pending', 'sending') LIMIT 1"
                ).fetchone()
                if due:
                    summary = deliver_due(store, sender, channel="email")
                    if summary.handled:
                        log.info("email outbox: %d sent, %d retried, %d failed", summary.sent, summary.retried,
                                 summary.failed)
            except Exception:  # keep the loop alive; the rows stay in the table
                log.exception("email outbox round failed")
            finally:
                sender.close()
            stop.wait(interval)
    finally:
        store.close()


def console_login_hint(settings, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
    """Tell the operator how to log in to the console. On a try-out set-up (the embedded
    defaults: simulator on) with no agent yet, make a supervisor `admin` with a random
    password, shown once here, so `make run` leads straight into the console."""
    import secrets
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from werkzeug.security import generate_password_hash

    from handoff import queue
    from handoff.store import Store

    store = Store(settings.database)
    try:
        url = f"http://{host}:{port}/console"
        if queue.list_agents(store):
            print(f"  Agent console: {url} (log in with an agent's name and password; list them with "
                  "`yessindo-bot agent list`)")
        elif settings.simulator:
            password = secrets.token_urlsafe(9)
            queue.add_agent(store, datetime.now(ZoneInfo(settings.hours.timezone)), "admin", "supervisor",
                            generate_password_hash(password), must_change=True)  # replaced at the first login
            from bot.first_login import show_first_password

            show_first_password(settings.database, url, password)  # the terminal, else a 0600 file
        else:
            print(f"  Agent console: {url}. No agent yet: add one with "
                  "`yessindo-bot agent add NAME --role supervisor --password-stdin`")
    finally:
        store.close()




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


def start_checkpoint_thread(settings: Settings) -> threading.Event:
    """WAL checkpoints from a loop of this worker instead of inside the pipeline's commits
    (handoff/checkpoint.py)."""
    from handoff.checkpoint import run_checkpoint_loop

    stop = threading.Event()
    threading.Thread(target=run_checkpoint_loop, args=(settings.database, stop), name="checkpoint",
                     daemon=True).start()
    return stop


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


def warm_intent_model(settings: Settings) -> None:
    """Train the intent model now if the data changed since it was cached, so no worker
    (and no customer's first message) waits for the training."""
    import time

    from bot.assemble import load_matcher
    from bot.intents import cache

    t0 = time.perf_counter()
    load_matcher(settings)
    spent = time.perf_counter() - t0
    if spent > 2:
        where = cache.cache_dir()
        print(f"intent model trained in {spent:.0f} s" + (f" and cached in {where}" if where else
                                                         " (no writable cache folder: set YESSINDO_CACHE_DIR)"))


HEADER_DEADLINE = 5  # seconds a client has to send its request line and headers
BODY_DEADLINE = 10.0  # seconds a client has to send its whole body (bot/web/body_deadline.py)


def worker_class() -> str:
    """gevent when installed (a dependency), else gunicorn's sync workers."""
    try:
        import gevent  # noqa: F401
    except ImportError:
        print("  (gevent is not installed: sync workers, which slow clients can starve; "
              "reinstall the package to get it)")
        return "sync"
    return "gevent"


def ready_pipeline(worker: Any) -> None:
    """Build the worker's pipeline (intent model, knowledge, calendar, database) before it
    takes its first request, rather than in that request: the connections a client opened
    at start-up all waited for it (measured: wrk's first ~1% of requests at 150-240 ms).
    Then what start-up left is moved out of the garbage collector's way (`gc.freeze`), so
    each full collection no longer walks the model and the app."""
    import gc

    svc = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("yessindo")
    if svc is not None:
        try:
            svc.bot
        except Exception:  # noqa: BLE001 - the requests will say why; the worker still serves the rest
            log.exception("pipeline not ready at worker start")
    gc.collect()
    gc.freeze()


def _yield_after_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gunicorn's post_request hook: let the worker's other connections go first. A gevent
    greenlet finding its keep-alive client's next request already waiting would serve it
    without yielding, so a few connections took the worker while others waited seconds
    (measured: p99 1.9 s and 19 timeouts with wrk's 32 kept-alive connections). Closing
    every connection after one response was fair too, but a new TCP connection per
    request cost about 0.15 ms of CPU each (accept, close, the client's reconnect:
    measured with the bare Flask route); one turn of the event loop per request keeps
    the connection and the fairness."""
    import gevent

    gevent.sleep(0)


# A kept-alive connection is closed after this many requests, so its client connects
# again (see `_recycle_connection`).
KEEPALIVE_REQUESTS = 16


def _recycle_connection(worker: Any, req: Any) -> None:
    """gunicorn's pre_request hook: every KEEPALIVE_REQUESTS-th request on a connection is
    its last (the answer says "Connection: close"), as nginx's `keepalive_requests` does.
    Workers share one listening socket and the first to accept takes a new connection; a
    busy worker comes to its accept late, so connections made again drift to the less
    busy one. Kept for ever, connections stayed where the first race put them: measured
    with wrk's 32 (3 runs each, alternating), the two workers used 99/27, 98/57 and 86/81 %
    of a core, 767-1,054 msg/s; recycled, 83-86 % each, 1,018-1,185 msg/s."""
    if req.req_number % KEEPALIVE_REQUESTS == 0:
        req.must_close = True


def raise_open_files(wanted: int = 65536) -> int:
    """Every open live-chat stream is a socket: a worker holds up to `worker_connections`
    (1,000) of them, which the usual soft limit of 1,024 open files would not allow. Raise
    the soft limit up to the hard one (the workers inherit it); return the limit now."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def serve(settings: Settings, host: str, port: int, workers: int | None) -> int:
    from bot.logsafe import configure_logging, install
    from handoff.store import Store

    from bot.config import simulator_for_bind

    settings = simulator_for_bind(settings, host)  # the embedded default (on) only on loopback
    configure_logging()
    raise_open_files()
    # Create or upgrade the schema once, before the workers start; files 0600 (or the [storage] group).
    Store(settings.database, group=settings.storage_group or None).close()
    warm_intent_model(settings)
    workers = workers or default_workers()
    print(f"Yessindo bot serving on http://{host}:{port} ({workers} workers, database {settings.database})")
    print(f"  WhatsApp webhook: POST http://{host}:{port}/webhooks/whatsapp"
          + ("" if settings.whatsapp.auth_token else "  (no TWILIO_AUTH_TOKEN: answers 503 until set)"))
    if settings.simulator:
        print(f"  Try the bot in your browser: http://{host}:{port}/try"
              + ("" if settings.simulator_asked else "  (on by default on loopback; behind a reverse proxy "
                 "set YESSINDO_SIMULATOR=0)"))
    print(f"  Health: http://{host}:{port}/healthz")
    console_login_hint(settings, host, port)
    if not settings.secret_key:
        print("    (console sessions are signed with a random key kept in a 0600 file beside the database; "
              "set YESSINDO_SECRET_KEY to choose your own)")
    sys.stdout.flush()

    def on_worker_start(worker: Any) -> None:
        from bot.web import one_send

        one_send.install()  # headers and a small body in one send
        # No log format here names a thread, a multiprocessing process or the calling line:
        # skip finding them for each record (gevent's patched current_thread() is not free,
        # and finding the caller walks the stack).
        logging.logThreads = False
        logging.logMultiprocessing = False
        logging._srcfile = None  # type: ignore[attr-defined]  # logging: "None will prevent findCaller()"
        install()  # gunicorn's handlers too; records are masked as they are made (bot/logsafe.py)
        start_checkpoint_thread(settings)
        start_outbox_thread(settings)
        start_retention_thread(settings)
        ready_pipeline(worker)

    kind = worker_class()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": kind,
        "worker_connections": 1000,  # per worker: slow clients beyond it wait in the backlog
        # With gevent the keep-alive setting is the deadline for reading a request's line and
        # headers (gunicorn wraps that read in a gevent.Timeout of this many seconds); a kept-alive
        # connection waits its turn after each response (`post_request`).
        "keepalive": HEADER_DEADLINE,
        "backlog": 2048,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,  # access lines would carry customer numbers in query strings; the app logs masked
        "errorlog": "-",
        # On a terminal (`make run`) the banner (URLs, first password) stays the last thing on screen;
        # in a service's log gunicorn's start-up lines are kept.
        "loglevel": "warning" if sys.stdout.isatty() else "info",
        "post_worker_init": on_worker_start,
        "proc_name": "yessindo-bot",
        "control_socket_disable": True,  # one shared socket path would clash between instances
    }
    if kind == "gevent":
        options["post_request"] = _yield_after_request
        options["pre_request"] = _recycle_connection
    from bot.ops.email_service import gunicorn_hooks

    options.update(gunicorn_hooks(settings))  # the email intake: one supervised poller beside the workers
    _Gunicorn(settings, options).run()
    return 0
