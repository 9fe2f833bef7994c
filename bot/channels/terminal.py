"""The terminal channel behind `yessindo-bot chat`: a customer typing lines.

Interactive on a terminal (a prompt, the bot's answer under it). When stdin is
not a terminal it reads one customer message per line and prints each reply
followed by one empty line, so scripts and tests can drive a conversation.

With `--channel email` and piped input, one message is one whole mail: every line
up to a line holding only a dot (`.`, SMTP's own end-of-mail mark) or the end of
the input, blank lines included. A first line `Subject: ...` is the mail's subject.
"""
from __future__ import annotations

import re
import sys
from datetime import datetime
from typing import TextIO

from bot.models import Message, Reply

DEFAULT_SENDERS = {"whatsapp": "+6280000000001", "email": "pelanggan@example.com"}


MAIL_END = "."


class TerminalChannel:
    def __init__(self, channel: str, sender: str, out: TextIO, fixed_at: datetime | None, clock,  # type: ignore[no-untyped-def]
                 display_name: str | None = None) -> None:
        self.name = channel
        self.sender = sender
        self.out = out
        self.fixed_at = fixed_at
        self.clock = clock
        self.display_name = display_name
        self._n = 0

    def parse_inbound(self, text: str) -> Message:
        self._n += 1
        subject = None
        if self.name == "email":
            first, _, rest = text.partition("\n")
            if first.lower().startswith("subject:"):
                subject, text = first[8:].strip() or None, rest
        return Message(
            channel=self.name,  # type: ignore[arg-type]
            customer=self.sender,
            text=text.strip("\n"),
            received_at=self.fixed_at or self.clock(),
            subject=subject,
            display_name=self.display_name,
            meta=(("source", "terminal"),),
        )

    def send(self, reply: Reply) -> None:
        # An empty line ends a reply, so a reply itself never holds one.
        text = re.sub(r"\n\s*\n", "\n", reply.text.strip())
        self.out.write(text + "\n\n")
        self.out.flush()


def _read_mail(stream) -> str | None:  # type: ignore[no-untyped-def]
    """One mail from piped input: lines up to a lone "." or the end; None at the end."""
    lines: list[str] = []
    while True:
        raw = stream.readline()
        if not raw:
            return "\n".join(lines) if lines else None
        line = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).rstrip("\r\n")
        if line == MAIL_END:
            return "\n".join(lines)
        lines.append(line)


def run_chat(settings, channel: str, sender: str | None, at: datetime | None,  # type: ignore[no-untyped-def]
             display_name: str | None = None) -> int:
    from bot.assemble import build_bot

    bot = build_bot(settings, clock=(lambda: at) if at else None)
    term = TerminalChannel(channel, sender or DEFAULT_SENDERS[channel], sys.stdout, at, bot.clock, display_name)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        print(f"Yessindo bot ({channel}, as {term.sender}). Type a message; Ctrl-D or /quit to leave.\n")
    stream = getattr(sys.stdin, "buffer", None)
    while True:
        if interactive:
            try:
                line = input("Anda: ")
            except EOFError:
                print()
                return 0
            if line.strip() in ("/quit", "/exit"):
                return 0
        elif channel == "email":
            mail = _read_mail(stream if stream is not None else sys.stdin)
            if mail is None:
                return 0
            line = mail
        else:
            raw = stream.readline() if stream is not None else sys.stdin.readline()
            if not raw:
                return 0
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            line = line.rstrip("\r\n")
        outcome = bot.handle(term.parse_inbound(line))
        if interactive and outcome.replies:
            sys.stdout.write("Yessindo: ")
        for reply in outcome.replies:
            term.send(reply)
        if not outcome.replies and not interactive:
            term.out.write("\n")
            term.out.flush()
