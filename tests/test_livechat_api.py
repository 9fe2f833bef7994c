"""The live-chat widget's API (channel `web`) through the real Flask app and pipeline:
visitor tokens, messages and answers, retries, other visitors, origins, uploads, limits,
agents' replies and read marks, contact details, the live hub and forget."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.desk import Desk
from bot.web import livechat_token
from bot.web.livechat_hub import LiveHub
from handoff import queue

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SHOP = "https://www.tokoku.test"


@pytest.fixture
def app(tmp_path, clock):
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "lc.db")},
                               "livechat": {"allowed_origins": [SHOP], "messages_per_minute": 5},
                               "console": {"secret_key": "k" * 40}})
    return create_app(s, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


class Visitor:
    """One browser: a token, and messages with fresh client ids."""

    def __init__(self, client, origin: str = "http://localhost") -> None:
        self.client, self.origin, self.n = client, origin, 0
        r = client.post("/livechat/api/session", json={"token": None}, headers={"Origin": origin})
        assert r.status_code == 200, r.data
        self.session = r.get_json()
        self.token = self.session["token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Origin": self.origin}

    def say(self, text: str, client_id: str | None = None):
        self.n += 1
        return self.client.post("/livechat/api/messages", headers=self.headers,
                                json={"text": text, "client_id": client_id or f"client-{self.n:04d}"})

    def history(self, after: int = 0):
        return self.client.get(f"/livechat/api/messages?after={after}", headers=self.headers).get_json()["messages"]


def store(app):
    return app.extensions["yessindo"].bot.store


def test_a_visitor_writes_and_gets_the_bot_answer_on_channel_web(client, app):
    v = Visitor(client)
    assert v.token.startswith("v1.") and v.session["messages"] == [] and v.session["status"]["open_now"] is True
    assert "5–15 menit" in v.session["status"]["text"]  # the promise from knowledge/, not written here
    r = v.say("halo kak, paket saya belum sampai")
    assert r.status_code == 200
    body = r.get_json()
    assert body["message"]["author"] == "customer" and body["message"]["client_id"] == "client-0001"
    assert body["replies"] and all(m["author"] == "bot" for m in body["replies"])
    row = store(app).conn.execute("SELECT channel, customer FROM conversations").fetchone()
    assert row[0] == "web" and row[1].startswith("web:")


def test_same_visitor_comes_back_to_the_same_conversation_after_a_reload(client):
    v = Visitor(client)
    v.say("barang yang datang rusak, minta refund")
    again = client.post("/livechat/api/session", json={"token": v.token}, headers={"Origin": "http://localhost"})
    data = again.get_json()
    assert data["token"] == v.token
    texts = [m["text"] for m in data["messages"]]
    assert texts[0] == "barang yang datang rusak, minta refund" and len(texts) >= 2


def test_a_forged_or_foreign_token_gets_a_new_visitor_never_someone_elses(client):
    v = Visitor(client)
    v.say("email saya rina@contoh.test, pesanan INV-20261125-0456")
    visitor_id = v.token.split(".")[1]
    forged = f"v1.{visitor_id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    r = client.post("/livechat/api/session", json={"token": forged}, headers={"Origin": "http://localhost"})
    assert r.get_json()["messages"] == [] and r.get_json()["token"] != v.token
    r = client.get("/livechat/api/messages", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    other = livechat_token.issue("another key", visitor_id)
    assert client.get("/livechat/api/messages", headers={"Authorization": f"Bearer {other}"}).status_code == 401


def test_a_visitor_reads_only_their_own_conversation_and_files(client):
    a, b = Visitor(client), Visitor(client)
    a.say("halo, ini foto paket saya")
    up = client.post("/livechat/api/upload", headers=a.headers, content_type="multipart/form-data",
                     data={"file": (io.BytesIO(PNG), "paket.png"), "client_id": "upload-0001"})
    assert up.status_code == 200, up.data
    [att] = up.get_json()["message"]["attachments"]
    assert att["type"] == "image/png"
    assert client.get(att["url"], headers=a.headers).data == PNG
    assert client.get(att["url"], headers=b.headers).status_code == 404
    assert b.history() == []
    assert all("ini foto" not in m["text"] for m in b.history())


def test_a_retried_message_is_stored_once_and_gets_the_first_answer_again(client, app):
    v = Visitor(client)
    first = v.say("jam buka cs kapan?", client_id="retry-0001").get_json()
    again = v.say("jam buka cs kapan?", client_id="retry-0001").get_json()
    assert again["message"]["id"] == first["message"]["id"]
    assert [m["text"] for m in again["replies"]] == [m["text"] for m in first["replies"]]
    n = store(app).conn.execute("SELECT count(*) FROM messages WHERE direction = 'in'").fetchone()[0]
    assert n == 1


@pytest.mark.parametrize("origin,status", [("https://evil.test", 403), (SHOP, 200), ("http://localhost", 200)])
def test_origin_is_checked_on_every_request(client, origin, status):
    r = client.post("/livechat/api/session", json={}, headers={"Origin": origin})
    assert r.status_code == status
    v = Visitor(client)
    r = client.post("/livechat/api/messages", json={"text": "halo", "client_id": "origin-0001"},
                    headers={"Authorization": f"Bearer {v.token}", "Origin": origin})
    assert r.status_code == status


def test_cross_site_request_without_origin_is_refused(client):
    v = Visitor(client)
    r = client.get("/livechat/api/messages", headers={"Authorization": f"Bearer {v.token}",
                                                        "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


def test_frame_may_be_embedded_only_by_the_shop_and_ourselves(client):
    r = client.get("/livechat/frame")
    if r.status_code == 500:  # the template belongs to the widget; the headers are ours
        pytest.fail("frame page did not render")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.tokoku.test" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    js = client.get("/livechat/widget.js")
    assert js.status_code == 200 and js.mimetype == "application/javascript"


def test_no_console_cookie_reaches_the_widget(client):
    """The console's cookie is scoped to /console: a request to the widget never carries it."""
    from bot.web.console_auth import COOKIE_NAME

    client.set_cookie(COOKIE_NAME, "session-value", path="/console")
    v = Visitor(client)
    r = v.say("halo")
    assert r.status_code == 200
    assert COOKIE_NAME not in (r.request.headers.get("Cookie") or "")
    assert "Set-Cookie" not in r.headers


