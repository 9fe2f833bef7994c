"""`yessindo-bot search TEXT [--json] [--page N]`: find tickets and conversations by ticket
ref, order number, phone (any spelling), email, name or message text (handoff/search.py).
Text output: one line per result, the customer masked as `queue list` masks it; --json: one
array of results (ref, channel, customer, status, snippet, ...) as `queue list --json` gives them."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from bot.errors import EXIT_FAIL, EXIT_OK

COMMANDS: dict[str, Callable[..., int]] = {}  # top-level commands: name -> handler(args, settings)
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {}  # `queue ACTION`: handler(args, settings, store, desk, now, tz)


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the top-level `sub` and to `queue`'s `qsub`."""
    p = sub.add_parser("search", parents=[common], help="search tickets and conversations",
                       description="Search tickets and conversations: ticket ref (YS-000123), order number, phone "
                                   "number in any spelling (0812..., +62812..., 62812...), email, name, message text.")
    p.add_argument("text", nargs="+", help="what to look for (several words: all must match)")
    p.add_argument("--json", action="store_true", help="print one JSON array of results")
    p.add_argument("--page", type=int, default=1, help="page of results (20 per page, default 1)")


def cmd_search(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from bot.cli_desk import mask_customer
    from handoff.search import MAX_PAGE, search
    from handoff.store import Store

    text = " ".join(args.text).strip()
    if not text:
        print("yessindo-bot: search: nothing to look for", file=sys.stderr)
        return EXIT_FAIL
    if not 1 <= args.page <= MAX_PAGE:
        print(f"yessindo-bot: search: --page must be between 1 and {MAX_PAGE}", file=sys.stderr)
        return EXIT_FAIL
    store = Store(settings.database)
    found = search(store, text, page=args.page)
    if args.json:
        print(json.dumps([r.as_json() for r in found.results], ensure_ascii=False))
        return EXIT_OK
    if not found.results:
        print("no results" if args.page == 1 else f"no results on page {args.page}")
    tz = ZoneInfo(settings.hours.timezone)
    for r in found.results:
        created = r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if r.created_at else "-"
        snippet = " ".join(r.snippet_text.split())
        if snippet.startswith("Tiket "):
            snippet = "ticket " + snippet[6:]
        label, sep, rest = snippet.partition(": ")
        if sep and label in _LABELS:  # the console's Indonesian label of a matched fact, in English
            snippet = f"{_LABELS[label]}: {rest}"
        print(f"{r.ref or 'conversation ' + str(r.conversation_id)}  {r.status:<8} {r.channel:<8} {created}  "
              f"{mask_customer(r.customer)}  {snippet}")
    if found.has_next:
        print(f"more: yessindo-bot search {json.dumps(text, ensure_ascii=False)} --page {args.page + 1}")
    return EXIT_OK


_LABELS = {"Nomor pesanan": "order number", "Telepon": "phone", "Email": "email", "Nama penerima": "recipient",
           "Pelanggan": "customer", "Nama": "name"}
COMMANDS["search"] = cmd_search
