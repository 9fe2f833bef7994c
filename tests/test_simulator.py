"""The customer simulator (/try) runs only when asked for and is bounded; the first
supervisor's generated password never reaches a log (issue 10 item 12).

Real `yessindo-bot serve` subprocesses configured from the environment alone (the usual
container set-up), and the Flask app on a real SQLite file for the limits."""
from __future__ import annotations

import io
import os
import re
import stat
import subprocess
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import requests

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.first_login import show_first_password
from bot.web import simulator_limit
from tests.browser import STARTUP_SECONDS, _clean_env, _command, _stop, free_port


# -- serve, configured from the environment alone ---------------------------------------------------
@contextmanager
def env_only_server(tmp_path: Path, host: str, **env: str) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """serve with no config file (cwd without config.toml), stdout a file (not a terminal)."""
    port = free_port()
    out = tmp_path / "serve.out"
    full_env = _clean_env() | {"YESSINDO_DATABASE": str(tmp_path / "bot.db")} | env
    with open(out, "wb") as log:
        proc = subprocess.Popen([*_command(), "serve", "--host", host, "--port", str(port), "--workers", "1"],
                                env=full_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        import time

        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert proc.poll() is None, out.read_text()
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        yield url, out, proc
    finally:
        _stop(proc)


def test_env_only_serve_on_a_public_address_has_no_simulator_and_no_password(tmp_path):
    with env_only_server(tmp_path, "0.0.0.0") as (url, out, _proc):
        assert requests.get(url + "/try", timeout=5).status_code == 404
        assert requests.post(url + "/try/send", json={"text": "halo", "customer": "+620001234567"},
                             timeout=5).status_code == 404
        text = out.read_text()
    assert "/try" not in text and "password:" not in text
    assert "No agent yet" in text  # no supervisor made behind the operator's back
    assert not (tmp_path / "bot.db.admin-password").exists()


def test_simulator_asked_for_runs_bounded_and_the_password_goes_to_a_private_file(tmp_path):
    with env_only_server(tmp_path, "0.0.0.0", YESSINDO_SIMULATOR="1") as (url, out, _proc):
        assert requests.get(url + "/try", timeout=5).status_code == 200
        codes = [requests.post(url + "/try/send", json={"text": "halo", "customer": "+620001234567"},
                               timeout=30).status_code for _ in range(simulator_limit.PER_MINUTE + 5)]
        assert codes.count(200) == simulator_limit.PER_MINUTE and codes.count(429) == 5, codes
        text = out.read_text()
        path = tmp_path / "bot.db.admin-password"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        password = path.read_text().strip()
        assert len(password) >= 12 and password not in text
        assert str(path) in text and "name: admin" in text
        # And it is the real password.
        s = requests.Session()
        page = s.get(url + "/console/login", timeout=5)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = s.post(url + "/console/login", data={"name": "admin", "password": password, "csrf_token": token},
                   allow_redirects=False, timeout=15)
        assert r.status_code == 303
    key = tmp_path / "bot.db.secret"  # the console key made at that login: 0600 beside the database
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_on_a_terminal_the_password_is_shown_and_no_file_written(tmp_path):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    show_first_password(str(tmp_path / "x.db"), "http://127.0.0.1:5000/console", "sandi-pertama-123", out=tty)
    assert "password: sandi-pertama-123" in tty.getvalue()
    assert not (tmp_path / "x.db.admin-password").exists()
    pipe = io.StringIO()
    old = os.umask(0o022)
    try:
        show_first_password(str(tmp_path / "x.db"), "http://127.0.0.1:5000/console", "sandi-kedua-456", out=pipe)
    finally:
        os.umask(old)
    assert "sandi-kedua-456" not in pipe.getvalue()
    assert (tmp_path / "x.db.admin-password").read_text() == "sandi-kedua-456\n"
    assert stat.S_IMODE((tmp_path / "x.db.admin-password").stat().st_mode) == 0o600


def test_make_run_asks_for_the_simulator_on_loopback():
    from tests.conftest import REPO

    recipe = (REPO / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "YESSINDO_SIMULATOR=1" in recipe and "--host 127.0.0.1" in recipe


# -- the limits, through the app --------------------------------------------------------------------
@pytest.fixture
def app(tmp_path, clock):
    return create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "sim.db")}}), clock=clock)


def send(app, text: str, customer: str = "+620001234567", addr: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return app.test_client().post("/try/send", json={"text": text, "customer": customer},
                                  environ_base={"REMOTE_ADDR": addr})


def test_one_client_is_slowed_down_and_others_are_not(app, clock):
    codes = [send(app, "halo").status_code for _ in range(simulator_limit.PER_MINUTE + 10)]
    assert codes.count(200) == simulator_limit.PER_MINUTE and codes[-1] == 429
    refused = send(app, "halo")
    assert int(refused.headers["Retry-After"]) == 60 and "Kak" in refused.json["error"]
    assert send(app, "halo", addr="10.0.0.2").status_code == 200  # another client
    clock.at += timedelta(seconds=61)
    assert send(app, "halo").status_code == 200
    # Only a hash of the client's address is kept.
    import sqlite3

    db = sqlite3.connect(app.config["SETTINGS"].database)
    assert "10.0.0.1" not in str(db.execute("SELECT * FROM simulator_hits").fetchall())


def test_simulated_customers_open_a_bounded_number_of_tickets_a_day(app, clock, monkeypatch):
    monkeypatch.setattr(simulator_limit, "TICKETS_PER_DAY", 3)
    made = []
    for i in range(5):
        r = send(app, "saya mau komplain, barang yang datang rusak", customer=f"+6200012300{i:02d}", addr=f"10.0.1.{i}")
        if r.status_code == 200:
            made.append(r.json["ticket"])
        else:
            assert r.status_code == 429 and "batas tiket" in r.json["error"]
    assert len([t for t in made if t]) == 3
    clock.at += timedelta(days=1, seconds=1)
    assert send(app, "saya mau komplain, barang yang datang rusak", customer="+620001239999", addr="10.0.2.1").status_code == 200
