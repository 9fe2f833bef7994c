"""Pick out order numbers, emails and phone numbers; find and mask secrets.

Secrets (OTP codes, passwords, full card numbers) must never rest in our
database or logs: the customer gets a warning and we keep a masked copy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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

OTP_RE = re.compile(
    r"\b(?:otp|kode\s*(?:otp|verifikasi|verif|aktivasi|keamanan)?|code|verification\s+code|pin|token)"
    r"\s*(?:nya|saya|ku|is|adalah|:|=|-)*\s*(\d{4,8})\b",
    re.IGNORECASE,
)
PASSWORD_RE = re.compile(
    r"\b(?:password|passwd|pass|pwd|pw|kata\s*sandi|sandi)\b((?:\s*(?:nya|saya|ku|my|is|adalah|:|=|-))*)\s*(\S{4,})",
    re.IGNORECASE,
)
CARD_RE = re.compile(r"(?<![\d+])[3-6]\d{3}(?:[\s\-]?\d{2,4}){3,4}(?!\d)")

_NOT_A_PASSWORD = frozenset({
    "saya", "lupa", "reset", "salah", "nya", "baru", "lama", "tidak", "gak", "ga", "nggak", "nya?",
    "sudah", "udah", "udh", "belum", "blm", "bisa", "gimana", "gmn", "my", "the", "reset?", "forgot",
    "akun", "untuk", "buat", "yang", "yg", "di", "ke", "dan", "sama", "terus", "masih", "again",
    "doesn't", "does", "not", "isn't", "is", "was", "wrong", "change", "ganti", "diganti", "hilang",
})


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


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


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...] = field(default_factory=tuple)  # "otp", "password", "card"


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


def mask_secrets(text: str) -> Masked:
    """Replace OTP codes, passwords and card numbers with asterisks (keeping the card's last 4)."""
    kinds: list[str] = []

    def otp(m: re.Match[str]) -> str:
        kinds.append("otp")
        start, end = m.span(1)
        return m.group(0)[: start - m.start()] + "*" * (end - start) + m.group(0)[end - m.start():]

    def password(m: re.Match[str]) -> str:
        secret = m.group(2)
        if secret.lower().strip(".,!?") in _NOT_A_PASSWORD:
            return m.group(0)
        # A plain lower-case word is only a password after an explicit "is"/":"/"adalah".
        explicit = re.search(r"is|adalah|:|=", m.group(1) or "")
        looks_secret = re.search(r"[\d\W_]", secret) or secret[1:] != secret[1:].lower()
        if not (explicit or looks_secret):
            return m.group(0)
        kinds.append("password")
        start = m.start(2) - m.start()
        return m.group(0)[:start] + "********"

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
            return m.group(0)
        kinds.append("card")
        return "**** **** **** " + digits[-4:]

    masked = CARD_RE.sub(card, text)
    masked = OTP_RE.sub(otp, masked)
    masked = PASSWORD_RE.sub(password, masked)
    return Masked(masked, _unique(kinds))
