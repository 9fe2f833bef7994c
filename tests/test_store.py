"""The handoff store on a real SQLite file."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.errors import StoreError
from handoff.store import Store, ticket_ref
from tests.conftest import WIB

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=WIB)


def test_wal_mode_and_schema(tmp_path):
    s = Store(tmp_path / "a.db")
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"conversations", "messages", "tickets", "events"} <= set(s.db.table_names())
    s.close()
    Store(tmp_path / "a.db").close()  # reopening an existing database is fine


def test_ticket_refs_and_roundtrip(tmp_path):
    s = Store(tmp_path / "a.db")
    with s.write(NOW) as tx:
        conv = tx.create_conversation("whatsapp", "+6281", "id", "Budi")
        t = tx.create_ticket(conv, intent="payment", priority="normal", due_at=NOW + timedelta(minutes=15),
                             details={"order_numbers": ["X-1"]}, summary="s")
    assert t.ref == "YS-000001" == ticket_ref(1)
    got = s.ticket("YS-000001")
    assert got.due_at == NOW + timedelta(minutes=15)
    assert got.details == {"order_numbers": ["X-1"]}
    assert got.as_json(WIB)["due_at"] == "2026-11-24T10:15:00+07:00"
    assert [e["kind"] for e in s.events()] == ["conversation.created", "ticket.created"]


def test_failed_transaction_leaves_nothing(tmp_path):
    s = Store(tmp_path / "a.db")
    with pytest.raises(RuntimeError):
        with s.write(NOW) as tx:
            tx.create_conversation("whatsapp", "+6281", "id", None)
            raise RuntimeError("crash mid-way")
    assert s.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0
    assert s.events() == []


def test_queue_sorted_by_due_time(tmp_path):
    s = Store(tmp_path / "a.db")
    with s.write(NOW) as tx:
        conv = tx.create_conversation("whatsapp", "+6281", "id", None)
        for minutes in (30, 5, 15):
            tx.create_ticket(conv, intent="product", priority="normal", due_at=NOW + timedelta(minutes=minutes),
                             details={}, summary="")
    assert [t.ref for t in s.tickets(status="open")] == ["YS-000002", "YS-000003", "YS-000001"]


def test_read_only_database_is_a_clear_error(tmp_path):
    store = Store(tmp_path / "ro.db")
    # query_only makes SQLite refuse writes exactly as for a read-only file (which root
    # could still write); the CLI test runs the real read-only file as an unprivileged user.
    store.conn.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreError, match="read-only"):
        with store.write(NOW) as tx:
            tx.create_conversation("whatsapp", "+6281", "id", None)
    assert not store.conn.in_transaction


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a valid SQLite database"):
        Store(path)


def test_tickets_json_built_by_sqlite_matches_as_json(bot, convo, email_convo, clock):
    """`queue list --json` has SQLite build each object; it must say exactly what Ticket.as_json says."""
    import json
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    convo.say("paket INV-20261101-0001 belum sampai, email saya budi@example.com")
    email_convo.send("Mau retur barang rusak", subject="Retur")
    clock.at += timedelta(hours=1)
    other = type(convo)(bot, clock, customer="+6289999999999")
    other.say("saya mau eskalasi ke supervisor 🙏 «ß»")
    ref = convo.last.ticket_ref
    with bot.store.write(clock()) as tx:
        tx.update_ticket(bot.store.ticket(ref), first_response_at=clock(), status="resolved", resolved_at=clock(),
                         csat=4, agent="sari")
    tz = ZoneInfo("Asia/Jakarta")
    for status in (None, "open", "resolved"):
        expected = [t.as_json(tz) for t in bot.store.tickets(status=status)]
        got = [json.loads(text) for text in bot.store.tickets_json(status, timedelta(hours=7))]
        assert got == expected and got
