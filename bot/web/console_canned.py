"""Saved replies in the console: the page where supervisors add, edit and remove them
(agents may read it, every change is 403 for them), and the JSON the reply box asks
while an agent types `/shortcut`: each match already filled for the ticket, or the
reason it cannot be sent (the empty variables, named)."""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for

from bot.errors import StoreError
from bot.web.console_base import _error_page, _page, console, ctx

_FORBIDDEN = ("Khusus supervisor", "Hanya supervisor yang dapat menambah, mengubah atau menghapus balasan tersimpan.")


def _supervisor() -> bool:
    return bool(ctx().agent and ctx().agent.role == "supervisor")


def _form(name: str, limit: int) -> str:
    return (request.form.get(name) or "")[:limit]


def _render(status: int = 200, editing: Any = None, form: dict[str, str] | None = None, error: str | None = None):  # type: ignore[no-untyped-def]
    from handoff import canned

    c = ctx()
    return _page("console/canned.html", status, replies=canned.all_replies(c.store.conn),
                 variables=canned.VARIABLES, can_edit=_supervisor(), editing=editing, form=form or {},
                 form_error=error, langs={"id": "Indonesia", "en": "Inggris"})


@console.get("/canned")
def canned_page():  # type: ignore[no-untyped-def]
    from handoff import canned

    editing = None
    raw = request.args.get("edit", "")
    if raw.isdigit() and len(raw) < 12 and _supervisor():
        editing = canned.get_id(ctx().store.conn, int(raw))
    form = {}
    if editing is not None:
        form = {"shortcut": editing.shortcut, "lang": editing.lang, "title": editing.title or "", "text": editing.text}
    return _render(editing=editing, form=form)


@console.post("/canned")
def canned_save():  # type: ignore[no-untyped-def]
    from handoff import canned
    from handoff.queue import QueueError

    if not _supervisor():
        return _error_page(403, *_FORBIDDEN)
    c = ctx()
    form = {"shortcut": _form("shortcut", 100), "lang": _form("lang", 5), "title": _form("title", 500),
            "text": _form("text", 20000)}
    raw_id = _form("id", 12)
    editing = canned.get_id(c.store.conn, int(raw_id)) if raw_id.isdigit() else None
    try:
        if raw_id.isdigit():
            reply = canned.update(c.store, c.now, c.agent.name, int(raw_id), form["shortcut"], form["text"],
                                  lang=form["lang"], title=form["title"])
            flash(f"Balasan tersimpan /{reply.shortcut} ({reply.lang}) diubah.", "ok")
        else:
            reply, _ = canned.save(c.store, c.now, c.agent.name, form["shortcut"], form["text"],
                                   lang=form["lang"], title=form["title"], replace=False)
            flash(f"Balasan tersimpan /{reply.shortcut} ({reply.lang}) ditambahkan.", "ok")
    except QueueError as exc:
        return _render(400, editing=editing, form=form, error=exc.indonesian)
    except StoreError:
        return _render(503, editing=editing, form=form,
                       error="Basis data sedang sibuk: balasan belum tersimpan. Coba lagi.")
    return redirect(url_for("console.canned_page"), 303)


@console.post("/canned/<int:reply_id>/remove")
def canned_remove(reply_id: int):  # type: ignore[no-untyped-def]
    from handoff import canned
    from handoff.queue import QueueError

    if not _supervisor():
        return _error_page(403, *_FORBIDDEN)
    c = ctx()
    try:
        gone = canned.remove_id(c.store, c.now, c.agent.name, reply_id)
        flash(f"Balasan tersimpan /{gone.shortcut} ({gone.lang}) dihapus.", "ok")
    except QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash("Basis data sedang sibuk: balasan belum terhapus. Coba lagi.", "error")
    return redirect(url_for("console.canned_page"), 303)


@console.get("/api/t/<ref>/canned")
def api_canned(ref: str):  # type: ignore[no-untyped-def]
    """`?q=ter`: the saved replies matching, each filled for this ticket and the agent asking,
    or with `error` (Indonesian, naming the empty variables) when it cannot be sent."""
    from bot.canned_fill import suggestions
    from handoff.queue import QueueError

    c = ctx()
    query = (request.args.get("q") or "")[:100]
    try:
        items = suggestions(c.store, ref[:20], query, c.agent.name)
    except QueueError as exc:
        return jsonify(error=exc.indonesian), 404
    return jsonify(q=query, items=items)
