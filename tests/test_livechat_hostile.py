"""What an adversarial review of the live chat found, each as a test: streams that would
starve the server, visitors who could not be forgotten, 500s on odd input, the pretend
clock and the simulator's numbers, codes that could not be asked for again."""
from __future__ import annotations

import json
import re

import pytest

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.web import livechat_hub
from bot.web.livechat_hub import LiveHub, TooManyStreams


@pytest.fixture
def app(tmp_path, clock):
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "h.db")}, "console": {"secret_key": "h" * 40},
                               "dev": {"simulator": True}})
    return create_app(s, clock=clock)


def visitor(client):
    token = client.post("/livechat/api/session", json={}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}, "web:" + token.split(".")[1]


def test_streams_are_bounded_per_visitor_address_and_worker(tmp_path, monkeypatch):
    hub = LiveHub(str(tmp_path / "none.db"), loop=False)
    first = [hub.subscribe("web:a", "10.0.0.1", limits=True) for _ in range(3)]
    fourth = hub.subscribe("web:a", "10.0.0.1", limits=True)
    assert first[0].overflowed and not fourth.overflowed  # the visitor's oldest stream ends
    assert hub.open_streams == 3
    monkeypatch.setattr(livechat_hub, "MAX_STREAMS_PER_ADDRESS", 5)
    hub.subscribe("web:b", "10.0.0.1", limits=True)
    hub.subscribe("web:c", "10.0.0.1", limits=True)
    with pytest.raises(TooManyStreams):
        hub.subscribe("web:d", "10.0.0.1", limits=True)
    for i in range(3):  # a proxy that does not pass on the client's address: no per-address bound
        hub.subscribe(f"web:p{i}", "127.0.0.1", limits=True)
    monkeypatch.setattr(livechat_hub, "MAX_STREAMS", 9)
    hub.subscribe("web:e", "10.0.0.2", limits=True)
    with pytest.raises(TooManyStreams):
        hub.subscribe("web:f", "10.0.0.3", limits=True)
    hub.subscribe(livechat_hub.CONSOLE)  # the agents' doorbell is not the widget's to count


def test_too_many_streams_is_a_429_not_a_hang(app, monkeypatch):
    monkeypatch.setattr(livechat_hub, "MAX_STREAMS", 0)
    c = app.test_client()
    headers, _ = visitor(c)
    r = c.get("/livechat/api/stream", headers=headers)
    assert r.status_code == 429 and r.headers["Retry-After"]


@pytest.mark.parametrize("path,body", [
    ("/livechat/api/session", "[1]"), ("/livechat/api/typing", '"x"'), ("/livechat/api/read", "1"),
    ("/livechat/api/verify", "[]"), ("/livechat/api/contact", "[1, 2]"), ("/livechat/api/messages", "[]"),
    ("/livechat/api/read", '{"up_to": 100000000000000000000000}'), ("/livechat/api/session", "[" * 100000),
    ("/try/send", "[1]"), ("/try/clock", "[1]"),
])
def test_odd_json_gets_a_clear_answer_never_a_500(app, path, body):
    c = app.test_client()
    headers, _ = visitor(c)
    r = c.post(path, data=body, headers=headers, content_type="application/json")
    assert r.status_code < 500, (path, r.status_code, r.data[:200])


@pytest.mark.parametrize("path", ["/livechat/api/messages?after=100000000000000000000000",
                                  "/livechat/api/attachment/99999999999999999999999",
                                  "/try/updates?customer=%2B620001234567&after=100000000000000000000000"])
def test_huge_ids_are_no_500(app, path):
    c = app.test_client()
    headers, _ = visitor(c)
    assert c.get(path, headers=headers).status_code < 500


def test_a_visitor_is_forgotten_by_their_id_or_by_the_address_they_gave(app, clock):
    c = app.test_client()
    headers, customer = visitor(c)
    c.post("/livechat/api/messages", headers=headers, json={"text": "nama saya Budi Santoso", "client_id": "forget-001"})
    c.post("/livechat/api/contact", headers=headers, json={"name": "Budi Santoso", "email": "budi@contoh.test",
                                                           "phone": "0812-9999-8888"})
    st = app.extensions["yessindo"].bot.store
    st.forget("+6281299998888", clock())  # the number they gave, in the form the CLI passes it
    assert st.conn.execute("SELECT count(*) FROM livechat_visitors").fetchone()[0] == 0
    assert st.conn.execute("SELECT count(*) FROM conversations WHERE customer = ?", (customer,)).fetchone()[0] == 0


