"""`serve` runs the email intake too, when `[email]` is configured: one process tree to
supervise, and one IMAP poller however many web workers there are.

The poller is `yessindo-bot poll-email` as a child process of gunicorn's master (never
of a worker), started when the master is ready (`when_ready`) and stopped when it exits
(`on_exit`). A supervisor thread in the master restarts it when it dies, with a backoff
(1 s doubling to 5 minutes, back to 1 s after a run of 10 minutes), so a crash or a
kill -9 of the poller costs seconds, and a poller that cannot start (a wrong password)
does not spin. The child asks the kernel for SIGTERM when that thread's process dies
(PR_SET_PDEATHSIG), so even a kill -9 of the master leaves no poller behind.

A mail that was being read when the poller died is not lost: the intake checkpoints per
mail and quarantines one that failed twice (bot/channels/email_intake.py).
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from bot.config import EMBEDDED, Settings
from bot.ops.doctor import email_configured

log = logging.getLogger("yessindo.email_service")

FIRST_BACKOFF, MAX_BACKOFF, HEALTHY_RUN = 1.0, 300.0, 600.0


def poller_command(settings: Settings) -> list[str]:
    cmd = [sys.executable, "-m", "bot.cli", "poll-email"]
    if settings.source != EMBEDDED:
        cmd += ["--config", os.path.abspath(settings.source)]
    return cmd


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EmailService:
    """One supervised `poll-email` child. `start()` / `stop()`; `pid` of the current child."""

    def __init__(self, command: list[str], *, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.env = env
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name="email-intake", daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                if self._stop.is_set():
                    return
                try:
                    self._proc = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                                  preexec_fn=_die_with_parent)
                except OSError as exc:
                    log.error("email intake: cannot start the poller: %s", exc)
                    self._proc = None
                self.starts += 1
            proc = self._proc
            code = proc.wait() if proc is not None else -1
            if self._stop.is_set():
                return
            if time.monotonic() - started > HEALTHY_RUN:
                backoff = FIRST_BACKOFF
            log.warning("email intake: poller exited with %s; restarting in %.0f s", code, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop supervising and end the poller (SIGTERM, then SIGKILL after `timeout`)."""
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)


def gunicorn_hooks(settings: Settings) -> dict[str, Any]:
    """gunicorn options that run the email intake beside the web workers when `[email]`
    is configured (an IMAP user, password or OAuth2 token); none otherwise."""
    if not email_configured(settings):
        return {}
    service = EmailService(poller_command(settings))

    def when_ready(server: Any) -> None:
        service.start()
        server.log.info("email intake: reading %s (one poller, supervised by this process)",
                        settings.email.imap_folder)

    def on_exit(server: Any) -> None:
        service.stop()

    return {"when_ready": when_ready, "on_exit": on_exit}
