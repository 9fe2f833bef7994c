"""/console: the agent console. The queue, one conversation with its actions, live
updates by polling, and the supervisors' dashboard.

Server-rendered Jinja (autoescaped: customer text is always text) with one small
JavaScript file (static/console.js) that polls two JSON endpoints every few seconds
and writes what it gets with textContent. Every action is a POST form with a CSRF
token that calls `bot.desk.Desk` (the same class the CLI uses) and redirects (303)
back with a flash message. Reads are in `handoff.views`; login, session, CSRF and
the rate limit in `bot.web.console_auth`; labels in `bot.web.console_format`.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
import json
from typing import Any, Callable

from flask import (Blueprint, Flask, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)

from bot.errors import StoreError
from bot.web import console_auth as auth
from bot.web import console_format as fmt_
from handoff import views
from handoff.store import parse_iso

console = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                    static_folder="static", static_url_path="/static")

console.add_url_rule("/login", "login", auth.login, methods=["GET", "POST"])
console.add_url_rule("/logout", "logout", auth.logout, methods=["POST"])
_PUBLIC = frozenset({"console.login", "console.static"})
POLL_MS = 3000


def init_console(app: Flask) -> None:
    """Register the console on the app: cookie settings, security headers, the blueprint."""
    auth.init_app(app)
    app.register_blueprint(console)


# -- per request --------------------------------------------------------------------------------
@console.before_request
def _guard():  # type: ignore[no-untyped-def]
    if request.endpoint == "console.static":
        return None
    if request.endpoint not in _PUBLIC and auth.current_agent() is None:
        return auth.login_required_response()
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
    cal = current_app.extensions.get("yessindo_console_calendar")
    if cal is None:
        from bot.business_hours import BusinessCalendar

        cal = current_app.extensions["yessindo_console_calendar"] = BusinessCalendar(
            current_app.config["SETTINGS"].hours)
    return cal


def _knowledge():  # type: ignore[no-untyped-def]
    """The shop's texts, loaded and validated once per app (the desk's CSAT and notices)."""
    knowledge = current_app.extensions.get("yessindo_console_knowledge")
    if knowledge is None:
        from bot.knowledge import load_knowledge

        knowledge = current_app.extensions["yessindo_console_knowledge"] = load_knowledge(
            current_app.config["SETTINGS"].knowledge_dir)
    return knowledge


def _zone_label(tz) -> str:  # type: ignore[no-untyped-def]
    from bot.timefmt import zone_label

    return zone_label(tz)


def _page(template: str, status: int = 200, **kw: Any):  # type: ignore[no-untyped-def]
    c = ctx()
    return render_template(template, agent=c.agent, poll_ms=POLL_MS, zone=c.fmt.zone, **kw), status


def _error_page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    return _page("console/error.html", status, title=title, message=message)


# -- the queue ----------------------------------------------------------------------------------
def _queue_filter() -> tuple[views.QueueFilter, dict[str, str]]:
    args = request.args
    status = args.get("status", "active")
    status = status if status in views.STATUS_FILTERS else "active"
    channel = args.get("channel") if args.get("channel") in views.CHANNELS else None
    intent = args.get("intent") if args.get("intent") in fmt_.TICKET_INTENTS else None
    mine = args.get("mine") == "1"
    try:
        page = min(max(1, int(args.get("page", "1"))), 100_000)
    except ValueError:
        page = 1
    c = ctx()
    f = views.QueueFilter(status=status, channel=channel, intent=intent,
                          mine=c.agent.name if mine and c.agent else None, page=page)
    shown = {"status": status, "channel": channel or "", "intent": intent or "", "mine": "1" if mine else ""}
    return f, shown


def _queue_data() -> dict[str, Any]:
    c = ctx()
    f, shown = _queue_filter()
    page = views.queue_page(c.store, f)
    me = c.agent.name if c.agent else ""
    rows = [fmt_.queue_row(r.ticket, r.last, c.sla(r.ticket), c.fmt, me) for r in page.rows]
    counts = page.counts
    body = json.dumps([rows, page.has_next, counts], sort_keys=True, ensure_ascii=False)
    return {"rows": rows, "page": page.page, "has_next": page.has_next, "counts": counts, "filters": shown,
            "version": hashlib.sha256(body.encode()).hexdigest()[:16]}


def _query(shown: dict[str, str], **changes: Any) -> str:
    params = {k: v for k, v in {**shown, **changes}.items() if v not in ("", None, 1) and not (k == "status" and v == "active")}
    from urllib.parse import urlencode

    return ("?" + urlencode(params)) if params else ""


@console.get("")
def queue():  # type: ignore[no-untyped-def]
    data = _queue_data()
    shown = data["filters"]
    return _page("console/queue.html", data=data, shown=shown,
                 statuses=fmt_.STATUS_FILTER_LABELS, channels=fmt_.CHANNEL_LABELS,
                 intents=[(i, fmt_.INTENT_LABELS[i]) for i in fmt_.TICKET_INTENTS],
                 prev_url=url_for("console.queue") + _query(shown, page=data["page"] - 1) if data["page"] > 1 else None,
                 next_url=url_for("console.queue") + _query(shown, page=data["page"] + 1) if data["has_next"] else None,
                 api_url=url_for("console.api_queue") + _query(shown, page=data["page"]))


@console.get("/api/queue")
def api_queue():  # type: ignore[no-untyped-def]
    return jsonify(_queue_data())


# -- one ticket ---------------------------------------------------------------------------------
def _ticket_state(ticket) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    c = ctx()
    me = c.agent.name if c.agent else ""
    if ticket.status == "resolved":
        holder = f"Selesai{' oleh ' + ticket.agent if ticket.agent else ''}"
    elif ticket.agent == me:
        holder = f"Ditangani oleh {me} (Anda)"
    elif ticket.agent:
        holder = f"Sedang ditangani oleh {ticket.agent}"
    else:
        holder = "Belum diambil alih"
    sla = c.sla(ticket)
    return {"status": ticket.status, "status_label": fmt_.STATUS_LABELS.get(ticket.status, ticket.status),
            "agent": ticket.agent, "priority": ticket.priority, "holder": holder, "sla_label": sla.label,
            "sla_state": sla.state, "key": f"{ticket.status}|{ticket.agent or ''}|{ticket.priority}"}


def _promises(ticket) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The two promises of the ticket, each with its due time and where it stands."""
    c = ctx()
    sla = c.sla(ticket)
    out = []
    first_due = ticket.first_response_due or ticket.due_at
    if ticket.first_response_at:
        ok = ticket.first_response_at <= first_due
        state = ("Terpenuhi" if ok else "Terlambat") + f", dijawab {c.fmt.when(ticket.first_response_at)}"
        out.append({"name": "Respons pertama", "due": c.fmt.when(first_due), "label": state,
                    "state": "done" if ok else "late"})
    elif ticket.status == "resolved":
        out.append({"name": "Respons pertama", "due": c.fmt.when(first_due), "label": "Selesai tanpa balasan agen",
                    "state": "done"})
    else:
        out.append({"name": "Respons pertama", "due": c.fmt.when(first_due), "label": sla.label, "state": sla.state})
    if sla.phase == "next_reply":
        out.append({"name": "Balasan berikutnya", "due": c.fmt.when(ticket.reply_due),
                    "label": sla.label + f" (pelanggan menunggu sejak {c.fmt.when(ticket.reply_since)})",
                    "state": sla.state})
    res_due = ticket.resolution_due or ticket.due_at
    if ticket.status == "resolved":
        ok = ticket.resolved_at is None or ticket.resolved_at <= res_due
        out.append({"name": "Penyelesaian", "due": c.fmt.when(res_due),
                    "label": ("Terpenuhi" if ok else "Terlambat") + f", selesai {c.fmt.when(ticket.resolved_at)}",
                    "state": "done" if ok else "late"})
    elif sla.phase == "resolution":
        out.append({"name": "Penyelesaian", "due": c.fmt.when(res_due), "label": sla.label, "state": sla.state})
    else:
        if c.now >= res_due:
            label, state = f"Penyelesaian: terlambat {fmt_.duration(c.calendar.opening_time(res_due, c.now))}", "late"
        else:
            label, state = f"Penyelesaian: sisa {fmt_.duration(c.calendar.opening_time(c.now, res_due))}", "ok"
        out.append({"name": "Penyelesaian", "due": c.fmt.when(res_due), "label": label, "state": state})
    return out


