"""Figures for console access and the simulator (issue 10 items 11 and 12), through the
real Flask app on a real SQLite file with a simulated clock (no sleeping).

    .venv/bin/python bench/bench_access.py

Prints: guesses checked during a 24-hour campaign against one name (one guess every
10 s from rotating addresses) and whether the agent's known browser got in every hour;
an office-NAT spray of 50 unknown names and whether a colleague there gets in; a burst
of 200 /try messages from one client (accepted, refused, wall time)."""
from __future__ import annotations

import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.security import generate_password_hash  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from handoff import queue  # noqa: E402
from handoff.store import Store  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.at


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/console/login")
    if page.status_code == 303:  # logged in already
        page = client.get("/console")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def attempt(client, addr: str, name: str, password: str) -> int:  # type: ignore[no-untyped-def]
    return client.post("/console/login", data={"name": name, "password": password, "csrf_token": csrf(client)},
                       environ_base={"REMOTE_ADDR": addr}).status_code


def main() -> None:
    import logging

    logging.getLogger("yessindo.console").setLevel(logging.ERROR)  # one line per failure otherwise
    tmp = Path(tempfile.mkdtemp(prefix="bench-access-"))
    clock = Clock()
    app = create_app(settings_from_mapping({"storage": {"database": str(tmp / "b.db")}}), clock=clock)
    store = Store(tmp / "b.db")
    for name in ("dewi", "budi"):
        queue.add_agent(store, clock(), name, "supervisor", generate_password_hash("benar-" + name, method="pbkdf2:sha256:1000"))
    dewi = app.test_client()
    assert attempt(dewi, "10.0.0.7", "dewi", "benar-dewi") == 303  # her browser gets its device token

    checked = refused = 0
    hourly_ok = 0
    t0 = time.perf_counter()
    for step in range(24 * 360):  # one guess every 10 s for 24 hours
        code = attempt(app.test_client(), f"198.51.{step // 250 % 250}.{step % 250}", "dewi", f"tebak-{step}")
        checked += code == 401
        refused += code == 429
        if step % 360 == 359:
            hourly_ok += attempt(dewi, "10.0.0.7", "dewi", "benar-dewi") == 303
        clock.at += timedelta(seconds=10)
    spent = time.perf_counter() - t0
    print(f"24 h campaign on one name: {checked + refused} guesses, {checked} password checks, {refused} refused (429); "
          f"her known browser got in {hourly_ok}/24 hourly tries ({spent:.1f} s to simulate)")

    office = "10.0.3.2"
    spray = [attempt(app.test_client(), office, f"orang{i}", "tebak") for i in range(50)]
    colleague = attempt(app.test_client(), office, "budi", "benar-budi")
    print(f"office NAT spray of 50 unknown names: {spray.count(401)} checked, {spray.count(429)} refused; "
          f"a colleague on a new browser there: {colleague}")

    sim = app.test_client()
    t0 = time.perf_counter()
    codes = [sim.post("/try/send", json={"text": "halo", "customer": "+628991234567"},
                      environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code for _ in range(200)]
    print(f"/try burst of 200 from one client: {codes.count(200)} accepted, {codes.count(429)} refused (429) "
          f"in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
