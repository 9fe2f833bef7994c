"""A local fake of Twilio's Messages REST API, for the real `twilio` client library.

A real `ThreadingHTTPServer` on 127.0.0.1 (ephemeral port):
- `POST /2010-04-01/Accounts/{sid}/Messages.json` (form body, HTTP basic auth):
  201 with a fresh `SM...` sid, status `queued`, body/to/from.
- `GET  /2010-04-01/Accounts/{sid}/Messages.json` with `To`, `From`, `DateSent>`,
  `PageSize` filters: newest first, one page.
Every request is recorded. On demand the next N requests (POST by default) fail
with 500, with 429 + Retry-After, with a Twilio error JSON (`{"code": 63016, ...}`),
or hang (optionally after creating the message, like Twilio accepting it and the
answer never arriving).

Use the `fake_twilio` fixture: `from tests.fake_twilio import fake_twilio`.
"""
from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorized: bool
    status: int = 0
    sid: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class _Failure:
    kind: str  # "500" | "429" | "error" | "hang"
    method: str
    code: int | None = None
    message: str = ""
    status: int = 400
    retry_after: float | None = None
    create: bool = False
    seconds: float = 30.0


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, Any]] = []
        self.requests: list[Recorded] = []
        self._failures: deque[_Failure] = deque()
        self._lock = threading.Lock()
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # -- controls ---------------------------------------------------------------------
    def fail_next(self, n: int = 1, *, status: int = 500, code: int | None = None, message: str = "",
                  retry_after: float | None = None, method: str = "POST") -> None:
        """The next n requests of `method` fail: 500, 429 (+Retry-After), or a Twilio error JSON."""
        kind = "429" if status == 429 else "500" if status >= 500 and code is None else "error"
        with self._lock:
            for _ in range(n):
                self._failures.append(_Failure(kind, method, code=code, message=message, status=status,
                                               retry_after=retry_after))

    def hang_next(self, n: int = 1, *, create: bool = False, seconds: float = 30.0, method: str = "POST") -> None:
        """The next n requests hang (until `release` is set or `seconds` pass); with create=True
        the message is created first, as if Twilio accepted it and the answer was lost."""
        with self._lock:
            for _ in range(n):
                self._failures.append(_Failure("hang", method, create=create, seconds=seconds))

    def creates(self) -> list[Recorded]:
        """Every POST that created a message (whether or not its answer arrived)."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.sid]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- the API ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        rec = Recorded(method, parts.path, query, form, h.headers.get("Authorization") == expected)
        with self._lock:
            self.requests.append(rec)
            failure = None
            if self._failures and self._failures[0].method == method:
                failure = self._failures.popleft()
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if parts.path != prefix:
            return self._reply(h, rec, 404, {"code": 20404, "message": "The requested resource was not found",
                                             "status": 404})
        if not rec.authorized:
            return self._reply(h, rec, 401, {"code": 20003, "message": "Authenticate", "status": 401})
        if failure is not None:
            if failure.kind == "hang":
                if failure.create and method == "POST":
                    self._create(rec, form)
                self.release.wait(failure.seconds)
                try:
                    return self._reply(h, rec, 500, {"code": 20500, "message": "hung", "status": 500})
                except OSError:
                    return None
            if failure.kind == "500":
                return self._reply(h, rec, 500, {"code": 20500, "message": "Internal Server Error", "status": 500})
            if failure.kind == "429":
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return self._reply(h, rec, 429, {"code": 20429, "message": "Too Many Requests", "status": 429},
                                   headers)
            return self._reply(h, rec, failure.status,
                               {"code": failure.code, "message": failure.message or f"error {failure.code}",
                                "more_info": f"https://www.twilio.com/docs/errors/{failure.code}",
                                "status": failure.status})
        if method == "POST":
            if not form.get("To") or not form.get("From") or not (form.get("Body") or form.get("ContentSid")):
                return self._reply(h, rec, 400, {"code": 21604, "message": "A 'To' and 'Body' or ContentSid "
                                                 "are required", "status": 400})
            return self._reply(h, rec, 201, self._create(rec, form))
        return self._reply(h, rec, 200, self._list(query))

    def _create(self, rec: Recorded, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        sid = "SM" + uuid.uuid4().hex
        body = form.get("Body") or f"[template {form.get('ContentSid')}] {form.get('ContentVariables', '')}"
        msg = {
            "sid": sid, "account_sid": self.account_sid, "body": body, "to": form.get("To"),
            "from": form.get("From"), "status": "queued", "direction": "outbound-api", "num_segments": "1",
            "num_media": "0", "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
            "date_created": format_datetime(now, usegmt=True), "date_updated": format_datetime(now, usegmt=True),
            "date_sent": format_datetime(now, usegmt=True), "api_version": "2010-04-01",
            "messaging_service_sid": None, "subresource_uris": {},
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "_created": now, "_form": dict(form),
        }
        with self._lock:
            self.messages.append(msg)
            rec.sid = sid
        return msg

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        after = query.get("DateSent>")
        since = None
        if after:
            fmt = "%Y-%m-%dT%H:%M:%SZ" if "T" in after else "%Y-%m-%d"
            since = datetime.strptime(after, fmt).replace(tzinfo=timezone.utc)
        with self._lock:
            found = [m for m in reversed(self.messages)
                     if (not query.get("To") or m["to"] == query["To"])
                     and (not query.get("From") or m["from"] == query["From"])
                     and (since is None or m["_created"] >= since)]
        size = int(query.get("PageSize") or 50)
        page = found[:size]
        return {"messages": page, "page": 0, "page_size": size, "start": 0, "end": max(len(page) - 1, 0),
                "first_page_uri": None, "next_page_uri": None, "previous_page_uri": None, "uri": "/list"}

    def _reply(self, h: BaseHTTPRequestHandler, rec: Recorded, status: int, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        rec.status = status
        data = json.dumps(payload, default=lambda o: None).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()
