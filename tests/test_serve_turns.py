"""What `serve` does for speed, each part checked for what it must keep: the write gate
(workers take turns in the kernel; files private), WAL checkpoints off the pipeline's path,
one send per small response, cheap record copies, and kept-alive clients served fairly."""
from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace as dc_replace
from datetime import datetime, timezone

import pytest

from bot.dialogue.case import Case
from bot.dialogue.evolve import evolve
from bot.dialogue.state import DialogueState
from handoff.checkpoint import BOUND_PAGES, checkpoint_once, defer_checkpoints, run_checkpoint_loop
from handoff.store import Store
from handoff.write_gate import SUFFIX, WriteGate
from tests.conftest import REPO

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)

HOLD = """
import sys, time
sys.path.insert(0, {repo!r})
from handoff.write_gate import WriteGate
gate = WriteGate({db!r})
with gate:
    print("held", flush=True)
    time.sleep({seconds})
"""


def _hold_in_other_process(db: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(repo=str(REPO), db=db, seconds=seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_the_gate_file_is_private_and_a_second_process_waits_its_turn(tmp_path):
    db = str(tmp_path / "g.db")
    Store(db).close()
    holder = _hold_in_other_process(db, 0.6)
    try:
        assert stat.S_IMODE(os.stat(db + SUFFIX).st_mode) == 0o600
        gate = WriteGate(db)
        t0 = time.monotonic()
        with gate:
            waited = time.monotonic() - t0
        gate.close()
        assert waited >= 0.3  # it really waited for the other process
        assert holder.wait(timeout=5) == 0
    finally:
        holder.kill()


# In a gevent worker: greenlet A waits at the gate while greenlet B keeps the process busy
# (classifying, say) without yielding. Another process lets the gate go, then tries to take
# it again: it must get it, because A cannot use the gate before B yields.
WAITING_GREENLET = """
from gevent import monkey; monkey.patch_all()
import fcntl, os, sys, time, gevent
sys.path.insert(0, {repo!r})
from handoff.write_gate import WriteGate
db = {db!r}
gate = WriteGate(db)
other = os.open(db + "-writer.lock", os.O_RDWR)  # another open file: another holder, as another worker
fcntl.flock(other, fcntl.LOCK_EX)
result = {{}}
def a():
    with gate:
        result["a_in"] = time.monotonic()
def other_worker():  # a real thread, as the other process would be
    time.sleep(0.05)
    fcntl.flock(other, fcntl.LOCK_UN)
    time.sleep(0.15)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result["other_again"] = True
        time.sleep(0.05)
        fcntl.flock(other, fcntl.LOCK_UN)
    except BlockingIOError:
        result["other_again"] = False
ga = gevent.spawn(a)
gevent.sleep(0)  # A finds the gate taken and waits
pool = gevent.get_hub().threadpool
job = pool.spawn(other_worker)
t0 = time.monotonic()
while time.monotonic() - t0 < 0.5:  # B: busy, never yields
    sum(range(1000))
job.get(); ga.join(timeout=5)
print(result.get("other_again"), "a_in" in result)
"""


def test_a_greenlet_waiting_at_the_gate_leaves_it_free_while_its_process_is_busy(tmp_path):
    """A thread waiting in flock for the greenlet took the lock as soon as it was let go and
    held it unused until the busy greenlet yielded; the other worker waited for nothing."""
    db = str(tmp_path / "g.db")
    Store(db).close()
    out = subprocess.run([sys.executable, "-c", WAITING_GREENLET.format(repo=str(REPO), db=db)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]  # the other got the free gate; A got in afterwards


def test_a_store_with_a_gate_takes_it_for_every_write_and_lets_it_go(tmp_path):
    db = str(tmp_path / "s.db")
    store = Store(db)
    store.gate = WriteGate(db)
    holder = _hold_in_other_process(db, 0.5)
    try:
        t0 = time.monotonic()
        with store.write(NOW) as tx:
            tx.conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
        assert time.monotonic() - t0 >= 0.25  # the write waited at the gate
        holder.wait(timeout=5)
        # after the write the gate is free again: another process gets it at once
        quick = _hold_in_other_process(db, 0)
        assert quick.wait(timeout=5) == 0
        # a failed write lets the gate go too
        with pytest.raises(RuntimeError):
            with store.write(NOW):
                raise RuntimeError("boom")
        assert _hold_in_other_process(db, 0).wait(timeout=5) == 0
        assert store.conn.execute("SELECT value FROM meta WHERE key = 'k'").fetchone()[0] == "v"
    finally:
        holder.kill()
        store.close()


def test_checkpoints_leave_the_busy_connection_and_happen_in_the_loop(tmp_path):
    db = str(tmp_path / "c.db")
    store = Store(db)
    defer_checkpoints(store.conn)
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BOUND_PAGES
    for i in range(300):  # well past SQLite's default 1,000-page checkpoint
        with store.write(NOW) as tx:
            tx.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "x" * 3000))
    other = sqlite3.connect(db)
    busy, log_pages, copied = checkpoint_once(other)
    assert busy == 0 and log_pages > 300 and copied == log_pages  # nothing had been copied before
    stop = threading.Event()
    loop = threading.Thread(target=run_checkpoint_loop, args=(db, stop, 0.05))
    loop.start()
    with store.write(NOW) as tx:
        tx.conn.execute("INSERT INTO meta (key, value) VALUES ('last', 'y')")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, log_pages, copied = checkpoint_once(other)
        if log_pages and copied == log_pages:
            break
        time.sleep(0.05)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
    assert sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'last'").fetchone()[0] == "y"
    other.close()
    store.close()


def test_serving_services_give_the_pipeline_a_gate_and_deferred_checkpoints(tmp_path):
    from bot.config import settings_from_mapping
    from bot.web.services import Services

    settings = settings_from_mapping({"storage": {"database": str(tmp_path / "w.db")}})
    plain = Services(settings).bot.store
    assert plain.gate is None
    served = Services(settings)
    served.serving = True
    store = served.bot.store
    assert isinstance(store.gate, WriteGate)
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BOUND_PAGES


def test_evolve_copies_like_dataclasses_replace_and_refuses_unknown_fields():
    case = Case(category="order_status", topic="order_tracking", opened_at=NOW)
    state = DialogueState(case=case, said=("menu",), count=2)
    assert evolve(case, said=("promise",), asked=("order_id",)) == dc_replace(case, said=("promise",),
                                                                              asked=("order_id",))
    assert evolve(state, case=None, count=3) == dc_replace(state, case=None, count=3)
    assert state.count == 2 and state.case is case  # the original is untouched
    with pytest.raises(TypeError):
        evolve(state, cont=3)
    with pytest.raises(AttributeError):
        evolve(state, count=4).count = 5  # still frozen


class _Sock:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))


