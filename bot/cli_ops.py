"""The operator's subcommands: `poll-email`, `forget`, `events`, `purge`, `backup`, `doctor`."""
from __future__ import annotations

import argparse
import re
import json
import sys
from datetime import datetime

from bot.errors import EXIT_CONFIG, EXIT_FAIL, EXIT_OK, ConfigError, StoreError


def parse_at(value: str | None, tz: str) -> datetime | None:
    """The `--at`/`--since` option: ISO 8601, in the shop's zone when it names none."""
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError("--at", "--at", f"not an ISO 8601 time: {value!r} (e.g. 2026-11-30T07:30:00+07:00)") from None
    if t.tzinfo is None:
        from zoneinfo import ZoneInfo

        t = t.replace(tzinfo=ZoneInfo(tz))
    return t


def cmd_poll_email(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    import logging

    from bot.channels.email_imap import IMAPSetupError
    from bot.channels.email_intake import build_intake

    from bot.logsafe import install, mask

    install(logging.WARNING if args.once else logging.INFO)  # masked, like every process
    intake = build_intake(settings)
    try:
        if not args.once:
            intake.run_forever()
            return EXIT_OK
        summary, sent = intake.run_once()
    except IMAPSetupError as exc:
        print(f"yessindo-bot: poll-email: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:  # noqa: BLE001 - IMAP login/network: one line, no traceback
        if isinstance(exc, (ConfigError, StoreError, KeyboardInterrupt)):
            raise
        detail = " ".join(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a) for a in exc.args)
        detail = mask(detail)  # an address or number in the error goes to stderr masked, like the logs
        print(f"yessindo-bot: poll-email: IMAP {settings.email.imap_host}:{settings.email.imap_port}: "
              f"{type(exc).__name__}: {detail}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        intake.store.close()
    waiting = summary.fetched and sent.retried
    print(f"mails: {summary.fetched} fetched, {summary.answered} answered, {summary.recorded} recorded without "
          f"an answer, {summary.duplicates} already handled, {summary.failed} failed; replies: {sent.sent} sent, "
          f"{sent.retried} waiting for a retry, {sent.failed} failed" + (" (SMTP unavailable)" if waiting else ""))
    return EXIT_OK


def cmd_forget(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from bot.extract import to_e164
    from handoff.store import Store

    customers = []
    for raw in (c.strip() for c in args.customer):
        if re.fullmatch(r"web:[0-9a-fA-F]{32}", raw):  # a live-chat visitor, as the console shows them
            customer = raw.lower()
        else:
            customer = raw.lower() if "@" in raw else (to_e164(raw) or "")
        if not customer:
            print(f"yessindo-bot: forget: not a phone number, email address or live-chat visitor (web:...): {raw!r}",
                  file=sys.stderr)
            return EXIT_FAIL
        customers.append(customer)
    store = Store(settings.database)
    counts = store.forget(customers, datetime.now(ZoneInfo(settings.hours.timezone)))
    truncated = counts.pop("wal_truncated", 1)
    print(f"deleted for {', '.join(customers)}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    if not truncated:  # the rows are gone, but old copies may remain in the -wal file
        print("yessindo-bot: forget: another process kept the database busy, so the WAL file still holds old "
              "copies: run forget again", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_events(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from handoff.store import Store, parse_iso

    tz = ZoneInfo(settings.hours.timezone)
    since = parse_at(args.since, settings.hours.timezone) if args.since else None
    if args.limit < 0:
        raise ConfigError("--limit", "--limit", "must be 0 (all) or more")
    store = Store(settings.database)
    rows = store.events(args.kind, actor=args.actor, ticket_ref=args.ticket.upper() if args.ticket else None,
                        since=since, limit=args.limit or None)
    for e in rows:
        at = parse_iso(e["at"]).astimezone(tz).isoformat(timespec="seconds")  # type: ignore[union-attr]
        data = json.loads(e["data"] or "{}")
        if args.json:
            print(json.dumps({"at": at, "kind": e["kind"], "actor": e["actor"], "ticket": e["ticket_ref"],
                              "conversation": e["conversation_id"], "data": data}, ensure_ascii=False))
        else:
            detail = " ".join(f"{k}={v}" for k, v in data.items())
            print(f"{at}  {e['actor']:<10} {e['kind']:<24} {e['ticket_ref'] or '-':<10} {detail}".rstrip())
    return EXIT_OK


def cmd_purge(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from handoff.retention import purge_older_than
    from handoff.store import Store

    days = args.older_than if args.older_than is not None else settings.retention_days
    if days <= 0:
        source = "--older-than" if args.older_than is not None else "[storage] retention_days"
        raise ConfigError(settings.source, source, "retention is off (0): give a number of days, at least 1")
    store = Store(settings.database)
    counts = purge_older_than(store, datetime.now(ZoneInfo(settings.hours.timezone)), days, actor="operator")
    print(f"deleted conversations idle more than {days} days (open tickets kept): "
          + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.ops.backup import BackupError, backup_database

    try:
        result = backup_database(settings.database, args.path)
    except BackupError as exc:
        print(f"yessindo-bot: backup: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"backup of {settings.database} written to {result.path} ({result.size} bytes, integrity ok)")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.ops.doctor import run_checks

    return EXIT_OK if run_checks(settings, sys.stdout) else EXIT_FAIL
