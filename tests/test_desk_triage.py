"""Triage (issue 12 item 3): labels, category and priority (promises only in the customer's
favour), reopen, snooze and its wake-up on the customer's message. Store/desk level, the CLI
and the console through the Flask test client; tickets come from the real pipeline."""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

import pytest

from bot.cli import main
from bot.desk import Desk
from bot.desk_triage import Triage, create_label, delete_label, label_ticket, snooze_of
from handoff.queue import QueueError
from tests.conftest import WIB
from tests.test_console import Console, csrf_of, flashes, post, queue_refs


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def desk_of(console) -> Desk:  # type: ignore[no-untyped-def]
    return Desk.from_settings(console.svc.settings, console.store)


def triage_of(console) -> Triage:  # type: ignore[no-untyped-def]
    return Triage.of(desk_of(console))


def row(console, ref):  # type: ignore[no-untyped-def]
    db = console.db()
    db.row_factory = sqlite3.Row
    return db.execute("SELECT * FROM tickets WHERE ref = ?", (ref,)).fetchone()


def col(console, ref, name):  # type: ignore[no-untyped-def]
    return console.db().execute(f"SELECT {name} FROM tickets WHERE ref = ?", (ref,)).fetchone()[0]


def events(console, kind):  # type: ignore[no-untyped-def]
    return console.store.events(kind)


# -- labels -------------------------------------------------------------------------------------
def test_labels_made_by_supervisors_put_on_by_any_agent(console, clock):
    ref = console.customer("paket saya belum sampai")
    now = clock()
    with pytest.raises(QueueError, match="supervisor"):
        create_label(console.store, now, "VIP", "sari")
    assert create_label(console.store, now, " VIP ", "dewi") == "VIP"
    create_label(console.store, now, "Garansi", "dewi")
    with pytest.raises(QueueError, match="already exists"):
        create_label(console.store, now, "vip", "dewi")
    with pytest.raises(QueueError):
        create_label(console.store, now, "<b>x</b>", "dewi")
    with pytest.raises(QueueError, match="no label"):
        label_ticket(console.store, now, ref, "Tidak ada", "sari")
    assert label_ticket(console.store, now, ref, "VIP", "sari") is True
    assert label_ticket(console.store, now, ref, "VIP", "budi") is False  # already on
    assert label_ticket(console.store, now, ref, "Garansi", "budi") is True
    tid = row(console, ref)["id"]
    assert [r[0] for r in console.db().execute("SELECT label FROM ticket_labels WHERE ticket_id = ? ORDER BY label",
                                               (tid,))] == ["Garansi", "VIP"]
    assert label_ticket(console.store, now, ref, "VIP", "budi", add=False) is True
    assert [e["data"] for e in events(console, "ticket.labeled")] == ['{"label": "VIP"}', '{"label": "Garansi"}']
    assert len(events(console, "ticket.unlabeled")) == 1
    with pytest.raises(QueueError):
        delete_label(console.store, now, "Garansi", "budi")
    assert delete_label(console.store, now, "Garansi", "dewi") == 1
    assert console.db().execute("SELECT count(*) FROM ticket_labels").fetchone()[0] == 0


def test_queue_filters_by_label_and_rows_show_their_labels(console, clock):
    a = console.customer("paket saya belum sampai", customer="+6281200000001")
    b = console.customer("paket saya belum sampai juga", customer="+6281200000002")
    create_label(console.store, clock(), "VIP", "dewi")
    label_ticket(console.store, clock(), b, "VIP", "sari")
    c = console.client("sari")
    page = c.get("/console").text
    assert set(queue_refs(page)) == {a, b}
    assert 'id="f-label"' in page and '<option value="VIP"' in page
    assert queue_refs(c.get("/console?label=VIP").text) == [b]
    assert queue_refs(c.get("/console?label=nothing").text) == []
    row_b = re.search(rf'<tr data-ref="{b}".*?</tr>', page, re.S).group(0)
    assert '<span class="tag">VIP</span>' in row_b
    api = c.get("/console/api/queue?label=VIP").json
    assert [r["ref"] for r in api["rows"]] == [b] and api["rows"][0]["labels"] == ["VIP"]
    assert api["filters"]["label"] == "VIP"