def _touch(conversation_id: int) -> list[str]:
    c = ctx()
    try:
        views.touch_presence(c.store, c.now, conversation_id, c.agent.name)
    except StoreError:
        pass  # presence is a courtesy: a busy database must not break the page
    return views.viewers(c.store, conversation_id, c.now, exclude=c.agent.name)


@console.get("/t/<ref>")
def ticket(ref: str):  # type: ignore[no-untyped-def]
    c = ctx()
    t = c.store.ticket(ref.strip().upper())
    if t is None:
        return _error_page(404, "Tiket tidak ditemukan", f"Tidak ada tiket {ref.upper()[:20]}.")
    conv = c.store.conversation(t.conversation_id)
    messages = [fmt_.message_view(m, t.channel, c.fmt, conv.display_name if conv else None)
                for m in views.transcript(c.store, t.conversation_id)]
    others = _touch(t.conversation_id)
    channel_state = c.desk.channel_state(c.now, t.ref)
    me = c.agent
    details = {k: v for k, v in t.details.items() if k != "attachments" and v}
    other_tickets = [x for x in views.conversation_tickets(c.store, t.conversation_id) if x.ref != t.ref]
    return _page(
        "console/ticket.html", t=t, conv=conv, messages=messages, viewers=others, state=_ticket_state(t),
        promises=_promises(t), chan=channel_state,
        window_closes=c.fmt.when(channel_state.window_closes_at) if channel_state.window_closes_at else None,
        mine=t.agent == me.name and t.status == "claimed", supervisor=me.role == "supervisor",
        labels={"channel": fmt_.CHANNEL_LABELS.get(t.channel, t.channel),
                "intent": fmt_.INTENT_LABELS.get(t.intent, t.intent),
                "topic": _topic_name(t.topic),
                "priority": fmt_.PRIORITY_LABELS.get(t.priority, t.priority)},
        details=details, detail_labels=_DETAIL_LABELS, other_tickets=other_tickets,
        events=[fmt_.event_view(e, c.fmt) for e in views.ticket_events(c.store, t)],
        created=c.fmt.when(t.created_at), due=c.fmt.when(t.due_at),
        last_id=messages[-1]["id"] if messages else 0,
        api_url=url_for("console.api_ticket", ref=t.ref))


