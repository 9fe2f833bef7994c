"""Logs keep personal data out (issue 10 item 7): phone numbers plain and URL-encoded,
email addresses also non-ASCII, secrets; in every logger, exception text and dict args;
in real `poll-email` and `serve` processes."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import logsafe
from bot.logsafe import MaskingFilter, mask, mask_record
from tests.mail_servers import customer_mail, dovecot, free_port, smtp_server, write_config  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
NUMBER = "6281234567890"
IDN_ADDRESS = "jdöe@mächine.example"


@pytest.mark.parametrize("line,gone,kept", [
    ("To=whatsapp%3A%2B6281234567890&PageSize=50", NUMBER, "%2B62812****7890"),
    ("GET Request: https://api.twilio.com/x/Messages.json?To=whatsapp%3A%2B6281234567890", NUMBER, "****7890"),
    ("sent to whatsapp:+6281234567890", NUMBER, "+62812****7890"),
    ("call +62 812-3456-7890 now", "3456-7890", "+62812****7890"),
    ("hp 0812 3456 7890", "3456 7890", "08123****7890"),
    ("hp 6281234567890", NUMBER, "62812****7890"),
    ("reply to jdöe@mächine.example failed", "jdöe", "j***@mächine.example"),
    ("From: budi.santoso@example.com", "budi.santoso", "b***@example.com"),
    ("to=budi%40example.com", "budi%40", "b***@example.com"),
    ("customer wrote: otp saya 482913", "482913", "otp saya ******"),
    ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111", "**** **** **** 1111"),
])
def test_mask(line: str, gone: str, kept: str) -> None:
    out = mask(line)
    assert gone not in out and kept in out


@pytest.mark.parametrize("line", [
    "order INV-20261125-0456 handled at 2026-11-30 06:56:45",
    "email outbox: 3 sent, 0 retried, 0 failed",
    "listening on 127.0.0.1:5000 pid 12345",
    "price Rp 150.000",
])
def test_ordinary_lines_are_kept(line: str) -> None:
    assert mask(line) == line


def _record(msg: str, args=(), exc_info=None) -> logging.LogRecord:  # type: ignore[no-untyped-def]
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_dict_args_exception_text_and_stack_are_masked() -> None:
    r = mask_record(_record("to %(to)s from %(sender)s", ({"to": "+6281234567890", "sender": IDN_ADDRESS},)))
    assert r.getMessage() == "to +62812****7890 from j***@mächine.example"
    try:
        raise UnicodeEncodeError("ascii", IDN_ADDRESS, 1, 2, f"cannot send to {IDN_ADDRESS} / +6281234567890")
    except UnicodeEncodeError:
        r = mask_record(_record("send failed", exc_info=sys.exc_info()))
    text = logging.Formatter().format(r)
    assert "send failed" in text and "Traceback" in text
    assert IDN_ADDRESS not in text and NUMBER not in text
    r = _record("here")
    r.stack_info = "Stack (most recent call last):\n  budi@example.com"
    assert "budi@example.com" not in logging.Formatter().format(mask_record(r))


def test_filter_on_a_handler_masks_what_another_factory_made() -> None:
    r = _record("to %s", ("+6281234567890",))
    assert MaskingFilter().filter(r) and r.getMessage() == "to +62812****7890"


@pytest.fixture(autouse=True)
def _restore_hooks():  # type: ignore[no-untyped-def]
    """install() changes process-wide hooks: give the next tests the ones they had."""
    import threading

    saved = sys.excepthook, threading.excepthook, logging.getLogRecordFactory()
    yield
    sys.excepthook, threading.excepthook = saved[0], saved[1]
    logging.setLogRecordFactory(saved[2])
    logging.captureWarnings(False)


def test_install_masks_every_logger_and_quiets_twilio() -> None:
    old_factory, root = logging.getLogRecordFactory(), logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    own = logging.getLogger("some.library")
    own.propagate, keep = False, Keep()
    own.addHandler(keep)  # a library's own handler, not the root's
    try:
        logsafe.install(logging.INFO)
        assert not logging.getLogger("twilio.http_client").isEnabledFor(logging.INFO)
        own.warning("to %s", "whatsapp:+6281234567890")
        assert seen == ["to whatsapp:+62812****7890"]
        assert any(isinstance(f, MaskingFilter) for f in keep.filters)
    finally:
        own.removeHandler(keep)
        logging.setLogRecordFactory(old_factory)
        root.handlers[:], root.level = old_handlers, old_level


def test_every_subcommand_installs_masking_at_the_entry_point() -> None:
    old_factory = logging.getLogRecordFactory()
    try:
        from bot.cli import main

        assert main(["hours", "--at", "2026-11-30T10:00:00+07:00"]) == 0
        assert logging.getLogRecordFactory() is logsafe._masking_factory
    finally:
        logging.setLogRecordFactory(old_factory)


# -- real processes -----------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    return env


def _entry_point() -> list[str]:
    exe = REPO / ".venv" / "bin" / "yessindo-bot"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.cli"]


def test_poll_email_stderr_has_no_address(tmp_path, dovecot, smtp_server):  # noqa: F811
    """A mail from a non-ASCII address (its reply cannot be sent as it is) and one with a
    phone number: whatever poll-email reports, no full address or number reaches stderr."""
    raw = customer_mail(1, sender=IDN_ADDRESS, text="Halo kak, paket saya belum sampai. WA saya 081234567890")
    raw = raw.replace(b"From: Budi", "From: Jörg Döe".encode())
    dovecot.append(raw, customer_mail(2, text="Halo kak, nomor saya +6281234567890, otp saya 482913"))
    config = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table()})
    r = subprocess.run([*_entry_point(), "poll-email", "--once", "--config", str(config)], cwd=tmp_path,
                       env=_env(), capture_output=True, text=True, timeout=180)
    if r.returncode == 0:
        assert "mails: 2 fetched" in r.stdout, r.stdout + r.stderr
    else:  # one line saying what failed: masked like the logs
        assert r.returncode == 1 and r.stderr.startswith("yessindo-bot: poll-email"), r.stderr
    for private in (IDN_ADDRESS, "jdöe", NUMBER, "081234567890", "482913", "budi@example.com"):
        assert private not in r.stderr, r.stderr


def test_serve_twilio_traffic_leaves_no_number_in_stderr(tmp_path):
    """serve's outbox sends through the real twilio client to a fake Twilio; the first try
    fails with 500, so the sender asks Twilio for messages `To=whatsapp%3A%2B62...` before
    resending (the request twilio's HTTP client logs at INFO)."""
    from datetime import datetime, timezone

    from handoff.store import Store
    from tests.fake_twilio import FakeTwilio

    fake = FakeTwilio()
    fake.fail_next(1, status=500)
    db = tmp_path / "out.db"
    store = Store(db)
    with store.write(datetime.now(timezone.utc)) as tx:
        conv = tx.create_conversation("whatsapp", "+" + NUMBER, "id", None)
        tx.add_message(conv, "in", "halo", author="customer", external_id="SMin")
        tx.enqueue_outbound(conv, "Balasan dari agen Sari")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[storage]\ndatabase = "{db}"\n[whatsapp]\naccount_sid = "{fake.account_sid}"\n'
                   f'auth_token = "{fake.auth_token}"\napi_base_url = "{fake.url}"\n')
    proc = subprocess.Popen([*_entry_point(), "serve", "--config", str(cfg), "--port", str(free_port()),
                             "--workers", "1"], env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 150  # a busy 2-core machine: the start and the retry backoff take a while
        while time.monotonic() < deadline and not store.outbox(status="sent") and proc.poll() is None:
            time.sleep(0.2)
        statuses = [r["status"] for r in store.outbox()]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        fake.close()
        store.close()
    assert statuses == ["sent"], err[-3000:]
    assert any(q.method == "GET" for q in fake.requests)  # the number went out in a query string
    assert "Booting worker" in err or "Listening at" in err  # gunicorn's own log is there
    for private in (NUMBER, "%2B62812345", "34567890"):
        assert private not in err and private not in out


def test_uncaught_exceptions_and_warnings_are_masked_too(tmp_path):
    """A process that dies of an exception carrying an address and a number, after a warning
    with an OTP: its stderr is masked (sys.excepthook, threading.excepthook, captured warnings)."""
    script = tmp_path / "boom.py"
    script.write_text(
        "import threading, warnings\n"
        "from bot.logsafe import install\n"
        "install()\n"
        "warnings.warn('customer said: otp saya 482913')\n"
        "t = threading.Thread(target=lambda: 1 / 0 if False else (_ for _ in ()).throw("
        "ValueError('thread: jdöe@mächine.example')))\n"
        "t.start(); t.join()\n"
        "raise RuntimeError('cannot send to jdöe@mächine.example / whatsapp%3A%2B6281234567890')\n")
    r = subprocess.run([sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "RuntimeError" in r.stderr and "ValueError" in r.stderr and "UserWarning" in r.stderr
    for private in (IDN_ADDRESS, NUMBER, "482913"):
        assert private not in r.stderr, r.stderr
