"""`yessindo-bot queue ...` and `agent ...`: the human queue and its people from the command line."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from bot.errors import EXIT_FAIL, EXIT_OK
from bot.logsafe import mask_address


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


def _queue_action(args: argparse.Namespace, settings, store, tz) -> int:  # type: ignore[no-untyped-def]
    from bot.desk import Desk, QueueError

    now = datetime.now(tz)
    desk = Desk.from_settings(settings, store)
    action = args.queue_command
    from bot.cli_plugins import desk_cli_modules

    for module in desk_cli_modules():  # queue note, queue assign, ... (the desk's own modules)
        if action in module.QUEUE_ACTIONS:
            return module.QUEUE_ACTIONS[action](args, settings, store, desk, now, tz)  # type: ignore[no-any-return]
    if action == "reply" and getattr(args, "canned", None):
        from bot.cli_canned import reply_canned

        return reply_canned(args, settings, store, desk, now, tz)
    try:
        if action == "claim":
            t = desk.claim(now, args.ref, args.agent, take_over=args.take_over)
            print(f"{t.ref} is now held by {t.agent}; the bot is silent in that conversation")
        elif action == "reply":
            outbox_id = desk.reply(now, args.ref, args.agent, args.text)
            if getattr(outbox_id, "repeat", False):
                print(f"the same reply to {args.ref.upper()} was already sent within the last minute "
                      f"(outbox {outbox_id}); nothing new was queued")
            else:
                print(f"reply to {args.ref.upper()} queued (outbox {outbox_id})")
        elif action == "release":
            desk.release(now, args.ref, args.agent)
            print(f"{args.ref.upper()} is back in the queue")
        elif action == "resolve":
            t = desk.resolve(now, args.ref, args.agent, args.note, email_to=args.email_to,
                             no_reply=getattr(args, "no_reply", False))
            print(f"{t.ref} resolved")
        elif action == "escalate":
            t = desk.escalate(now, args.ref, args.agent, args.reason)
            print(f"{t.ref} is now an escalation for a supervisor, due {t.due_at.astimezone(tz).isoformat()}")
        elif action == "template":
            outbox_id = desk.send_template(now, args.ref, args.agent)
            print(f"template to {args.ref.upper()} queued (outbox {outbox_id})")
        elif action == "email":
            outbox_id = desk.email_customer(now, args.ref, args.agent, args.text, args.to)
            if getattr(outbox_id, "repeat", False):
                print(f"the same email for {args.ref.upper()} was already sent within the last minute "
                      f"(outbox {outbox_id}); nothing new was queued")
            else:
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
        return mask_address(customer)
    if len(customer) > 9:
        return customer[:6] + "****" + customer[-4:]
    return customer[:2] + "***"
