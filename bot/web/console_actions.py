"""The console's actions on a ticket (claim, take over, release, reply, resolve, escalate,
template, email): each a POST with a CSRF token that calls `bot.desk.Desk` and redirects
(303) back to the ticket with a flash message."""
from __future__ import annotations

from typing import Any, Callable

from flask import Response, flash, redirect, request, url_for

from bot.errors import StoreError
from bot.web.console_base import console, ctx


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
        sent = desk.reply(now, ref, me, text)
        if getattr(sent, "repeat", False):  # the same text within a minute: nothing new was queued
            return "Balasan yang sama sudah dikirim barusan; tidak dikirim dua kali."
        return "Balasan masuk antrean kirim."
    return _act(ref, run)


@console.post("/t/<ref>/resolve")
def resolve(ref: str):  # type: ignore[no-untyped-def]
    note, email_to = _form("note"), _form("email_to", 320)
    no_reply = request.form.get("no_reply") == "1"  # the #resolve-confirm checkbox

    def run(desk, now, ref, me):  # type: ignore[no-untyped-def]
        desk.resolve(now, ref, me, note or None, email_to=email_to or None, no_reply=no_reply)
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
        sent = desk.email_customer(now, ref, me, text, address)
        if getattr(sent, "repeat", False):
            return f"Email yang sama ke {address.strip().lower()} sudah dikirim barusan; tidak dikirim dua kali."
        return f"Email ke {address.strip().lower()} masuk antrean kirim."
    return _act(ref, run)


@console.post("/t/<ref>/typing")
def typing(ref: str):  # type: ignore[no-untyped-def]
    """The agent holding a live-chat ticket is typing (or stopped): the visitor's widget shows it."""
    from handoff import livechat as lc

    c = ctx()
    t = c.store.ticket(ref.strip().upper()[:20])
    if t is None or t.channel != "web" or t.agent != c.agent.name:
        return Response(status=204)  # nothing to show: only the holder of a live chat types to it
    try:
        with c.store.write(c.now) as tx:
            lc.set_typing(tx, t.conversation_id, t.customer, "agent", c.agent.name, request.form.get("typing") == "1")
    except StoreError:
        pass  # a typing mark is not worth an error
    return Response(status=204)
