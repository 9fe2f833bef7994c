"""Console routes of private notes and notifications (issue 12, items 2 and 7).

- POST /console/t/<ref>/note: a form (flash + 303 back to the ticket), and
  POST /console/api/t/<ref>/notes: the same from static/notes.js (JSON); GET it for the
  notes after an id, so an open ticket page shows a colleague's note without a reload.
- GET /console/api/notifications: what waits for the logged-in agent (handoff/notifications.py),
  polled by static/notify.js for the bell, the tab title, the sound and browser notifications;
  POST /console/api/notifications/read marks mentions read (ids, one ticket, or all).
Every text goes out as JSON or through autoescaped Jinja; the scripts write it with textContent.
"""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for

from bot.errors import StoreError
from bot.web import console_format as fmt_
from bot.web.console_base import console, ctx
from bot.web.request_input import message_id_arg

BUSY = "Basis data sedang sibuk: catatan tidak tersimpan. Coba lagi."


def _note_view(note: Any) -> dict[str, Any]:
    c = ctx()
    return {"id": note.id, "author": note.author, "time": c.fmt.when(note.created_at),
            "time_iso": c.fmt.iso(note.created_at), "text": note.text, "mentions": note.mentions,
            "mine": bool(c.agent and note.author == c.agent.name)}


@console.app_template_global()
def ticket_notes(t: Any) -> list[dict[str, Any]]:
    """The ticket's private notes for parts/ticket_notes.html."""
    from handoff.notes import list_notes

    return [_note_view(n) for n in list_notes(ctx().store, t.ref)]


def _add(ref: str) -> tuple[Any, str | None]:
    """(the note, None) or (None, the Indonesian reason)."""
    from handoff.notes import MAX_NOTE, add_note
    from handoff.queue import QueueError

    c = ctx()
    try:
        return add_note(c.store, c.now, ref, c.agent.name, (request.form.get("text") or "")[:MAX_NOTE * 5]), None
    except QueueError as exc:
        return None, exc.indonesian
    except StoreError:
        return None, BUSY


@console.post("/t/<ref>/note")
def add_note_form(ref: str):  # type: ignore[no-untyped-def]
    ref = ref.strip().upper()[:20]
    note, error = _add(ref)
    if error:
        flash(error, "error")
    else:
        flash("Catatan internal tersimpan (tidak dikirim ke pelanggan).", "ok")
    return redirect(url_for("console.ticket", ref=ref) + "#notes", 303)


@console.post("/api/t/<ref>/notes")
def api_add_note(ref: str):  # type: ignore[no-untyped-def]
    note, error = _add(ref.strip().upper()[:20])
    if error:
        return jsonify(error=error), (404 if error == "Tiket tidak ditemukan." else 400)
    return jsonify(note=_note_view(note)), 201


@console.get("/api/t/<ref>/notes")
def api_notes(ref: str):  # type: ignore[no-untyped-def]
    from handoff.notes import list_notes

    c = ctx()
    ref = ref.strip().upper()[:20]
    if c.store.ticket(ref) is None:
        return jsonify(error="Tiket tidak ditemukan."), 404
    notes = [_note_view(n) for n in list_notes(c.store, ref, message_id_arg(request.args.get("after")))]
    return jsonify(notes=notes)


_TITLES = {
    "mention": lambda i: f"{i.actor} menyebut Anda di {i.ref}",
    "assigned": lambda i: (f"{i.ref} diberikan kepada Anda oleh {i.actor}" if i.actor != "otomatis"
                           else f"{i.ref} diberikan kepada Anda (pembagian otomatis)"),
    "ticket": lambda i: f"Tiket baru di antrean: {i.ref}",
    "message": lambda i: (f"Pelanggan menulis di {i.ref}" if i.extra.get("messages", 1) == 1
                          else f"{i.extra['messages']} pesan pelanggan menunggu di {i.ref}"),
    "sla": lambda i: f"{i.ref} hampir melewati janji layanan",
}


def _item_view(item: Any) -> dict[str, Any]:
    c = ctx()
    text = item.text
    if item.kind == "ticket":
        text = " · ".join(x for x in (fmt_.CHANNEL_LABELS.get(item.extra.get("channel"), ""),
                                      fmt_.INTENT_LABELS.get(item.extra.get("intent"), "")) if x)
    return {"key": item.key, "kind": item.kind, "ref": item.ref, "id": item.id, "unread": item.unread,
            "title": _TITLES[item.kind](item), "text": text, "time": c.fmt.when(item.at),
            "url": url_for("console.ticket", ref=item.ref) + ("#notes" if item.kind == "mention" else "")}


@console.get("/api/notifications")
def api_notifications():  # type: ignore[no-untyped-def]
    from handoff.notifications import pending

    c = ctx()
    found = pending(c.store, c.now, c.calendar, c.agent.name, c.agent.role)
    order = {"mention": 0, "assigned": 0, "message": 1, "sla": 2, "ticket": 3}
    items = sorted(found.items, key=lambda i: (order[i.kind], -i.at.timestamp()))
    return jsonify(count=found.count, counts=found.counts, latest_message=found.latest_message,
                   items=[_item_view(i) for i in items[:30]])


@console.post("/api/notifications/read")
def api_notifications_read():  # type: ignore[no-untyped-def]
    from handoff.notifications import mark_read

    c = ctx()
    ids: list[int] | None = None
    if request.form.get("ids"):
        ids = [int(x) for x in request.form["ids"].split(",")[:500] if x.strip().isdigit() and len(x.strip()) < 16]
    ref = (request.form.get("ref") or "").strip().upper()[:20] or None
    if ids is None and ref is None and request.form.get("all") != "1":
        return jsonify(error="Pilih pemberitahuan yang dibaca."), 400
    try:
        changed = mark_read(c.store, c.now, c.agent.name, ids=ids, ref=ref, everything=request.form.get("all") == "1")
    except StoreError:
        return jsonify(error="Basis data sedang sibuk. Coba lagi."), 503
    return jsonify(ok=True, read=changed)
