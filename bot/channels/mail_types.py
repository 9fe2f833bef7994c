"""The parsed-mail records, the hard limits of one parse, and its work budget.

Every limit here exists because some real or hostile mail needed it: a parse must end in
bounded time and memory whatever arrives, and what was cut is always noted in `problems`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

__all__ = ["MailAttachment", "ParsedMail", "ParseLimits", "Budget", "BudgetExceeded"]


@dataclass(frozen=True)
class MailAttachment:
    filename: str | None
    content_type: str
    size: int
    data: bytes | None  # None when over a keep limit (per attachment or per mail)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str
    sender_name: str | None
    to: tuple[str, ...]
    subject: str
    text: str
    new_text: str
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    attachments: tuple[MailAttachment, ...]
    headers: dict[str, str]
    problems: tuple[str, ...]
    parse_ok: bool


@dataclass(frozen=True)
class ParseLimits:
    """Hard caps of one parse. The defaults hold for a busy support inbox; `parse_mail` takes
    overrides (the per-mail attachment total comes from `[email] max_attachment_bytes_per_mail`)."""

    max_text_chars: int = 20_000
    keep_attachment_bytes: int = 5 * 1024 * 1024  # one attachment larger than this: size kept, bytes dropped
    max_attachment_bytes_per_mail: int = 10 * 1024 * 1024  # bytes kept over all attachments of a mail
    max_parts: int = 1000  # MIME parts walked; more are not read
    max_mime_depth: int = 40  # multipart nesting walked
    max_boundaries: int = 200  # multipart declarations in one mail before the body is not read at all
    max_html_depth: int = 20  # list / blockquote nesting the HTML converter follows
    max_attachments_listed: int = 500  # attachments recorded (name, type, size) per mail
    max_header_chars: int = 4_000  # one header value (Subject, From...) read at most this long
    max_to_chars: int = 16_000  # the To header, read at most this long
    time_budget_s: float = 5.0  # CPU of one parse; over it the mail is "could not read"
    max_steps: int = 20_000_000  # deterministic work units (HTML tokens, output characters, parts)


class BudgetExceeded(Exception):
    """Raised inside a parse when its time or work budget is spent; `parse_mail` turns it into
    a "could not read" result."""


class Budget:
    """A deterministic step counter plus a CPU-time deadline, checked every 4096 steps."""

    __slots__ = ("steps", "max_steps", "deadline", "_next_check", "seconds")

    def __init__(self, seconds: float = 5.0, max_steps: int = 20_000_000) -> None:
        self.steps = 0
        self.max_steps = max_steps
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds
        self._next_check = 0

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps >= self._next_check:
            self._next_check = self.steps + 4096
            self.check()

    def check(self) -> None:
        if self.steps > self.max_steps:
            raise BudgetExceeded(f"work budget of {self.max_steps} steps spent")
        if time.thread_time() > self.deadline:
            raise BudgetExceeded(f"time budget of {self.seconds:g} s spent")
