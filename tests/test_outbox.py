"""The WhatsApp outbox against a local fake Twilio server, through the real twilio client."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.channels.whatsapp_sender import WhatsAppSender, run_sender_loop, status_callback_url
from handoff.outbox import deliver_due, last_inbound_at, record_status, window_open
from handoff.store import SCHEMA_VERSION, Store
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[1]
CUSTOMER = "+6281234567890"
FROM = "whatsapp:+6282129666065"
FAST = {"backoff": (1, 2, 4), "jitter": 0.0}


def wa_settings(db: Path, fake, **extra) -> SimpleNamespace:
    wa = SimpleNamespace(from_number=FROM, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                         public_url=extra.pop("public_url", ""), api_base_url=fake.url,
                         request_timeout=extra.pop("request_timeout", 5.0), **extra)
    return SimpleNamespace(database=str(db), whatsapp=wa)


@pytest.fixture
def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "bot.db")
    yield s
    s.close()


@pytest.fixture
def sender(tmp_path, fake_twilio):  # noqa: F811
    return WhatsAppSender(wa_settings(tmp_path / "bot.db", fake_twilio))


def inbound(store, now, customer=CUSTOMER, at=None):
    """The customer writes (opens the 24-hour window); returns the conversation."""
    with store.write(now) as tx:
        conv = tx.current_conversation("whatsapp", customer) or tx.create_conversation("whatsapp", customer, "id", None)
        tx.add_message(conv, "in", "halo", author="customer", external_id=f"SMin{time.monotonic_ns()}", at=at)
    return conv


def enqueue(store, now, conv, body="Pesanan Anda sudah dikirim.", **kw) -> int:
    with store.write(now) as tx:
        return tx.enqueue_outbound(conv, body, **kw)


def row(store, row_id):
    return next(r for r in store.outbox() if r["id"] == row_id)


# -- schema and enqueue -----------------------------------------------------------------
def test_outbox_table_and_migration_from_version_1(tmp_path):
    s = Store(tmp_path / "old.db")
    s.conn.execute("DROP TABLE outbox")
    s.conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    s.close()
    s = Store(tmp_path / "old.db")
    assert "outbox" in s.db.table_names()
    assert s.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    s.close()
    Store(tmp_path / "old.db").close()  # idempotent


def test_enqueue_is_part_of_the_callers_transaction(store, now):
    conv = inbound(store, now)
    with pytest.raises(RuntimeError):
        with store.write(now) as tx:
            tx.enqueue_outbound(conv, "balasan agen", ticket_ref="YS-000001")
            raise RuntimeError("the change failed")
    assert store.outbox() == []
    row_id = enqueue(store, now, conv, ticket_ref="YS-000001")
    r = row(store, row_id)
    assert (r["status"], r["attempts"], r["kind"], r["channel"], r["customer"]) == \
        ("pending", 0, "text", "whatsapp", CUSTOMER)
    with pytest.raises(ValueError):
        enqueue(store, now, conv, "", kind="template")  # a template needs its ContentSid


def test_forget_deletes_the_customers_outbox_rows(store, now):
    conv = inbound(store, now)
    enqueue(store, now, conv)
    other = inbound(store, now, customer="+6289999999999")
    enqueue(store, now, other)
    store.forget(CUSTOMER, now)
    assert [r["customer"] for r in store.outbox()] == ["+6289999999999"]


# -- delivery ------------------------------------------------------------------------------
def test_delivered_once_with_sid_recorded(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv, ticket_ref="YS-000007")
    summary = deliver_due(store, sender, now, **FAST)
    assert summary.sent == 1
    creates = fake_twilio.creates()
    assert len(creates) == 1 and creates[0].authorized
    form = creates[0].form
    assert form["To"] == "whatsapp:" + CUSTOMER and form["From"] == FROM
    assert form["Body"] == "Pesanan Anda sudah dikirim."
    assert "StatusCallback" not in form
    r = row(store, row_id)
    assert r["status"] == "sent" and r["provider_id"] == creates[0].sid and r["attempts"] == 1
    assert deliver_due(store, sender, now + timedelta(hours=1), **FAST).handled == 0  # nothing left
    assert len(fake_twilio.creates()) == 1
    ev = store.events("outbound.sent")[-1]
    assert ev["ticket_ref"] == "YS-000007" and "Pesanan" not in ev["data"]  # no bodies in events


def test_status_callback_url_from_public_url(tmp_path, fake_twilio, store, now):  # noqa: F811
    s = wa_settings(tmp_path / "bot.db", fake_twilio, public_url="https://bot.yessindo.id/webhooks/whatsapp")
    assert status_callback_url(s) == "https://bot.yessindo.id/webhooks/whatsapp/status"
    conv = inbound(store, now)
    enqueue(store, now, conv)
    deliver_due(store, WhatsAppSender(s), now, **FAST)
    assert fake_twilio.creates()[0].form["StatusCallback"] == "https://bot.yessindo.id/webhooks/whatsapp/status"


def test_500_then_success_is_retried_after_backoff_and_sent_once(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv)
    fake_twilio.fail_next(1, status=500)
    assert deliver_due(store, sender, now, **FAST).retried == 1
    r = row(store, row_id)
    assert r["status"] == "pending" and r["error_code"] == "20500" and r["needs_reconcile"] == 1
    assert r["next_attempt_at"] == (now + timedelta(seconds=1)).isoformat()
    assert deliver_due(store, sender, now, **FAST).handled == 0  # not before the backoff
    summary = deliver_due(store, sender, now + timedelta(seconds=1), **FAST)
    assert summary.sent == 1
    assert len(fake_twilio.creates()) == 1
    posts = [q for q in fake_twilio.requests if q.method == "POST"]
    assert [p.status for p in posts] == [500, 201]
    assert any(q.method == "GET" for q in fake_twilio.requests)  # reconciled before resending after a 5xx
    r = row(store, row_id)
    assert r["status"] == "sent" and r["attempts"] == 2 and r["error_code"] is None


def test_429_honours_retry_after_then_sends(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv)
    fake_twilio.fail_next(1, status=429, retry_after=30)
    assert deliver_due(store, sender, now, **FAST).retried == 1
    assert row(store, row_id)["next_attempt_at"] == (now + timedelta(seconds=30)).isoformat()
    assert deliver_due(store, sender, now + timedelta(seconds=10), **FAST).handled == 0
    assert deliver_due(store, sender, now + timedelta(seconds=30), **FAST).sent == 1
    assert len(fake_twilio.creates()) == 1
    assert not any(q.method == "GET" for q in fake_twilio.requests)  # a 429 created nothing: no reconciliation


def test_gives_up_after_max_attempts(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv)
    fake_twilio.fail_next(3, status=429)
    at = now
    for _ in range(3):
        deliver_due(store, sender, at, max_attempts=3, **FAST)
        at += timedelta(seconds=10)
    r = row(store, row_id)
    assert r["status"] == "failed" and r["attempts"] == 3 and "gave up" in r["last_error"]


@pytest.mark.parametrize("code", [63016, 21211, 21610])
def test_permanent_errors_fail_without_retry(store, sender, fake_twilio, now, code):  # noqa: F811
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv)
    fake_twilio.fail_next(1, status=400, code=code, message=f"Twilio says {code}")
    assert deliver_due(store, sender, now, **FAST).failed == 1
    r = row(store, row_id)
    assert r["status"] == "failed" and r["error_code"] == str(code) and f"Twilio says {code}" in r["last_error"]
    assert deliver_due(store, sender, now + timedelta(days=1), **FAST).handled == 0
    assert len([q for q in fake_twilio.requests if q.method == "POST"]) == 1


# -- the 24-hour window ------------------------------------------------------------------
def test_window(store, now):
    assert last_inbound_at(store, CUSTOMER) is None and not window_open(store, CUSTOMER, now)
    inbound(store, now, at=now - timedelta(hours=23))
    assert last_inbound_at(store, CUSTOMER) == now - timedelta(hours=23)
    assert window_open(store, CUSTOMER, now)
    assert not window_open(store, CUSTOMER, now + timedelta(hours=1, seconds=1))


def test_free_text_outside_window_is_refused_before_calling_twilio(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now, at=now - timedelta(hours=25))
    row_id = enqueue(store, now, conv, ticket_ref="YS-000003")
    summary = deliver_due(store, sender, now, **FAST)
    assert summary.refused == 1
    assert fake_twilio.requests == []
    r = row(store, row_id)
    assert r["status"] == "refused" and r["error_code"] == "63016"
    assert "24-hour window" in r["last_error"] and "template" in r["last_error"]
    assert store.events("outbound.refused")[-1]["ticket_ref"] == "YS-000003"


def test_template_outside_window_is_sent_with_content_sid(store, sender, fake_twilio, now):  # noqa: F811
    conv = inbound(store, now, at=now - timedelta(days=3))
    row_id = enqueue(store, now, conv, "", kind="template", content_sid="HX" + "a" * 32,
                     content_variables={"1": "YS-000003"})
    assert deliver_due(store, sender, now, **FAST).sent == 1
    form = fake_twilio.creates()[0].form
    assert form["ContentSid"] == "HX" + "a" * 32 and json.loads(form["ContentVariables"]) == {"1": "YS-000003"}
    assert "Body" not in form
    assert row(store, row_id)["status"] == "sent"


# -- status callbacks --------------------------------------------------------------------
def sent_row(store, sender, now):
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv, ticket_ref="YS-000009")
    deliver_due(store, sender, now, **FAST)
    return row_id, row(store, row_id)["provider_id"]


def test_status_callbacks_progress(store, sender, fake_twilio, now):  # noqa: F811
    row_id, sid = sent_row(store, sender, now)
    for status in ("sent", "delivered", "read"):
        assert record_status(store, now, sid, status)
        assert row(store, row_id)["status"] == status
    ev = store.events("outbound.status")
    assert len(ev) == 3 and ev[-1]["ticket_ref"] == "YS-000009" and ev[-1]["conversation_id"] is not None
    assert record_status(store, now, "SMunknown", "delivered") is False


def test_status_callbacks_out_of_order_never_downgrade(store, sender, fake_twilio, now):  # noqa: F811
    row_id, sid = sent_row(store, sender, now)
    record_status(store, now, sid, "read")
    record_status(store, now, sid, "delivered")
    record_status(store, now, sid, "sent")
    assert row(store, row_id)["status"] == "read"


def test_status_callback_failure_recorded_with_code(store, sender, fake_twilio, now):  # noqa: F811
    row_id, sid = sent_row(store, sender, now)
    record_status(store, now, sid, "sent")
    assert record_status(store, now, sid, "undelivered", "63024", "Invalid message recipient")
    r = row(store, row_id)
    assert (r["status"], r["error_code"], r["last_error"]) == ("undelivered", "63024", "Invalid message recipient")
    record_status(store, now, sid, "failed", 30008)
    assert (row(store, row_id)["status"], row(store, row_id)["error_code"]) == ("failed", "30008")


# -- never twice -------------------------------------------------------------------------
def test_two_senders_never_send_a_row_twice(tmp_path, fake_twilio, now):  # noqa: F811
    db = tmp_path / "bot.db"
    s = Store(db)
    conv = inbound(s, now)
    bodies = [f"pesan {i}" for i in range(30)]
    for b in bodies:
        enqueue(s, now, conv, b)
    settings = wa_settings(db, fake_twilio)
    barrier = threading.Barrier(3)
    errors = []

    def worker():
        st = Store(db)
        try:
            snd = WhatsAppSender(settings)
            barrier.wait()
            deliver_due(st, snd, now, **FAST)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            st.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    sent = sorted(c.form["Body"] for c in fake_twilio.creates())
    assert sent == sorted(bodies)
    assert {r["status"] for r in s.outbox()} == {"sent"}
    s.close()


def test_timeout_after_twilio_accepted_is_reconciled_not_resent(store, tmp_path, fake_twilio, now):  # noqa: F811
    sender = WhatsAppSender(wa_settings(tmp_path / "bot.db", fake_twilio, request_timeout=0.5))
    conv = inbound(store, now)
    row_id = enqueue(store, now, conv)
    fake_twilio.hang_next(1, create=True, seconds=2)
    assert deliver_due(store, sender, now, **FAST).retried == 1
    assert row(store, row_id)["needs_reconcile"] == 1
    assert deliver_due(store, sender, now + timedelta(seconds=5), **FAST).reconciled == 1
    r = row(store, row_id)
    assert len(fake_twilio.creates()) == 1
    assert r["status"] == "sent" and r["provider_id"] == fake_twilio.creates()[0].sid


_CHILD = """
import sys
from datetime import datetime, timezone
from types import SimpleNamespace
from bot.channels.whatsapp_sender import WhatsAppSender
from handoff.outbox import deliver_due
from handoff.store import Store
db, url, sid, token, from_ = sys.argv[1:6]
wa = SimpleNamespace(from_number=from_, account_sid=sid, auth_token=token, public_url="", api_base_url=url,
                     request_timeout=30.0)