def test_console_label_chips_add_remove_and_csrf(console, clock):
    ref = console.customer("paket saya belum sampai")
    create_label(console.store, clock(), "VIP", "dewi")
    c = console.client("sari")
    page = c.get(f"/console/t/{ref}").text
    assert 'id="labels"' in page and 'id="label-add"' in page
    # without the CSRF token nothing happens
    assert c.post(f"/console/t/{ref}/labels", data={"label": "VIP"}).status_code == 400
    assert console.db().execute("SELECT count(*) FROM ticket_labels").fetchone()[0] == 0
    resp = post(c, f"/console/t/{ref}/labels", label="VIP")
    assert resp.status_code == 303
    page = c.get(f"/console/t/{ref}").text
    assert 'class="label" data-label="VIP"' in page and "Label \u201cVIP\u201d ditambahkan." in flashes(page)
    post(c, f"/console/t/{ref}/labels", label="VIP", op="remove")
    assert 'data-label="VIP"' not in c.get(f"/console/t/{ref}").text.split('id="labels"')[1].split("</div>")[0]


def test_labels_page_for_supervisors_only(console, clock):
    sari, dewi = console.client("sari"), console.client("dewi")
    refused = sari.get("/console/labels")
    assert refused.status_code == 403  # the console's own page: its header and logout stay
    assert 'id="logout"' in refused.text and "Tidak diizinkan" in refused.text
    assert post(sari, "/console/labels", name="VIP").status_code == 403
    assert 'id="nav-labels"' not in sari.get("/console").text
    assert 'id="nav-labels"' in dewi.get("/console").text
    post(dewi, "/console/labels", name="VIP")
    page = dewi.get("/console/labels").text
    assert '<tr data-label="VIP">' in page
    post(dewi, "/console/labels/delete", name="VIP")
    assert '<tr data-label="VIP">' not in dewi.get("/console/labels").text


# -- category and priority ----------------------------------------------------------------------
def test_priority_change_moves_promises_only_earlier(console, clock):
    ref = console.customer("saya mau refund, barang datang rusak")  # complex: 2 working days
    before = row(console, ref)
    assert before["priority"] == "complex"
    triage = triage_of(console)
    clock.at += timedelta(minutes=5)
    t = triage.set_priority(clock(), ref, "normal", "sari")
    assert t.priority == "normal"
    # the normal promise from creation: 15 min of opening time, earlier than 2 days
    assert t.first_response_due == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    assert t.due_at == t.first_response_due
    assert t.resolution_due.isoformat() == before["resolution_due"] or t.resolution_due <= datetime.fromisoformat(
        before["resolution_due"])
    [e] = events(console, "ticket.priority_changed")
    assert '"from": "complex"' in e["data"] and '"to": "normal"' in e["data"] and e["actor"] == "sari"
    # back to complex: the promise stays the earlier one (never later for the customer)
    t = triage.set_priority(clock(), ref, "complex", "sari")
    assert t.priority == "complex" and t.first_response_due == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    with pytest.raises(QueueError, match="escalate"):
        triage.set_priority(clock(), ref, "escalation", "sari")


def test_category_change_logged_and_never_later(console, clock):
    ref = console.customer("paket saya belum sampai")  # normal, 15 min
    triage = triage_of(console)
    due = row(console, ref)["due_at"]
    t = triage.set_intent(clock(), ref, "return_refund", "budi")
    assert t.intent == "return_refund" and row(console, ref)["due_at"] == due  # complex would be later: kept
    t = triage.set_intent(clock(), ref, "payment", "budi")
    [first, second] = events(console, "ticket.category_changed")
    assert '"from": "order_status"' in first["data"] and '"to": "return_refund"' in first["data"]
    assert '"to": "payment"' in second["data"]
    with pytest.raises(QueueError):
        triage.set_intent(clock(), ref, "nonsense", "budi")


def test_escalation_priority_stays(console, clock):
    ref = console.customer("saya tidak puas, minta eskalasi ke supervisor")
    with pytest.raises(QueueError, match="escalation"):
        triage_of(console).set_priority(clock(), ref, "normal", "dewi")


