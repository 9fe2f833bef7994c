"""Console routes of triage and assignment (issue 12, items 3 and 4): labels on a ticket,
its category and priority, reopen, snooze; assign to a colleague or the supervisors;
online / away; the supervisors' "who holds what" (/console/team) and labels page
(/console/labels). Each action is a CSRF-checked POST through `_act` (flash + 303); the
work is in bot/desk_triage.py and bot/desk_assign.py, shared with the CLI."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for

from bot import desk_assign, desk_triage
from bot.errors import StoreError
from bot.web import console_format as fmt_
from bot.web.console_actions import _act
from bot.web.console_base import _page, console, ctx
from handoff.queue import QueueError


def _triage(desk: Any) -> desk_triage.Triage:
    return desk_triage.Triage.of(desk)


def _policy() -> desk_assign.Policy:
    return desk_assign.policy_of(ctx().settings)


def _supervisor_only() -> None:
    if ctx().agent.role != "supervisor":
        abort(403)


# -- what the partials show ---------------------------------------------------------------------
@console.app_template_global()
def triage_data(t: Any) -> dict[str, Any]:
    """For parts/ticket_triage.html: the ticket's labels, the labels to add, the choices."""
    c = ctx()
    on = desk_triage.ticket_labels(c.store.conn, [t.id]).get(t.id, [])
    by, until = desk_triage.snooze_of(c.store.conn, t.id)
    snoozed = desk_triage.is_snoozed(by, until, c.now)
    me = c.agent
    held_by_other = t.status == "claimed" and t.agent and t.agent != me.name
    colleagues = [a for a in desk_assign.team(c.store) if a.name != t.agent]
    if t.priority == "escalation":
        colleagues = [a for a in colleagues if a.role == "supervisor"]
    return {
        "labels": on,
        "addable": [name for name in desk_triage.all_labels(c.store) if name not in on],
        "intents": [(i, fmt_.INTENT_LABELS.get(i, i)) for i in desk_triage.CATEGORY_CHOICES],
        "priorities": [(p, fmt_.PRIORITY_LABELS.get(p, p)) for p in desk_triage.PRIORITY_CHOICES],
        "may_change": not held_by_other or me.role == "supervisor",
        "may_assign": t.status != "resolved" and (not held_by_other or me.role == "supervisor"),
        "colleagues": [(a.name, f"{a.name} ({'aktif' if a.status == 'online' else 'istirahat'})") for a in colleagues],
        "to_supervisors": t.priority != "escalation" and not held_by_other,
        "snoozed": snoozed,
        "snooze_until": c.fmt.when(until) if snoozed and until else None,
        "may_snooze": t.status != "resolved" and t.first_response_at is not None and t.reply_due is None,
        "min_until": c.now.astimezone(c.calendar.tz).strftime("%Y-%m-%dT%H:%M"),
    }


@console.app_template_global()
def my_desk_status() -> str:
    c = ctx()
    return desk_assign.status_of(c.store, c.agent.name) if c.agent else "away"


# -- ticket actions ----------------------------------------------------------------------------
def _field(name: str, limit: int = 60) -> str:
    return (request.form.get(name) or "").strip()[:limit]


@console.post("/t/<ref>/labels")
def ticket_label(ref: str):  # type: ignore[no-untyped-def]
    label, add = _field("label"), request.form.get("op", "add") != "remove"

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        if not label:
            raise QueueError("no label", "Pilih label dulu.")
        changed = desk_triage.label_ticket(desk.store, now, ref, label, me, add=add)
        if not changed:
            return None
        return f"Label \u201c{label}\u201d {'ditambahkan' if add else 'dilepas'}."
    return _act(ref, run)


@console.post("/t/<ref>/intent")
def ticket_intent(ref: str):  # type: ignore[no-untyped-def]
    intent = _field("intent", 30)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        _triage(desk).set_intent(now, ref, intent, me)
        return f"Kategori diubah menjadi {fmt_.INTENT_LABELS.get(intent, intent)}."
    return _act(ref, run)


@console.post("/t/<ref>/priority")
def ticket_priority(ref: str):  # type: ignore[no-untyped-def]
    priority = _field("priority", 30)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        _triage(desk).set_priority(now, ref, priority, me)
        return f"Prioritas diubah menjadi {fmt_.PRIORITY_LABELS.get(priority, priority)}."
    return _act(ref, run)


