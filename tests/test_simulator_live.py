"""/try in demo mode: an agent's reply, the satisfaction question and an escalation's
written result reach the simulated phone (no Twilio credentials: the WhatsApp outbox
delivers to the simulator); the clock can pretend another time, simulator only."""
from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.desk import Desk
from handoff import queue

CUSTOMER = "+620001234567"


@pytest.fixture
def app(tmp_path):
    return create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "sim.db")},
                                             "dev": {"simulator": True}}))


def test_agent_reply_csat_and_written_result_reach_the_simulated_phone(app):
    c = app.test_client()
    sent = c.post("/try/send", json={"text": "saya mau komplain ke supervisor, pesanan saya hilang", "customer": CUSTOMER})
    data = sent.get_json()
    assert sent.status_code == 200 and data["ticket"] and data["last_id"] > 0
    first = c.get(f"/try/updates?customer=%2B{CUSTOMER[1:]}&after={data['last_id']}").get_json()
    assert first["messages"] == []
    svc = app.extensions["yessindo"]
    st = svc.bot.store
    now = svc.now()
    queue.add_agent(st, now, "dewi", "supervisor", generate_password_hash("rahasia-dewi", method="pbkdf2:sha256:1000"))
    desk = Desk.from_settings(app.config["SETTINGS"], st)
    desk.claim(now, data["ticket"], "dewi")
    desk.reply(now, data["ticket"], "dewi", "Halo Kak, saya Dewi, supervisor. Saya tinjau ya.")
    got = c.get(f"/try/updates?customer=%2B{CUSTOMER[1:]}&after={data['last_id']}").get_json()
    assert [m["text"] for m in got["messages"]] == ["Halo Kak, saya Dewi, supervisor. Saya tinjau ya."]
    assert got["messages"][0]["author"] == "agent" and got["messages"][0]["name"] == "dewi"
    row = st.conn.execute("SELECT status, provider_id FROM outbox ORDER BY id DESC").fetchone()
    assert row[0] == "sent" and row[1].startswith("sim-")
    ticket = st.ticket(data["ticket"])
    if ticket.priority == "escalation":
        desk.resolve(now, data["ticket"], "dewi", "Hasil tinjauan: dana dikembalikan penuh hari ini.")
    else:
        desk.resolve(now, data["ticket"], "dewi")
    later = c.get(f"/try/updates?customer=%2B{CUSTOMER[1:]}&after={got['last_id']}").get_json()["messages"]
    texts = " ".join(m["text"] for m in later)
    assert later and ("1" in texts and "5" in texts)  # the satisfaction question asks for a 1-5 rating
    if ticket.priority == "escalation":
        assert "dana dikembalikan penuh" in texts


def test_updates_only_for_simulated_numbers(app):
    c = app.test_client()
    assert c.get("/try/updates?customer=%2B6281234567890").status_code == 400


def test_pretend_it_is_saturday_night_and_back(app):
    c = app.test_client()
    r = c.post("/try/clock", json={"at": "2026-11-28T22:00"})  # Saturday 22.00 WIB: closed
    assert r.status_code == 200 and r.get_json()["pretending"] is True
    assert r.get_json()["now"].startswith("2026-11-28T22:0")
    reply = c.post("/try/send", json={"text": "paket saya belum sampai", "customer": CUSTOMER}).get_json()["replies"]
    assert any("Senin" in t or "besok" in t.lower() or "09.00" in t for t in reply), reply
    back = c.post("/try/clock", json={"at": None}).get_json()
    assert back["pretending"] is False
    assert c.post("/try/clock", json={"at": "kemarin"}).status_code == 400


def test_the_clock_cannot_be_set_without_the_simulator(tmp_path):
    app = create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "x.db")}, "dev": {"simulator": False}}))
    assert app.test_client().post("/try/clock", json={"at": "2026-11-28T22:00"}).status_code == 404
