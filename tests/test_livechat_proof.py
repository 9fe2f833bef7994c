"""A live-chat visitor proves the WhatsApp number they gave by writing "KODE 123456" from
it to the shop's WhatsApp (a signed Twilio webhook); only then do agents' replies also
go there while the visitor is away, as free text inside WhatsApp's 24-hour window."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.security import generate_password_hash

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.desk import Desk
from handoff import queue

TOKEN = "proof-token-123"
URL = "http://localhost/webhooks/whatsapp"
NUMBER = "+6281234567890"


@pytest.fixture
def app(tmp_path, clock):
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "p.db")}, "whatsapp": {"auth_token": TOKEN},
                               "console": {"secret_key": "p" * 40}})
    return create_app(s, clock=clock)


def whatsapp(client, body, sid, frm=NUMBER):
    data = {"From": f"whatsapp:{frm}", "To": "whatsapp:+6282129666065", "Body": body, "MessageSid": sid, "NumMedia": "0"}
    r = client.post("/webhooks/whatsapp", data=data,
                    headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(URL, data)})
    assert r.status_code == 200
    return [m.text or "" for m in ET.fromstring(r.data).findall("Message")]


def visitor(client):
    token = client.post("/livechat/api/session", json={}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/livechat/api/messages", headers=headers,
                json={"text": "tolong sambungkan ke CS, paket saya hilang", "client_id": "proof-0001"})
    return headers, "web:" + token.split(".")[1]


def test_a_number_is_proven_by_a_message_from_it_and_then_gets_replies_while_the_visitor_is_away(app, clock):
    client = app.test_client()
    headers, customer = visitor(client)
    r = client.post("/livechat/api/contact", headers=headers, json={"phone": "0812-3456-7890"}).get_json()
    code = r["phone_code"]
    assert re.fullmatch(r"\d{6}", code) and f"KODE {code}" in r["note"] and "821-2966-6065" in r["note"]
    assert r["phone_verified"] is False
    st = app.extensions["yessindo"].bot.store
    # someone else's number sending the code proves nothing: the bot answers as usual
    other = whatsapp(client, f"KODE {code}", "SMother", frm="+6289999999999")
    assert not any("tertaut" in t for t in other)
    # a wrong code from the right number neither
    wrong = "000000" if code != "000000" else "111111"
    assert not any("tertaut" in t for t in whatsapp(client, f"kode {wrong}", "SMwrong"))
    answer = whatsapp(client, f"kode {code}", "SMproof")
    assert answer and "tertaut" in answer[0]
    assert st.conn.execute("SELECT phone_verified_at IS NOT NULL FROM livechat_visitors WHERE customer = ?",
                           (customer,)).fetchone()[0] == 1
    stored = st.conn.execute("SELECT text FROM messages WHERE external_id = 'SMproof'").fetchone()[0]
    assert code not in stored  # the code is not kept in clear
    assert whatsapp(client, f"kode {code}", "SMproof") == answer  # Twilio's retry gets the same answer

    queue.add_agent(st, clock(), "sari", "agent", generate_password_hash("rahasia-sari", method="pbkdf2:sha256:1000"))
    desk = Desk.from_settings(app.config["SETTINGS"], st)
    ref = st.conn.execute("SELECT ref FROM tickets WHERE channel = 'web'").fetchone()[0]
    desk.claim(clock(), ref, "sari")
    to_number = "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND customer = ?"
    desk.reply(clock(), ref, "sari", "Kami cek dulu ya Kak.")  # the visitor is still on the page
    assert st.conn.execute(to_number, (NUMBER,)).fetchone()[0] == 0
    clock.at = clock.at + timedelta(minutes=20)
    desk.reply(clock(), ref, "sari", "Paket pengganti sudah dikirim hari ini.")
    rows = st.conn.execute("SELECT body FROM outbox WHERE channel = 'whatsapp' AND customer = ?", (NUMBER,)).fetchall()
    assert [r[0] for r in rows] == ["Paket pengganti sudah dikirim hari ini."]
    # a day later WhatsApp's window is shut: no free text there any more
    clock.at = clock.at + timedelta(hours=25)
    desk.reply(clock(), ref, "sari", "Apakah paketnya sudah diterima, Kak?")
    assert st.conn.execute(to_number, (NUMBER,)).fetchone()[0] == 1


def test_codes_for_numbers_expire(app, clock):
    client = app.test_client()
    headers, customer = visitor(client)
    code = client.post("/livechat/api/contact", headers=headers, json={"phone": "+62 812 3456 7890"}).get_json()["phone_code"]
    clock.at = clock.at + timedelta(minutes=31)
    assert not any("tertaut" in t for t in whatsapp(client, f"KODE {code}", "SMlate"))
