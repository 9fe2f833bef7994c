"""Who may use the agent console: login, the session cookie, CSRF, the login rate limit
and the security headers of every console response.

- Sessions: server-side rows in `console_sessions` (id = the sha256 of the session id,
  32 random bytes, urlsafe: a copy of the database holds no usable session; agent;
  created_at; last_seen_at, written at most once a minute; the agent's password
  fingerprint). The cookie (`yessindo_console`, path /console, HttpOnly, SameSite=Lax,
  Secure whenever the request came over HTTPS) holds only the session id and the CSRF
  token, signed with `Settings.secret_key` (YESSINDO_SECRET_KEY or `[console]
  secret_key`); when that is empty a random key is made once and kept in a 0600 file
  beside the database (`bot.web.console_secret`), so every worker and every restart
  shares it. The key is only looked up when a console cookie is read or written:
  webhooks never touch it.
- Every request re-reads the session row and the agent: logout deletes the row (a copied
  cookie is dead at once); a session ends 12 hours after login however active it is; a
  removed agent, or a changed password, ends it at once (handoff/queue.py deletes the
  rows; the fingerprint catches a hash changed any other way). Login always makes a new
  id (no session fixation) and deletes expired rows. The table comes from
  `handoff.schema._migrate_v3`; a database already at schema version 3 before it existed gets it
  at the first login (`ensure_session_table`, the same CREATE ... IF NOT EXISTS).
- CSRF: a random token per session, sent back in the hidden `csrf_token` field of
  every form or the `X-CSRF-Token` header of a fetch; compared in constant time.
- Login rate limit (`bot.web.login_limit`), shared by all workers through the
  `login_attempts` table: failures past a budget make the next attempt wait, doubling up
  to a cap (429 with Retry-After); a browser that logged in as the agent before keeps a
  device token (`bot.web.device_token`) and is counted only against its own failures, so
  no attacker can lock out an agent who has the right password.
- A locked database at login or logout: 503 "Basis data sedang sibuk..." after at most
  5 s (LOGIN_BUSY_MS), never a traceback.
"""
from __future__ import annotations

import hmac
import logging
import math
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any, Iterator
from urllib.parse import urlsplit

