"""Logging that keeps personal data out, in every process and every logger.

`install()` (called first thing by every `yessindo-bot` subcommand and again in each
gunicorn worker) masks each record when it is made, whatever logger made it and
whatever handler prints it: the message with its arguments (tuple or dict), the
exception text and the stack. Phone numbers are masked in plain, spaced and
URL-encoded forms (`%2B62...`, `whatsapp%3A%2B62...`), email addresses also when
non-ASCII (`jdöe@mächine.example`) or URL-encoded (`%40`), and secrets (OTP, PIN,
password, card numbers) as `mask_secrets` finds them. Libraries that log request
details at INFO (twilio's HTTP client: URLs with the customer's number) are raised to
WARNING. Message bodies are never logged at INFO by the bot itself.
"""
from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from typing import Any

from bot.masking import mask_secrets

# Loggers that log customers' data at INFO or DEBUG: only their warnings are kept.
CHATTY_LOGGERS = ("twilio.http_client", "twilio", "urllib3", "imapclient", "imapclient.imaplib")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_PLUS = r"(?:\+|%2[Bb])"
# +6282129666065 -> +62821****6065; %2B6282129666065 -> %2B62821****6065 (9 to 15 digits:
# never a date, a time or an order number, which carry letters or fewer digits)
_PHONE_PLUS = re.compile(_PLUS + r"(\d(?:[ .\-]?\d){8,14})(?![\d%])")
_PHONE_BARE = re.compile(r"(?<![\w+%\-/.])(\d{9,15}|(?:0|62[ .\-]?)\d{1,3}(?:[ .\-]\d{2,5}){2,4})(?![\w\-/]|\.\d)")
_DIGIT_PAIRS = re.compile(r"\d\d\d")  # a bare phone number has a run of 3 digits at least
_EMAIL = re.compile(
    r"(?<![\w.%+\-])([^\W_]|[%+\-])[\w.%+\-]*(?:@|%40)((?:[^\W_][\w\-]*\.)+[^\W\d_]{2,})(?![\w\-])",
)


def _phone(prefix: str, raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if not 9 <= len(digits) <= 15:
        return prefix + raw
    return f"{prefix}{digits[:5]}****{digits[-4:]}"


def mask(text: str) -> str:
    """Secrets, phone numbers and email addresses of one log line, masked."""
    if not text:
        return text
    text = mask_secrets(text).text
    if "+" in text or "%2" in text:
        text = _PHONE_PLUS.sub(lambda m: _phone(m.group(0)[: m.start(1) - m.start()], m.group(1)), text)
    if _DIGIT_PAIRS.search(text):
        text = _PHONE_BARE.sub(lambda m: _phone("", m.group(1)), text)
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return text


def mask_phone(number: str) -> str:
    """One known number for a log or a screen: "whatsapp:+6282129666065" -> +62821****6065."""
    digits = number.removeprefix("whatsapp:")
    if len(digits) <= 8:
        return "****"
    return digits[:6] + "****" + digits[-4:]


def mask_address(address: str) -> str:
    """One known address for a log or a screen: budi@example.com -> b***@example.com."""
    local, at, domain = (address or "").partition("@")
    if not at:
        return (local[:1] + "***") if local else "—"
    return f"{local[:1]}***@{domain}"


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Render the record's message now (its args may be a tuple or a dict) and mask it, with
    its exception text and stack; marks the record so it is masked once."""
    if getattr(record, "_yessindo_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: mask what was written
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = mask(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    record._yessindo_masked = True  # type: ignore[attr-defined]
    return record


class MaskingFilter(logging.Filter):
    """On a handler: masks every record it is given (a second line of defence)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_base_factory = logging.getLogRecordFactory()


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return mask_record(_base_factory(*args, **kwargs))


def install(level: int | None = None) -> None:
    """Mask every log record of this process: records are masked as they are made, every
    root handler (one is added on stderr when there is none) and every handler already on
    a named logger gets the filter too, and chatty loggers only pass warnings."""
    if logging.getLogRecordFactory() is not _masking_factory:
        logging.setLogRecordFactory(_masking_factory)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings.warn(...) texts go through the mask too
    sys.excepthook = _masked_excepthook  # an uncaught exception's traceback, masked
    threading.excepthook = _masked_thread_excepthook
    filter_all_handlers()


def _masked_excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    sys.stderr.write(mask("".join(traceback.format_exception(kind, value, tb))))
    sys.stderr.flush()


def _masked_thread_excepthook(args: Any) -> None:
    if args.exc_type is SystemExit or sys.stderr is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(f"Exception in thread {name}:\n"
                     + mask("".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))))
    sys.stderr.flush()


def filter_all_handlers() -> None:
    """Put the masking filter on every handler of the root and of every named logger
    (gunicorn's, a library's) that lacks it."""
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())


def configure_logging(level: int = logging.INFO) -> None:
    """One masked stderr handler on the root at `level` (replacing any other root handler)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    install(level)
