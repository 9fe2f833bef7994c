"""Browser tests: Debian's Chromium driven by Playwright, against a real `yessindo-bot serve`.

Use the fixtures by importing them into the test module (no conftest, no pytest_plugins):

    from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)

    def test_something(live_server, new_page):
        page = new_page(base_url=live_server.url)
        page.goto("/try")

Fixtures
--------
- `browser` (session): one headless Chromium for the whole run, `/usr/bin/chromium` from
  Debian (`make test` apt-installs it). Playwright's own browser builds are never used or
  downloaded. Without /usr/bin/chromium the test FAILS (never skips): run `make test`.
  Imported into several modules it is still one browser (the launch is cached here).
- `live_server` (function scope: a fresh database, fake Twilio and server per test, about
  1-2 s): `yessindo-bot serve --workers 2` as a subprocess on a free port, with a config
  file in tmp_path (signed webhooks against a fake Twilio, the /try simulator on, a console
  secret key). It yields a `LiveServer`: `.url`, `.config_path`, `.database`, `.twilio`
  (the `FakeTwilio`: what the outbox sent), `.send_whatsapp(from_number, body)` (a correctly
  signed Twilio webhook), `.cli(*args, input=None)`, `.add_agent(name, role, password)`,
  `.log()` (the server's output). For a server shared by a whole module, write your own
  module-scoped fixture around `run_live_server(tmp_path_factory.mktemp("srv"))`.
- `new_page` (function): a factory; every call opens a NEW browser context (own cookies,
  own storage: two calls = two different agents logged in) and a page in it. Everything is
  closed after the test. An uncaught JavaScript exception on any of its pages fails the
  test at teardown, unless the page was opened with `allow_js_errors=True`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.fake_twilio import FakeTwilio
from tests.procs import free_port

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--metrics-recording-only",
    # Headless Chromium (156) starts one more renderer per new browser context for its own address-bar
    # popup page (chrome://omnibox-popup.top-chrome, ~140 JS modules, 0.3-0.4 s of CPU), which no page
    # of ours needs and a shop visitor's page load never pays: on two cores it took CPU from the page
    # under test (the widget's cold-cache first paint, bench/bench_widget.py). Chromium merges this
    # list with Playwright's own --disable-features.
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
]
SECRET_KEY = "browser-test-secret-key-0123456789abcdef"
SHOP_NUMBER = "whatsapp:+6282129666065"
STARTUP_SECONDS = 30.0

__all__ = ["browser", "live_server", "new_page", "LiveServer", "WebhookAnswer", "run_live_server", "free_port"]


def _command() -> list[str]:
    """The installed console script, as CI and a developer run it (`make test` installs it)."""
    script = REPO / ".venv" / "bin" / "yessindo-bot"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bot.cli"]  # a venv elsewhere: the same entry point


def _clean_env() -> dict[str, str]:
    # The config file says everything: no YESSINDO_* / TWILIO_* from the developer's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    return env


# -- the browser -----------------------------------------------------------------------
_shared: dict[str, Any] = {}


def _launch(config: pytest.Config) -> Any:
    if "browser" in _shared:
        return _shared["browser"]
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Run `make test` "
                    "(it apt-installs the `chromium` package); never `playwright install`.", pytrace=False)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    _shared.update(playwright=pw, browser=chromium)

    def close() -> None:
        _shared.pop("browser", None)
        try:
            chromium.close()
        finally:
            _shared.pop("playwright", None)
            pw.stop()

    config.add_cleanup(close)  # once, at the end of the session, whichever module launched it
    return chromium


@pytest.fixture(scope="session")
def browser(pytestconfig: pytest.Config) -> Any:
    """The one headless Debian Chromium of this test session (a playwright `Browser`)."""
    return _launch(pytestconfig)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """`new_page(base_url=None, allow_js_errors=False, **context_options)`: a page in a fresh,
    isolated browser context (its own cookies: one agent per context)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(base_url: str | None = None, *, allow_js_errors: bool = False, **options: Any) -> Any:
        if base_url is not None:
            options["base_url"] = base_url
        options.setdefault("locale", "id-ID")
        options.setdefault("timezone_id", "Asia/Jakarta")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if not allow_js_errors:
            page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    if errors:
        pytest.fail("uncaught JavaScript exception(s) in the page:\n" + "\n".join(errors), pytrace=False)


# -- the server --------------------------------------------------------------------------
@dataclass
class WebhookAnswer:
    status: int
    body: str
    messages: list[str] = field(default_factory=list)  # the TwiML <Message> texts (200 answers)


