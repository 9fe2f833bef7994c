"""`yessindo-bot`: the command line of ../shared/INTERFACE.md.

Every failure a person can cause (bad config, unwritable database, bad input
file) ends in one clear line on stderr and a non-zero exit, never a traceback.
Exit codes: 0 done, 1 the action failed, 2 bad config or usage.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, TextIO

from bot.errors import ConfigError, StoreError

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="config file (default: $YESSINDO_CONFIG, ./config.toml, built-in)")

    p = argparse.ArgumentParser(prog="yessindo-bot", description="Yessindo customer-support bot", parents=[common])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("chat", parents=[common], help="talk to the bot as a customer")
    s.add_argument("--channel", choices=["whatsapp", "email"], default="whatsapp")
    s.add_argument("--from", dest="sender", metavar="ID", help="customer id (phone number or email address)")
    s.add_argument("--name", dest="display_name", metavar="NAME", help="the customer's display name")
    s.add_argument("--at", metavar="ISO8601", help="fix the clock (e.g. 2026-11-30T07:30:00+07:00)")

    s = sub.add_parser("serve", parents=[common], help="production WSGI server (webhooks, console, simulator)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5000)
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: one per CPU core, at least 2)")

    sub.add_parser("classify", parents=[common], help="one message per stdin line -> one JSON object per line")

    s = sub.add_parser("eval", parents=[common], help="accuracy on a labelled TSV file")
    s.add_argument("file", metavar="FILE.tsv")
    s.add_argument("--json", action="store_true", help="machine-readable report")

    s = sub.add_parser("hours", parents=[common], help="is the team open? JSON")
    s.add_argument("--at", metavar="ISO8601")

    sub.add_parser("init-db", parents=[common], help="create or upgrade the database (and train the intent model if needed)")
    s = sub.add_parser("train", parents=[common], help="train the intent model from knowledge/intents/ and cache it")
    s.add_argument("--force", action="store_true", help="train even when a cached model matches the data")

    s = sub.add_parser("poll-email", parents=[common], help="the IMAP loop: answer mail (IDLE, or polling)")
    s.add_argument("--once", action="store_true", help="handle everything waiting, deliver the replies, exit")

    a = sub.add_parser("agent", parents=[common], help="agents and supervisors")
    asub = a.add_subparsers(dest="agent_command", required=True, metavar="ACTION")
    s = asub.add_parser("add", parents=[common], help="add an agent; the password is read from stdin")
    s.add_argument("name")
    s.add_argument("--role", choices=["agent", "supervisor"], required=True)
    s.add_argument("--password-stdin", action="store_true", required=True)
    s = asub.add_parser("passwd", parents=[common], help="set an agent's password (read from stdin)")
    s.add_argument("name")
    s.add_argument("--password-stdin", action="store_true", required=True)
    s = asub.add_parser("remove", parents=[common], help="remove an agent; their tickets go back to the queue")
    s.add_argument("name")
    asub.add_parser("list", parents=[common], help="list agents and their roles")

    s = sub.add_parser("forget", parents=[common], help="delete all data of one customer (on their request)")
    s.add_argument("customer", metavar="CUSTOMER", nargs="+",
                   help="E.164 phone number or email address (several: all ids of one person)")

    s = sub.add_parser("events", parents=[common], help="the audit log: who did what, newest last")
    s.add_argument("--actor", help="only this agent (or bot, operator, customer, retention)")
    s.add_argument("--ticket", metavar="REF", help="only this ticket")
    s.add_argument("--kind", help="only this kind, e.g. ticket.claimed, customer.forgotten")
    s.add_argument("--since", metavar="ISO8601", help="only from this time")
    s.add_argument("--limit", type=int, default=200, help="the newest N (default 200; 0 = all)")
    s.add_argument("--json", action="store_true", help="one JSON object per line")

    s = sub.add_parser("purge", parents=[common],
                       help="delete conversations idle longer than [storage] retention_days (or --older-than)")
    s.add_argument("--older-than", type=int, metavar="DAYS", help="instead of [storage] retention_days")

    s = sub.add_parser("backup", parents=[common], help="a consistent copy of the database while everything runs")
    s.add_argument("path", metavar="PATH", help="the copy's file (0600), or a folder for a time-stamped copy")
    sub.add_parser("doctor", parents=[common], help="check the set-up, one line per check; exit 1 when any fails")

    q = sub.add_parser("queue", parents=[common], help="the human queue")
    qsub = q.add_subparsers(dest="queue_command", required=True, metavar="ACTION")
    s = qsub.add_parser("claim", parents=[common], help="take a ticket over (the bot falls silent there)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--take-over", action="store_true",
                   help="a supervisor takes a ticket from the agent holding it")
    s = qsub.add_parser("reply", parents=[common], help="answer the customer on their channel")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--text", required=True)
    s = qsub.add_parser("release", parents=[common], help="give a ticket back to the queue")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("resolve", parents=[common], help="close a ticket (an escalation needs --note, sent to the customer)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--note")
    s.add_argument("--email-to", metavar="ADDRESS",
                   help="email the written result to this address the customer gave (only when you choose it)")
    s = qsub.add_parser("escalate", parents=[common], help="hand a ticket to the supervisors (due in 2 working days)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--reason", required=True)
    s = qsub.add_parser("template", parents=[common],
                        help="send the WhatsApp template (when the 24-hour window is closed)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("email", parents=[common], help="email a WhatsApp customer at an address they gave us")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--text", required=True)
    s = qsub.add_parser("list", parents=[common], help="list tickets, most urgent first")
    s.add_argument("--json", action="store_true")
    s.add_argument("--status", choices=["open", "claimed", "resolved"])
    return p


def _parse_at(value: str | None, tz: str) -> datetime | None:
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


def main(argv: list[str] | None = None) -> int:
    from bot.logsafe import install

    install()  # before anything logs: every record of every logger masked (bot/logsafe.py)
    args = _parser().parse_args(argv)
    try:
        from bot.config import load_settings

        settings = load_settings(args.config)
        handler = _COMMANDS[args.command]
        return handler(args, settings)
    except ConfigError as exc:
        print(f"yessindo-bot: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"yessindo-bot: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


# -- subcommands -----------------------------------------------------------------------------

def cmd_classify(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.assemble import load_matcher

    matcher = load_matcher(settings)
    out = sys.stdout
    for line in _lines(sys.stdin):
        m = matcher.match(line)
        out.write(json.dumps({"intent": m.intent, "confidence": round(m.confidence, 4), "lang": m.lang,
                              "topic": m.topic}) + "\n")
    out.flush()
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.assemble import load_matcher
    from bot.intents import evaluate_file, format_report

    path = Path(args.file)
    if not path.is_file():
        print(f"yessindo-bot: eval: no such file: {path}", file=sys.stderr)
        return EXIT_FAIL
    matcher = load_matcher(settings)
    try:
        report = evaluate_file(matcher, path)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"yessindo-bot: eval: {path}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    if args.json:
        print(json.dumps(report.as_dict() if hasattr(report, "as_dict") else report.__dict__, default=str, ensure_ascii=False))
    else:
        print(format_report(report))
    return EXIT_OK


def cmd_hours(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.business_hours import BusinessCalendar

    cal = BusinessCalendar(settings.hours)
    at = _parse_at(args.at, settings.hours.timezone) or datetime.now(cal.tz)
    print(json.dumps(cal.status(at), ensure_ascii=False))
    return EXIT_OK


def cmd_init_db(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.serve import warm_intent_model
    from handoff.store import Store

    Store(settings.database, group=settings.storage_group or None).close()
    print(f"database ready: {settings.database}")
    warm_intent_model(settings)
    return EXIT_OK


def cmd_train(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    """Train the intent model from knowledge/intents/ now (it is otherwise trained at the
    first start after the data changed) and say where it is kept."""
    import time

    from bot.intents import IntentMatcher, cache
    from bot.intents.corpus import build_corpus, phrase_groups

    directory = settings.knowledge_dir / "intents"
    t0 = time.perf_counter()
    m = IntentMatcher.load(directory, cache_directory=cache.cache_dir() if not args.force else _fresh_dir())
    corpus = build_corpus(m.lexicon, phrase_groups(directory))
    print(f"intent model: {len(corpus.examples)} training messages, {len(m.model.vocab)} features, "
          f"{len(m.model.topic.classes)} topics; ready in {time.perf_counter() - t0:.1f} s")
    where = cache.cache_dir()
    print(f"cached in {where}" if where else "no writable cache folder: set YESSINDO_CACHE_DIR")
    if args.force and where is not None:
        m.model.save(where / f"intent-model-{m.model.key[:32]}.npz")
    return EXIT_OK


def _fresh_dir() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="yessindo-train-"))


def cmd_queue(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from handoff.store import Store

    store = Store(settings.database)
    tz = ZoneInfo(settings.hours.timezone)
    if args.queue_command != "list":
        return _queue_action(args, settings, store, tz)
    if args.queue_command == "list":
        if args.json:
            offset = fixed_offset(tz)
            if offset is not None:
                out = sys.stdout
                out.write("[")
                for i, text in enumerate(store.tickets_json(args.status, offset)):
                    out.write("," + text if i else text)
                out.write("]\n")
            else:
                print(json.dumps([t.as_json(tz) for t in store.tickets(status=args.status)], ensure_ascii=False))
        else:
            tickets = store.tickets(status=args.status)
            if not tickets:
                print("no tickets")
            for t in tickets:
                due = t.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
                print(f"{t.ref}  {t.status:<8} {t.priority:<10} {t.intent:<13} {t.channel:<8} due {due}  "
                      f"{t.agent or '-':<10} {mask_customer(t.customer)}")
    return EXIT_OK


def fixed_offset(tz):  # type: ignore[no-untyped-def]  # -> datetime.timedelta | None
    """The zone's one UTC offset, when it has had a single one since 2000 (Asia/Jakarta:
    +07:00 since 1964), so SQLite can shift times itself; None for zones with DST."""
    from datetime import timedelta

    probes = [datetime(year, month, 1, tzinfo=tz).utcoffset() for year in (2000, 2013, datetime.now().year)
              for month in (1, 4, 7, 10)]
    first = probes[0]
    return first if all(p == first for p in probes) and isinstance(first, timedelta) else None


def cmd_serve(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.serve import serve

    if not 0 < args.port < 65536:
        raise ConfigError("--port", "--port", f"not a TCP port: {args.port}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", "--workers", "must be at least 1")
    return serve(settings, args.host, args.port, args.workers)


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
        customer = raw.lower() if "@" in raw else (to_e164(raw) or "")
        if not customer:
            print(f"yessindo-bot: forget: not a phone number or email address: {raw!r}", file=sys.stderr)
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
    since = _parse_at(args.since, settings.hours.timezone) if args.since else None
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


def _queue_action(args: argparse.Namespace, settings, store, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk import Desk, QueueError

    now = datetime.now(tz)
    desk = Desk.from_settings(settings, store)
    action = args.queue_command
    try:
        if action == "claim":
            t = desk.claim(now, args.ref, args.agent, take_over=args.take_over)
            print(f"{t.ref} is now held by {t.agent}; the bot is silent in that conversation")
        elif action == "reply":
            outbox_id = desk.reply(now, args.ref, args.agent, args.text)
            print(f"reply to {args.ref.upper()} queued (outbox {outbox_id})")
        elif action == "release":
            desk.release(now, args.ref, args.agent)
            print(f"{args.ref.upper()} is back in the queue")
        elif action == "resolve":
            t = desk.resolve(now, args.ref, args.agent, args.note, email_to=args.email_to)
            print(f"{t.ref} resolved")
        elif action == "escalate":
            t = desk.escalate(now, args.ref, args.agent, args.reason)
            print(f"{t.ref} is now an escalation for a supervisor, due {t.due_at.astimezone(tz).isoformat()}")
        elif action == "template":
            outbox_id = desk.send_template(now, args.ref, args.agent)
            print(f"template to {args.ref.upper()} queued (outbox {outbox_id})")
        elif action == "email":
            outbox_id = desk.email_customer(now, args.ref, args.agent, args.text, args.to)
            print(f"email for {args.ref.upper()} queued (outbox {outbox_id})")
    except QueueError as exc:
        print(f"yessindo-bot: queue {action}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_agent(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from werkzeug.security import generate_password_hash

    from handoff import queue
    from handoff.store import Store

    action = args.agent_command
    store = Store(settings.database)
    now = datetime.now(ZoneInfo(settings.hours.timezone))
    if action == "list":
        for agent in queue.list_agents(store):
            print(f"{agent.name}  {agent.role}")
        return EXIT_OK
    try:
        if action == "remove":
            released = queue.remove_agent(store, now, args.name)
            print(f"{args.name} removed; {released} ticket(s) back in the queue")
            return EXIT_OK
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < 8:
            print(f"yessindo-bot: agent {action}: the password (one line on stdin) must have at least 8 characters",
                  file=sys.stderr)
            return EXIT_FAIL
        if action == "add":
            queue.add_agent(store, now, args.name, args.role, generate_password_hash(password))
            print(f"{args.role} {args.name} added")
        else:
            queue.set_password(store, now, args.name, generate_password_hash(password))
            print(f"password of {args.name} changed")
    except queue.QueueError as exc:
        print(f"yessindo-bot: agent {action}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def mask_customer(customer: str) -> str:
    """+6282129666065 -> +62821****6065; budi@example.com -> b***@example.com."""
    if "@" in customer:
        name, _, domain = customer.partition("@")
        return f"{name[:1]}***@{domain}"
    if len(customer) > 9:
        return customer[:6] + "****" + customer[-4:]
    return customer[:2] + "***"


def cmd_chat(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.channels.terminal import run_chat

    at = _parse_at(args.at, settings.hours.timezone)
    return run_chat(settings, channel=args.channel, sender=args.sender, at=at, display_name=args.display_name)


def _lines(stream: TextIO):  # type: ignore[no-untyped-def]
    """Lines of a text stream that may hold bytes that are not UTF-8: never crash on them."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        for line in stream:
            yield line.rstrip("\r\n")
        return
    for raw in binary:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


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


_COMMANDS: dict[str, Callable[..., int]] = {
    "classify": cmd_classify,
    "eval": cmd_eval,
    "hours": cmd_hours,
    "init-db": cmd_init_db,
    "train": cmd_train,
    "queue": cmd_queue,
    "chat": cmd_chat,
    "forget": cmd_forget,
    "serve": cmd_serve,
    "poll-email": cmd_poll_email,
    "agent": cmd_agent,
    "purge": cmd_purge,
    "events": cmd_events,
    "backup": cmd_backup,
    "doctor": cmd_doctor,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