store = Store(db)
print("claiming", flush=True)
print(deliver_due(store, WhatsAppSender(SimpleNamespace(database=db, whatsapp=wa))), flush=True)
"""


def _run_child(db, fake):
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), fake.url, ACCOUNT_SID, AUTH_TOKEN, FROM],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.parametrize("accepted", [True, False], ids=["twilio-accepted", "never-reached-twilio"])
def test_killed_with_undelivered_outbox_then_restarted_delivers_exactly_once(tmp_path, fake_twilio, accepted):  # noqa: F811
    db = tmp_path / "bot.db"
    start = datetime.now(timezone.utc)
    s = Store(db)
    conv = inbound(s, start)
    row_id = enqueue(s, start, conv, "Refund Anda sudah diproses.")
    fake_twilio.hang_next(1, create=accepted, seconds=20)
    child = _run_child(db, fake_twilio)
    deadline = time.monotonic() + 15
    while not [q for q in fake_twilio.requests if q.method == "POST"]:
        assert time.monotonic() < deadline and child.poll() is None, child.communicate()
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)  # killed after the claim, before the answer was recorded
    child.wait(10)
    r = row(s, row_id)
    assert r["status"] == "sending" and r["provider_id"] is None and r["attempts"] == 1

    # Restart: nothing happens while the lease holds; once it expired, one delivery.
    sender = WhatsAppSender(wa_settings(db, fake_twilio))
    assert deliver_due(s, sender, datetime.now(timezone.utc), **FAST).handled == 0
    summary = deliver_due(s, sender, datetime.now(timezone.utc) + timedelta(seconds=61), **FAST)
    assert (summary.reconciled, summary.sent) == ((1, 0) if accepted else (0, 1))
    creates = [c for c in fake_twilio.creates() if c.form.get("Body") == "Refund Anda sudah diproses."]
    assert len(creates) == 1
    r = row(s, row_id)
    assert r["status"] == "sent" and r["provider_id"] == creates[0].sid
    assert deliver_due(s, sender, datetime.now(timezone.utc) + timedelta(hours=2), **FAST).handled == 0
    assert len(fake_twilio.creates()) == 1
    s.close()


def test_run_sender_loop_delivers_and_stops(tmp_path, fake_twilio, now):  # noqa: F811
    db = tmp_path / "bot.db"
    s = Store(db)
    conv = inbound(s, now)
    row_id = enqueue(s, now, conv)
    stop = threading.Event()
    t = threading.Thread(target=run_sender_loop, args=(wa_settings(db, fake_twilio), stop, 0.05))
    t.start()
    deadline = time.monotonic() + 10
    while row(s, row_id)["status"] != "sent":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop.set()
    t.join(5)
    assert not t.is_alive() and len(fake_twilio.creates()) == 1
    s.close()


def test_real_settings_drive_the_sender(tmp_path, fake_twilio, now):  # noqa: F811
    from bot.config import settings_from_mapping

    settings = settings_from_mapping({
        "storage": {"database": str(tmp_path / "bot.db")},
        "whatsapp": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base_url": fake_twilio.url,
                     "public_url": "https://bot.yessindo.id"},
    })
    s = Store(settings.database)
    enqueue(s, now, inbound(s, now))
    assert deliver_due(s, WhatsAppSender(settings), now, **FAST).sent == 1
    assert fake_twilio.creates()[0].form["StatusCallback"] == "https://bot.yessindo.id/webhooks/whatsapp/status"
    s.close()