def _topic_name(topic: str | None) -> str | None:
    """The topic's Indonesian name (knowledge/topics.toml), for the ticket page."""
    if not topic:
        return None
    known = _knowledge().topics.get(topic)
    return known.name("id") if known is not None else topic


_DETAIL_LABELS = {"order_numbers": "Nomor pesanan", "emails": "Email", "phones": "Telepon",
                  "amounts": "Nominal", "masked": "Data rahasia disamarkan", "recipient_names": "Nama penerima",
                  "products": "Produk", "variants": "Ukuran/warna", "payment_methods": "Metode pembayaran",
                  "addresses": "Alamat baru", "tracking_numbers": "Nomor resi", "vouchers": "Kode voucher",
                  "refund_destinations": "Tujuan refund", "customer_notes": "Catatan dari pelanggan"}
_FEEDBACK_LABELS = {"complaint": "Keluhan", "praise": "Pujian", "suggestion": "Saran", "feedback": "Masukan"}


# Shown in the browser only when the type cannot carry script; anything else downloads.
_INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"})


@console.get("/files/<int:blob_id>")
def file(blob_id: int):  # type: ignore[no-untyped-def]
    """A file a customer sent by email. Sandboxed: never HTML or SVG in our origin."""
    from urllib.parse import quote

    from flask import Response

    from handoff import blobs

    blob = blobs.get(ctx().store.conn, blob_id) if blob_id < 2**63 else None
    if blob is None:
        return _error_page(404, "Berkas tidak ditemukan", "Berkas ini tidak ada (mungkin sudah dihapus).")
    ctype = (blob.content_type or "application/octet-stream").split(";")[0].strip().lower()
    inline = ctype in _INLINE_TYPES
    name = (blob.filename or f"lampiran-{blob.id}").replace("\r", " ").replace("\n", " ")
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    resp = Response(blob.data, mimetype=ctype if inline else "application/octet-stream")
    resp.headers["Content-Disposition"] = (f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; "
                                           f"filename*=UTF-8''{quote(name)}")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@console.get("/api/t/<ref>")