@console.post("/t/<ref>/reopen")
def ticket_reopen(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        _triage(desk).reopen(now, ref, me)
        return f"{ref} dibuka kembali dan masuk antrean."
    return _act(ref, run)


@console.post("/t/<ref>/snooze")
def ticket_snooze(ref: str):  # type: ignore[no-untyped-def]
    raw = _field("until", 20)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        until = None
        if raw:
            try:
                until = datetime.fromisoformat(raw).replace(tzinfo=ctx().calendar.tz)
            except ValueError:
                raise QueueError("bad time", "Waktu tunda tidak dikenali.") from None
        _triage(desk).snooze(now, ref, me, until)
        when = ctx().fmt.when(until) if until else "pelanggan membalas"
        return f"{ref} ditunda sampai {when}."
    return _act(ref, run)


@console.post("/t/<ref>/unsnooze")
def ticket_unsnooze(ref: str):  # type: ignore[no-untyped-def]
    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        _triage(desk).unsnooze(now, ref, me)
        return f"{ref} kembali ke antrean aktif."
    return _act(ref, run)


@console.post("/t/<ref>/assign")
def ticket_assign(ref: str):  # type: ignore[no-untyped-def]
    to = _field("to", 40)

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        if not to:
            raise QueueError("no colleague", "Pilih rekan yang akan menangani.")
        t = desk_assign.assign(desk.store, now, ref, to, me, _policy(), escalate=desk.escalate)
        if t.priority == "escalation" and to.lower() == desk_assign.SUPERVISORS:
            return f"{ref} diteruskan ke supervisor."
        return f"{ref} sekarang ditangani oleh {t.agent}."
    return _act(ref, run)


# -- online / away ------------------------------------------------------------------------------
@console.post("/status")
def my_status():  # type: ignore[no-untyped-def]
    c = ctx()
    status = _field("status", 10)
    try:
        desk_assign.set_status(c.store, c.now, c.agent.name, status, _policy())
        flash("Status Anda: online, siap menerima tiket." if status == "online"
              else "Status Anda: away, tidak menerima tiket baru.", "ok")
    except QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash("Basis data sedang sibuk: status tidak tersimpan. Coba lagi.", "error")
    back = request.form.get("next") or ""
    parts = urlsplit(back)
    if not back.startswith("/console") or parts.scheme or parts.netloc or back.startswith("//"):
        back = url_for("console.queue")
    return redirect(back, 303)


# -- supervisors: who holds what, labels ----------------------------------------------------------
@console.get("/team")
def team():  # type: ignore[no-untyped-def]
    _supervisor_only()
    c = ctx()
    rows = []
    for a in desk_assign.team(c.store, _policy().max_open):
        rows.append({"name": a.name, "role": fmt_.ROLE_LABELS.get(a.role, a.role), "status": a.status,
                     "status_label": "Aktif" if a.status == "online" else "Istirahat",
                     "since": c.fmt.when(a.status_at) if a.status_at else "", "held": a.held, "limit": a.limit,
                     "oldest_due": c.fmt.when(a.oldest_due) if a.oldest_due else "",
                     "late": bool(a.oldest_due and a.oldest_due <= c.now)})
    return _page("console/team.html", rows=rows, waiting=desk_assign.waiting_counts(c.store),
                 auto=_policy().auto)


@console.get("/labels")
def labels():  # type: ignore[no-untyped-def]
    _supervisor_only()
    c = ctx()
    usage = desk_triage.label_usage(c.store)
    return _page("console/labels.html", labels=[(n, usage.get(n, 0)) for n in desk_triage.all_labels(c.store)])


def _label_action(run: Any):  # type: ignore[no-untyped-def]
    _supervisor_only()
    c = ctx()
    try:
        flash(run(c), "ok")
    except QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash("Basis data sedang sibuk: perubahan tidak tersimpan. Coba lagi.", "error")
    return redirect(url_for("console.labels"), 303)


@console.post("/labels")
def label_create():  # type: ignore[no-untyped-def]
    name = _field("name", 60)
    return _label_action(lambda c: f"Label \u201c{desk_triage.create_label(c.store, c.now, name, c.agent.name)}\u201d dibuat.")


@console.post("/labels/delete")
def label_delete():  # type: ignore[no-untyped-def]
    name = _field("name", 60)

    def run(c):  # type: ignore[no-untyped-def]
        n = desk_triage.delete_label(c.store, c.now, name, c.agent.name)
        return f"Label \u201c{name}\u201d dihapus (dari {n} tiket)."
    return _label_action(run)


@console.app_template_global()
def desk_label_names() -> list[str]:
    """For the queue's label filter (parts/queue_filters.html)."""
    return desk_triage.all_labels(ctx().store)
