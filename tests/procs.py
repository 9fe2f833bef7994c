"""Small helpers for tests that run real processes: a free local port, and stopping a
process (politely, then for good) so no server outlives its test."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


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


def wait_until_up(proc: subprocess.Popen, base: str, seconds: float = 30.0) -> None:  # type: ignore[type-arg]
    """Until `base`/healthz answers. A server that exits or stays silent is killed and its
    output (stdout=PIPE) becomes the AssertionError."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(proc.stdout.read().decode() if proc.stdout else "server did not start")