def api_ticket(ref: str):  # type: ignore[no-untyped-def]
    c = ctx()
    t = c.store.ticket(ref.strip().upper())
    if t is None:
        return jsonify(error="Tiket tidak ditemukan."), 404
    try:
        after = min(max(0, int(request.args.get("after", "0"))), 2**63 - 1)  # SQLite's INTEGER
    except ValueError:
        after = 0
    conv = c.store.conversation(t.conversation_id)
    name = conv.display_name if conv else None
    new = [fmt_.message_view(m, t.channel, c.fmt, name) for m in views.transcript(c.store, t.conversation_id, after)]
    deliveries = [{"id": m.id, **fmt_.delivery_view(m, t.channel)} for m in views.deliveries(c.store, t.conversation_id)]
    return jsonify(messages=new, deliveries=deliveries, ticket=_ticket_state(t), viewers=_touch(t.conversation_id),
                   last_id=new[-1]["id"] if new else after)


# -- actions ------------------------------------------------------------------------------------
def _act(ref: str, run: Callable[[Any, Any, str, str], str | None]):  # type: ignore[no-untyped-def]
    """Run one desk action; flash its outcome; back to the ticket (303)."""
    from handoff.queue import QueueError

    c = ctx()
    ref = ref.strip().upper()[:20]
    try:
        done = run(c.desk, c.now, ref, c.agent.name)
        if done:
            flash(done, "ok")
    except QueueError as exc:
        flash(exc.indonesian, "error")  # QueueError carries its Indonesian text
    except StoreError:
        flash("Basis data sedang sibuk: tindakan tidak tersimpan. Coba lagi.", "error")
    return redirect(url_for("console.ticket", ref=ref), 303)


def _form(name: str, limit: int = 20000) -> str:
    """A form field, bounded (the desk refuses anything over 4,000 characters, naming its length)."""
    return (request.form.get(name) or "")[:limit]


@console.post("/t/<ref>/claim")
def claim(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.claim(now, ref, me)
        return f"{ref} sekarang Anda tangani; bot diam di percakapan ini."
    return _act(ref, run)


@console.post("/t/<ref>/take-over")
def take_over(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.claim(now, ref, me, take_over=True)
        return f"{ref} sekarang Anda tangani (diambil alih dari agen sebelumnya)."
    return _act(ref, run)


@console.post("/t/<ref>/release")
def release(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.release(now, ref, me)
        return f"{ref} dikembalikan ke antrean."
    return _act(ref, run)


@console.post("/t/<ref>/reply")
def reply(ref: str):  # type: ignore[no-untyped-def]
    text = _form("text")

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.reply(now, ref, me, text)
        return "Balasan masuk antrean kirim."
    return _act(ref, run)


@console.post("/t/<ref>/resolve")
def resolve(ref: str):  # type: ignore[no-untyped-def]
    note, email_to = _form("note"), _form("email_to", 320)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.resolve(now, ref, me, note or None, email_to=email_to or None)
        return f"{ref} selesai."
    return _act(ref, run)


@console.post("/t/<ref>/escalate")
def escalate(ref: str):  # type: ignore[no-untyped-def]
    reason = _form("reason", 2000)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.escalate(now, ref, me, reason)
        return f"{ref} dieskalasi ke supervisor."
    return _act(ref, run)


@console.post("/t/<ref>/template")
def template(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.send_template(now, ref, me)
        return "Template WhatsApp masuk antrean kirim."
    return _act(ref, run)


@console.post("/t/<ref>/email")
def email(ref: str):  # type: ignore[no-untyped-def]
    text, address = _form("text"), _form("address", 320)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.email_customer(now, ref, me, text, address)
        return f"Email ke {address.strip().lower()} masuk antrean kirim."
    return _act(ref, run)


# -- the audit log (supervisors) ----------------------------------------------------------------
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
    shown = [fmt_.event_view(views.EventView(r["id"], parse_iso(r["at"]), r["kind"], r["actor"],  # type: ignore[arg-type]
                                             r["ticket_ref"], views._json_dict(r["data"])), c.fmt) | {"ref": r["ticket_ref"]}
             for r in reversed(rows)]
    return _page("console/events.html", events=shown, actor=actor or "", ticket=ref or "", kind=kind or "",
                 kinds=sorted(fmt_.EVENT_LABELS.items(), key=lambda kv: kv[1]))


# -- the supervisors' dashboard -----------------------------------------------------------------
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


@console.app_errorhandler(404)
def _not_found(err):  # type: ignore[no-untyped-def]
    if request.path.startswith("/console/api/"):
        return jsonify(error="Tidak ditemukan."), 404
    if request.path == "/console" or request.path.startswith("/console/"):
        return render_template("console/error.html", agent=None, title="Tidak ditemukan",
                               message="Halaman ini tidak ada di konsol."), 404
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
