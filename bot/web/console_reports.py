"""The supervisors' pages: the audit log and the dashboard."""
from __future__ import annotations

from datetime import timedelta

from flask import request

from bot.web import console_format as fmt_
from bot.web.console_base import _error_page, _page, console, ctx
from handoff import views
from handoff.store import parse_iso


# A kind offered in the filter, and the names older databases logged it under.
_OLDER_KINDS = {"csat.recorded": ("csat.answered",), "escalation.result_queued": ("escalation.result_sent",)}
_FEEDBACK_LABELS = {"complaint": "Keluhan", "praise": "Pujian", "suggestion": "Saran", "feedback": "Masukan"}


@console.get("/events")
def events():  # type: ignore[no-untyped-def]
    """Who did what, newest first, filtered by person, ticket or kind."""
    c = ctx()
    if c.agent.role != "supervisor":
        return _error_page(403, "Khusus supervisor", "Riwayat tindakan hanya untuk supervisor.")
    actor = (request.args.get("actor") or "").strip()[:64] or None
    ref = (request.args.get("ticket") or "").strip().upper()[:20] or None
    kind = (request.args.get("kind") or "").strip()[:64] or None
    rows = c.store.events(kind, actor=actor, ticket_ref=ref, limit=300)
    for older in _OLDER_KINDS.get(kind or "", ()):  # the same thing, logged under its old name
        rows = sorted(rows + c.store.events(older, actor=actor, ticket_ref=ref, limit=300), key=lambda r: r["id"])[-300:]
    shown = [fmt_.event_view(views.EventView(r["id"], parse_iso(r["at"]), r["kind"], r["actor"],  # type: ignore[arg-type]
                                             r["ticket_ref"], views._json_dict(r["data"])), c.fmt) | {"ref": r["ticket_ref"]}
             for r in reversed(rows)]
    return _page("console/events.html", events=shown, actor=actor or "", ticket=ref or "", kind=kind or "",
                 kinds=sorted(fmt_.EVENT_LABELS.items(), key=lambda kv: kv[1]))


@console.get("/dashboard")
def dashboard():  # type: ignore[no-untyped-def]
    c = ctx()
    if c.agent.role != "supervisor":
        return _error_page(403, "Khusus supervisor",
                           "Dasbor hanya untuk supervisor. Minta supervisor Anda bila memerlukan angka ini.")
    try:
        days = min(max(1, int(request.args.get("days", "14"))), 90)
    except ValueError:
        days = 14
    from bot.channels.email_console import mail_problems

    mail = mail_problems(c.store.conn, c.fmt.when)  # quarantined mails, failed email answers (H2)
    try:
        from bot.web.chart import bar_chart_svg
        from handoff.stats import dashboard as build
    except ImportError:
        return _page("console/dashboard.html", d=None, days=days, mail=mail)
    d = build(c.store, c.calendar, c.now, days=days)
    categories = [k for k in d.volume]
    table = [{"day": f"{day.day} {fmt_._MONTHS[day.month - 1]}",
              "counts": [d.volume[k][i] for k in categories], "total": sum(d.volume[k][i] for k in categories)}
             for i, day in enumerate(d.days)]
    median = d.median_first_response
    csat_rows = [(score, d.csat_distribution.get(score, 0)) for score in range(5, 0, -1)]
    csat_max = max([n for _, n in csat_rows] + [1])
    from handoff.stats import agent_stats

    agents = [{"name": a.agent, "handled": a.handled, "resolved": a.resolved, "holding": a.holding_now,
               "share": None if a.within_promise_share is None else round(100 * a.within_promise_share),
               "csat": None if a.csat_average is None else f"{a.csat_average:.1f}", "csat_count": a.csat_count}
              for a in agent_stats(c.store, c.calendar, c.now, days=days)]
    from handoff.feedback import recent_feedback

    feedback = [{"at": c.fmt.when(f.at), "kind": _FEEDBACK_LABELS.get(f.kind, f.kind), "text": f.text[:500],
                 "channel": f.channel, "ref": f.ticket_ref}
                for f in recent_feedback(c.store, c.now - timedelta(days=days))]
    return _page("console/dashboard.html", d=d, days=days, agents=agents, feedback=feedback, mail=mail,
                 chart=bar_chart_svg(d.days, d.volume, fmt_.INTENT_LABELS),
                 categories=[(k, fmt_.INTENT_LABELS.get(k, k)) for k in categories], table=table,
                 share=None if d.within_promise_share is None else round(100 * d.within_promise_share),
                 median=fmt_.duration(median) if median is not None else None,
                 csat_rows=csat_rows, csat_max=csat_max)
