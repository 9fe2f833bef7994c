"""Small helpers for tests that run real processes: a free local port, and stopping a
process (politely, then for good) so no server outlives its test."""
from __future__ import annotations

import socket
import subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:  # type: ignore[type-arg]
    """SIGTERM (a graceful stop for gunicorn's master), SIGKILL when it takes longer."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
