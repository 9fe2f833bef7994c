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

from bot.cli_desk import cmd_agent, cmd_queue, fixed_offset, mask_customer  # noqa: F401  (re-exported)
from bot.cli_ops import cmd_backup, cmd_doctor, cmd_events, cmd_forget, cmd_poll_email, cmd_purge
from bot.cli_ops import parse_at as _parse_at
from bot.cli_plugins import desk_cli_modules
from bot.errors import EXIT_CONFIG, EXIT_FAIL, EXIT_OK, ConfigError, StoreError


def _parser() -> argparse.ArgumentParser:
    # `--config` is taken before the command and after it. The subcommands' copy has no
    # default (SUPPRESS): otherwise its None would overwrite a `--config` given first.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $YESSINDO_CONFIG, ./config.toml, built-in)")

    p = argparse.ArgumentParser(prog="yessindo-bot", description="Yessindo customer-support bot")
    p.add_argument("--config", metavar="PATH", default=None,
                   help="config file (default: $YESSINDO_CONFIG, ./config.toml, built-in)")
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
    s = asub.add_parser("status", parents=[common],
                        help="online (takes new tickets) or away; online picks up waiting tickets")
    s.add_argument("name")
    s.add_argument("status", choices=["online", "away"])
    s.set_defaults(command="agent-status")  # handled in bot/cli_assign.py (a subcommand's default wins)

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
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--text")
    what.add_argument("--canned", metavar="SHORTCUT", help="a saved reply, its variables filled from the ticket")
    s = qsub.add_parser("release", parents=[common], help="give a ticket back to the queue")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s = qsub.add_parser("resolve", parents=[common], help="close a ticket (an escalation needs --note, sent to the customer)")
    s.add_argument("ref")
    s.add_argument("--agent", required=True)
    s.add_argument("--note")
    s.add_argument("--email-to", metavar="ADDRESS",
                   help="email the written result to this address the customer gave (only when you choose it)")
    s.add_argument("--no-reply", action="store_true",
                   help="confirm closing a ticket nobody replied to (no satisfaction question; first response not met)")
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
    for module in desk_cli_modules():  # the agent's desk: canned, search, export, queue note/assign ...
        module.add_parsers(sub, qsub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    from bot.logsafe import install

    install()  # before anything logs: every record of every logger masked (bot/logsafe.py)
    args = _parser().parse_args(argv)
    try:
        from bot.config import load_settings

        settings = load_settings(args.config)
        handler = _COMMANDS.get(args.command) or _desk_command(args.command)
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

def _desk_command(name: str) -> Callable[..., int]:
    for module in desk_cli_modules():
        if name in module.COMMANDS:
            return module.COMMANDS[name]  # type: ignore[no-any-return]
    raise KeyError(name)


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


def cmd_serve(args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from bot.serve import serve

    if not 0 < args.port < 65536:
        raise ConfigError("--port", "--port", f"not a TCP port: {args.port}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", "--workers", "must be at least 1")
    return serve(settings, args.host, args.port, args.workers)


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
