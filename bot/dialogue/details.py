"""The details a customer gives: order number, tracking number, recipient's name, email,
phone, product, size or colour, payment method, where a refund should go, voucher code,
photos, a new address. And whether a message is *only* a detail ("atas nama Sri
Wahyuni", "rina@example.com", a link), which fills the open case instead of being read
as a question about the shop.

Pure functions over text; `asked` (the details the bot is waiting for) lets a bare
answer count: after "nama penerimanya siapa?" a reply "Sri Wahyuni" is a name, and
after "nomor pesanannya?" a reply "2611XYZ771" is an order number in a format the
shop's patterns do not know. The patterns live in patterns.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.extract import EMAIL_RE, PHONE_RE, extract, to_e164

from .patterns import (ADDRESS_RE, CODE_RE, CORRECTION_RE, DANA_WALLET_RE, EXCHANGE_TARGET_RE, FILLER, INTL_PHONE_RE,
                       NAME_STOP, NAME_WORD_RE, NEW_ADDRESS_RE, NOT_AN_ANSWER, PAYMENT_METHODS, PAYMENT_RE,
                       RECIPIENT_RE, REFUND_TO_RE, SPACED_ORDER_RE, TICKET_RE, TRACKING_RE, URL_RE, VARIANT_RE,
                       VOUCHER_RE)


@dataclass(frozen=True)
class Details:
    """What one message gives, by kind (each a tuple of values, in order of appearance).
    `correction`: the customer corrects a detail given before ("salah ketik, yang benar ...")."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    correction: bool = False

    def get(self, kind: str) -> tuple[str, ...]:
        return self.values.get(kind, ())

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.values.items() if v)

    def __bool__(self) -> bool:
        return any(self.values.values())


def _clean_name(raw: str) -> str | None:
    words = []
    for w in raw.split():
        if w.lower().strip(".,") in NAME_STOP:
            break
        words.append(w.strip(".,"))
    name = " ".join(words).strip()
    if len(name) < 2 or not any(c.isalpha() for c in name):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in name.split())


