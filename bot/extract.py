"""Pick out order numbers, emails and phone numbers; find and mask secrets.

Secrets (OTP codes, PINs, passwords, full card numbers) must never rest in our
database or logs: the customer gets a warning and we keep a masked copy
(`mask_secrets`, in bot/masking.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.masking import Masked, luhn_ok, mask_secrets

__all__ = ["Extracted", "Masked", "extract", "mask_secrets", "luhn_ok", "to_e164"]

ORDER_RE = re.compile(
    r"\b(?:INV|ORD|ORDER|YS|TRX|SO|PO)[-/]?\d[\d\-/]{3,24}\d\b"  # INV-20261102-0042, ORD12345
    r"|\b[A-Z]{2,5}-\d{6,}\b",
    re.IGNORECASE,
)
# A bare number counts as an order number only right after an order word.
ORDER_WORD_NUMBER_RE = re.compile(
    r"\b(?:order|pesanan|pesenan|invoice|inv|no\.?\s*pesanan|nomor\s+pesanan|no\.?\s*order|resi|transaksi)"
    r"\s*(?:no\.?|nomor|number|#|:)?\s*#?(\d{4,20})\b",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
PHONE_RE = re.compile(r"(?<![\d+])(?:\+?62[\s\-]?|0)8\d[\d\s\-.]{6,14}\d(?!\d)")


@dataclass(frozen=True)
class Extracted:
    order_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in (("order_numbers", self.order_numbers), ("emails", self.emails),
                                        ("phones", self.phones)) if v}

    def __bool__(self) -> bool:
        return bool(self.order_numbers or self.emails or self.phones)


def to_e164(raw: str, default_country: str = "62") -> str | None:
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        return "+" + digits if 8 <= len(digits) <= 15 else None
    if digits.startswith("0"):
        digits = default_country + digits[1:]
    if not digits.startswith(default_country):
        return None
    return "+" + digits if 10 <= len(digits) <= 15 else None


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def extract(text: str) -> Extracted:
    """Order numbers, emails and phone numbers mentioned in the text."""
    orders = [m.group(0).upper() for m in ORDER_RE.finditer(text)]
    orders += [m.group(1) for m in ORDER_WORD_NUMBER_RE.finditer(text)]
    emails = [m.group(0).lower() for m in EMAIL_RE.finditer(text)]
    phones = [p for p in (to_e164(m.group(0)) for m in PHONE_RE.finditer(text)) if p]
    return Extracted(_unique(orders), _unique(emails), _unique(phones))