def test_the_cli_forgets_a_live_chat_visitor_by_id(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    db = tmp_path / "cli.db"
    from handoff.store import Store

    Store(str(db)).close()
    done = subprocess.run([sys.executable, "-m", "bot.cli", "forget", "web:" + "ab" * 16], capture_output=True, text=True,
                          env={"YESSINDO_DATABASE": str(db), "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr


def test_the_pretend_clock_is_set_only_from_this_machine(app):
    c = app.test_client()
    far = c.post("/try/clock", json={"at": "2027-06-01T10:00"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403
    form = c.post("/try/clock", data={"at": "2027-06-01T10:00"})  # another site's form: not JSON
    assert form.status_code == 403
    foreign = c.post("/try/clock", json={"at": "2027-06-01T10:00"}, headers={"Origin": "https://evil.test"})
    assert foreign.status_code == 403
    assert c.post("/try/clock", json={"at": "2027-06-01T10:00"}).status_code != 403  # (409: this test's clock is fixed)


def test_rate_limits_ignore_the_pretend_clock(tmp_path):
    """Moving the pretend clock a year ahead must not reset who may open visitors."""
    s = settings_from_mapping({"storage": {"database": str(tmp_path / "rl.db")}, "dev": {"simulator": True},
                               "livechat": {"new_visitors_per_hour_per_address": 2}})
    c = create_app(s).test_client()
    assert [c.post("/livechat/api/session", json={}).status_code for _ in range(3)] == [200, 200, 429]
    assert c.post("/try/clock", json={"at": "2027-06-01T10:00"}).status_code != 403  # (409: this test's clock is fixed)
    assert c.post("/livechat/api/session", json={}).status_code == 429


def test_simulated_customers_can_never_be_real_ones(app):
    c = app.test_client()
    page = c.get("/try").text
    assert re.search(r"\+62000\d{7}", page)
    r = c.post("/try/send", json={"text": "halo", "customer": "+628991234567"})  # a real Tri number
    assert r.status_code == 400
    assert c.get("/try/updates?customer=%2B628991234567").status_code == 400


def test_a_reconnect_after_many_messages_misses_none(app):
    from handoff import livechat as lc

    c = app.test_client()
    headers, customer = visitor(c)
    c.post("/livechat/api/messages", headers=headers, json={"text": "halo", "client_id": "many-0001"})
    st = app.extensions["yessindo"].bot.store
    conv = st.conn.execute("SELECT id FROM conversations WHERE customer = ?", (customer,)).fetchone()[0]
    first = st.conn.execute("SELECT max(id) FROM messages").fetchone()[0]
    with st.write(app.extensions["yessindo"].now()) as tx:
        c_row = tx.conn.execute("SELECT * FROM conversations WHERE id = ?", (conv,)).fetchone()
        from handoff.records import _conversation

        for i in range(450):
            tx.add_message(_conversation(c_row), "out", f"pesan agen {i}", author="sari")
    got = lc.history(st.conn, customer, first)
    assert len(got) == 200 and got[0]["text"] == "pesan agen 0"  # a page forward, oldest first
    r = c.get(f"/livechat/api/stream?after={first}", headers=headers, buffered=False)
    texts, seen = [], 0
    for chunk in r.response:
        for line in chunk.decode().splitlines():
            if line.startswith("data: "):
                texts.append(json.loads(line[6:])["text"])
        if len(texts) >= 450 or seen > 2000:
            break
        seen += 1
    r.close()
    assert texts[:450] == [f"pesan agen {i}" for i in range(450)]


def test_the_same_address_can_ask_for_a_new_code(app):
    c = app.test_client()
    headers, _ = visitor(c)
    c.post("/livechat/api/messages", headers=headers, json={"text": "halo", "client_id": "resend-001"})
    first = c.post("/livechat/api/contact", headers=headers, json={"email": "rina@contoh.test"}).get_json()
    assert first["code_sent"] is True
    again = c.post("/livechat/api/contact", headers=headers, json={"email": "rina@contoh.test"}).get_json()
    assert again["code_sent"] is False  # the first code is still good
    for _ in range(5):
        c.post("/livechat/api/verify", headers=headers, json={"code": "000000"})
    third = c.post("/livechat/api/contact", headers=headers, json={"email": "rina@contoh.test"}).get_json()
    assert third["code_sent"] is True  # five wrong guesses spent it: a new one may be asked for


def test_an_address_the_mailer_refuses_is_refused_at_once(app):
    c = app.test_client()
    headers, _ = visitor(c)
    r = c.post("/livechat/api/contact", headers=headers, json={"email": "javascript:alert(1)//@x.com"})
    assert r.status_code == 400


def test_a_busy_database_is_no_leak_of_its_path(app, tmp_path):
    import sqlite3

    c = app.test_client()
    c.post("/livechat/api/session", json={})  # the bot and its schema exist
    hold = sqlite3.connect(str(tmp_path / "h.db"), timeout=0.1)
    hold.execute("BEGIN EXCLUSIVE")
    st = app.extensions["yessindo"].bot.store
    st.conn.execute("PRAGMA busy_timeout = 100")
    try:
        r = c.post("/livechat/api/session", json={})
    finally:
        hold.rollback()
        hold.close()
    assert r.status_code == 503 and "h.db" not in r.text and str(tmp_path) not in r.text


def test_bidi_overrides_and_zero_width_characters_never_reach_a_name(app):
    c = app.test_client()
    headers, _ = visitor(c)
    r = c.post("/livechat/api/contact", headers=headers, json={"name": "Rina\u202e\u200b<b>adnI"})
    assert r.get_json()["contact"]["name"] == "RinabadnI"


def test_typing_is_written_only_when_it_changes(app):
    c = app.test_client()
    headers, customer = visitor(c)
    c.post("/livechat/api/messages", headers=headers, json={"text": "halo", "client_id": "typing-001"})
    st = app.extensions["yessindo"].bot.store
    seq = "SELECT coalesce(max(seq), 0) FROM livechat_typing"
    c.post("/livechat/api/typing", headers=headers, json={"typing": True})
    first = st.conn.execute(seq).fetchone()[0]
    for _ in range(20):
        c.post("/livechat/api/typing", headers=headers, json={"typing": True})
    assert st.conn.execute(seq).fetchone()[0] == first  # the same mark: no writes
    c.post("/livechat/api/typing", headers=headers, json={"typing": False})
    assert st.conn.execute(seq).fetchone()[0] > first


def test_images_per_visitor_and_day_are_bounded(app, monkeypatch):
    import io

    from bot.web import livechat_api

    monkeypatch.setattr(livechat_api, "UPLOADS_PER_VISITOR_DAY", 2)
    c = app.test_client()
    headers, _ = visitor(c)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    codes = [c.post("/livechat/api/upload", headers=headers, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(png), "a.png"), "client_id": f"quota-{i:04d}"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
