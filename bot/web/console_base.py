"""The console's shared parts: the blueprint, the login guard and CSRF check on every
request, the per-request context (store, desk, clock, formats) and page helpers. The
route modules (`console`, `console_actions`, `console_reports`) add their routes to it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request

from bot.web import console_auth as auth
from bot.web import console_format as fmt_


console = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                    static_folder="static", static_url_path="/static")

console.add_url_rule("/login", "login", auth.login, methods=["GET", "POST"])
console.add_url_rule("/logout", "logout", auth.logout, methods=["POST"])
_PUBLIC = frozenset({"console.login", "console.static"})
POLL_MS = 3000


@console.before_request
def _guard():  # type: ignore[no-untyped-def]
    if request.endpoint == "console.static":
        return None
    if request.endpoint not in _PUBLIC and auth.current_agent() is None:
        return auth.login_required_response()
    if request.endpoint not in _PUBLIC:
        from bot.web.console_people import first_login_guard  # a generated password is changed first

        blocked = first_login_guard()
        if blocked is not None:
            return blocked
    if request.method == "POST" and not auth.csrf_ok():
        return auth.csrf_failed_response()
    return None


console.teardown_request(auth.close_store)


@console.app_context_processor
def _template_globals() -> dict[str, Any]:
    def agent():  # type: ignore[no-untyped-def]
        return auth.current_agent() if request and request.blueprint == "console" else None

    return {"csrf_token": auth.csrf_token, "console_agent": agent, "role_labels": fmt_.ROLE_LABELS,
            "status_labels": fmt_.STATUS_LABELS}


class _Context:
    """What one console request works with, built lazily."""

    def __init__(self) -> None:
        settings = current_app.config["SETTINGS"]
        self.settings = settings
        self.store = auth.console_store()
        self.now = auth.console_now()
        self.calendar = _calendar()
        self.fmt = fmt_.Fmt(self.calendar.tz, _zone_label(self.calendar.tz))
        self.agent = auth.current_agent()
        self._desk = None

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        if self._desk is None:
            from bot.desk import Desk

            self._desk = Desk.from_settings(self.settings, self.store, knowledge=_knowledge(),
                                            calendar=self.calendar)
        return self._desk

    def sla(self, ticket):  # type: ignore[no-untyped-def]
        from handoff.sla import sla_view

        return sla_view(ticket, self.now, self.calendar)


def ctx() -> _Context:
    if "_console_ctx" not in g:
        g._console_ctx = _Context()
    return g._console_ctx  # type: ignore[no-any-return]


def _calendar():  # type: ignore[no-untyped-def]
    """One calendar per app (it caches holidays and days)."""
    from bot.business_hours import BusinessCalendar
    from bot.web.services import per_app

    return per_app("console_calendar", lambda: BusinessCalendar(current_app.config["SETTINGS"].hours))


def _knowledge():  # type: ignore[no-untyped-def]
    """The shop's texts, loaded and validated once per app (the desk's CSAT and notices)."""
    from bot.knowledge import load_knowledge
    from bot.web.services import per_app

    return per_app("console_knowledge", lambda: load_knowledge(current_app.config["SETTINGS"].knowledge_dir))


def _zone_label(tz) -> str:  # type: ignore[no-untyped-def]
    from bot.timefmt import zone_label

    return zone_label(tz)


def _page(template: str, status: int = 200, **kw: Any):  # type: ignore[no-untyped-def]
    c = ctx()
    return render_template(template, agent=c.agent, poll_ms=POLL_MS, zone=c.fmt.zone, **kw), status


def _error_page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    return _page("console/error.html", status, title=title, message=message)


@console.app_errorhandler(404)
def _not_found(err):  # type: ignore[no-untyped-def]
    if request.path.startswith("/console/api/"):
        return jsonify(error="Tidak ditemukan."), 404
    if request.path == "/console" or request.path.startswith("/console/"):
        return render_template("console/error.html", agent=None, title="Tidak ditemukan",
                               message="Halaman ini tidak ada di konsol."), 404
    return err


@console.app_errorhandler(403)
def _forbidden(err):  # type: ignore[no-untyped-def]
    """`abort(403)` anywhere in the console: its own page, with the header and logout."""
    if request.path.startswith("/console/api/"):
        return jsonify(error="Tindakan ini tidak diizinkan untuk akun Anda."), 403
    if request.path == "/console" or request.path.startswith("/console/"):
        return _error_page(403, "Tidak diizinkan", "Halaman atau tindakan ini hanya untuk supervisor.")
    return err


@console.app_errorhandler(500)
def _server_error(err):  # type: ignore[no-untyped-def]
    if request.path.startswith("/console/api/"):
        return jsonify(error="Terjadi kesalahan di server."), 500
    if request.path == "/console" or request.path.startswith("/console/"):
        return render_template("console/error.html", agent=None, title="Terjadi kesalahan",
                               message="Terjadi kesalahan di server; tindakan mungkin tidak tersimpan. "
                                       "Muat ulang halaman tiket untuk melihat keadaannya."), 500
    return err
