"""The customer panel (issue 12 item 6): /console/customer?id=... shows who the customer
is on every channel and all their earlier conversations and tickets (handoff/customers.py);
agents link a WhatsApp number and an email address of the same person (POST
/console/customer/link, logged) and unlink them (POST /console/customer/unlink: the agent
who linked them or a supervisor, else 403). The ticket page shows a short box
(parts/ticket_customer.html) through the template global `customer_box`."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for

from bot.errors import StoreError
from bot.web import console_format as fmt_
from bot.web.console_base import _error_page, _page, console, ctx

BOX_TICKETS = 5


def _panel_url(customer: str) -> str:
    return url_for("console.customer") + "?" + urlencode({"id": customer})


def _ticket_view(t: Any) -> dict[str, Any]:
    c = ctx()
    return {"ref": t.ref, "url": url_for("console.ticket", ref=t.ref),
            "channel_label": fmt_.CHANNEL_LABELS.get(t.channel, t.channel), "customer": t.customer,
            "status": t.status, "status_label": fmt_.STATUS_LABELS.get(t.status, t.status),
            "intent_label": fmt_.INTENT_LABELS.get(t.intent, t.intent), "agent": t.agent,
            "created": c.fmt.when(t.created_at)}


_KIND_LABELS = {"phone": "WhatsApp", "email": "Email", "web": "Live chat", "other": "Lainnya"}
_VIA_LABELS = {"self": "pelanggan ini", "agent": "ditautkan agen", "proof": "terbukti oleh pelanggan (kode verifikasi)"}
_STATE_LABELS = {"bot": "Dengan bot", "human": "Dengan agen", "closed": "Ditutup"}


@console.get("/customer")
def customer():  # type: ignore[no-untyped-def]
    from handoff import customers

    c = ctx()
    who = (request.args.get("id") or "").strip()[:254]
    if not who or not customers.known(c.store.conn, who):
        return _error_page(404, "Pelanggan tidak ditemukan", "Tidak ada percakapan dari pelanggan ini.")
    p = customers.panel(c.store, who)
    me = c.agent
    supervisor = me.role == "supervisor"
    idents = [{"customer": i.customer, "kind": _KIND_LABELS.get(i.kind, i.kind), "via": i.via,
               "via_label": _VIA_LABELS.get(i.via, i.via), "link_id": i.link_id, "linked_by": i.linked_by,
               "url": _panel_url(i.customer), "when": c.fmt.when(i.linked_at) if i.linked_at else None,
               "can_unlink": i.via == "agent" and i.link_id is not None and (supervisor or i.linked_by == me.name)}
              for i in p.identities]
    convs = [{"id": v.id, "channel_label": fmt_.CHANNEL_LABELS.get(v.channel, v.channel), "customer": v.customer,
              "state_label": _STATE_LABELS.get(v.state, v.state), "created": c.fmt.when(v.created_at),
              "messages": v.messages,
              "refs": [{"ref": r, "url": url_for("console.ticket", ref=r)} for r in v.refs]} for v in p.conversations]
    return _page("console/customer.html", p=p, who=who, identities=idents, tickets=[_ticket_view(t) for t in p.tickets],
                 conversations=convs, back_ref=(request.args.get("ref") or "")[:20].upper() or None)


@console.post("/customer/link")
def customer_link():  # type: ignore[no-untyped-def]
    from handoff import customers
    from handoff.queue import QueueError

    c = ctx()
    who = (request.form.get("customer") or "").strip()[:254]
    ref = (request.form.get("ref") or "").strip().upper()[:20] or None
    try:
        linked = customers.link(c.store, c.now, who, (request.form.get("other") or "")[:254], c.agent.name, ref)
        flash(f"Ditautkan: {linked.customer} adalah orang yang sama. Riwayatnya kini tampil bersama.", "ok")
    except QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash("Basis data sedang sibuk: tautan tidak tersimpan. Coba lagi.", "error")
    return redirect(_back(who, ref), 303)


@console.post("/customer/unlink")
def customer_unlink():  # type: ignore[no-untyped-def]
    from handoff import customers
    from handoff.queue import QueueError

    c = ctx()
    who = (request.form.get("customer") or "").strip()[:254]
    ref = (request.form.get("ref") or "").strip().upper()[:20] or None
    try:
        link_id = int(request.form.get("link") or "0")
    except ValueError:
        abort(400)
    try:
        customers.unlink(c.store, c.now, link_id, c.agent.name, c.agent.role == "supervisor", ref)
        flash("Tautan dilepas: riwayat kedua pelanggan kembali terpisah.", "ok")
    except PermissionError:
        return _error_page(403, "Tidak diizinkan",
                           "Hanya agen yang menautkan atau supervisor yang dapat melepas tautan ini.")
    except QueueError as exc:
        flash(exc.indonesian, "error")
    except StoreError:
        flash("Basis data sedang sibuk: tautan tidak dilepas. Coba lagi.", "error")
    return redirect(_back(who, ref), 303)


def _back(who: str, ref: str | None) -> str:
    """Back to the panel (still knowing the ticket it was opened from)."""
    if not who:
        return url_for("console.queue")
    return _panel_url(who) + (("&" + urlencode({"ref": ref})) if ref else "")


@console.app_template_global()
def customer_box(t: Any) -> dict[str, Any]:
    """The ticket page's short customer box: linked ids and up to BOX_TICKETS earlier tickets."""
    from handoff import customers

    c = ctx()
    p = customers.panel(c.store, t.customer, limit=BOX_TICKETS + 1)
    others = [x for x in p.tickets if x.ref != t.ref][:BOX_TICKETS]
    return {"url": _panel_url(t.customer), "identities": [i for i in p.identities if i.via != "self"],
            "kind_labels": _KIND_LABELS, "tickets": [_ticket_view(x) for x in others], "more": p.more or
            len([x for x in p.tickets if x.ref != t.ref]) > BOX_TICKETS, "names": p.names}
