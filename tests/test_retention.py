"""Retention: old, finished conversations go with all their rows; anything still to do stays."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot.config import settings_from_mapping
from bot.errors import ConfigError
from handoff import retention
from handoff.retention import purge_older_than
from handoff.store import Store, utc_iso
from tests.conftest import WIB

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=WIB)
OLD = NOW - timedelta(days=400)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "r.db")
    yield s
    s.close()


def conversation(store, at, customer, *, ticket_status="resolved", channel="whatsapp"):
    """A conversation at `at`: two messages, a ticket, an outbox row, events."""
    with store.write(at) as tx:
        conv = tx.create_conversation(channel, customer, "id", None)
        tx.add_message(conv, "in", "paket saya belum sampai", author="customer", external_id=f"SM-{customer}")
        tx.add_message(conv, "out", "Baik Kak", author="bot")
        t = tx.create_ticket(conv, intent="order_status", priority="normal", due_at=at + timedelta(minutes=15),
                             details={}, summary="paket")
        if ticket_status != "open":
            tx.update_ticket(t, status=ticket_status, resolved_at=at if ticket_status == "resolved" else None)
        tx.enqueue_outbound(conv, "Halo Kak, sudah kami cek.", ticket_ref=t.ref)
        tx.conn.execute("UPDATE outbox SET status = 'sent' WHERE conversation_id = ?", (conv.id,))
        tx.log_event("ticket.resolved", "sari", conversation_id=conv.id, ticket_ref=t.ref)
    return conv, t


def rows(store, table, conv_id):
    return store.conn.execute(f"SELECT count(*) FROM {table} WHERE conversation_id = ?", (conv_id,)).fetchone()[0]


def test_old_conversation_goes_with_messages_tickets_outbox_and_events(store):
    old, t = conversation(store, OLD, "+6281000000001")
    with store.write(OLD) as tx:  # an event that names only the ticket
        tx.log_event("ticket.note", "sari", ticket_ref=t.ref)
    recent, _ = conversation(store, NOW - timedelta(days=10), "+6281000000002")
    counts = purge_older_than(store, NOW, 365)
    assert counts["conversations"] == 1 and counts["messages"] == 2 and counts["tickets"] == 1
    assert counts["outbox"] == 1 and counts["events"] >= 4
    assert store.conversation(old.id) is None
    for table in ("messages", "tickets", "outbox", "events"):
        assert rows(store, table, old.id) == 0, table
        assert rows(store, table, recent.id) > 0, table
    assert store.conn.execute("SELECT count(*) FROM events WHERE ticket_ref = ?", (t.ref,)).fetchone()[0] == 0
    assert store.conversation(recent.id) is not None


def test_old_conversation_with_an_unresolved_ticket_is_kept(store):
    claimed, _ = conversation(store, OLD, "+6281000000003", ticket_status="claimed")
    opened, _ = conversation(store, OLD, "+6281000000004", ticket_status="open")
    assert purge_older_than(store, NOW, 30)["conversations"] == 0
    assert store.conversation(claimed.id) is not None and store.conversation(opened.id) is not None


def test_recent_message_in_an_old_conversation_keeps_it(store):
    conv, _ = conversation(store, OLD, "+6281000000005")
    with store.write(NOW - timedelta(days=2)) as tx:
        tx.add_message(conv, "in", "halo lagi", author="customer")
    assert purge_older_than(store, NOW, 30)["conversations"] == 0
    assert store.conversation(conv.id) is not None


def test_pending_outbox_row_keeps_the_conversation(store):
    conv, _ = conversation(store, OLD, "+6281000000006")
    store.conn.execute("UPDATE outbox SET status = 'pending' WHERE conversation_id = ?", (conv.id,))
    assert purge_older_than(store, NOW, 30)["conversations"] == 0


def test_zero_days_keeps_everything(store):
    conversation(store, OLD, "+6281000000007")
    before = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert not any(purge_older_than(store, NOW, 0).values())
    assert store.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == before
    with pytest.raises(TypeError):
        purge_older_than(store, NOW, "30")  # type: ignore[arg-type]


def test_one_event_with_counts_and_no_customer_id(store):
    conversation(store, OLD, "+6281000000008")
    conversation(store, OLD, "budi@example.com", channel="email")
    counts = purge_older_than(store, NOW, 365, actor="operator")
    [event] = store.events("retention.purged")
    assert event["actor"] == "operator" and event["conversation_id"] is None and event["ticket_ref"] is None
    data = json.loads(event["data"])
    assert data["conversations"] == 2 and data["days"] == 365 and data["messages"] == counts["messages"]
    dump = json.dumps(store.events())
    assert "+6281000000008" not in dump and "budi@example.com" not in dump
    # Idempotent: nothing left, no second event.
    assert purge_older_than(store, NOW, 365)["conversations"] == 0
    assert len(store.events("retention.purged")) == 1


def test_many_conversations_go_in_batches(store, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 7)
    for i in range(30):
        conversation(store, OLD, f"+62810000001{i:02d}")
    keep, _ = conversation(store, NOW, "+6281999999999")
    counts = purge_older_than(store, NOW, 365)
    assert counts["conversations"] == 30 and counts["messages"] == 60
    assert [r[0] for r in store.conn.execute("SELECT id FROM conversations")] == [keep.id]
    assert len(store.events("retention.purged")) == 1


def test_old_login_attempts_presence_and_email_senders(store):
    day_old = utc_iso(NOW - timedelta(days=2))
    fresh = utc_iso(NOW - timedelta(minutes=5))
    store.conn.executemany("INSERT INTO login_attempts (key, at) VALUES (?, ?)", [("sari", day_old), ("sari", fresh)])
    store.conn.executemany("INSERT INTO presence (conversation_id, agent, seen_at) VALUES (?, ?, ?)",
                           [(1, "sari", day_old), (2, "sari", fresh)])
    store.conn.execute("CREATE TABLE IF NOT EXISTS email_inbox (message_id TEXT PRIMARY KEY, folder TEXT, "
                       "uidvalidity INTEGER, uid INTEGER, sender TEXT, status TEXT NOT NULL, reason TEXT, "
                       "outbox_id INTEGER, created_at TEXT NOT NULL)")
    store.conn.executemany("INSERT INTO email_inbox (message_id, sender, status, created_at) VALUES (?, ?, ?, ?)",
                           [("<a@x>", "budi@example.com", "answered", utc_iso(OLD)),
                            ("<b@x>", "ani@example.com", "answered", fresh)])
    counts = purge_older_than(store, NOW, 30)
    assert counts["login_attempts"] == 1 and counts["presence"] == 1 and counts["email_senders"] == 1
    assert store.conn.execute("SELECT count(*) FROM login_attempts").fetchone()[0] == 1
    assert [r[0] for r in store.conn.execute("SELECT conversation_id FROM presence")] == [2]
    assert dict(store.conn.execute("SELECT message_id, sender FROM email_inbox").fetchall()) == {
        "<a@x>": None, "<b@x>": "ani@example.com"}


@pytest.mark.parametrize("value", [-1, "30", 1.5, True])
def test_retention_days_must_be_a_non_negative_whole_number(value):
    with pytest.raises(ConfigError) as err:
        settings_from_mapping({"storage": {"retention_days": value}}, "c.toml")
    assert err.value.key == "storage.retention_days"


def test_retention_days_defaults_to_keep_forever():
    assert settings_from_mapping({}).retention_days == 0
    assert settings_from_mapping({"storage": {"retention_days": 90}}, "c.toml").retention_days == 90


def test_serve_runs_retention_in_the_background(tmp_path, caplog):
    import logging
    import threading

    from bot.serve import run_retention_loop, start_retention_thread

    settings = settings_from_mapping({"storage": {"database": str(tmp_path / "r.db"), "retention_days": 30}})
    s = Store(settings.database)
    conversation(s, OLD, "+6281000000009")
    s.close()
    stop = threading.Event()
    calls = []

    def clock():
        calls.append(1)
        if len(calls) >= 2:
            stop.set()
        return NOW

    with caplog.at_level(logging.INFO, logger="yessindo.serve"):
        run_retention_loop(settings, stop, interval=0.01, first_delay=0, clock=clock)
    assert len(calls) == 2
    s = Store(settings.database)
    assert s.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0
    s.close()
    assert "retention (30 days): 1 conversations" in caplog.text and "+62810" not in caplog.text
    assert start_retention_thread(settings_from_mapping({})) is None  # 0 = keep forever: no thread


def test_an_old_live_chat_visitor_goes_with_the_contact_details_they_gave(store):
    from handoff import livechat as lc

    old_visitor, recent_visitor = "web:" + "a" * 32, "web:" + "b" * 32
    conversation(store, OLD, old_visitor, channel="web")
    conversation(store, NOW - timedelta(days=2), recent_visitor, channel="web")
    for customer, at in ((old_visitor, OLD), (recent_visitor, NOW - timedelta(days=2))):
        with store.write(at) as tx:
            lc.seen(tx, customer)
            lc.set_contact(tx, customer, "Rina", "rina@contoh.test", "081234567890")
    counts = purge_older_than(store, NOW, 365)
    assert counts["livechat_visitors"] == 1
    left = [r[0] for r in store.conn.execute("SELECT customer FROM livechat_visitors")]
    assert left == [recent_visitor]


def test_old_conversation_goes_with_agents_notes_and_notifications_about_it(store):
    """Notes and notifications may quote the customer: retention takes them with the conversation."""
    old, t = conversation(store, OLD, "+6281000000007")
    kept, k = conversation(store, NOW, "+6281000000008")
    with store.write(OLD) as tx:
        for conv, ticket in ((old, t), (kept, k)):
            tx.conn.execute("INSERT INTO ticket_notes (ticket_id, ticket_ref, conversation_id, author, text, created_at) "
                            "VALUES (?, ?, ?, 'sari', '@budi nomor 0810000000 ini', ?)",
                            (ticket.id, ticket.ref, conv.id, tx.now))
            tx.conn.execute("INSERT INTO notifications (agent, kind, ticket_ref, conversation_id, actor, text, created_at) "
                            "VALUES ('budi', 'mention', ?, ?, 'sari', 'nomor 0810000000', ?)", (ticket.ref, conv.id, tx.now))
    counts = purge_older_than(store, NOW, 365)
    assert counts["notes"] == 1 and counts["notifications"] == 1
    for table in ("ticket_notes", "notifications"):
        assert rows(store, table, old.id) == 0
        assert rows(store, table, kept.id) == 1