def _response(sock: _Sock):  # type: ignore[no-untyped-def]
    from gunicorn.config import Config
    from gunicorn.http.wsgi import Response

    class Req:
        version = (1, 1)
        method = "POST"
        headers: list[tuple[str, str]] = []
        path = "/webhooks/whatsapp"

        def should_close(self) -> bool:
            return False

    return Response(Req(), sock, Config())


def test_a_small_response_leaves_in_one_send_and_others_as_before():
    from bot.web import one_send

    assert one_send.install()
    sock = _Sock()
    resp = _response(sock)
    resp.start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", "11")])
    resp.write(b"<Response/>")
    assert len(sock.sent) == 1
    head, _, body = sock.sent[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b"<Response/>"
    resp.write(b"")  # later writes: gunicorn's own path
    big = _Sock()
    resp = _response(big)
    payload = b"x" * (one_send.SMALL + 1)
    resp.start_response("200 OK", [("Content-Length", str(len(payload)))])
    resp.write(payload)
    assert len(big.sent) == 2 and big.sent[1] == payload  # headers, then the large body


def _raw_post(port: int, n: int, per_connection: list[int] | None = None) -> list[float]:
    """n requests on kept-alive connections (a new one only after the server said
    "Connection: close"); the time each took, and in `per_connection` how many requests
    each connection carried."""
    times: list[float] = []
    per_connection = per_connection if per_connection is not None else []
    while len(times) < n:
        per_connection.append(0)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            closing = False
            while len(times) < n and not closing:
                t0 = time.monotonic()
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    assert chunk, "the server closed the kept-alive connection without saying so"
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                lines = [ln.lower() for ln in head.split(b"\r\n")]
                length = int([ln.split(b":")[1] for ln in lines if ln.startswith(b"content-length")][0])
                closing = b"connection: close" in lines
                while len(rest) < length:
                    rest += s.recv(65536)
                times.append(time.monotonic() - t0)
                per_connection[-1] += 1
    return times


def test_serve_keeps_connections_alive_and_serves_each_in_turn(tmp_path):
    """A client reusing its connection is served on it (no reconnect per request) for
    KEEPALIVE_REQUESTS requests, then told to connect again (so workers even out), and a
    second client is not starved meanwhile (each response yields to the others)."""
    from bot.serve import KEEPALIVE_REQUESTS
    from tests.procs import free_port, wait_until_up

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env.update(YESSINDO_DATABASE=str(tmp_path / "k.db"), TWILIO_AUTH_TOKEN="t", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}")
        results: dict[str, list[float]] = {}
        connections: list[int] = []
        busy = threading.Thread(target=lambda: results.setdefault("busy", _raw_post(port, 300, connections)))
        busy.start()
        time.sleep(0.05)
        results["other"] = _raw_post(port, 20)  # would fail or stall if the busy one held the worker
        busy.join(timeout=60)
        assert len(results["busy"]) == 300 and len(results["other"]) == 20
        assert max(results["other"]) < 1.0
        assert connections[:-1] == [KEEPALIVE_REQUESTS] * (len(connections) - 1)
        assert 0 < connections[-1] <= KEEPALIVE_REQUESTS
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_two_threads_of_one_process_never_pass_the_gate_together(tmp_path):
    """The flock is the process's: while one thread waits for another process to let go,
    a second thread of the same process must wait its turn too, not slip through on the
    same lock into the same connection's transaction."""
    db = str(tmp_path / "t.db")
    store = Store(db)
    store.gate = WriteGate(db)
    holder = _hold_in_other_process(db, 0.4)
    errors: list[BaseException] = []

    def write(key: str) -> None:
        try:
            with store.write(NOW) as tx:
                tx.conn.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (key,))
                time.sleep(0.05)  # inside the transaction: the other thread must still be waiting
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"k{i}",)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert not errors
        assert store.conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0] == 4
    finally:
        holder.kill()
        store.close()


def test_a_worker_builds_its_pipeline_before_its_first_request(tmp_path):
    """`ready_pipeline` (gunicorn's post_worker_init): the intent model, knowledge and
    database are ready before the worker accepts, and what start-up made is frozen out of
    the garbage collector's full collections."""
    import gc
    from types import SimpleNamespace

    from bot.app import create_app
    from bot.config import settings_from_mapping
    from bot.serve import ready_pipeline

    app = create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "bot.db")}}))
    svc = app.extensions["yessindo"]
    assert svc._bot is None  # lazily built otherwise: in the first request
    try:
        ready_pipeline(SimpleNamespace(wsgi=app))
        assert svc._bot is not None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if svc._bot is not None:
            svc._bot.store.close()
