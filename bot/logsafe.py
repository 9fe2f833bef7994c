"""Logging that keeps personal data out: phone numbers and email addresses masked in
every record, whatever logger wrote it. Message bodies are never logged at INFO."""
from __future__ import annotations

import logging
import re

# +6282129666065 -> +62821****6065 (9 to 15 digits: never a date or an order number)
_PHONE = re.compile(r"(?<![\w+])(\+?\d{5})\d{2,8}(\d{4})(?!\d)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})\b")


def mask(text: str) -> str:
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record as it is
            return True
        record.msg, record.args = mask(message), ()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
