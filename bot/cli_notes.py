"""`yessindo-bot queue note` (a private note on a ticket, never sent) and
`yessindo-bot notifications` (what waits for one agent): handoff/notes.py, handoff/notifications.py."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from bot.errors import EXIT_FAIL, EXIT_OK


def queue_note(args: argparse.Namespace, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from handoff.notes import add_note
    from handoff.queue import QueueError

    try:
        note = add_note(store, now, args.ref, args.agent, args.text)
    except QueueError as exc:
        print(f"yessindo-bot: queue note: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"note added to {note.ticket_ref}")
    return EXIT_OK


def cmd_notifications(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.business_hours import BusinessCalendar
    from handoff.notifications import pending
    from handoff.queue import get_agent
    from handoff.store import Store

    store = Store(settings.database)
    tz = ZoneInfo(settings.hours.timezone)
    agent = get_agent(store, args.agent)
    if agent is None:
        print(f"yessindo-bot: notifications: no agent {args.agent}", file=sys.stderr)
        return EXIT_FAIL
    found = pending(store, datetime.now(tz), BusinessCalendar(settings.hours), agent.name, agent.role)
    rows = [{"kind": i.kind, "ref": i.ref, "at": i.at.astimezone(tz).isoformat(timespec="seconds"),
             "actor": i.actor, "text": i.text, "unread": i.unread} for i in found.items]
    if args.json:
        print(json.dumps({"count": found.count, "counts": found.counts, "items": rows}, ensure_ascii=False))
        return EXIT_OK
    print(f"{found.count} waiting for {agent.name}: {found.counts['mention']} mention(s), "
          f"{found.counts['ticket']} new ticket(s), {found.counts['message']} customer message(s); "
          f"{found.counts['sla']} promise(s) at risk")
    words = {"mention": "mention", "ticket": "new ticket", "message": "customer waiting", "sla": "at risk"}
    for r in rows:
        who = f" by {r['actor']}" if r["actor"] else ""
        print(f"{r['ref']}  {words[r['kind']]:<16} {r['at'][:16].replace('T', ' ')}{who}"
              + (f"  {r['text']}" if r["kind"] == "mention" else ""))
    return EXIT_OK


COMMANDS: dict[str, Callable[..., int]] = {"notifications": cmd_notifications}
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {"note": queue_note}


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """`queue note REF --agent NAME --text TEXT` and `notifications --agent NAME [--json]`."""
    s = qsub.add_parser("note", parents=[common], help="a private note on a ticket (never sent to the customer)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--text", required=True, help="the note; @name mentions notify that agent")
    s = sub.add_parser("notifications", parents=[common], help="what waits for an agent (mentions, new tickets, ...)")
    s.add_argument("--agent", required=True)
    s.add_argument("--json", action="store_true")