def test_messages_per_visitor_are_limited_and_the_answer_says_when_to_retry(client):
    v = Visitor(client)
    codes = [v.say(f"pesan nomor {i}").status_code for i in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = v.say("satu lagi")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "Coba lagi" in r.get_json()["error"]


@pytest.mark.parametrize("payload,status", [
    ({"text": "", "client_id": "empty-0001"}, 400),
    ({"text": "x" * 4001, "client_id": "long-00001"}, 413),
    ({"text": "halo", "client_id": "<script>"}, 400),
    ({"text": 5, "client_id": "type-00001"}, 400),
])
def test_bad_messages_get_a_clear_answer(client, payload, status):
    v = Visitor(client)
    r = client.post("/livechat/api/messages", headers=v.headers, json=payload)
    assert r.status_code == status and r.get_json()["error"]


@pytest.mark.parametrize("data,status", [(b"GIF89a" + b"\x00" * 10, 200), (b"<svg onload=alert(1)>", 415),
                                         (b"MZ\x90\x00", 415)])
def test_uploads_take_images_only(client, data, status):
    v = Visitor(client)
    r = client.post("/livechat/api/upload", headers=v.headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), "x.bin"), "client_id": "upload-0002"})
    assert r.status_code == status


def test_upload_over_the_limit_is_refused(tmp_path, clock):
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "u.db")}, "livechat": {"max_upload_bytes": 1000}})
    c = create_app(s, clock=clock).test_client()
    v = Visitor(c)
    r = c.post("/livechat/api/upload", headers=v.headers, content_type="multipart/form-data",
               data={"file": (io.BytesIO(PNG + b"\x00" * 2000), "big.png"), "client_id": "upload-0003"})
    assert r.status_code == 413