def test_someone_elses_ticket_is_theirs_to_change(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk_of(console).claim(clock(), ref, "budi")
    with pytest.raises(QueueError, match="held by budi"):
        triage_of(console).set_intent(clock(), ref, "payment", "sari")
    triage_of(console).set_intent(clock(), ref, "payment", "dewi")  # a supervisor may


def test_console_category_and_priority_forms(console, clock):
    ref = console.customer("saya mau refund, barang datang rusak")
    c = console.client("sari")
    page = c.get(f"/console/t/{ref}").text
    assert 'id="set-intent"' in page and 'id="set-priority"' in page
    assert c.post(f"/console/t/{ref}/priority", data={"priority": "normal"}).status_code == 400  # no CSRF
    assert row(console, ref)["priority"] == "complex"
    post(c, f"/console/t/{ref}/priority", priority="normal")
    post(c, f"/console/t/{ref}/intent", intent="product")
    r = row(console, ref)
    assert r["priority"] == "normal" and r["intent"] == "product"
    history = c.get(f"/console/t/{ref}").text
    assert "Prioritas diubah" in history and "Kategori diubah" in history


# -- reopen -------------------------------------------------------------------------------------
def test_reopen_a_resolved_ticket(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Sudah kami cek, Kak.")
    desk.resolve(clock(), ref, "sari")
    clock.at += timedelta(hours=1)
    t = triage_of(console).reopen(clock(), ref, "budi")
    assert t.status == "open" and t.agent is None and t.resolved_at is None
    r = row(console, ref)
    assert r["reopened_at"] == "2026-11-24T04:00:00+00:00"  # 11:00 WIB
    # the next-reply promise runs again from now (15 min on WhatsApp)
    assert t.reply_since == clock() and t.reply_due == clock() + timedelta(minutes=15)
    conv = console.db().execute("SELECT state, agent, csat_ticket FROM conversations WHERE id = ?",
                                (t.conversation_id,)).fetchone()
    assert conv == ("bot", None, None)
    assert [e["actor"] for e in events(console, "ticket.reopened")] == ["budi"]
    with pytest.raises(QueueError, match="not resolved"):
        triage_of(console).reopen(clock(), ref, "budi")
    c = console.client("sari")
    assert ref in queue_refs(c.get("/console").text)


def test_console_reopen_button_on_resolved_tickets(console, clock):
    ref = console.customer("paket saya belum sampai")
    c = console.client("sari")
    assert 'id="reopen"' not in c.get(f"/console/t/{ref}").text
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Sudah dicek.")
    desk.resolve(clock(), ref, "sari")
    page = c.get(f"/console/t/{ref}").text
    assert 'id="reopen"' in page
    post(c, f"/console/t/{ref}/reopen")
    assert row(console, ref)["status"] == "open"
    assert "dibuka kembali" in " ".join(flashes(c.get(f"/console/t/{ref}").text))


# -- snooze -------------------------------------------------------------------------------------
def _answered(console, clock, text="paket saya belum sampai", customer="+6281234567890"):  # type: ignore[no-untyped-def]
    ref = console.customer(text, customer=customer)
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Boleh kirim nomor pesanannya, Kak?")
    return ref


def test_snooze_needs_nothing_owed_to_the_customer(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk_of(console).claim(clock(), ref, "sari")
    with pytest.raises(QueueError, match="no answer from a person"):
        triage_of(console).snooze(clock(), ref, "sari")
    with pytest.raises(QueueError, match="future"):
        triage_of(console).snooze(clock(), ref, "sari", clock() - timedelta(minutes=1))


def test_snoozed_ticket_leaves_the_active_queue_and_wakes_when_the_customer_writes(console, clock):
    ref = _answered(console, clock)
    other = console.customer("pembayaran saya belum terkonfirmasi", customer="+6281200000009")
    res_due = datetime.fromisoformat(row(console, ref)["resolution_due"])
    t = triage_of(console).snooze(clock(), ref, "sari")
    assert snooze_of(console.store.conn, t.id) == ("sari", None)
    c = console.client("sari")
    assert queue_refs(c.get("/console").text) == [other]
    assert queue_refs(c.get("/console?status=snoozed").text) == [ref]
    assert "Ditunda" in c.get("/console").text  # the status filter names it
    counts = c.get("/console/api/queue").json["counts"]  # the counts leave it out too
    assert (counts["active"], counts["claimed"], counts["snoozed"]) == (1, 0, 1)
    assert c.get("/console/api/queue?mine=1").json["counts"]["mine"] == 0
    page = c.get(f"/console/t/{ref}").text
    assert 'id="snoozed-note"' in page and 'id="unsnooze"' in page
    # two hours (of opening time) later the customer writes: awake, the clock paused meanwhile
    clock.at += timedelta(hours=2)
    console.customer("nomornya 1234567890", customer="+6281234567890")
    assert snooze_of(console.store.conn, t.id) == (None, None)
    r = row(console, ref)
    assert datetime.fromisoformat(r["resolution_due"]) == console.svc.bot.calendar.add_opening_time(
        res_due, timedelta(hours=2))
    # and the next-reply promise runs for the team again (the conversation is held by sari)
    assert r["reply_due"] is not None
    [e] = events(console, "ticket.unsnoozed")
    assert e["actor"] == "customer" and '"paused_minutes": 120' in e["data"]
    assert set(queue_refs(c.get("/console").text)) == {ref, other}


def test_snooze_until_a_time_comes_back_by_itself(console, clock):
    ref = _answered(console, clock)
    until = clock() + timedelta(hours=1)
    triage_of(console).snooze(clock(), ref, "sari", until)
    c = console.client("sari")
    assert ref not in queue_refs(c.get("/console").text)
    clock.at += timedelta(hours=1, minutes=1)
    assert ref in queue_refs(c.get("/console").text)  # the time has come: active again
    assert ref not in queue_refs(c.get("/console?status=snoozed").text)
    # the next message anywhere wakes it in the store, paused exactly the hour it slept
    console.customer("halo, saya mau tanya produk", customer="+6281200000005")
    [e] = events(console, "ticket.unsnoozed")
    assert '"reason": "time"' in e["data"] and '"paused_minutes": 60' in e["data"]


def test_console_snooze_and_unsnooze_forms(console, clock):
    ref = _answered(console, clock)
    c = console.client("sari")
    page = c.get(f"/console/t/{ref}").text
    assert 'id="snooze-until"' in page and 'id="snooze"' in page
    assert c.post(f"/console/t/{ref}/snooze", data={"until": ""}).status_code == 400  # no CSRF
    post(c, f"/console/t/{ref}/snooze", until="2026-11-24T15:00")
    assert col(console, ref, "snoozed_until") == "2026-11-24T08:00:00+00:00"
    assert "Sel 24 Nov 15.00" in c.get(f"/console/t/{ref}").text
    post(c, f"/console/t/{ref}/unsnooze")
    assert col(console, ref, "snoozed_by") is None
    assert "Penundaan berakhir" in c.get(f"/console/t/{ref}").text


# -- the CLI ------------------------------------------------------------------------------------
def test_cli_label_reopen_snooze_categorize(console, clock, capsys, monkeypatch):
    cfg = console.tmp_path / "config.toml"
    cfg.write_text(f'[storage]\ndatabase = "{console.config["storage"]["database"]}"\n')
    ref = _answered(console, clock)
    create_label(console.store, clock(), "VIP", "dewi")
    assert main(["queue", "label", ref, "--add", "VIP", "--agent", "budi", "--config", str(cfg)]) == 0
    assert f"label VIP added to {ref}" in capsys.readouterr().out
    assert main(["queue", "label", ref, "--add", "Nope", "--agent", "budi", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("yessindo-bot: queue label: no label Nope") and err.count("\n") == 1
    assert main(["queue", "snooze", ref, "--until", "2099-01-01T09:00", "--agent", "sari", "--config", str(cfg)]) == 1
    assert "60 days" in capsys.readouterr().err
    assert main(["queue", "categorize", ref, "--priority", "complex", "--agent", "sari", "--config", str(cfg)]) == 0
    assert "priority complex" in capsys.readouterr().out
    assert main(["queue", "reopen", ref, "--agent", "sari", "--config", str(cfg)]) == 1
    assert "not resolved" in capsys.readouterr().err


def test_forget_takes_the_labels_of_their_tickets_too(console, clock):
    ref = console.customer("paket saya belum sampai", customer="+6281299990001")
    other = console.customer("paket saya belum sampai", customer="+6281299990002")
    create_label(console.store, clock(), "VIP", "dewi")
    label_ticket(console.store, clock(), ref, "VIP", "sari")
    label_ticket(console.store, clock(), other, "VIP", "sari")
    console.store.forget("+6281299990001", clock())
    rows = console.db().execute("SELECT t.ref FROM ticket_labels l JOIN tickets t ON t.id = l.ticket_id").fetchall()
    assert rows == [(other,)]
    assert console.db().execute("SELECT count(*) FROM ticket_labels").fetchone()[0] == 1
