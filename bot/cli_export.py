"""`yessindo-bot export tickets --since DATE [--until DATE] --csv`: the tickets created in a
period (local days of the shop's zone, --until inclusive, default today) as CSV on stdout,
header row first, streamed (handoff/export.py)."""
from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any, Callable

from bot.errors import EXIT_CONFIG, EXIT_OK


def cmd_export(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from handoff import export
    from handoff.store import Store

    tz = ZoneInfo(settings.hours.timezone)
    now = datetime.now(tz)
    try:
        since = parse_day(args.since, "--since")
        until = parse_day(args.until, "--until") if args.until else None
        if until is not None and until < since:
            raise ValueError(f"--until {until.isoformat()} is before --since {since.isoformat()}")
    except ValueError as exc:
        print(f"yessindo-bot: export tickets: {exc}", file=sys.stderr)
        return EXIT_CONFIG  # a usage error: exit 2
    Store(settings.database).close()  # create or upgrade the database first (labels need schema 7)
    start, end = export.period(since, until, tz, now.date())
    out = sys.stdout
    for chunk in export.export_csv(settings.database, start, end, tz, now):
        out.write(chunk)
    out.flush()
    return EXIT_OK


def parse_day(text: str, option: str) -> date:
    """YYYY-MM-DD, or ValueError naming the option."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option}: not a date (YYYY-MM-DD): {text[:40]!r}") from None


COMMANDS: dict[str, Callable[..., int]] = {"export": cmd_export}
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {}  # `queue ACTION`: handler(args, settings, store, desk, now, tz)


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """`export tickets --since DATE [--until DATE] --csv`."""
    e = sub.add_parser("export", parents=[common], help="reports: tickets of a period as CSV")
    esub = e.add_subparsers(dest="export_what", required=True, metavar="WHAT")
    s = esub.add_parser("tickets", parents=[common],
                        help="one row per ticket created in the period (times in the shop's zone)")
    s.add_argument("--since", required=True, metavar="DATE", help="first day, YYYY-MM-DD in the shop's zone")
    s.add_argument("--until", metavar="DATE", help="last day, inclusive (default: today)")
    s.add_argument("--csv", action="store_true", required=True, help="CSV on stdout, header row first")