def test_agent_takes_over_replies_and_the_visitor_reads_it(client, app, clock):
    v = Visitor(client)
    body = v.say("tolong sambungkan ke CS manusia, paket saya hilang").get_json()
    assert any(m.get("handoff") for m in body["replies"])
    st = store(app)
    queue.add_agent(st, clock(), "sari", "agent", generate_password_hash("rahasia-sari"))
    desk = Desk.from_settings(app.config["SETTINGS"], st)
    ref = st.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    desk.claim(clock(), ref, "sari")
    outbox_id = desk.reply(clock(), ref, "sari", "Halo Kak, saya Sari. <b>Saya cek</b> dulu ya.")
    row = st.conn.execute("SELECT channel, status FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
    assert tuple(row) == ("web", "sent")
    msgs = v.history()
    agent = [m for m in msgs if m["author"] == "agent"]
    assert agent and agent[-1]["name"] == "sari" and agent[-1]["text"].endswith("<b>Saya cek</b> dulu ya.")
    # while a person holds it the bot is silent
    silent = v.say("oke kak ditunggu").get_json()
    assert silent["replies"] == []
    r = client.post("/livechat/api/read", headers=v.headers, json={"up_to": agent[-1]["id"]})
    assert r.status_code == 204
    assert st.conn.execute("SELECT status FROM outbox WHERE id = ?", (outbox_id,)).fetchone()[0] == "read"


def test_contact_details_are_checked_and_kept_for_the_team(client, app):
    v = Visitor(client)
    v.say("halo")
    bad = client.post("/livechat/api/contact", headers=v.headers, json={"email": "bukan email"})
    assert bad.status_code == 400
    ok = client.post("/livechat/api/contact", headers=v.headers,
                     json={"name": "Rina <b>", "email": "Rina@Contoh.test", "phone": "0812-3456-7890"})
    assert ok.status_code == 200
    assert ok.get_json()["contact"] == {"name": "Rina b", "email": "rina@contoh.test", "phone": "0812-3456-7890"}
    st = store(app)
    ref_conv = st.conn.execute("SELECT id FROM conversations").fetchone()[0]
    assert st.conn.execute("SELECT count(*) FROM events WHERE kind = 'livechat.contact_given' AND conversation_id = ?",
                           (ref_conv,)).fetchone()[0] == 1


def test_outside_opening_hours_the_status_says_when_the_team_is_back(client, clock):
    clock.set("2026-11-24T22:30:00+07:00")
    v = Visitor(client)
    status = v.session["status"]
    assert status["open_now"] is False and status["back_at"].startswith("2026-11-25T08:00")
    assert v.say("halo, paket saya belum sampai").status_code == 200  # the message is still taken


def test_english_visitor_gets_english(client):
    v = Visitor(client)
    body = v.say("Where is my order? It has been a week").get_json()
    assert body["lang"] == "en" and body["replies"]


def test_the_hub_delivers_agent_messages_typing_and_read_marks_to_the_right_stream(client, app, clock):
    a, b = Visitor(client), Visitor(client)
    a.say("saya mau bicara dengan CS, pesanan saya salah kirim")
    st = store(app)
    hub = LiveHub(app.config["SETTINGS"].database, loop=False)  # polled by hand below
    hub.prime(st.conn)
    customer_a = "web:" + a.token.split(".")[1]
    customer_b = "web:" + b.token.split(".")[1]
    sub_a, sub_b = hub.subscribe(customer_a), hub.subscribe(customer_b)
    queue.add_agent(st, clock(), "sari", "agent", generate_password_hash("rahasia-sari"))
    desk = Desk.from_settings(app.config["SETTINGS"], st)
    ref = st.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    desk.claim(clock(), ref, "sari")
    desk.reply(clock() + timedelta(seconds=5), ref, "sari", "Halo Kak, saya bantu ya")
    from handoff import livechat as lc

    conv_id = st.conn.execute("SELECT id FROM conversations WHERE customer = ?", (customer_a,)).fetchone()[0]
    with st.write(clock()) as tx:
        lc.set_typing(tx, conv_id, customer_a, "agent", "sari", True)
        tx.conn.execute("INSERT OR REPLACE INTO presence (conversation_id, agent, seen_at) VALUES (?, 'sari', ?)",
                        (conv_id, "2999-01-01T00:00:00+00:00"))
    hub.poll(st.conn)
    got = []
    while not sub_a.events.empty():
        got.append(sub_a.events.get_nowait())
    kinds = [k for k, _ in got]
    assert "message" in kinds and "typing" in kinds and "read" in kinds
    msg = next(d for k, d in got if k == "message")
    assert msg["author"] == "agent" and msg["text"] == "Halo Kak, saya bantu ya"
    assert sub_b.events.empty()


def test_forget_removes_the_visitor_and_their_conversation(client, app, clock):
    v = Visitor(client)
    v.say("nama saya Rina Wulandari, email rina@contoh.test")
    client.post("/livechat/api/contact", headers=v.headers, json={"email": "rina@contoh.test"})
    customer = "web:" + v.token.split(".")[1]
    st = store(app)
    st.forget(customer, clock())
    assert st.conn.execute("SELECT count(*) FROM livechat_visitors").fetchone()[0] == 0
    assert st.conn.execute("SELECT count(*) FROM messages WHERE customer = ?", (customer,)).fetchone()[0] == 0
    assert v.history() == []


def test_livechat_off_means_404(tmp_path, clock):
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "off.db")}, "livechat": {"enabled": False}})
    c = create_app(s, clock=clock).test_client()
    assert c.post("/livechat/api/session", json={}).status_code == 404
    assert c.get("/livechat/widget.js").status_code == 404
    assert json.loads(c.post("/livechat/api/session", json={}).data)["error"]


