"""WhatsApp webhooks through the real Flask app, with correctly signed Twilio form bodies."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.config import settings_from_mapping

TOKEN = "test-auth-token-123"
URL = "http://localhost/webhooks/whatsapp"


def form(body="paket saya belum sampai", sid="SM0001", frm="+6281234567890", **extra):
    data = {"From": f"whatsapp:{frm}", "To": "whatsapp:+6282129666065", "Body": body, "MessageSid": sid,
            "AccountSid": "AC123", "ProfileName": "Budi", "WaId": frm.lstrip("+"), "NumMedia": "0"}
    data.update(extra)
    return data


def sign(url, data, token=TOKEN):
    return RequestValidator(token).compute_signature(url, data)


@pytest.fixture
def make_app(tmp_path, clock):
    def make(**wa):
        wa.setdefault("auth_token", TOKEN)
        s = settings_from_mapping({"storage": {"database": str(tmp_path / "wa.db")}, "whatsapp": wa})
        return create_app(s, clock=clock)
    return make


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def post(client, data, url=URL, signature=None, path="/webhooks/whatsapp"):
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, data)}
    return client.post(path, data=data, headers=headers)


def messages(resp):
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def count(app, sql):
    return app.extensions["yessindo"].bot.store.conn.execute(sql).fetchone()[0]


def test_signed_message_is_answered_with_twiml_and_stored(client):
    resp = post(client, form())
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    [text] = messages(resp)
    assert "nomor pesanan" in text and "YS-000001" in text
    app = client.application
    assert count(app, "SELECT count(*) FROM messages WHERE direction='in' AND external_id='SM0001'") == 1
    row = app.extensions["yessindo"].bot.store.conn.execute(
        "SELECT customer, display_name FROM conversations").fetchone()
    assert tuple(row) == ("+6281234567890", "Budi")


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", None])
def test_missing_or_forged_signature_is_403_and_stores_nothing(client, signature):
    data = form()
    sig = sign(URL, data, token="wrong-token") if signature is None else signature
    resp = post(client, data, signature=sig)
    assert resp.status_code == 403
    assert count(client.application, "SELECT count(*) FROM messages") == 0


def test_tampered_body_is_403(client):
    data = form()
    sig = sign(URL, data)
    data["Body"] = "saya mau refund 10 juta"
    assert post(client, data, signature=sig).status_code == 403


def test_no_auth_token_is_503_never_unchecked(make_app):
    client = make_app(auth_token="").test_client()
    resp = post(client, form())
    assert resp.status_code == 503 and b"TWILIO_AUTH_TOKEN" in resp.data
    assert count(client.application, "SELECT count(*) FROM messages") == 0


def test_public_url_behind_a_tls_proxy(make_app):
    public = "https://bot.yessindo.co.id/webhooks/whatsapp"
    client = make_app(public_url=public).test_client()
    data = form()
    # Twilio signed the public https URL; the app sees http://localhost/...: still valid.
    assert post(client, data, signature=sign(public, data)).status_code == 200
    # A signature over the URL the app sees (stale or wrong URL) is refused when public_url is set.
    assert post(client, form(sid="SM2"), signature=sign(URL, form(sid="SM2"))).status_code == 403


def test_status_callback_signed_against_public_base(make_app):
    public = "https://bot.yessindo.co.id/webhooks/whatsapp"
    client = make_app(public_url=public).test_client()
    data = {"MessageSid": "SMx", "MessageStatus": "delivered", "AccountSid": "AC123"}
    url = "https://bot.yessindo.co.id/webhooks/whatsapp/status"
    resp = post(client, data, signature=sign(url, data), path="/webhooks/whatsapp/status")
    assert resp.status_code == 204
    resp = post(client, data, signature="forged", path="/webhooks/whatsapp/status")
    assert resp.status_code == 403


def test_unknown_extra_fields_are_signed_and_kept(client):
    data = form(sid="SM9", NewTwilioField="something", ReferralCtwaClid="abc")
    assert post(client, data).status_code == 200
    meta = client.application.extensions["yessindo"].bot.store.conn.execute(
        "SELECT meta FROM messages WHERE external_id='SM9'").fetchone()[0]
    assert "NewTwilioField" in meta and "ReferralCtwaClid" in meta


def test_messaging_service_pool_number_is_accepted(client):
    """Checked by auth token, never by matching To: another sender number of the pool works."""
    data = form(sid="SMpool", To="whatsapp:+6281100000000", MessagingServiceSid="MG123")
    assert post(client, data).status_code == 200


def test_twilio_retry_replays_the_stored_answer_and_creates_nothing_new(client):
    """Twilio retries when it lost our TwiML (worker killed after the commit, its 15 s
    timeout): the retry gets the answer stored as sent, never an empty <Response/>."""
    data = form(sid="SMdup")
    first = post(client, data)
    second = post(client, data)
    assert messages(first) and messages(second) == messages(first)
    app = client.application
    assert count(app, "SELECT count(*) FROM messages WHERE direction='in'") == 1
    assert count(app, "SELECT count(*) FROM messages WHERE direction='out'") == 1
    assert count(app, "SELECT count(*) FROM tickets") == 1


def test_retry_replays_its_own_answer_not_a_later_one(client):
    """The customer wrote again before Twilio's retry of the first message came: each
    retry gets the answer of its own message."""
    one, two = form(sid="SMa1", body="paket saya belum sampai"), form(sid="SMa2", body="jam berapa cs buka?")
    first, second = messages(post(client, one)), messages(post(client, two))
    assert first != second
    assert messages(post(client, one)) == first and messages(post(client, two)) == second
    assert count(client.application, "SELECT count(*) FROM messages WHERE direction='out'") == 2


def test_retry_of_a_silenced_message_stays_empty(client):
    """A message a person holds got no bot answer: the retry gets none either."""
    data = form(sid="SMh1")
    assert messages(post(client, data))
    store = client.application.extensions["yessindo"].bot.store
    store.conn.execute("UPDATE conversations SET state = 'human'")
    held = form(sid="SMh2", body="halo masih di sana?")
    assert messages(post(client, held)) == [] and messages(post(client, held)) == []


def test_photo_of_damaged_parcel_is_kept_on_ticket(client):
    data = form(body="barangnya datang pecah kak", sid="SMimg", NumMedia="1",
                MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                MediaContentType0="image/jpeg")
    assert post(client, data).status_code == 200
    [t] = client.application.extensions["yessindo"].bot.store.tickets()
    assert t.priority == "complex"
    assert t.details["attachments"][0]["content_type"] == "image/jpeg"


@pytest.mark.parametrize("extra,expect", [
    ({"NumMedia": "1", "MediaUrl0": "https://x/voice", "MediaContentType0": "audio/ogg"}, "teks"),     # voice
    ({"NumMedia": "1", "MediaUrl0": "https://x/sticker", "MediaContentType0": "image/webp"}, "teks"),  # sticker
    ({"NumMedia": "1", "MediaUrl0": "https://x/vcard", "MediaContentType0": "text/vcard"}, "teks"),    # contact
    ({"Latitude": "-6.2", "Longitude": "106.8", "Address": "Jakarta"}, "teks"),                        # location
    ({"NumMedia": "banyak"}, "kosong"),                                       # nonsense field, no content
])
def test_non_text_messages_get_a_polite_answer_and_are_kept(client, extra, expect):
    data = form(body="", sid="SMmedia", **extra)
    resp = post(client, data)
    assert resp.status_code == 200
    [text] = messages(resp)
    assert expect in text
    assert count(client.application, "SELECT count(*) FROM messages WHERE direction='in'") == 1


def test_long_reply_is_split_under_1600(client, bot):
    from bot.channels.whatsapp import split_text

    text = ("Kalimat yang cukup panjang untuk diuji. " * 30 + "\n\n") * 5
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 1600 for p in parts)
    assert "".join(p.replace(" ", "").replace("\n", "") for p in parts) == text.replace(" ", "").replace("\n", "")
    assert all(p.endswith(".") for p in parts)  # cut at sentence ends, not mid-word


def test_100kb_and_emoji_bodies(client):
    assert post(client, form(body="x" * 100_000, sid="SMbig")).status_code == 200
    assert post(client, form(body="😀🙏", sid="SMemoji")).status_code == 200


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_simulator_only_when_enabled(tmp_path, clock):
    on = create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "a.db")}}), clock=clock)
    off = create_app(settings_from_mapping({"storage": {"database": str(tmp_path / "b.db")},
                                            "dev": {"simulator": False}}, "cfg.toml"), clock=clock)
    assert on.test_client().get("/try").status_code == 200
    assert off.test_client().get("/try").status_code == 404
    c = on.test_client()
    r = c.post("/try/send", json={"text": "halo", "customer": "+620001234567"})
    assert r.status_code == 200 and "1. " in r.get_json()["replies"][0]
    assert c.post("/try/send", json={"text": "halo", "customer": "+6281234567890"}).status_code == 400


def test_logs_mask_numbers_and_never_hold_bodies(client, caplog):
    from bot.logsafe import MaskingFilter

    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        post(client, form(body="rahasia pribadi saya", sid="SMlog"))
    text = caplog.text
    assert "+62812****7890" in text
    assert "6281234567890" not in text and "rahasia pribadi" not in text


def test_database_refusing_writes_gives_503_so_twilio_retries(client):
    store = client.application.extensions["yessindo"].bot.store
    store.conn.execute("PRAGMA query_only = ON")
    resp = post(client, form(sid="SMro"))
    assert resp.status_code == 503
    store.conn.execute("PRAGMA query_only = OFF")
    assert count(client.application, "SELECT count(*) FROM messages") == 0
    assert post(client, form(sid="SMro")).status_code == 200  # Twilio's retry then lands once
    assert count(client.application, "SELECT count(*) FROM messages WHERE direction='in'") == 1


def test_healthz_503_when_database_is_gone(client):
    client.application.extensions["yessindo"].bot.store.conn.close()
    resp = client.get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["status"] == "error"


def test_status_callback_updates_the_outbound_message(client, clock):
    store = client.application.extensions["yessindo"].bot.store
    with store.write(clock()) as tx:
        conv = tx.create_conversation("whatsapp", "+6281234567890", "id", None)
        outbox_id = tx.enqueue_outbound(conv, "Balasan agen")
        tx.conn.execute("UPDATE outbox SET status = 'sent', provider_id = 'SMknown' WHERE id = ?", (outbox_id,))
    data = {"MessageSid": "SMknown", "MessageStatus": "undelivered", "ErrorCode": "63016", "AccountSid": "AC123"}
    url = "http://localhost/webhooks/whatsapp/status"
    resp = client.post("/webhooks/whatsapp/status", data=data, headers={"X-Twilio-Signature": sign(url, data)})
    assert resp.status_code == 204
    [row] = store.outbox()
    assert (row["status"], row["error_code"]) == ("undelivered", "63016")


def test_form_read_as_twilio_sends_it_percent_encoded_utf8_and_repeated_keys(client):
    """The urlencoded body is parsed by the webhook itself (parse_qsl): '+' and %-escapes,
    UTF-8 text, blank fields kept for the signature, the first of repeated keys used."""
    data = form(body="paket+saya 😊 100% belum & sampai", Extra="")
    resp = post(client, data)
    assert resp.status_code == 200
    stored = count(client.application, "SELECT text FROM messages WHERE direction = 'in'")
    assert stored == "paket+saya 😊 100% belum & sampai"


def test_form_with_too_many_fields_is_refused_before_anything_is_stored(client):
    body = "&".join(f"f{i}=x" for i in range(1500))
    resp = client.post("/webhooks/whatsapp", data=body, content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": "x"})
    assert resp.status_code == 413
    assert count(client.application, "SELECT count(*) FROM messages") == 0


def test_multipart_body_still_goes_through_werkzeug_and_its_signature(client):
    data = form(body="halo kak")
    resp = client.post("/webhooks/whatsapp", data=data, content_type="multipart/form-data",
                       headers={"X-Twilio-Signature": sign(URL, data)})
    assert resp.status_code == 200 and messages(resp)
