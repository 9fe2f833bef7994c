"""Turn one raw RFC 5322 mail into a `ParsedMail`, whatever arrives.

`parse_mail` never raises and never runs away: real inboxes hold wrong or unknown
charsets, broken MIME, HTML-only mail, bounces, garbage and hostile mail built to
exhaust a parser, and one strange mail must never stall the mails after it. Every step
is bounded (`ParseLimits`: parts, nesting, output, attachment bytes per mail) and counted
on a `Budget` (work steps and CPU seconds); a mail that spends it is returned as "could
not read" (`parse_ok` False) with the header fields read so far. What could not be read
cleanly is written down in `problems`.

The work is split by job: `mail_charset` (bytes and encoded words to text, control
characters), `mail_headers` (sender, addresses, ids, date), `mail_mime` (the MIME walk
and attachments), `mail_html` (HTML to text), `mail_quoted` (quoted history). This module
keeps the public names other code imports. Standard library only.
"""
from __future__ import annotations

import re
from dataclasses import replace
from email.message import Message
from email.parser import BytesFeedParser, BytesParser
from email.policy import compat32

from bot.channels.email_auto import AUTO_HEADERS, wanted_header
from bot.channels.mail_charset import decode_words, strip_controls, unsurrogate
from bot.channels.mail_headers import (
    all_ids, canonical_address, first_id, fix_obsolete_header_names, header_map, parse_addresses,
    parse_date, pick_sender, synthetic_id,
)
from bot.channels.mail_html import html_to_text, tidy
from bot.channels.mail_mime import MimeWalk, content_type
from bot.channels.mail_quoted import strip_quoted
from bot.channels.mail_types import Budget, BudgetExceeded, MailAttachment, ParsedMail, ParseLimits

__all__ = [
    "MailAttachment", "ParsedMail", "ParseLimits", "parse_mail", "strip_quoted", "html_to_text",
    "decode_words", "canonical_address", "strip_controls", "LOOP_HEADERS",
]

# Headers that `email_loop.automatic_reason` looks at (RFC 3834 and friends): the list lives
# with the rules in `email_auto` (`wanted_header` also takes name prefixes).
LOOP_HEADERS: tuple[str, ...] = AUTO_HEADERS
_MAX_LOOP_HEADERS = 64

# Any of these present means the parser found a real mail header block.
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "mime-version",
        "content-type", "return-path", "reply-to", "in-reply-to", "references",
        "delivered-to", "sender", "content-transfer-encoding", "x-mailer", "user-agent",
    }
)
_FEED_CHUNK = 64 * 1024
_BOUNDARY_DECL = re.compile(rb"boundary\s*=", re.IGNORECASE)


def _readable(text: str) -> bool:
    if not text.strip():
        return False
    sample = text[:4000]
    good = sum(1 for ch in sample if ch.isprintable() or ch in "\n\t")
    return good / len(sample) >= 0.9 and "\ufffd" not in sample[:200]


def parse_mail(
    raw: bytes,
    *,
    max_text_chars: int | None = None,
    keep_attachment_bytes: int | None = None,
    max_attachment_bytes_per_mail: int | None = None,
    limits: ParseLimits | None = None,
) -> ParsedMail:
    """Parse one raw mail. Never raises: problems are noted, and `parse_ok` is False only
    when nothing usable came out (no mail header at all, the parser itself failed, or the
    mail spent its work/time budget: "could not read")."""
    limits = limits or ParseLimits()
    overrides = {
        k: v for k, v in (
            ("max_text_chars", max_text_chars),
            ("keep_attachment_bytes", keep_attachment_bytes),
            ("max_attachment_bytes_per_mail", max_attachment_bytes_per_mail),
        ) if v is not None
    }
    if overrides:
        limits = replace(limits, **overrides)
    try:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        raw = bytes(raw)
    except Exception as exc:  # noqa: BLE001
        return _unparseable(b"", f"unparseable: input is not bytes ({type(exc).__name__})")
    try:
        return _Parse(raw, limits).run()
    except Exception as exc:  # noqa: BLE001 - the promise is: never raise
        return _unparseable(raw, f"unparseable: {type(exc).__name__}: {strip_controls(str(exc))}"[:300])


def _unparseable(raw: bytes, note: str, **fields: object) -> ParsedMail:
    base = dict(
        message_id=synthetic_id(raw), sender="", sender_name=None, to=(), subject="", text="", new_text="",
        in_reply_to=None, references=(), date=None, attachments=(), headers={}, problems=(note,), parse_ok=False,
    )
    base.update(fields)
    return ParsedMail(**base)  # type: ignore[arg-type]


