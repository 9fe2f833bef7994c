"""Assignment (issue 12 item 4): to a colleague or the supervisors, who may reassign, online /
away, the round robin under per-agent limits ([desk] auto_assign), pickup as agents free up,
escalations never auto-assigned, the supervisors' "who holds what". Store/desk level, the CLI
and the console through the Flask test client; tickets come from the real pipeline."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.cli import main
from bot.desk import Desk
from bot.desk_assign import Policy, assign, set_status, team
from handoff.queue import QueueError
from tests.test_console import Console, flashes, post, queue_refs


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


@pytest.fixture
def auto(tmp_path, clock):
    """Automatic assignment on, at most 2 tickets per agent."""
    c = Console(tmp_path, clock, desk={"auto_assign": True, "max_open_per_agent": 2})
    c.add_agents("sari", "budi", "dewi")
    return c


def desk_of(console) -> Desk:  # type: ignore[no-untyped-def]
    return Desk.from_settings(console.svc.settings, console.store)


def row(console, ref):  # type: ignore[no-untyped-def]
    db = console.db()
    db.row_factory = sqlite3.Row
    return db.execute("SELECT t.status, t.agent, t.priority, c.state, c.agent AS conv_agent FROM tickets t "
                      "JOIN conversations c ON c.id = t.conversation_id WHERE t.ref = ?", (ref,)).fetchone()


def holders(console, refs):  # type: ignore[no-untyped-def]
    return [row(console, r)["agent"] for r in refs]


# -- by a person ----------------------------------------------------------------------------------
def test_holder_assigns_to_a_colleague_who_then_holds_it(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    t = assign(console.store, clock(), ref, "budi", "sari")
    assert t.agent == "budi" and t.status == "claimed"
    r = row(console, ref)
    assert (r["state"], r["conv_agent"]) == ("human", "budi")
    [e] = console.store.events("ticket.assigned")
    assert e["actor"] == "sari" and '"to": "budi"' in e["data"] and '"from": "sari"' in e["data"]
    # budi may now reply; sari may not
    desk.reply(clock(), ref, "budi", "Saya bantu cek, Kak.")
    with pytest.raises(QueueError):
        desk.reply(clock(), ref, "sari", "Halo")
    # budi's bell says so; sari's does not
    budi = console.client("budi").get("/console/api/notifications").json
    assigned = [i for i in budi["items"] if i["kind"] == "assigned"]
    assert [i["ref"] for i in assigned] == [ref] and "sari" in assigned[0]["title"]
    assert budi["counts"]["assigned"] == 1 and budi["count"] >= 1
    sari = console.client("sari").get("/console/api/notifications").json
    assert not [i for i in sari["items"] if i["kind"] == "assigned"]


def test_only_the_holder_or_a_supervisor_reassigns_a_held_ticket(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk_of(console).claim(clock(), ref, "sari")
    with pytest.raises(QueueError, match="only sari or a supervisor"):
        assign(console.store, clock(), ref, "budi", "budi")
    assert row(console, ref)["agent"] == "sari"
    assign(console.store, clock(), ref, "budi", "dewi")  # a supervisor may
    assert row(console, ref)["agent"] == "budi"
    with pytest.raises(QueueError, match="already held by budi"):
        assign(console.store, clock(), ref, "budi", "dewi")
    with pytest.raises(QueueError, match="no agent"):
        assign(console.store, clock(), ref, "nobody", "dewi")


def test_an_unheld_ticket_may_be_assigned_by_any_agent(console, clock):
    ref = console.customer("paket saya belum sampai")
    assign(console.store, clock(), ref, "sari", "budi")
    assert row(console, ref)["agent"] == "sari"


def test_escalations_go_only_to_supervisors_and_to_the_supervisors_is_an_escalation(console, clock):
    esc = console.customer("saya tidak puas, minta eskalasi ke supervisor", customer="+6281200000001")
    with pytest.raises(QueueError, match="escalation"):
        assign(console.store, clock(), esc, "budi", "dewi")
    assign(console.store, clock(), esc, "dewi", "dewi")
    assert row(console, esc)["agent"] == "dewi"
    ref = console.customer("paket saya belum sampai", customer="+6281200000002")
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    t = assign(console.store, clock(), ref, "supervisor", "sari", escalate=desk.escalate)
    assert t.priority == "escalation" and t.agent is None and t.status == "open"
    with pytest.raises(QueueError, match="supervisor"):
        desk.claim(clock(), ref, "budi")


def test_resolved_tickets_are_not_assigned(console, clock):
    ref = console.customer("paket saya belum sampai")
    desk = desk_of(console)
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Sudah dicek.")
    desk.resolve(clock(), ref, "sari")
    with pytest.raises(QueueError, match="resolved"):
        assign(console.store, clock(), ref, "budi", "dewi")


# -- online / away and the round robin ----------------------------------------------------------
def test_status_online_away_logged(console, clock):
    set_status(console.store, clock(), "sari", "online")
    set_status(console.store, clock(), "sari", "away")
    with pytest.raises(QueueError):
        set_status(console.store, clock(), "sari", "busy")
    assert [e["data"] for e in console.store.events("agent.status_changed")] == [
        '{"status": "online"}', '{"status": "away"}']
    assert {h.name: h.status for h in team(console.store)}["sari"] == "away"


def test_no_automatic_assignment_when_off(console, clock):
    set_status(console.store, clock(), "sari", "online")
    ref = console.customer("paket saya belum sampai")
    assert row(console, ref)["agent"] is None


def test_round_robin_among_online_agents_under_their_limit(auto, clock):
    set_status(auto.store, clock(), "sari", "online", Policy(True, 2))
    set_status(auto.store, clock(), "budi", "online", Policy(True, 2))
    set_status(auto.store, clock(), "dewi", "online", Policy(True, 2))  # a supervisor: never auto-assigned
    refs = []
    for i in range(5):
        clock.at += timedelta(minutes=1)
        refs.append(auto.customer("paket saya belum sampai", customer=f"+62812000000{i:02d}"))
    # least recently assigned first: budi (never) and sari alternate; 2 each, the 5th waits
    assert holders(auto, refs) == ["budi", "sari", "budi", "sari", None]
    r = row(auto, refs[0])
    assert (r["status"], r["state"]) == ("claimed", "human")
    events = auto.store.events("ticket.assigned")
    assert len(events) == 4 and all(e["actor"] == "bot" and '"auto": true' in e["data"] for e in events)
    # budi's "Hanya milik saya"
    assert set(queue_refs(auto.client("budi").get("/console?mine=1").text)) == {refs[0], refs[2]}


def test_per_agent_limit_overrides_and_away_agents_get_nothing(auto, clock):
    auto.db().execute("UPDATE agents SET max_open = 1 WHERE name = 'sari'").connection.commit()
    set_status(auto.store, clock(), "sari", "online", Policy(True, 2))
    refs = [auto.customer("paket saya belum sampai", customer=f"+62812000001{i}") for i in range(3)]
    assert holders(auto, refs) == ["sari", None, None]  # budi is away
    set_status(auto.store, clock(), "budi", "online", Policy(True, 2))  # coming online picks up
    assert holders(auto, refs) == ["sari", "budi", "budi"]


def test_waiting_tickets_picked_up_as_agents_free_up(auto, clock):
    set_status(auto.store, clock(), "sari", "online", Policy(True, 2))
    refs = [auto.customer("paket saya belum sampai", customer=f"+62812000002{i}") for i in range(3)]
    assert holders(auto, refs) == ["sari", "sari", None]
    desk = desk_of(auto)
    desk.reply(clock(), refs[0], "sari", "Sudah dicek, Kak.")
    desk.resolve(clock(), refs[0], "sari")
    assert row(auto, refs[2])["agent"] == "sari"  # she has room again
    desk.release(clock(), refs[1], "sari")  # released: back to the round robin (only sari online)
    assert row(auto, refs[1])["agent"] == "sari"


def test_escalations_and_snoozed_tickets_are_never_auto_assigned(auto, clock):
    set_status(auto.store, clock(), "sari", "online", Policy(True, 2))
    esc = auto.customer("saya tidak puas, minta eskalasi ke supervisor", customer="+6281200000031")
    assert row(auto, esc)["priority"] == "escalation" and row(auto, esc)["agent"] is None
    set_status(auto.store, clock(), "sari", "away", Policy(True, 2))
    set_status(auto.store, clock(), "sari", "online", Policy(True, 2))
    assert row(auto, esc)["agent"] is None


# -- the CLI --------------------------------------------------------------------------------------
def test_cli_queue_assign(console, clock, capsys):
    cfg = console.tmp_path / "config.toml"
    cfg.write_text(f'[storage]\ndatabase = "{console.config["storage"]["database"]}"\n')
    ref = console.customer("paket saya belum sampai")
    desk_of(console).claim(clock(), ref, "sari")
    assert main(["queue", "assign", ref, "--to", "budi", "--agent", "budi", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err == f"yessindo-bot: queue assign: {ref} is held by sari: only sari or a supervisor may reassign it\n"
    assert main(["queue", "assign", ref, "--to", "budi", "--agent", "sari", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == f"{ref} is now held by budi\n"
    assert row(console, ref)["agent"] == "budi"
    assert main(["queue", "assign", ref, "--to", "supervisor", "--agent", "budi", "--config", str(cfg)]) == 0
    assert "escalation" in capsys.readouterr().out and row(console, ref)["priority"] == "escalation"


# -- the console ----------------------------------------------------------------------------------
def test_console_assign_form_permissions_and_csrf(console, clock):
    ref = console.customer("paket saya belum sampai")
    sari, budi = console.client("sari"), console.client("budi")
    post(sari, f"/console/t/{ref}/claim")
    page = sari.get(f"/console/t/{ref}").text
    assert 'id="assign-to"' in page and '<option value="budi">' in page and '<option value="supervisor">' in page
    assert 'id="assign-to"' not in budi.get(f"/console/t/{ref}").text  # held by sari: not budi's to hand on
    assert sari.post(f"/console/t/{ref}/assign", data={"to": "budi"}).status_code == 400  # no CSRF
    assert row(console, ref)["agent"] == "sari"
    resp = post(budi, f"/console/t/{ref}/assign", to="budi")
    assert resp.status_code == 303 and row(console, ref)["agent"] == "sari"
    assert any("hanya sari atau supervisor" in f for f in flashes(budi.get(f"/console/t/{ref}").text))
    post(sari, f"/console/t/{ref}/assign", to="budi")
    assert row(console, ref)["agent"] == "budi"
    assert queue_refs(budi.get("/console?mine=1").text) == [ref]
    assert "Ditugaskan" in budi.get(f"/console/t/{ref}").text


def test_console_status_toggle_and_team_page(console, clock):
    ref = console.customer("paket saya belum sampai")
    sari, dewi = console.client("sari"), console.client("dewi")
    page = sari.get("/console").text
    assert 'id="my-status"' in page and 'data-status="away"' in page
    assert sari.post("/console/status", data={"status": "online"}).status_code == 400  # no CSRF
    resp = post(sari, "/console/status", status="online", next="/console?mine=1")
    assert resp.status_code == 303 and resp.headers["Location"] == "/console?mine=1"
    assert 'data-status="online"' in sari.get("/console").text
    assert post(sari, "/console/status", status="away", next="https://evil.example/").headers["Location"] == "/console"
    post(sari, "/console/status", status="online")
    post(sari, f"/console/t/{ref}/claim")
    assert sari.get("/console/team").status_code == 403
    assert 'id="nav-team"' not in sari.get("/console").text
    page = dewi.get("/console/team").text
    assert 'id="nav-team"' in page
    import re
    sari_row = re.search(r'<tr data-agent="sari">.*?</tr>', page, re.S).group(0)
    assert 'data-status="online"' in sari_row and '<td class="held">1 / 10</td>' in sari_row
    assert "Sel 24 Nov 10.15 WIB" in sari_row
    budi_row = re.search(r'<tr data-agent="budi">.*?</tr>', page, re.S).group(0)
    assert 'data-status="away"' in budi_row and '<td class="held">0 / 10</td>' in budi_row


def test_cli_agent_status(console, clock, capsys):
    cfg = console.tmp_path / "config.toml"
    cfg.write_text(f'[storage]\ndatabase = "{console.config["storage"]["database"]}"\n')
    assert main(["agent", "status", "sari", "online", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == "sari is now online\n"
    assert {h.name: h.status for h in team(console.store)}["sari"] == "online"
    assert main(["agent", "status", "nobody", "away", "--config", str(cfg)]) == 1
    assert capsys.readouterr().err.startswith("yessindo-bot: agent status: no agent nobody")
    assert main(["agent", "list", "--config", str(cfg)]) == 0  # the others still work
    assert "sari  agent" in capsys.readouterr().out
