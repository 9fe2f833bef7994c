"""/console: the agent console. The queue, one conversation with its actions, live
updates by polling, and the supervisors' dashboard.

Server-rendered Jinja (autoescaped: customer text is always text) with one small
JavaScript file (static/console.js) that polls two JSON endpoints every few seconds
and writes what it gets with textContent. Every action is a POST form with a CSRF
token that calls `bot.desk.Desk` (the same class the CLI uses) and redirects (303)
back with a flash message. This module holds the queue and ticket pages; the blueprint,
guard and page helpers are in `bot.web.console_base`, the actions in `console_actions`,
the supervisors' pages in `console_reports`. Reads are in `handoff.views`; login,
session, CSRF and the rate limit in `bot.web.console_auth`; labels in `console_format`.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Flask, jsonify, request, url_for

from bot.errors import StoreError
from bot.web import console_auth as auth
from bot.web import console_format as fmt_
from bot.web.console_base import _error_page, _knowledge, _page, console, ctx
from bot.web.request_input import MAX_ID, message_id_arg
from handoff import views
from handoff.livechat import customer_typing
from handoff.livechat import visitor as livechat_visitor
from handoff.store import utc_iso


def init_console(app: Flask) -> None:
    """Register the console on the app: cookie settings, security headers, the blueprint."""
    from bot.web import console_actions, console_live, console_reports  # noqa: F401  (their routes join the blueprint)
    from bot.web import (console_canned, console_customer, console_export, console_notes,  # noqa: F401
                         console_people, console_search, console_triage)

    auth.init_app(app)
    app.register_blueprint(console)


# -- per request --------------------------------------------------------------------------------


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
    label = (args.get("label") or "").strip()[:30] or None  # bot/desk_triage.py labels
    c = ctx()
    f = views.QueueFilter(status=status, channel=channel, intent=intent,
                          mine=c.agent.name if mine and c.agent else None, page=page, label=label,
                          now=utc_iso(c.now))
    shown = {"status": status, "channel": channel or "", "intent": intent or "", "mine": "1" if mine else "",
             "label": label or ""}
    return f, shown


def _queue_data() -> dict[str, Any]:
    c = ctx()
    f, shown = _queue_filter()
    page = views.queue_page(c.store, f)
    me = c.agent.name if c.agent else ""
    rows = [fmt_.queue_row(r.ticket, r.last, c.sla(r.ticket), c.fmt, me, r.labels) for r in page.rows]
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
    elif ticket.status == "resolved":  # closed with nobody answering: not a promise kept
        out.append({"name": "Respons pertama", "due": c.fmt.when(first_due),
                    "label": "Tidak dijawab: diselesaikan tanpa balasan petugas", "state": "skipped"})
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
    for p in out:  # stable element ids: console.js updates them on every poll
        p["id"] = {"Respons pertama": "sla-first", "Balasan berikutnya": "sla-next"}.get(p["name"], "sla-resolution")
        p["text"] = f"batas {p['due']} — {p['label']}"
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
    visitor = livechat_visitor(c.store.conn, t.customer) if t.channel == "web" else None
    return _page(
        "console/ticket.html", t=t, conv=conv, messages=messages, viewers=others, state=_ticket_state(t),
        promises=_promises(t), chan=channel_state,
        window_closes=c.fmt.when(channel_state.window_closes_at) if channel_state.window_closes_at else None,
        mine=t.agent == me.name and t.status == "claimed", supervisor=me.role == "supervisor",
        labels={"channel": fmt_.CHANNEL_LABELS.get(t.channel, t.channel),
                "intent": fmt_.INTENT_LABELS.get(t.intent, t.intent),
                "topic": _topic_name(t.topic),
                "priority": fmt_.PRIORITY_LABELS.get(t.priority, t.priority)},
        details=details, detail_labels=_DETAIL_LABELS, other_tickets=other_tickets, visitor=visitor,
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


# Shown in the browser only when the type cannot carry script; anything else downloads.
_INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"})


@console.get("/files/<int:blob_id>")
def file(blob_id: int):  # type: ignore[no-untyped-def]
    """A file a customer sent by email. Sandboxed: never HTML or SVG in our origin."""
    from urllib.parse import quote

    from flask import Response

    from handoff import blobs

    blob = blobs.get(ctx().store.conn, blob_id) if blob_id <= MAX_ID else None
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
    after = message_id_arg(request.args.get("after"))
    conv = c.store.conversation(t.conversation_id)
    name = conv.display_name if conv else None
    new = [fmt_.message_view(m, t.channel, c.fmt, name) for m in views.transcript(c.store, t.conversation_id, after)]
    deliveries = [{"id": m.id, **fmt_.delivery_view(m, t.channel)} for m in views.deliveries(c.store, t.conversation_id)]
    typing = t.channel == "web" and customer_typing(c.store.conn, t.conversation_id, c.now)
    return jsonify(messages=new, deliveries=deliveries, ticket=_ticket_state(t), viewers=_touch(t.conversation_id),
                   last_id=new[-1]["id"] if new else after, customer_typing=typing, promises=_promises(t))


# -- actions ------------------------------------------------------------------------------------


# -- the audit log (supervisors) ----------------------------------------------------------------


# -- the supervisors' dashboard -----------------------------------------------------------------