class _Parse:
    """One parse: header fields first, then the body, all on one budget."""

    def __init__(self, raw: bytes, limits: ParseLimits) -> None:
        self.raw = raw
        self.limits = limits
        self.budget = Budget(limits.time_budget_s, limits.max_steps)
        self.problems: list[str] = []
        self.fields: dict[str, object] = {}

    def run(self) -> ParsedMail:
        try:
            return self._run()
        except BudgetExceeded as exc:
            note = f"could not read: {exc}; the mail was set aside for a person"
            fields = dict(self.fields)
            fields["problems"] = tuple(dict.fromkeys([note, *self.problems]))
            return _unparseable(self.raw, note, **fields)

    def _message(self, source: bytes, headers_only: bool) -> Message:
        if headers_only:
            return BytesParser(policy=compat32).parsebytes(source, headersonly=True)
        feeder = BytesFeedParser(policy=compat32)
        for start in range(0, len(source), _FEED_CHUNK):
            feeder.feed(source[start:start + _FEED_CHUNK])
            self.budget.tick(_FEED_CHUNK // 64)
        return feeder.close()

    def _run(self) -> ParsedMail:
        raw, limits, problems = self.raw, self.limits, self.problems
        if not raw.strip():
            return _unparseable(raw, "unparseable: empty message")
        source = raw
        if raw[:1].isspace():
            # Blank lines or spaces before the headers would turn every header into body text.
            source = raw.lstrip()
            problems.append("whitespace before the headers ignored")
        source, fixed = fix_obsolete_header_names(source)
        if fixed:
            problems.append("header name with whitespace before its colon (obsolete syntax) read")
        declared = sum(1 for _ in zip(range(limits.max_boundaries + 1), _BOUNDARY_DECL.finditer(source)))
        too_nested = declared > limits.max_boundaries
        msg = self._message(source, headers_only=too_nested)
        h = header_map(msg, limits.max_header_chars)
        if "to" in h:
            h["to"] = unsurrogate(next((str(v) for k, v in msg.raw_items() if k.lower() == "to"), "")[: limits.max_to_chars])
        has_headers = bool(set(h) & _KNOWN_HEADERS)

        message_id = first_id(h.get("message-id"))
        if message_id is None:
            message_id = synthetic_id(raw)
        sender_name, sender = pick_sender(h.get("from"), h.get("sender"), problems)
        to_text = (h.get("to") or "")[: limits.max_to_chars]
        to = tuple(dict.fromkeys(addr for _, addr in parse_addresses(to_text, problems, "To")))
        headers: dict[str, str] = {}
        for name, value in h.items():
            if len(headers) < _MAX_LOOP_HEADERS and wanted_header(name):
                headers[name] = decode_words(value)
        top_type = content_type(msg)
        if top_type == "multipart/report":
            headers["content-type"] = decode_words(h.get("content-type") or top_type)
        self.fields = dict(
            message_id=message_id, sender=sender, sender_name=sender_name, to=to,
            subject=decode_words(h.get("subject"), problems),
            in_reply_to=first_id(h.get("in-reply-to")), references=all_ids(h.get("references")),
            date=parse_date(h.get("date")), headers=headers,
        )
        if too_nested:
            note = f"could not read: more than {limits.max_boundaries} multipart boundaries declared: body not read"
            return _unparseable(raw, note, **{**self.fields, "problems": tuple(dict.fromkeys([note, *problems]))})

        walk = MimeWalk(limits, self.budget, problems, html_cap=max(200_000, 50 * limits.max_text_chars))
        walk.part(msg)
        for defect in getattr(msg, "defects", [])[:3]:
            problems.append(f"MIME defect: {type(defect).__name__}")
        del msg
        max_text = limits.max_text_chars
        text = "\n\n".join(t for t in walk.texts if t.strip())
        cut = len(text) > 2 * max_text + 1000
        if cut:
            text = text[: 2 * max_text + 1000]  # no need to tidy what will be dropped
        text = tidy(text)

        parse_ok = True
        if not has_headers:
            parse_ok = False
            problems.append("unparseable: no mail headers found")
            if not _readable(text):
                text = ""
        if cut or len(text) > max_text:
            text = text[:max_text]
            problems.append(f"body truncated at {max_text} characters")
        try:
            new_text = strip_quoted(text) if text else ""
        except Exception:  # noqa: BLE001
            new_text = text
        return ParsedMail(
            **self.fields,  # type: ignore[arg-type]
            text=text,
            new_text=new_text,
            attachments=tuple(walk.attachments),
            problems=tuple(dict.fromkeys(problems)),
            parse_ok=parse_ok,
        )