def _bare_name(text: str) -> str | None:
    """A reply that is only a person's name (1-4 words, letters only, not ordinary words)."""
    words = text.strip().strip(".!").split()
    if not 1 <= len(words) <= 4 or all(len(w) < 3 for w in words):
        return None
    if any(not NAME_WORD_RE.fullmatch(w) for w in words):
        return None
    if any(w.lower() in FILLER or w.lower() in NAME_STOP for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def find_details(text: str, *, photos: int = 0, asked: tuple[str, ...] = (), intent: str = "unknown",
                 topic: str | None = None, product_words: frozenset[str] = frozenset()) -> Details:
    """Every detail in the message. `photos`: images or videos attached to it. A bare
    name or product counts only when the bot asked for it and the matcher found no
    other meaning (`intent`) in the message ("halo" is not a name). `topic` and
    `product_words` (the product nouns the matcher knows) let a question carry its own
    detail: "sepatu nike ukuran 42 ready?" names the product, "ganti alamat ke Jl. ..."
    the new address."""
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        value = value.strip()
        if value and value not in found.setdefault(kind, []):
            found[kind].append(value)

    rest = TICKET_RE.sub(" ", text)  # our own ticket numbers (YS-000123) are no order numbers
    for m in SPACED_ORDER_RE.finditer(text):
        add("order_number", f"{m.group(1).upper()}-{m.group(2)}-{m.group(3)}")
        rest = rest.replace(m.group(0), " ")
    for m in TRACKING_RE.finditer(rest):
        code = (m.group(1) or m.group(2)).upper()
        if sum(ch.isdigit() for ch in code) >= 6:
            add("tracking_number", code)
            rest = rest.replace(m.group(0), " ")
    basic = extract(rest)
    for v in basic.order_numbers:
        add("order_number", v)
    for v in basic.emails:
        add("email", v)
    for v in basic.phones:
        add("phone", v)
    for m in INTL_PHONE_RE.finditer(rest):
        e164 = to_e164(m.group(0))
        if e164:
            add("phone", e164)
    for m in RECIPIENT_RE.finditer(text):
        name = _clean_name(m.group(1))
        if name and "@" not in name:
            add("recipient_name", name)
    for m in URL_RE.finditer(text):
        add("product", m.group(0).rstrip(".,)"))
    target = EXCHANGE_TARGET_RE.search(text)
    if target:
        add("variant", target.group(1))
    else:
        for m in VARIANT_RE.finditer(text):
            add("variant", m.group(0).strip())
    for m in VOUCHER_RE.finditer(text):
        add("voucher", m.group(1))
    refund_to = REFUND_TO_RE.search(text) is not None
    for m in PAYMENT_RE.finditer(text):
        key = m.group(1).lower()
        if key == "dana" and not DANA_WALLET_RE.search(text):
            continue
        add("refund_to" if refund_to else "payment_method", PAYMENT_METHODS[key])
    m = NEW_ADDRESS_RE.search(text)
    if m:
        add("address", m.group(1).strip())
    elif ("address" in asked or topic == "change_address") and len(ADDRESS_RE.findall(text)) >= 2:
        first = ADDRESS_RE.search(text)
        add("address", text[first.start():].strip()[:300] if first else text.strip()[:300])
    if photos:
        add("photo", f"{photos} file")
    if intent == "product" and "product" not in found and product_words:
        words = set(re.findall(r"[^\W\d_]+", text.lower()))
        if words & product_words:
            add("product", " ".join(text.split())[:120])
    _bare_answers(TICKET_RE.sub(" ", text).strip(), found, add, asked, intent)
    return Details({k: tuple(v) for k, v in found.items()}, correction=bool(CORRECTION_RE.search(text)))


def _bare_answers(stripped: str, found, add, asked: tuple[str, ...], intent: str) -> None:  # type: ignore[no-untyped-def]
    """A reply that is only the detail the bot asked for."""
    if "order_number" in asked and "order_number" not in found:
        codes = [c for c in CODE_RE.findall(stripped) if sum(ch.isdigit() for ch in c) >= 3
                 and not to_e164(c) and "@" not in c]
        if len(codes) == 1 and len(stripped.split()) <= 6:
            add("order_number", codes[0].upper())
    plain_words = re.findall(r"[^\W_]+", stripped.lower())
    if not plain_words or any(w in NOT_AN_ANSWER for w in plain_words):
        return
    if "recipient_name" in asked and "recipient_name" not in found and not found and intent == "unknown":
        name = _bare_name(stripped)
        if name:
            add("recipient_name", name)
    if "product" in asked and "product" not in found and not found and intent in ("unknown", "product") \
            and 1 <= len(stripped.split()) <= 8 and "?" not in stripped:
        add("product", stripped[:200])


def is_detail_only(text: str, details: Details, intent: str = "unknown") -> bool:
    """True when the message holds details and nothing else: no question to answer. One
    word more is allowed when the matcher found no question in it either ("ini kak
    INV-...", "penerima: Sri Wahyuni, makasih")."""
    if not details:
        return False
    rest = SPACED_ORDER_RE.sub(" ", text)
    for rx in (URL_RE, EMAIL_RE, PHONE_RE, INTL_PHONE_RE, RECIPIENT_RE, VARIANT_RE, NEW_ADDRESS_RE, TRACKING_RE):
        rest = rx.sub(" ", rest)
    # (a product named inside a question is no reason to skip the question: only links go)
    for kind in ("order_number", "address", "recipient_name", "payment_method", "refund_to", "voucher", "variant"):
        for v in details.get(kind):
            rest = re.sub(re.escape(v), " ", rest, flags=re.IGNORECASE)
    words = [w for w in (_stem(w) for w in re.findall(r"[^\W_]+", rest.lower())) if w not in FILLER and not w.isdigit()]
    if not words:
        return True
    return len(words) == 1 and "?" not in rest and intent in ("unknown", "greeting", "thanks", "contact")


def _stem(word: str) -> str:
    for suffix in ("nya", "ku", "mu"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