def _code_from_outbox(app, address):
    import re

    row = store(app).conn.execute("SELECT body FROM outbox WHERE channel = 'email' AND customer = ? ORDER BY id DESC",
                                  (address,)).fetchone()
    return re.search(r"\b(\d{6})\b", row[0]).group(1)


def test_an_email_is_linked_only_after_the_visitor_proves_it_with_the_code_sent_there(client, app, clock):
    st = store(app)
    with st.write(clock()) as tx:  # rina already wrote to us by email
        conv = tx.create_conversation("email", "rina@contoh.test", "id", "Rina")
        tx.add_message(conv, "in", "pesanan saya belum sampai", author="customer", external_id="<m1@contoh.test>")
    v = Visitor(client)
    v.say("tolong sambungkan ke CS")
    r = client.post("/livechat/api/contact", headers=v.headers, json={"email": "rina@contoh.test"}).get_json()
    assert r["code_sent"] is True and r["email_verified"] is False
    customer = "web:" + v.token.split(".")[1]
    linked = "SELECT linked_customer, email_verified_at FROM livechat_visitors WHERE customer = ?"
    assert tuple(st.conn.execute(linked, (customer,)).fetchone()) == (None, None)  # their word is not proof
    code = _code_from_outbox(app, "rina@contoh.test")
    wrong = "000000" if code != "000000" else "111111"
    bad = client.post("/livechat/api/verify", headers=v.headers, json={"code": wrong})
    assert bad.status_code == 400
    ok = client.post("/livechat/api/verify", headers=v.headers, json={"code": code})
    assert ok.status_code == 200 and ok.get_json()["email_verified"] is True
    assert st.conn.execute(linked, (customer,)).fetchone()[0] == "rina@contoh.test"


def test_a_code_cannot_be_guessed(client, app):
    v = Visitor(client)
    v.say("halo")
    client.post("/livechat/api/contact", headers=v.headers, json={"email": "budi@contoh.test"})
    code = _code_from_outbox(app, "budi@contoh.test")
    wrongs = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != code][:5]
    for guess in wrongs:
        assert client.post("/livechat/api/verify", headers=v.headers, json={"code": guess}).status_code == 400
    late = client.post("/livechat/api/verify", headers=v.headers, json={"code": code})
    assert late.status_code == 400  # five wrong guesses spend the code


def test_codes_do_not_flood_a_mailbox(client, app):
    v = Visitor(client)
    v.say("halo")
    sent = []
    for i in range(5):
        addr = "korban@contoh.test" if i % 2 == 0 else f"lain{i}@contoh.test"
        sent.append(client.post("/livechat/api/contact", headers=v.headers, json={"email": addr}).get_json()["code_sent"])
    assert sent.count(True) <= 3
    n = store(app).conn.execute("SELECT count(*) FROM outbox WHERE customer = 'korban@contoh.test'").fetchone()[0]
    assert n <= 3


