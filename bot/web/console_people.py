"""People in the console (issue 12, item 9): supervisors add and remove agents, reset
passwords and change roles; every agent changes their own password; a generated password
(made here or by `serve` for `admin`) must be replaced before anything else in the console.

A generated password is shown once, in the response to the POST that made it: never
flashed (the flash lives in the signed, not encrypted, cookie), never logged, never in an
event; the database keeps only its hash and `agents.must_change_password = 1`. The guard
`first_login_guard` (called by console_base's before_request) sends such an agent to
/console/password; JSON APIs answer 403 meanwhile.
"""
from __future__ import annotations

import re
import secrets
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from bot.errors import StoreError
from bot.web import console_auth as auth
from bot.web.console_base import _error_page, _page, console, ctx
from handoff import queue
from handoff.views import AgentRecord

MIN_LENGTH = 10
MAX_LENGTH = 200
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
# No look-alikes (0/o, 1/l/i): a generated password is read off a screen and typed once.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_FIRST_LOGIN_OK = frozenset({"console.password", "console.logout", "console.login", "console.static"})
BUSY = "Basis data sedang sibuk: perubahan tidak tersimpan. Coba lagi."
MUST_CHANGE = "Ganti dulu kata sandi sementara Anda sebelum memakai konsol."


def generate_password() -> str:
    """Four groups of four (about 79 bits): strong, and easy to read out and type."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


# -- the first-login guard -----------------------------------------------------------------------
def must_change_now() -> bool:
    """Whether this request's agent still has a generated password (read once per request)."""
    if "_must_change_pw" not in g:
        agent = auth.current_agent()
        g._must_change_pw = agent is not None and queue.must_change_password(auth.console_store(), agent.name)
    return bool(g._must_change_pw)


def first_login_guard():  # type: ignore[no-untyped-def]
    """None when the request may go on; else the way to the password page (403 for JSON)."""
    if request.endpoint in _FIRST_LOGIN_OK or not must_change_now():
        return None
    if auth.wants_json():
        resp = jsonify(error=MUST_CHANGE, password=url_for("console.password"))
        resp.status_code = 403
        return resp
    return redirect(url_for("console.password"), 303)


# -- the supervisors' page -----------------------------------------------------------------------
def _people() -> list[dict[str, Any]]:
    c = ctx()
    rows = c.store.conn.execute(
        "SELECT a.name, a.role, a.created_at, a.must_change_password, "
        "(SELECT count(*) FROM tickets t WHERE t.agent = a.name AND t.status = 'claimed') "
        "FROM agents a ORDER BY a.name").fetchall()
    from handoff.store import parse_iso

    return [{"name": r[0], "role": r[1], "created": c.fmt.when(parse_iso(r[2])) if r[2] else "—",
             "must_change": bool(r[3]), "holding": r[4], "me": r[0] == c.agent.name} for r in rows]


def _supervisor_only():  # type: ignore[no-untyped-def]
    if ctx().agent.role != "supervisor":
        return _error_page(403, "Khusus supervisor", "Hanya supervisor yang dapat mengelola petugas.")
    return None


