"""The dashboard's CSV download (issue 12, item 10): tickets created in a period, one row
each (handoff/export.py), streamed to the supervisor's browser as an attachment."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Response, current_app, request

from bot.web.console_base import _error_page, console, ctx

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: the bound keeps a typo from asking for the year 9999


@console.app_template_global()
def export_defaults() -> dict[str, str]:
    """The download form's default period: the last 30 days, today included."""
    today = ctx().now.astimezone(ctx().calendar.tz).date()
    return {"since": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "until": today.isoformat()}


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


@console.get("/export/tickets.csv")
def export_tickets():  # type: ignore[no-untyped-def]
    from handoff import export

    c = ctx()
    if c.agent.role != "supervisor":
        return _error_page(403, "Khusus supervisor", "Unduhan laporan hanya untuk supervisor.")
    tz = c.calendar.tz
    today = c.now.astimezone(tz).date()
    since = _day(request.args.get("since"))
    until = _day(request.args.get("until")) if request.args.get("until") else today
    if since is None or until is None:
        return _error_page(400, "Tanggal tidak valid", "Isi tanggal dengan format TTTT-BB-HH, misalnya "
                                                       f"{today.isoformat()}.")
    if until < since or (until - since).days > MAX_DAYS:
        return _error_page(400, "Periode tidak valid", "Tanggal akhir harus sama atau sesudah tanggal awal "
                                                       "(paling lama sepuluh tahun).")
    start, end = export.period(since, until, tz, today)
    chunks = export.export_csv(current_app.config["SETTINGS"].database, start, end, tz, c.now)
    name = f"yessindo-tiket-{since.isoformat()}-{until.isoformat()}.csv"
    resp = Response(chunks, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
