"""`yessindo-bot queue assign|label|reopen|snooze|unsnooze|categorize`: triage and assignment
from the command line (bot/desk_triage.py, bot/desk_assign.py; the console does the same)."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any, Callable

from bot.errors import EXIT_FAIL, EXIT_OK
from handoff.queue import QueueError


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the top-level `sub` and to `queue`'s `qsub`."""
    s = qsub.add_parser("assign", parents=[common],
                        help="give a ticket to a colleague (or --to supervisor: an escalation)")
    s.add_argument("ref")
    s.add_argument("--to", required=True, metavar="NAME")
    s.add_argument("--agent", required=True, help="who assigns (the holder or a supervisor, for a held ticket)")
    s = qsub.add_parser("label", parents=[common], help="put a label on a ticket or take it off")
    s.add_argument("ref")
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--add", metavar="LABEL")
    what.add_argument("--remove", metavar="LABEL")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("reopen", parents=[common], help="open a resolved ticket again (back in the queue)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("snooze", parents=[common],
                        help="wait for the customer: out of the active queue until --until or their next message")
    s.add_argument("ref")
    s.add_argument("--until", metavar="ISO", help="e.g. 2026-12-01T09:00 (the shop's time zone); "
                                                 "without it: until the customer writes")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("unsnooze", parents=[common], help="end a snooze: back in the active queue")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("categorize", parents=[common],
                        help="change a ticket's category and/or priority (its promises only move earlier)")
    s.add_argument("ref")
    s.add_argument("--intent", metavar="CATEGORY")
    s.add_argument("--priority", choices=["normal", "complex"])
    s.add_argument("--agent", required=True)


def _run(action: str, work: Callable[[], str]) -> int:
    try:
        print(work())
    except QueueError as exc:
        print(f"yessindo-bot: queue {action}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def queue_assign(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_assign import SUPERVISORS, assign, policy_of

    def work() -> str:
        t = assign(store, now, args.ref, args.to, args.agent, policy_of(settings), escalate=desk.escalate)
        if args.to.strip().lower() in (SUPERVISORS, "supervisors"):
            return f"{t.ref} is now an escalation for a supervisor"
        return f"{t.ref} is now held by {t.agent}"
    return _run("assign", work)


def queue_label(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_triage import label_ticket

    label = args.add or args.remove

    def work() -> str:
        changed = label_ticket(store, now, args.ref, label, args.agent, add=bool(args.add))
        verb = "added to" if args.add else "removed from"
        return f"label {label} {verb} {args.ref.upper()}" if changed else f"nothing to change on {args.ref.upper()}"
    return _run("label", work)


def queue_reopen(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_triage import Triage

    return _run("reopen", lambda: f"{Triage.of(desk).reopen(now, args.ref, args.agent).ref} is open again")


def queue_snooze(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_triage import Triage

    def work() -> str:
        until = None
        if args.until:
            try:
                until = datetime.fromisoformat(args.until)
            except ValueError:
                raise QueueError(f"--until {args.until!r} is not an ISO time such as 2026-12-01T09:00") from None
            until = until if until.tzinfo else until.replace(tzinfo=tz)
        t = Triage.of(desk).snooze(now, args.ref, args.agent, until)
        return f"{t.ref} snoozed until " + (until.astimezone(tz).isoformat(timespec="minutes") if until
                                             else "the customer writes")
    return _run("snooze", work)


def queue_unsnooze(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_triage import Triage

    return _run("unsnooze", lambda: f"{Triage.of(desk).unsnooze(now, args.ref, args.agent).ref} is active again")


def queue_categorize(args, settings, store, desk, now, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk_triage import Triage

    def work() -> str:
        if not args.intent and not args.priority:
            raise QueueError("give --intent and/or --priority")
        triage = Triage.of(desk)
        t = None
        if args.intent:
            t = triage.set_intent(now, args.ref, args.intent, args.agent)
        if args.priority:
            t = triage.set_priority(now, args.ref, args.priority, args.agent)
        assert t is not None
        return f"{t.ref}: category {t.intent}, priority {t.priority}, due {t.due_at.astimezone(tz).isoformat()}"
    return _run("categorize", work)


def agent_status(args, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from bot.desk_assign import policy_of, set_status
    from handoff.store import Store

    store = Store(settings.database)
    now = datetime.now(ZoneInfo(settings.hours.timezone))
    try:
        set_status(store, now, args.name, args.status, policy_of(settings))
    except QueueError as exc:
        print(f"yessindo-bot: agent status: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"{args.name} is now {args.status}")
    return EXIT_OK


COMMANDS: dict[str, Callable[..., int]] = {"agent-status": agent_status}  # top-level: name -> handler(args, settings)
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {  # `queue ACTION`: handler(args, settings, store, desk, now, tz)
    "assign": queue_assign, "label": queue_label, "reopen": queue_reopen, "snooze": queue_snooze,
    "unsnooze": queue_unsnooze, "categorize": queue_categorize,
}