def _people_page(status: int = 200, shown: dict[str, str] | None = None, error: str | None = None,
                 form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return _page("console/people.html", status, people=_people(), shown=shown, error=error,
                 form=form or {"name": "", "role": "agent"})


@console.get("/people")
def people():  # type: ignore[no-untyped-def]
    return _supervisor_only() or _people_page()


@console.post("/people/add")
def people_add():  # type: ignore[no-untyped-def]
    denied = _supervisor_only()
    if denied:
        return denied
    c = ctx()
    name = (request.form.get("name") or "").strip()
    role = request.form.get("role") or "agent"
    form = {"name": name[:40], "role": role if role in queue.ROLES else "agent"}
    if not NAME_RE.match(name):
        return _people_page(400, error="Nama petugas: 1–40 huruf, angka, titik, tanda hubung atau garis bawah, "
                                       "tanpa spasi.", form=form)
    if role not in queue.ROLES:
        return _people_page(400, error="Pilih peran: Agen atau Supervisor.", form=form)
    if queue.get_agent(c.store, name) is not None:
        return _people_page(409, error=f"Petugas {name} sudah ada.", form=form)
    password = generate_password()
    try:
        queue.add_agent(c.store, c.now, name, role, generate_password_hash(password), actor=c.agent.name,
                        must_change=True)
    except queue.QueueError as exc:
        return _people_page(409, error=exc.indonesian, form=form)
    except StoreError:
        return _people_page(503, error=BUSY, form=form)
    return _people_page(shown={"name": name, "password": password, "why": "added"})


@console.post("/people/<name>/reset")
def people_reset(name: str):  # type: ignore[no-untyped-def]
    denied = _supervisor_only()
    if denied:
        return denied
    c = ctx()
    if name == c.agent.name:  # it would end this very session before the password is read
        return _people_page(400, error="Kata sandi Anda sendiri diganti lewat “Ganti kata sandi”.")
    password = generate_password()
    try:
        queue.reset_password(c.store, c.now, name, generate_password_hash(password), c.agent.name)
    except queue.QueueError as exc:
        return _people_page(404, error=exc.indonesian)
    except StoreError:
        return _people_page(503, error=BUSY)
    return _people_page(shown={"name": name, "password": password, "why": "reset"})


def _act(run, done: str):  # type: ignore[no-untyped-def]
    """Run one change; flash its outcome; back to the people page (303)."""
    try:
        run()
        flash(done, "ok")
    except queue.QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash(BUSY, "error")
    return redirect(url_for("console.people"), 303)


@console.post("/people/<name>/remove")
def people_remove(name: str):  # type: ignore[no-untyped-def]
    denied = _supervisor_only()
    if denied:
        return denied
    c = ctx()
    held: list[int] = []

    def run() -> None:
        held.append(queue.remove_agent(c.store, c.now, name, actor=c.agent.name, keep_a_supervisor=True))

    resp = _act(run, f"Petugas {name} dihapus.")
    if held and held[0]:
        flash(f"{held[0]} tiket yang dipegang {name} kembali ke antrean.", "ok")
    return resp


@console.post("/people/<name>/role")
def people_role(name: str):  # type: ignore[no-untyped-def]
    denied = _supervisor_only()
    if denied:
        return denied
    c = ctx()
    role = request.form.get("role") or ""
    from bot.web.console_format import ROLE_LABELS

    label = ROLE_LABELS.get(role, role)
    return _act(lambda: queue.set_role(c.store, c.now, name, role, c.agent.name),
                f"Peran {name} sekarang {label}.")


# -- every agent: their own password -------------------------------------------------------------
def password_problem(record: AgentRecord, current: str, new: str, confirm: str) -> str | None:
    """Why this change is refused (Indonesian), or None. `current` is already checked."""
    if len(new) < MIN_LENGTH:
        return f"Kata sandi baru minimal {MIN_LENGTH} karakter."
    if len(new) > MAX_LENGTH:
        return f"Kata sandi baru paling banyak {MAX_LENGTH} karakter."
    if new.strip().casefold() == record.name.casefold():
        return "Kata sandi baru tidak boleh sama dengan nama Anda."
    if new == current:
        return "Kata sandi baru harus berbeda dari kata sandi saat ini."
    if new != confirm:
        return "Ulangi kata sandi baru dengan sama persis."
    return None


def _check_current(record: AgentRecord, current: str):  # type: ignore[no-untyped-def]
    """The current password, under the login's brute-force limit (a stolen session must not
    become a way to guess the password itself): None when right, else the page to answer."""
    from bot.web import login_limit

    c = ctx()
    attempt = login_limit.attempt_keys(request.remote_addr or "-", record.name, known=True, device=None)
    try:
        wait, ids = login_limit.reserve(c.store, c.now, attempt)
        if wait is not None:
            minutes = max(1, -(-int(wait.total_seconds()) // 60))
            resp = current_app.make_response(_password_page(429, f"Terlalu banyak percobaan. Coba lagi dalam "
                                                                 f"{minutes} menit."))
            resp.headers["Retry-After"] = str(int(wait.total_seconds()) or 1)
            return resp
        if not current or not check_password_hash(record.password_hash, current):
            return _password_page(400, "Kata sandi saat ini salah.")  # the attempt stays counted
        with c.store.write(c.now) as tx:
            login_limit.forget_failures(tx.conn, attempt, ids)
    except StoreError:
        return _password_page(503, BUSY)
    return None


def _password_page(status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    return _page("console/password.html", status, forced=must_change_now(), error=error, min_length=MIN_LENGTH)


@console.route("/password", methods=["GET", "POST"])
def password():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return _password_page()
    c = ctx()
    record = c.agent
    current, new = request.form.get("current_password") or "", request.form.get("new_password") or ""
    refused = _check_current(record, current)
    if refused is not None:
        return refused
    problem = password_problem(record, current, new, request.form.get("confirm_password") or "")
    if problem:
        return _password_page(400, problem)
    new_hash = generate_password_hash(new)
    sid = str(session.get("sid") or "")
    try:
        queue.change_own_password(c.store, c.now, record.name, new_hash, keep_session=auth.session_key(sid),
                                  keep_fp=auth._fingerprint(AgentRecord(record.name, record.role, new_hash)))
    except (queue.QueueError, StoreError):
        return _password_page(503, BUSY)
    g.pop("_console_agent", None)
    g.pop("_must_change_pw", None)
    flash("Kata sandi Anda sudah diganti. Sesi lain atas nama Anda telah diakhiri.", "ok")
    return redirect(url_for("console.queue"), 303)