from flask import (Flask, Response, current_app, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from bot.errors import StoreError
from bot.web import device_token, login_limit
from bot.web.console_secret import SECRET_META_KEY, load_or_create_key  # noqa: F401 (the old meta row's name)
from handoff.store import Store, utc_iso
from handoff.views import AgentRecord, agent_record

log = logging.getLogger("yessindo.console")

COOKIE_NAME = "yessindo_console"
SESSION_HOURS = 12
SESSION_LIFETIME = timedelta(hours=SESSION_HOURS)  # from login, however active the session is
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
WRONG_LOGIN = "Nama atau kata sandi salah."
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


# -- the signing key ---------------------------------------------------------------------------
def stored_secret_key(store: Store, now: datetime) -> str:
    """The generated console key (a 0600 file beside the database; see console_secret)."""
    return load_or_create_key(store, now)


def signing_key(app: Flask) -> str:
    """The key that signs console cookies and device tokens."""
    return app.session_interface._secret(app)  # type: ignore[attr-defined,no-any-return]


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


# -- the server-side session -------------------------------------------------------------------
# The cookie carries only the session id (and the CSRF token); the row says who and since
# when. Logout deletes the row, so a copied cookie is dead at once; the lifetime counts from
# created_at (absolute, never sliding); a new password or a removed agent deletes the rows
# (handoff/queue.py), and the password fingerprint kept on the row also ends sessions when
# the hash is changed behind the queue's back.
SESSION_DDL = ("CREATE TABLE IF NOT EXISTS console_sessions (id TEXT PRIMARY KEY, agent TEXT NOT NULL, "
               "created_at TEXT NOT NULL, last_seen_at TEXT, password_fp TEXT)",
               "CREATE INDEX IF NOT EXISTS idx_console_sessions_agent ON console_sessions (agent)")
LAST_SEEN_EVERY = timedelta(minutes=1)
LAST_SEEN_BUSY_MS = 250  # last_seen_at is bookkeeping: never make a page wait for it
LOGIN_BUSY_MS = 5000  # a person waits at the login form: 5 s of a locked database, then 503
BUSY_MESSAGE = "Basis data sedang sibuk. Coba lagi sebentar lagi."


def ensure_session_table(conn: Any) -> None:
    """The table `handoff.schema._migrate_v3` makes, for a database that reached schema version 3
    before it existed (the migration does not run again there). Idempotent; run inside the
    login's write transaction, so it costs nothing once the table is there."""
    for sql in SESSION_DDL:
        conn.execute(sql)


@contextmanager
def busy_timeout(store: Store, ms: int) -> Iterator[None]:
    """A shorter wait for a locked database on this request's connection, for a while."""
    store.conn.execute(f"PRAGMA busy_timeout = {int(ms)}")
    try:
        yield
    finally:
        store.conn.execute("PRAGMA busy_timeout = 10000")  # Store's own default


def _fingerprint(record: AgentRecord) -> str:
    """Changes when the password (its hash) changes: old sessions end."""
    return sha256(record.password_hash.encode()).hexdigest()[:20]


def session_key(sid: str) -> str:
    """What the database keeps of a session id: its sha256. The cookie's id is the secret;
    rows read from a stolen database (or a backup) open no session."""
    return sha256(sid.encode()).hexdigest()


def _session_row(store: Store, sid: str) -> sqlite3.Row | None:
    try:
        return store.conn.execute("SELECT agent, created_at, last_seen_at, password_fp FROM console_sessions "
                                  "WHERE id = ?", (session_key(sid),)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None  # nobody has logged in since the table was added: no session exists
        raise


def _touch(store: Store, now: datetime, sid: str, last_seen: str | None) -> None:
    """last_seen_at, at most once a minute per session (polling asks every 3 s)."""
    if last_seen and now - datetime.fromisoformat(last_seen) < LAST_SEEN_EVERY:
        return
    try:
        with busy_timeout(store, LAST_SEEN_BUSY_MS), store.write(now) as tx:
            tx.conn.execute("UPDATE console_sessions SET last_seen_at = ? WHERE id = ? AND "
                            "(last_seen_at IS NULL OR last_seen_at < ?)",
                            (tx.now, session_key(sid), utc_iso(now - LAST_SEEN_EVERY)))
    except StoreError:
        pass  # a busy database must not break the page for a "last seen" time


def current_agent() -> AgentRecord | None:
    """The agent of this request's session, checked against the database once per request:
    the session row must exist (not logged out), be younger than SESSION_HOURS from its
    creation, and belong to an agent whose password hash is the one it was opened with."""
    if "_console_agent" in g:
        return g._console_agent  # type: ignore[no-any-return]
    found: AgentRecord | None = None
    sid = session.get("sid")
    if sid:
        store = console_store()
        now = console_now()
        row = _session_row(store, str(sid))
        if row is not None and now - datetime.fromisoformat(row["created_at"]) < SESSION_LIFETIME:
            record = agent_record(store, row["agent"])
            if record is not None and hmac.compare_digest(row["password_fp"] or "", _fingerprint(record)):
                found = record
                _touch(store, now, str(sid), row["last_seen_at"])
        if found is None:
            session.pop("sid", None)
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


# -- login ---------------------------------------------------------------------------------------
def open_session(store: Store, now: datetime, record: AgentRecord, attempt: login_limit.Attempt,
                 attempt_ids: list[int]) -> str:
    """After the right password: this attempt's failure rows go (see login_limit), expired
    sessions (and rows of the older clear-text ids) are deleted and a new session made.
    Returns its id; the database keeps only its hash. Raises StoreError."""
    sid = secrets.token_urlsafe(32)
    with store.write(now) as tx:
        login_limit.forget_failures(tx.conn, attempt, attempt_ids)
        ensure_session_table(tx.conn)
        tx.conn.execute("DELETE FROM console_sessions WHERE created_at <= ? OR length(id) != 64",
                        (utc_iso(now - SESSION_LIFETIME),))
        tx.conn.execute("INSERT INTO console_sessions (id, agent, created_at, last_seen_at, password_fp) "
                        "VALUES (?, ?, ?, ?, ?)", (session_key(sid), record.name, tx.now, tx.now, _fingerprint(record)))
    return sid


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
def _login_page(status: int, error: str | None, name: str, nxt: str, retry_after: int | None = None):  # type: ignore[no-untyped-def]
    resp = current_app.make_response(
        (render_template("console/login.html", next=nxt, error=error, name=name), status))
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


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
    record = agent_record(store, name)
    device = None
    if record is not None and request.cookies.get(device_token.cookie_name(record.name)):
        device = device_token.device_of(request, signing_key(current_app), record.name)
    attempt = login_limit.attempt_keys(request.remote_addr or "-", name, known=record is not None, device=device)
    who = record.name if record is not None else "an unknown name"  # a password typed as a name stays out
    where = login_limit.masked_address(request.remote_addr or "-")
    try:
        with busy_timeout(store, LOGIN_BUSY_MS):
            wait, attempt_ids = login_limit.reserve(store, now, attempt)
    except StoreError as exc:
        log.warning("console login: %s", exc)
        return _login_page(503, BUSY_MESSAGE, name, nxt, retry_after=5)
    if wait is not None:
        seconds = int(math.ceil(wait.total_seconds()))
        # DEBUG: a flood of refused guesses must not flood the log; the failures that
        # caused the wait are logged below, and they are bounded by this very wait.
        log.debug("console login: %s from %s (%s device) must wait %d s after repeated failures",
                  who, where, "known" if device else "new", seconds)
        when = f"{seconds} detik" if seconds < 60 else f"{max(1, math.ceil(seconds / 60))} menit"
        error = f"Terlalu banyak percobaan masuk. Coba lagi dalam {when}."
        return _login_page(429, error, name, nxt, retry_after=seconds)
    ok = check_password_hash(record.password_hash if record else _dummy_hash(), password)
    if record is None or not ok or not password:
        log.warning("console login: wrong name or password for %s from %s (%s device)",
                    who, where, "known" if device else "new")
        return _login_page(401, WRONG_LOGIN, name, nxt)  # the attempt is already counted
    try:
        with busy_timeout(store, LOGIN_BUSY_MS):
            sid = open_session(store, now, record, attempt, attempt_ids)
    except StoreError as exc:
        log.warning("console login: %s", exc)
        return _login_page(503, BUSY_MESSAGE, name, nxt, retry_after=5)
    log.info("console login: %s logged in from %s (%s device)", who, where, "known" if device else "new")
    session.clear()  # a fresh session id (no fixation) and CSRF token for the logged-in agent
    session.permanent = True
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)
    g.pop("_console_agent", None)
    response = redirect(safe_next(nxt), 303)
    device_token.issue(response, current_app, request, signing_key(current_app), record.name, device)
    return response


def logout():  # type: ignore[no-untyped-def]
    """Deletes the session row: the cookie (and any copy of it) is no session any more."""
    sid = session.get("sid")
    if sid:
        store = console_store()
        now = console_now()
        try:
            with busy_timeout(store, LOGIN_BUSY_MS), store.write(now) as tx:
                tx.conn.execute("DELETE FROM console_sessions WHERE id = ?", (session_key(str(sid)),))
        except StoreError as exc:
            # Keep the cookie: the session still exists, and "Keluar" again will end it.
            current_app.logger.warning("console logout: %s", exc)
            return render_template("console/error.html", title="Gagal keluar", message=BUSY_MESSAGE,
                                   agent=current_agent()), 503
    session.clear()
    return redirect(url_for("console.login"), 303)
