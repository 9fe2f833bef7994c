"""Private notes with @mentions and the notifications of one agent (issue 12, items 2 and 7):
the store (handoff/notes.py, handoff/notifications.py), `forget`, the CLI and the console
routes through the Flask test client."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from handoff import notes, notifications, queue
from tests.test_cli import run
from tests.test_console import XSS, csrf_of, post
from tests.test_console import console  # noqa: F401  (fixture)

PROBLEM = "kak paket saya belum sampai, pesanan INV-20261120-0001"


def counts(console, *tables: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with console.db() as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_mentions_are_parsed_against_existing_agents_case_insensitively():
    agents = ["sari", "budi", "Dewi.S"]
    assert notes.parse_mentions("@SARI tolong cek, cc @budi. dan @dewi.s!", agents) == ["sari", "budi", "Dewi.S"]
    assert notes.parse_mentions("@ghost dan email sari@contoh.com, @sari @sari", agents) == ["sari"]
    assert notes.parse_mentions("tanpa sebutan", agents) == []


def test_a_note_is_private_never_a_message_nor_an_outbox_row(console):
    ref = console.customer(PROBLEM)
    before = counts(console, "messages", "outbox")
    note = notes.add_note(console.store, console.clock(), ref, "sari", "Pelanggan ini rewel, hati-hati @budi")
    assert note.mentions == ["budi"]
    assert counts(console, "messages", "outbox") == before
    with console.db() as db:
        texts = [r[0] or "" for r in db.execute("SELECT text FROM messages UNION ALL SELECT body FROM outbox")]
    assert not any("rewel" in t for t in texts)
    # the audit trail names who was mentioned, never the text
    [event] = console.store.events("note.added")
    assert event["actor"] == "sari" and event["ticket_ref"] == ref
    data = event["data"]
    assert "budi" in data and "rewel" not in data
    # the transcript the console polls has no note either
    api = console.client("budi").get(f"/console/api/t/{ref}").json
    assert not any("rewel" in (m.get("text") or "") for m in api["messages"])


def test_mention_notifies_only_other_existing_agents(console):
    ref = console.customer(PROBLEM)
    notes.add_note(console.store, console.clock(), ref, "dewi", "@Sari @budi @ghost @dewi tolong cek")
    with console.db() as db:
        rows = db.execute("SELECT agent, kind, ticket_ref, actor, text FROM notifications ORDER BY agent").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("budi", "mention", ref, "dewi"), ("sari", "mention", ref, "dewi")]
    assert all(len(r[4]) <= notes.PREVIEW for r in rows)
    long_note = "@sari " + "x" * 3000
    notes.add_note(console.store, console.clock(), ref, "budi", long_note)
    with console.db() as db:
        [preview] = [r[0] for r in db.execute("SELECT text FROM notifications WHERE actor = 'budi'")]
    assert len(preview) <= notes.PREVIEW and preview.endswith("…")


def test_empty_too_long_or_unknown_is_refused_and_a_resolved_ticket_takes_notes(console):
    ref = console.customer(PROBLEM)
    for text in ("", "   \n"):
        with pytest.raises(queue.QueueError, match="empty"):
            notes.add_note(console.store, console.clock(), ref, "sari", text)
    with pytest.raises(queue.QueueError, match="4001 characters"):
        notes.add_note(console.store, console.clock(), ref, "sari", "x" * 4001)
    with pytest.raises(queue.QueueError, match="no ticket"):
        notes.add_note(console.store, console.clock(), "YS-999999", "sari", "halo")
    with pytest.raises(queue.QueueError, match="no agent"):
        notes.add_note(console.store, console.clock(), ref, "ghost", "halo")
    from bot.desk import Desk

    d = Desk.from_settings(console.app.config["SETTINGS"], console.store)
    d.claim(console.clock(), ref, "sari")
    d.reply(console.clock(), ref, "sari", "Baik Kak, kami cek.")
    d.resolve(console.clock(), ref, "sari", None)
    note = notes.add_note(console.store, console.clock(), ref, "budi", "sudah selesai, catat saja")
    assert [n.id for n in notes.list_notes(console.store, ref)] == [note.id]
    assert counts(console, "ticket_notes")["ticket_notes"] == 1


def test_forget_deletes_the_customers_notes_and_notifications(console):
    ref = console.customer(PROBLEM, customer="+6281234567890")
    other = console.customer("mau retur barang rusak", customer="+6281299990000")
    notes.add_note(console.store, console.clock(), ref, "sari", "@budi nomor 081234567890 ini rewel")
    notes.add_note(console.store, console.clock(), other, "sari", "@budi pelanggan lain")
    console.store.forget("+6281234567890", console.clock())
    with console.db() as db:
        assert [r[0] for r in db.execute("SELECT ticket_ref FROM ticket_notes")] == [other]
        assert [r[0] for r in db.execute("SELECT ticket_ref FROM notifications")] == [other]
        assert db.execute("SELECT count(*) FROM ticket_notes WHERE text LIKE '%rewel%'").fetchone()[0] == 0
    [event] = console.store.events("customer.forgotten")
    data = json.loads(event["data"])
    assert data["notes"] == 1 and data["notifications"] == 1


def test_cli_queue_note_adds_a_note_and_sends_nothing(console):
    ref = console.customer(PROBLEM)
    env = {"YESSINDO_DATABASE": console.config["storage"]["database"]}
    before = counts(console, "messages", "outbox")
    p = run(["queue", "note", ref.lower(), "--agent", "sari", "--text", "@budi cek resi ya"], env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == f"note added to {ref}\n"
    assert counts(console, "messages", "outbox") == before
    assert [n.text for n in notes.list_notes(console.store, ref)] == ["@budi cek resi ya"]
    p = run(["queue", "note", ref, "--agent", "sari", "--text", "  "], env=env)
    assert p.returncode == 1
    assert p.stderr.decode() == "yessindo-bot: queue note: the note is empty\n"
    p = run(["queue", "note", "YS-999999", "--agent", "sari", "--text", "x"], env=env)
    assert p.returncode == 1 and "no ticket YS-999999" in p.stderr.decode()
    p = run(["notifications", "--agent", "budi", "--json"], env=env)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["counts"]["mention"] == 1
    assert [i["ref"] for i in data["items"] if i["kind"] == "mention"] == [ref]


def test_console_note_needs_csrf_and_its_text_stays_text(console):
    ref = console.customer(PROBLEM)
    budi = console.client("budi")
    r = budi.post(f"/console/t/{ref}/note", data={"text": "tanpa token"})
    assert r.status_code == 400
    r = budi.post(f"/console/api/t/{ref}/notes", data={"text": "tanpa token"})
    assert r.status_code == 400
    assert notes.list_notes(console.store, ref) == []

    r = post(budi, f"/console/t/{ref}/note", text="@sari " + XSS)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/console/t/{ref}#notes")
    page = budi.get(f"/console/t/{ref}").text
    assert "Catatan internal — tidak dikirim ke pelanggan" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="note note-mine" data-id="' in page
    r = budi.post(f"/console/api/t/{ref}/notes", data={"text": "", "csrf_token": csrf_of(budi)})
    assert r.status_code == 400 and "kosong" in r.json["error"]
    r = budi.post(f"/console/api/t/{ref}/notes", data={"text": "kedua", "csrf_token": csrf_of(budi)})
    assert r.status_code == 201 and r.json["note"]["author"] == "budi"

    # sari's open page polls the notes after the last one she has
    sari = console.client("sari")
    first = sari.get(f"/console/api/t/{ref}/notes").json["notes"]
    assert [n["text"] for n in first] == ["@sari " + XSS, "kedua"]
    assert sari.get(f"/console/api/t/{ref}/notes?after={first[0]['id']}").json["notes"][0]["text"] == "kedua"
    assert sari.get("/console/api/t/YS-999999/notes").status_code == 404
    # the history names the event in Indonesian
    assert "Catatan internal ditambahkan" in sari.get(f"/console/t/{ref}").text


def test_notifications_count_mentions_new_tickets_and_waiting_messages(console, clock):
    first = console.customer(PROBLEM, customer="+6281200000001")
    sari = console.client("sari")
    data = sari.get("/console/api/notifications").json
    assert data["count"] == 1 and [i["kind"] for i in data["items"]] == ["ticket"]
    assert data["items"][0]["url"] == f"/console/t/{first}"

    # sari has looked: only tickets after that are new
    r = sari.post("/console/api/notifications/read", data={"all": "1", "csrf_token": csrf_of(sari)})
    assert r.status_code == 200
    assert sari.get("/console/api/notifications").json["count"] == 0
    second = console.customer("mau retur, barang rusak", customer="+6281200000002")
    data = sari.get("/console/api/notifications").json
    assert data["counts"]["ticket"] == 1 and data["items"][0]["ref"] == second

    # a mention from budi
    post(console.client("budi"), f"/console/t/{first}/note", text="@sari tolong cek")
    data = sari.get("/console/api/notifications").json
    assert data["count"] == 2 and data["items"][0]["kind"] == "mention"
    assert data["items"][0]["title"] == f"budi menyebut Anda di {first}"
    assert data["items"][0]["text"] == "@sari tolong cek" and data["items"][0]["unread"] is True

    # sari takes the second ticket: it is no longer new, the customer's message waits for her
    post(sari, f"/console/t/{second}/claim")
    data = sari.get("/console/api/notifications").json
    assert data["counts"] == {"mention": 1, "assigned": 0, "ticket": 0, "message": 1, "sla": data["counts"]["sla"]}
    console.customer("halo? masih ada orang?", customer="+6281200000002")
    data = sari.get("/console/api/notifications").json
    [waiting] = [i for i in data["items"] if i["kind"] == "message"]
    assert waiting["ref"] == second and waiting["title"] == f"2 pesan pelanggan menunggu di {second}"
    assert waiting["id"] == data["latest_message"]
    assert "masih ada orang" not in json.dumps(data)  # customer text is never in a notification
    post(sari, f"/console/t/{second}/reply", text="Halo Kak, saya Sari.")
    assert sari.get("/console/api/notifications").json["counts"]["message"] == 0

    # reading the mention on its ticket clears it; budi's own count is his
    r = sari.post("/console/api/notifications/read", data={"ref": first, "csrf_token": csrf_of(sari)})
    assert r.json["read"] == 1
    assert sari.get("/console/api/notifications").json["counts"]["mention"] == 0
    assert console.client("budi").get("/console/api/notifications").json["counts"]["mention"] == 0
    assert sari.post("/console/api/notifications/read", data={"csrf_token": csrf_of(sari)}).status_code == 400
    r = sari.post("/console/api/notifications/read", data={"ids": "9" * 40 + ",abc", "csrf_token": csrf_of(sari)})
    assert r.status_code == 200 and r.json["read"] == 0
    assert sari.post("/console/api/notifications/read", data={"all": "1"}).status_code == 400  # no CSRF


def test_promise_about_to_be_missed_is_listed_for_holder_and_unassigned(console, clock):
    ref = console.customer(PROBLEM)
    t = console.store.ticket(ref)
    from bot.business_hours import BusinessCalendar

    cal = BusinessCalendar(console.app.config["SETTINGS"].hours)
    now = clock()
    assert notifications.pending(console.store, now, cal, "sari").counts["sla"] == 0
    near = t.due_at - timedelta(minutes=2)  # 2 minutes of a 15-minute promise left
    found = notifications.pending(console.store, near, cal, "sari")
    [item] = [i for i in found.items if i.kind == "sla"]
    assert item.ref == ref and "Respons pertama" in item.text and found.count == 1  # the ticket, not the risk
    from bot.desk import Desk

    Desk.from_settings(console.app.config["SETTINGS"], console.store).claim(now, ref, "budi")
    assert notifications.pending(console.store, near, cal, "sari").counts["sla"] == 0  # budi's now
    assert notifications.pending(console.store, near, cal, "budi").counts["sla"] == 1
    late = t.due_at + timedelta(minutes=1)
    assert notifications.pending(console.store, late, cal, "budi").counts["sla"] == 0  # missed, not "about to"


def test_notification_queries_use_indexes(console, clock):
    """Every statement `pending()` runs (traced with its bound values) is an index search."""
    from bot.business_hours import BusinessCalendar

    ref = console.customer(PROBLEM)
    notes.add_note(console.store, clock(), ref, "budi", "@sari cek")
    post(console.client("sari"), f"/console/t/{ref}/claim")
    conn = console.store.conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        notifications.pending(console.store, clock(), BusinessCalendar(console.app.config["SETTINGS"].hours), "sari")
    finally:
        conn.set_trace_callback(None)
    assert len(statements) >= 6
    for sql in statements:
        plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN tickets" not in plan and "SCAN messages" not in plan and "SCAN notifications" not in plan, (sql, plan)
        if "due_at >" in sql:
            assert "idx_tickets_active_due" in plan, plan