@dataclass
class LiveServer:
    url: str
    config_path: Path
    database: Path
    twilio: FakeTwilio
    auth_token: str
    public_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def send_whatsapp(self, from_number: str, body: str, *, message_sid: str | None = None,
                      signature: str | None = None, **extra: str) -> WebhookAnswer:
        """POST an incoming WhatsApp message as Twilio does, signed with the auth token over
        `public_url` (pass `signature=` to send a forged one). Extra form fields (ProfileName,
        NumMedia, MediaUrl0...) go as given."""
        sender = from_number if from_number.startswith("whatsapp:") else f"whatsapp:{from_number}"
        form = {"From": sender, "To": SHOP_NUMBER, "Body": body,
                "MessageSid": message_sid or "SM" + uuid.uuid4().hex, "AccountSid": self.twilio.account_sid,
                "WaId": sender.removeprefix("whatsapp:+"), "NumMedia": "0"}
        form.update(extra)
        return self.post_twilio("/webhooks/whatsapp", form, signature=signature)

    def post_twilio(self, path: str, form: dict[str, str], *, signature: str | None = None) -> WebhookAnswer:
        """Any Twilio webhook (e.g. /webhooks/whatsapp/status), correctly signed unless `signature` is given."""
        base = self.public_url.removesuffix("/webhooks/whatsapp")
        sig = signature if signature is not None else RequestValidator(self.auth_token).compute_signature(
            base + path, form)
        r = requests.post(self.url + path, data=form, headers={"X-Twilio-Signature": sig}, timeout=15)
        messages: list[str] = []
        if r.status_code == 200 and r.text.lstrip().startswith("<?xml"):
            messages = [m.text or "" for m in ET.fromstring(r.content).findall("Message")]
        return WebhookAnswer(r.status_code, r.text, messages)

    def cli(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`yessindo-bot ARGS --config <this server's config>`; text output captured, never raises."""
        return subprocess.run([*_command(), *args, "--config", str(self.config_path)], input=input,
                              capture_output=True, text=True, env=_clean_env(), cwd=self.config_path.parent,
                              timeout=timeout, check=False)

    def add_agent(self, name: str, role: str = "agent", password: str = "rahasia-123") -> str:
        """Add an agent (or supervisor) through the CLI; returns the password."""
        done = self.cli("agent", "add", name, "--role", role, "--password-stdin", input=password + "\n")
        if done.returncode != 0:
            raise AssertionError(f"agent add {name} failed ({done.returncode}): {done.stderr}")
        return password

    def log(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _write_config(directory: Path, port: int, twilio: FakeTwilio, extra_toml: str) -> tuple[Path, Path, str]:
    database = directory / "live.db"
    public_url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
    config = directory / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{database}"\n\n'
        f'[whatsapp]\naccount_sid = "{twilio.account_sid}"\nauth_token = "{twilio.auth_token}"\n'
        f'from_number = "{SHOP_NUMBER}"\npublic_url = "{public_url}"\napi_base_url = "{twilio.url}"\n\n'
        f'[dev]\nsimulator = true\n\n'
        f'[console]\nsecret_key = "{SECRET_KEY}"\n' + (f"\n{extra_toml}\n" if extra_toml else ""))
    return config, database, public_url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # gunicorn's master: graceful shutdown of the workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group (a stuck worker)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=5)


@contextmanager
def run_live_server(directory: Path, *, workers: int = 2, extra_toml: str = "") -> Iterator[LiveServer]:
    """A `yessindo-bot serve` subprocess (own process group) with its config and fake Twilio in
    `directory`; ready (GET /healthz answered 200) when yielded, stopped afterwards.
    `extra_toml` is appended to the config file (e.g. an [hours] table)."""
    directory = Path(directory)
    twilio = FakeTwilio()
    port = free_port()
    config, database, public_url = _write_config(directory, port, twilio, extra_toml)
    log_path = directory / "serve.log"
    proc = None
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([*_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
                                     "--workers", str(workers), "--config", str(config)],
                                    env=_clean_env(), cwd=directory, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        server = LiveServer(url, config, database, twilio, twilio.auth_token, public_url, log_path, proc)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"yessindo-bot serve exited with {proc.returncode}:\n{server.log()}")
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"yessindo-bot serve not healthy after {STARTUP_SECONDS:.0f} s:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        if proc is not None:
            _stop(proc)
        twilio.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh `yessindo-bot serve` (2 workers) on its own database and fake Twilio, per test."""
    with run_live_server(tmp_path) as server:
        yield server