def test_a_reply_also_goes_by_email_once_a_verified_visitor_has_left(client, app, clock):
    v = Visitor(client)
    v.say("tolong sambungkan ke CS, pesanan saya salah kirim")
    client.post("/livechat/api/contact", headers=v.headers, json={"email": "sinta@contoh.test"})
    code = _code_from_outbox(app, "sinta@contoh.test")
    client.post("/livechat/api/verify", headers=v.headers, json={"code": code})
    st = store(app)
    queue.add_agent(st, clock(), "sari", "agent", generate_password_hash("rahasia-sari"))
    desk = Desk.from_settings(app.config["SETTINGS"], st)
    ref = st.conn.execute("SELECT ref FROM tickets").fetchone()[0]
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Kami cek dulu ya Kak.")  # the visitor is still on the page
    emails = "SELECT count(*) FROM outbox WHERE channel = 'email' AND customer = 'sinta@contoh.test'"
    assert st.conn.execute(emails).fetchone()[0] == 1  # only the code
    clock.at = clock.at + timedelta(minutes=20)
    desk.reply(clock(), ref, "sari", "Barang pengganti sudah kami kirim hari ini.")
    assert st.conn.execute(emails).fetchone()[0] == 2
    body = st.conn.execute("SELECT body FROM outbox WHERE channel = 'email' ORDER BY id DESC").fetchone()[0]
    assert body.startswith("Barang pengganti sudah kami kirim hari ini.")
    assert [m["text"] for m in v.history() if m["author"] == "agent"] == [
        "Kami cek dulu ya Kak.", "Barang pengganti sudah kami kirim hari ini."]  # no duplicate in the widget
    desk.reply(clock(), ref, "sari", "Nomor resinya JNE 1234567890.")
    heads = st.conn.execute("SELECT e.message_id, e.in_reply_to, e.subject FROM email_outbound e JOIN outbox o "
                            "ON o.id = e.outbox_id WHERE o.customer = 'sinta@contoh.test' AND e.subject LIKE '%balasan live chat%' "
                            "ORDER BY o.id").fetchall()
    assert len(heads) == 2 and heads[1][1] == heads[0][0]  # one thread in the visitor's mailbox
    assert heads[1][2].startswith("Re: ")


def test_errors_speak_the_visitors_language(client):
    v = Visitor(client)
    r = client.post("/livechat/api/messages", headers=v.headers, json={"text": "", "client_id": "lang-00001"})
    assert r.get_json()["error"] == "Pesan kosong."
    en = dict(v.headers, **{"Accept-Language": "en-US,en;q=0.9"})
    r = client.post("/livechat/api/messages", headers=en, json={"text": "", "client_id": "lang-00002"})
    assert r.get_json()["error"] == "Empty message."
    v.say("Hello, where is my order? It has been a week")  # now the conversation is English
    r = client.post("/livechat/api/messages", headers=v.headers, json={"text": "x" * 4001, "client_id": "lang-00003"})
    assert r.status_code == 413 and r.get_json()["error"].startswith("Message too long")


def test_a_live_chat_ticket_has_whatsapps_promise_of_15_minutes_of_opening_time(client, app):
    from handoff.records import parse_iso

    v = Visitor(client)
    v.say("tolong sambungkan ke CS manusia, paket saya hilang")
    row = store(app).conn.execute("SELECT channel, created_at, first_response_due FROM tickets").fetchone()
    assert row[0] == "web"
    assert parse_iso(row[2]) - parse_iso(row[1]) == timedelta(minutes=15)


def test_widget_files_are_gzipped_cached_and_revalidated(client):
    import gzip as gz

    raw = client.get("/livechat/widget.js")
    packed = client.get("/livechat/widget.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and gz.decompress(packed.data) == raw.data
    assert len(packed.data) < len(raw.data) and packed.headers["Vary"] == "Accept-Encoding"
    again = client.get("/livechat/widget.js", headers={"If-None-Match": raw.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/livechat/static/frame.js").status_code == 200
    assert client.get("/livechat/static/../livechat_api.py").status_code == 404
    assert client.get("/livechat/static/widget.js").status_code == 404


def test_an_image_of_a_few_megabytes_is_taken(client, app):
    """The app's 1 MB body limit (webhooks, forms) is raised for the upload only, to
    [livechat] max_upload_bytes (5 MB)."""
    v = Visitor(client)
    big = PNG + b"\x00" * (3 * 1024 * 1024)
    r = client.post("/livechat/api/upload", headers=v.headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(big), "foto.png"), "client_id": "upload-big1"})
    assert r.status_code == 200, r.data[:200]
    too_big = PNG + b"\x00" * (6 * 1024 * 1024)
    r = client.post("/livechat/api/upload", headers=v.headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(too_big), "foto.png"), "client_id": "upload-big2"})
    assert r.status_code == 413
    r = client.post("/livechat/api/messages", headers=v.headers, data=b"x" * (2 * 1024 * 1024),
                    content_type="application/json")
    assert r.status_code == 413  # anywhere else the 1 MB limit stands
