"""Console search (issue 12 item 5): /console/search?q=...&page=N over tickets and
conversations (handoff/search.py). Every logged-in agent may search: agents see every
ticket in the queue already. Snippets reach the template as (text, is the match) pairs
and are rendered as text with <mark>, never as HTML."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request, url_for

from bot.web import console_format as fmt_
from bot.web.console_base import _page, console, ctx


def _page_arg() -> int:
    try:
        return min(max(1, int(request.args.get("page", "1"))), 50)
    except ValueError:
        return 1


@console.get("/search")
def search():  # type: ignore[no-untyped-def]
    from handoff.search import search as run_search

    c = ctx()
    q = " ".join((request.args.get("q") or "").split())[:200]
    page = _page_arg()
    found = run_search(c.store, q, page=page) if q else None
    rows = []
    for r in found.results if found else []:
        rows.append({
            "ref": r.ref, "url": url_for("console.ticket", ref=r.ref) if r.ref else
            url_for("console.customer", id=r.customer),
            "customer_url": url_for("console.customer", id=r.customer),
            "channel_label": fmt_.CHANNEL_LABELS.get(r.channel, r.channel), "customer": r.customer, "name": r.name,
            "status_label": fmt_.STATUS_LABELS.get(r.status, "Percakapan tanpa tiket" if not r.ref else r.status),
            "status": r.status, "intent_label": fmt_.INTENT_LABELS.get(r.intent or "", r.intent or ""),
            "created": c.fmt.when(r.created_at), "snippet": r.snippet, "match": r.match})

    def link(n: int) -> str:
        return url_for("console.search") + "?" + urlencode({"q": q, "page": n})

    return _page("console/search.html", search_q=q, rows=rows, found=found, page=page,
                 prev_url=link(page - 1) if found and page > 1 else None,
                 next_url=link(page + 1) if found and found.has_next else None)
