"""Who may use the agent console: login, the session cookie, CSRF, the login rate limit
and the security headers of every console response.

- Sessions: Flask's signed cookie (`yessindo_console`, path /console, HttpOnly,
  SameSite=Lax, Secure whenever the request came over HTTPS, 12 hours). The signing key
  is `Settings.secret_key` (YESSINDO_SECRET_KEY or `[console] secret_key`); when it is
  empty a random key is made once and kept in the database (`meta.console_secret_key`),
  so every worker and every restart shares it. The key is only looked up when a
  console cookie is read or written: webhooks never touch it.
- Every request re-reads the agent from the database: a removed agent, or one whose
  password changed, is logged out at once.
- CSRF: a random token per session, sent back in the hidden `csrf_token` field of
  every form or the `X-CSRF-Token` header of a fetch; compared in constant time.
- Login rate limit, shared by all workers through the `login_attempts` table: 5
  failures per name and 20 per client address in 15 minutes, then 429.
"""
from __future__ import annotations

import hmac
import math
import secrets
import threading
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from flask import (Flask, Response, current_app, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from handoff.store import Store, utc_iso
from handoff.views import AgentRecord, agent_record

COOKIE_NAME = "yessindo_console"
SESSION_HOURS = 12
RATE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
SECRET_META_KEY = "console_secret_key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
WRONG_LOGIN = "Nama atau kata sandi salah."
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


# -- the signing key ---------------------------------------------------------------------------
def stored_secret_key(store: Store, now: datetime) -> str:
    """The console key kept in the database, made on first use. INSERT OR IGNORE inside
    BEGIN IMMEDIATE: two workers starting together end up with the same key."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_META_KEY,)).fetchone()
    if row and row[0]:
        return str(row[0])
    with store.write(now) as tx:
        tx.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                        (SECRET_META_KEY, secrets.token_urlsafe(48)))
        row = tx.conn.execute("SELECT value FROM meta WHERE key = ?", (SECRET_META_KEY,)).fetchone()
    return str(row[0])


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session with a key found lazily (configured, else from the
    database), the cookie read only when present, and Secure set on HTTPS requests."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._lock = threading.Lock()

    def _secret(self, app: Flask) -> str:
        if app.secret_key:
            return str(app.secret_key)
        if self._key is None:
            with self._lock:
                if self._key is None:
                    settings = app.config["SETTINGS"]
                    store = Store(settings.database)
                    try:
                        self._key = stored_secret_key(store, console_now(app))
                    finally:
                        store.close()
        return self._key

    def get_signing_serializer(self, app: Flask):  # type: ignore[no-untyped-def]
        from itsdangerous import URLSafeTimedSerializer

        return URLSafeTimedSerializer(self._secret(app), salt=self.salt, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def,override]
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # no cookie: nothing to verify, no key needed
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app: Flask) -> None:
    """Cookie settings, the session interface, the console's security headers."""
    settings = app.config["SETTINGS"]
    if settings.secret_key:
        app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = ConsoleSessionInterface()

    @app.after_request
    def console_headers(response: Response) -> Response:
        if request.path == "/console" or request.path.startswith("/console/"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "same-origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Cache-Control"] = "no-store"
        return response


# -- time and database for one request ---------------------------------------------------------
def console_now(app: Flask | None = None) -> datetime:
    app = app or current_app
    svc = app.extensions["yessindo"]
    if svc.clock is not None:
        return svc.clock()
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(app.config["SETTINGS"].hours.timezone))


def console_store() -> Store:
    """This request's own connection (closed at teardown): console reads and writes never
    share the pipeline's connection, so they can run in any thread."""
    store = g.get("_console_store")
    if store is None:
        store = g._console_store = Store(current_app.config["SETTINGS"].database)
    return store


def close_store(_exc: BaseException | None = None) -> None:
    store = g.pop("_console_store", None)
    if store is not None:
        store.close()


# -- the logged-in agent -----------------------------------------------------------------------
def _fingerprint(record: AgentRecord) -> str:
    """Changes when the password (its hash) changes: old sessions end."""
    return sha256(record.password_hash.encode()).hexdigest()[:20]


def current_agent() -> AgentRecord | None:
    """The agent of this request's session, re-checked against the database once per
    request; a removed agent (or a changed password) ends the session."""
    if "_console_agent" in g:
        return g._console_agent  # type: ignore[no-any-return]
    found: AgentRecord | None = None
    name = session.get("agent")
    if name:
        record = agent_record(console_store(), name)
        if record is not None and hmac.compare_digest(session.get("fp", ""), _fingerprint(record)):
            found = record
        else:
            session.pop("agent", None)
            session.pop("fp", None)
    g._console_agent = found
    return found


