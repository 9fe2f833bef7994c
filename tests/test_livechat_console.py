"""An agent works a live-chat ticket in the console: the channel label, typing both ways,
the reply reaching the visitor's widget history."""
from __future__ import annotations

import pytest

from tests.test_console import Console, post


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi")
    return c


def _visitor(client):
    r = client.post("/livechat/api/session", json={}, headers={"Origin": "http://localhost"})
    token = r.get_json()["token"]
    return {"Authorization": f"Bearer {token}", "Origin": "http://localhost"}


def test_agent_sees_a_live_chat_ticket_types_and_replies(console):
    widget = console.app.test_client()
    headers = _visitor(widget)
    body = widget.post("/livechat/api/messages", headers=headers,
                       json={"text": "tolong sambungkan ke CS, paket saya hilang", "client_id": "lc-console-1"}).get_json()
    assert any(m.get("handoff") for m in body["replies"])
    ref = console.store.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    sari = console.client("sari")
    page = sari.get(f"/console/t/{ref}")
    assert "Live chat" in page.text
    post(sari, f"/console/t/{ref}/claim")
    # the customer types: the agent's page shows it
    widget.post("/livechat/api/typing", headers=headers, json={"typing": True})
    assert sari.get(f"/console/api/t/{ref}").get_json()["customer_typing"] is True
    widget.post("/livechat/api/typing", headers=headers, json={"typing": False})
    assert sari.get(f"/console/api/t/{ref}").get_json()["customer_typing"] is False
    # the agent types: a mark for the visitor's stream
    assert post(sari, f"/console/t/{ref}/typing", typing="1").status_code == 204
    row = console.store.conn.execute("SELECT who, name, typing FROM livechat_typing WHERE who = 'agent'").fetchone()
    assert tuple(row) == ("agent", "sari", 1)
    # someone who does not hold the ticket leaves no mark
    budi = console.client("budi")
    post(budi, f"/console/t/{ref}/typing", typing="0")
    assert console.store.conn.execute("SELECT typing FROM livechat_typing WHERE who = 'agent'").fetchone()[0] == 1
    post(sari, f"/console/t/{ref}/reply", text="Halo Kak, saya Sari, saya bantu cek ya.")
    msgs = widget.get("/livechat/api/messages", headers=headers).get_json()["messages"]
    assert msgs[-1]["author"] == "agent" and msgs[-1]["text"] == "Halo Kak, saya Sari, saya bantu cek ya."


def test_typing_needs_the_console_csrf_token(console):
    widget = console.app.test_client()
    headers = _visitor(widget)
    widget.post("/livechat/api/messages", headers=headers, json={"text": "mau bicara dengan CS", "client_id": "lc-console-2"})
    ref = console.store.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    sari = console.client("sari")
    post(sari, f"/console/t/{ref}/claim")
    r = sari.post(f"/console/t/{ref}/typing", data={"typing": "1", "csrf_token": "wrong"})
    assert r.status_code in (400, 403)


def test_console_doorbell_rings_on_any_change_and_needs_a_login(console, tmp_path):
    from bot.web.livechat_hub import CONSOLE, LiveHub

    anon = console.app.test_client()
    r = anon.get("/console/api/stream")
    assert r.status_code in (302, 303, 401)
    sari = console.client("sari")
    r = sari.get("/console/api/stream", buffered=False)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    r.close()
    hub = LiveHub(console.config["storage"]["database"], loop=False)  # polled by hand below
    st = console.store
    hub.prime(st.conn)
    sub = hub.subscribe(CONSOLE)
    hub.poll(st.conn)  # the first round only learns where things stand
    assert sub.events.empty()
    console.customer("halo kak, paket saya belum sampai")  # a WhatsApp customer writes
    hub.poll(st.conn)
    kind, _ = sub.events.get_nowait()
    assert kind == "changed"
    hub.poll(st.conn)
    assert sub.events.empty()  # nothing new, no ring


def test_the_ticket_shows_the_contact_the_visitor_gave_and_whether_it_is_proven(console):
    import re

    widget = console.app.test_client()
    headers = _visitor(widget)
    widget.post("/livechat/api/messages", headers=headers,
                json={"text": "tolong sambungkan ke CS, paket saya hilang", "client_id": "lc-console-3"})
    widget.post("/livechat/api/contact", headers=headers,
                json={"name": "Rina", "email": "rina@contoh.test", "phone": "081234567890"})
    ref = console.store.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    sari = console.client("sari")
    page = sari.get(f"/console/t/{ref}").text
    assert "rina@contoh.test" in page and "belum terverifikasi" in page
    assert console.svc.bot.store is not None
    chan = __import__("bot.desk", fromlist=["Desk"]).Desk.from_settings(
        console.app.config["SETTINGS"], console.store).channel_state(console.clock(), ref)
    assert chan.email_addresses == () and chan.mentioned_addresses == ("rina@contoh.test",)
    body = console.store.conn.execute("SELECT body FROM outbox WHERE customer = 'rina@contoh.test'").fetchone()[0]
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert widget.post("/livechat/api/verify", headers=headers, json={"code": code}).status_code == 200
    page = sari.get(f"/console/t/{ref}").text
    assert "(terverifikasi)" in page
    chan = __import__("bot.desk", fromlist=["Desk"]).Desk.from_settings(
        console.app.config["SETTINGS"], console.store).channel_state(console.clock(), ref)
    assert chan.email_addresses == ("rina@contoh.test",)
