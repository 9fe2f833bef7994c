"""The webhook's WSGI fast path (bot/web/whatsapp_answer.py) answers exactly as the Flask
route does, takes only what it is sure of, and fails like Flask would (a 500, nothing lost)."""
from __future__ import annotations

import io
import urllib.parse

import pytest

from bot.web.whatsapp_answer import WebhookFastPath
from tests.test_webhook import TOKEN, URL, count, form, make_app, messages, post, sign  # noqa: F401


def environ(data: dict[str, str], *, signature: str | None = None, length: str | None = None,
            content_type: str = "application/x-www-form-urlencoded", method: str = "POST") -> dict:
    body = urllib.parse.urlencode(data).encode()
    return {"REQUEST_METHOD": method, "PATH_INFO": "/webhooks/whatsapp", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "localhost",
            "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)) if length is None else length,
            "HTTP_X_TWILIO_SIGNATURE": sign(URL, data) if signature is None else signature,
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "REMOTE_ADDR": "127.0.0.1"}


def call(app, env):  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app.wsgi_app(env, start_response))
    return seen["status"], seen["headers"], body


class Spy:
    """Counts the calls that reach Flask under the fast path."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        fast = app.wsgi_app
        assert isinstance(fast, WebhookFastPath)
        self.calls = 0
        inner = fast.app

        def counted(env, start_response):  # type: ignore[no-untyped-def]
            self.calls += 1
            return inner(env, start_response)

        fast.app = counted


def test_the_usual_post_is_answered_before_flask_with_the_same_answer(make_app):
    fast_app, flask_app = make_app(), make_app()
    spy = Spy(fast_app)
    status, headers, body = call(fast_app, environ(form()))
    assert spy.calls == 0 and status == "200 OK"
    assert headers["Content-Type"] == "application/xml; charset=utf-8" and int(headers["Content-Length"]) == len(body)
    # the Flask route (multipart: the fast path leaves it) gives the same TwiML for the same message
    flask_resp = flask_app.test_client().post("/webhooks/whatsapp", data=form(), content_type="multipart/form-data",
                                              headers={"X-Twilio-Signature": sign(URL, form())})
    assert flask_resp.status_code == 200 and flask_resp.headers["Content-Type"] == headers["Content-Type"]
    assert flask_resp.data == body
    assert count(fast_app, "SELECT count(*) FROM messages WHERE direction='in'") == 1


@pytest.mark.parametrize("change", [
    {"content_type": "multipart/form-data; boundary=x"}, {"length": ""}, {"length": "abc"},
    {"length": str(2 * 1024 * 1024)}, {"method": "PUT"},
])
def test_what_the_fast_path_is_not_sure_of_goes_to_flask(make_app, change):
    app = make_app()
    spy = Spy(app)
    status, _, _ = call(app, environ(form(), **change))
    assert spy.calls == 1
    assert not status.startswith("500")


def test_refusals_are_the_same_as_before(make_app):
    app = make_app()
    status, headers, body = call(app, environ(form(), signature="forged"))
    assert status.startswith("403") and body == b"invalid signature\n"
    assert headers["Content-Type"].startswith("text/plain")
    many = {f"f{i}": "x" for i in range(1200)}
    status, _, body = call(app, environ(many, signature="x"))
    assert status.startswith("413") and body == b"too many form fields\n"
    # the Flask route under the fast path says the same
    flask_only = make_app()
    flask_only.wsgi_app = flask_only.wsgi_app.app
    status, _, body = call(flask_only, environ(many, signature="x"))
    assert status.startswith("413") and body == b"too many form fields\n"
    status, _, body = call(make_app(auth_token=""), environ(form()))
    assert status.startswith("503") and b"TWILIO_AUTH_TOKEN" in body
    assert count(app, "SELECT count(*) FROM messages") == 0


def test_a_crash_in_the_answer_is_a_500_and_the_next_message_is_answered(make_app, monkeypatch, caplog):
    from bot.logsafe import mask_record

    caplog.handler.addFilter(lambda record: bool(mask_record(record)))  # as every handler of serve does
    app = make_app()
    svc = app.extensions["yessindo"]
    real = svc.handle
    calls = {"n": 0}

    def flaky(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom +6281234567890")
        return real(message)

    monkeypatch.setattr(svc, "handle", flaky)
    status, _, body = call(app, environ(form(sid="SMa")))
    assert status.startswith("500") and b"boom" not in body
    assert "6281234567890" not in caplog.text  # the log is masked like every other
    status, _, body = call(app, environ(form(sid="SMb")))
    assert status == "200 OK" and b"<Message>" in body