def wants_json() -> bool:
    return request.path.startswith("/console/api/")


def login_required_response() -> Response:
    if wants_json():
        resp = jsonify(error="Sesi berakhir: silakan masuk lagi.", login=url_for("console.login"))
        resp.status_code = 401
        return resp
    target = request.full_path.rstrip("?") if request.method == "GET" else url_for("console.queue")
    return redirect(url_for("console.login", next=target), 303)  # type: ignore[return-value]


# -- CSRF --------------------------------------------------------------------------------------
def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected).encode(), sent.encode())


def csrf_failed_response() -> tuple[Any, int]:
    text = ("Permintaan ditolak: token keamanan (CSRF) tidak ada atau tidak cocok, mungkin karena sesi sudah "
            "berakhir. Muat ulang halaman lalu coba lagi.")
    if wants_json():
        return jsonify(error=text), 400
    return render_template("console/error.html", title="Permintaan ditolak", message=text, agent=None), 400


# -- login rate limit --------------------------------------------------------------------------
def _keys(name: str) -> tuple[str, str]:
    return "name:" + name.strip().lower(), "addr:" + (request.remote_addr or "-")


def locked_for(store: Store, now: datetime, name: str) -> timedelta | None:
    """How long until a login may be tried again for this name and address, or None."""
    since = utc_iso(now - RATE_WINDOW)
    wait: timedelta | None = None
    for key, limit in zip(_keys(name), (MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_ADDRESS)):
        rows = store.conn.execute("SELECT at FROM login_attempts WHERE key = ? AND at >= ? ORDER BY at",
                                  (key, since)).fetchall()
        if len(rows) >= limit:
            # Below the limit again once the (count - limit + 1) oldest failures leave the window.
            free_at = datetime.fromisoformat(rows[len(rows) - limit][0]) + RATE_WINDOW
            left = max(free_at - now, timedelta(seconds=1))
            wait = left if wait is None else max(wait, left)
    return wait


def record_failure(store: Store, now: datetime, name: str) -> None:
    with store.write(now) as tx:
        for key in _keys(name):
            tx.conn.execute("INSERT INTO login_attempts (key, at) VALUES (?, ?)", (key, tx.now))
        tx.conn.execute("DELETE FROM login_attempts WHERE at < ?", (utc_iso(now - RATE_WINDOW),))


def clear_failures(store: Store, now: datetime, name: str) -> None:
    with store.write(now) as tx:
        tx.conn.execute("DELETE FROM login_attempts WHERE key = ?", (_keys(name)[0],))


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name takes as long as a wrong password."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def safe_next(target: str | None) -> str:
    """Only a local console path; anything else (another host, //host, backslashes) -> the queue."""
    default = url_for("console.queue")
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/console") or target.startswith("//"):
        return default
    if target.startswith("/console/login") or target.startswith("/console/logout"):
        return default
    return target


# -- the views ---------------------------------------------------------------------------------
def login():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        if current_agent() is not None:
            return redirect(safe_next(request.args.get("next")), 303)
        return render_template("console/login.html", next=request.args.get("next", ""), error=None, name="")
    store = console_store()
    now = console_now()
    name = (request.form.get("name") or "").strip()[:100]
    password = request.form.get("password") or ""
    nxt = request.form.get("next") or ""
    wait = locked_for(store, now, name)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        error = f"Terlalu banyak percobaan masuk. Coba lagi dalam {minutes} menit."
        resp = current_app.make_response(
            (render_template("console/login.html", next=nxt, error=error, name=name), 429))
        resp.headers["Retry-After"] = str(int(math.ceil(wait.total_seconds())))
        return resp
    record = agent_record(store, name)
    ok = check_password_hash(record.password_hash if record else _dummy_hash(), password)
    if record is None or not ok or not password:
        record_failure(store, now, name)
        return render_template("console/login.html", next=nxt, error=WRONG_LOGIN, name=name), 401
    clear_failures(store, now, name)
    session.clear()  # a fresh session (and CSRF token) for the logged-in agent
    session.permanent = True
    session["agent"] = record.name
    session["fp"] = _fingerprint(record)
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(safe_next(nxt), 303)


def logout():  # type: ignore[no-untyped-def]
    session.clear()
    resp = redirect(url_for("console.login"), 303)
    return resp
