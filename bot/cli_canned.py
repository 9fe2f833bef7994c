"""`yessindo-bot canned add|list|remove` and `queue reply REF --agent NAME --canned SHORTCUT`:
saved replies from the command line (the console's /console/canned does the same)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, Callable

from bot.errors import EXIT_FAIL, EXIT_OK

OPERATOR = "operator"  # the actor of CLI writes, as for `agent add`


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the top-level `sub` and to `queue`'s `qsub`."""
    c = sub.add_parser("canned", parents=[common], help="saved replies agents insert with /shortcut")
    csub = c.add_subparsers(dest="canned_command", required=True, metavar="ACTION")
    s = csub.add_parser("add", parents=[common], help="add a saved reply, or replace its text in that language")
    s.add_argument("shortcut", help="a-z, 0-9, '-' and '_', at most 40 (typed as /shortcut in the console)")
    s.add_argument("--text", required=True,
                   help="the reply; variables {nama} {nomor_pesanan} {tiket} {agen} {produk} {varian} {resi} "
                        "{email} {telepon} {penerima} are filled from the ticket")
    s.add_argument("--lang", choices=["id", "en"], default="id")
    s.add_argument("--title")
    s = csub.add_parser("list", parents=[common], help="list the saved replies")
    s.add_argument("--json", action="store_true")
    s = csub.add_parser("remove", parents=[common], help="remove a saved reply (both languages unless --lang)")
    s.add_argument("shortcut")
    s.add_argument("--lang", choices=["id", "en"])


def cmd_canned(args: argparse.Namespace, settings: Any) -> int:
    from zoneinfo import ZoneInfo

    from handoff import canned
    from handoff.queue import QueueError
    from handoff.store import Store

    store = Store(settings.database)
    now = datetime.now(ZoneInfo(settings.hours.timezone))
    action = args.canned_command
    try:
        if action == "add":
            reply, new = canned.save(store, now, OPERATOR, args.shortcut, args.text, lang=args.lang, title=args.title)
            print(f"saved reply /{reply.shortcut} ({reply.lang}) {'added' if new else 'changed'}")
        elif action == "remove":
            gone = canned.remove(store, now, OPERATOR, args.shortcut, args.lang)
            print(f"saved reply /{canned.clean_shortcut(args.shortcut)} removed ({gone} text{'s' if gone != 1 else ''})")
        else:
            replies = canned.all_replies(store.conn)
            if args.json:
                print(json.dumps([r.as_json() for r in replies], ensure_ascii=False))
            elif not replies:
                print("no saved replies")
            else:
                for r in replies:
                    first_line = " ".join(r.text.split())
                    first_line = first_line if len(first_line) <= 70 else first_line[:69] + "\u2026"
                    title = f"  [{r.title}]" if r.title else ""
                    print(f"/{r.shortcut:<20} {r.lang}{title}  {first_line}")
    except QueueError as exc:
        print(f"yessindo-bot: canned {action}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    return EXIT_OK


COMMANDS: dict[str, Callable[..., int]] = {"canned": cmd_canned}
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {}  # `queue reply --canned` is routed by bot/cli_desk.py


def reply_canned(args: argparse.Namespace, settings: Any, store: Any, desk: Any, now: Any, tz: Any) -> int:
    """`queue reply REF --agent NAME --canned SHORTCUT`: fill the saved reply for the ticket
    (refused, naming the empty variables, when one has no value), then send it as a reply."""
    from bot.canned_fill import fill
    from handoff.queue import QueueError

    try:
        filled = fill(store, args.ref, args.canned, args.agent)
        outbox_id = desk.reply(now, args.ref, args.agent, filled.text)
    except QueueError as exc:
        print(f"yessindo-bot: queue reply: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"reply to {args.ref.upper()} queued (outbox {outbox_id})")
    return EXIT_OK
