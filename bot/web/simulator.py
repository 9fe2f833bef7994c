"""/try: chat with the bot in the browser as a WhatsApp customer, through the same
pipeline as the real webhook. Registered only when the simulator is asked for (see
`bot.config.simulator_for_bind`), and bounded per client and in tickets per day
(`bot.web.simulator_limit`)."""
from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import datetime, timedelta

from flask import Blueprint, jsonify, render_template, request

from bot.errors import StoreError
from bot.models import Message
from bot.web.request_input import json_or_empty, message_id_arg
from bot.web.simulator_limit import admit
from handoff.store import Store

log = logging.getLogger("yessindo.simulator")
simulator = Blueprint("simulator", __name__, template_folder="templates")
# Simulated customers live in +62000xxxxxxx: no Indonesian number starts with 0 after +62, so a
# simulated customer can never be (or read the messages of) a real one.
_CUSTOMER = re.compile(r"^\+62000\d{7}$")


@simulator.get("/try")
def page():  # type: ignore[no-untyped-def]
    return render_template("try.html", customer="+62000" + "".join(secrets.choice("0123456789") for _ in range(7)))


@simulator.post("/try/send")
def send():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    data = json_or_empty()
    text = data.get("text")
    customer = data.get("customer", "")
    if not isinstance(text, str) or not isinstance(customer, str) or not _CUSTOMER.match(customer):
        return jsonify(error="send {\"text\": ..., \"customer\": \"+62000xxxxxxx\"}"), 400
    svc = services()
    try:
        store = Store(svc.settings.database)
        try:
            refusal = admit(store, svc.now(), request.remote_addr or "-")
        finally:
            store.close()
    except StoreError as exc:
        log.error("simulator: %s", exc)
        return jsonify(error="Server sedang sibuk, coba lagi sebentar lagi."), 503
    if refusal is not None:
        resp = jsonify(error=refusal.message)
        resp.status_code = 429
        resp.headers["Retry-After"] = str(int(refusal.wait.total_seconds()))
        return resp
    message = Message(channel="whatsapp", customer=customer, text=text[:4096], received_at=svc.now(),
                      external_id="try-" + secrets.token_hex(8), display_name="Simulator",
                      meta=(("source", "simulator"),))
    try:
        outcome = svc.handle(message)
    except StoreError as exc:
        log.error("simulator: %s", exc)
        return jsonify(error="Server sedang sibuk, coba lagi sebentar lagi."), 503
    with svc._lock:  # past what this answer already shows, never past an agent's reply written meanwhile
        last = svc.bot.store.conn.execute(
            "SELECT coalesce(max(id), 0) FROM messages WHERE customer = ? AND (direction = 'in' OR author = 'bot')",
            (customer,)).fetchone()[0]
    return jsonify(status=outcome.status, replies=[r.text for r in outcome.replies],
                   intent=outcome.intent.intent if outcome.intent else None, ticket=outcome.ticket_ref, last_id=last)


# -- what reaches the simulated phone later: agents' replies, templates, the satisfaction
# question, an escalation's written result ---------------------------------------------------------
@simulator.get("/try/updates")
def updates():  # type: ignore[no-untyped-def]
    """Messages to this simulated customer after `after`. With no Twilio credentials the
    WhatsApp outbox has no sender: its rows for simulated customers are delivered here
    (marked sent, provider id `sim-...`); a server that has credentials sends them as usual
    and this only reads them."""
    from bot.web.services import services

    customer = request.args.get("customer", "")
    if not _CUSTOMER.match(customer):
        return jsonify(error="customer must be +62000xxxxxxx"), 400
    after = message_id_arg(request.args.get("after"))
    svc = services()
    store = svc.bot.store
    with svc._lock:
        if not (svc.settings.whatsapp.account_sid and svc.settings.whatsapp.auth_token):
            with store.write(svc.now()) as tx:
                tx.conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, provider_id = 'sim-' || id "
                                "WHERE channel = 'whatsapp' AND customer = ? AND status = 'pending'", (tx.now, customer))
        # one statement, so `last_id` can never pass a reply another worker wrote between two reads
        rows = store.conn.execute(
            "SELECT id, direction, author, text, meta FROM messages WHERE channel = 'whatsapp' AND customer = ? "
            "AND id > ? ORDER BY id LIMIT 200", (customer, after)).fetchall()
    out = []
    for mid, direction, author, text, meta in rows:
        if direction != "out":
            continue
        via = json.loads(meta or "{}").get("via")
        out.append({"id": mid, "author": "bot" if author == "bot" else "agent", "name": None if author == "bot" else author,
                    "text": text, "template": via == "template"})
    return jsonify(messages=out, last_id=max([after] + [row[0] for row in rows]))


# -- pretend it is another time --------------------------------------------------------------------
@simulator.get("/try/clock")
def clock_get():  # type: ignore[no-untyped-def]
    from bot.web.services import services

    svc = services()
    offset = getattr(svc.clock, "offset", lambda: None)()
    return jsonify(now=svc.now().isoformat(timespec="minutes"), pretending=bool(offset))


def _only_from_this_machine(svc):  # type: ignore[no-untyped-def]
    """The pretend clock moves every promise and timer of the server: only someone at this
    machine may set it (a loopback client, not through a proxy), from a page of this server
    (a JSON request, which another site's form cannot send; Origin ours when given)."""
    from bot.config import is_loopback
    from bot.web.livechat import own_origin

    if svc.settings.trusted_proxies or not is_loopback(request.remote_addr or ""):
        return jsonify(error="the clock can be set only from this machine"), 403
    origin = request.headers.get("Origin")
    if not request.is_json or (origin is not None and origin != own_origin()):
        return jsonify(error="send JSON from this server's own page"), 403
    return None


@simulator.post("/try/clock")
def clock_set():  # type: ignore[no-untyped-def]
    """{"at": "2026-11-28T22:00"} (local time of [hours] timezone) or {"at": null} for the real time."""
    from bot.web.services import services
    from bot.web.simulator_clock import SimulatorClock, set_offset

    svc = services()
    refused = _only_from_this_machine(svc)
    if refused is not None:
        return refused
    clock = svc.clock
    if not isinstance(clock, SimulatorClock):
        return jsonify(error="this server's clock is fixed (tests) and cannot pretend"), 409
    data = json_or_empty()
    at = data.get("at")
    if at is None:
        offset = None
    else:
        try:
            target = datetime.fromisoformat(str(at))
        except ValueError:
            return jsonify(error='send {"at": "YYYY-MM-DDTHH:MM"} or {"at": null}'), 400
        if target.tzinfo is None:
            target = target.replace(tzinfo=clock.tz)
        offset = target - datetime.now(clock.tz)
        if abs(offset) > timedelta(days=400):
            return jsonify(error="pick a time within a year of today"), 400
    store = svc.bot.store
    with svc._lock, store.write(datetime.now(clock.tz)) as tx:
        set_offset(tx, offset)
    clock.forget_cache()
    return jsonify(now=svc.now().isoformat(timespec="minutes"), pretending=offset is not None)
