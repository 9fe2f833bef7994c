"""Proof that a live-chat visitor owns the email address or WhatsApp number they typed:
only then is the visitor linked to that address's history, and only then do agents'
replies also go there while the visitor is away (bot/outbound.py).

- Email: a 6-digit code mailed to the address, typed back into the widget.
- WhatsApp: the widget shows a code that the visitor sends FROM that number to the shop's
  WhatsApp; the message arriving from the number (Twilio-signed) is the proof, and it opens
  WhatsApp's 24-hour window, so agents may then write there within WhatsApp's rules.
Codes are kept only as hashes, for 30 minutes.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from handoff.records import parse_iso, utc_iso

CODE_FOR = timedelta(minutes=30)
CODE_ATTEMPTS = 5
PHONE_CODE = re.compile(r"^\s*(?:kode|code)\s*[:#]?\s*(\d{6})\s*[.!]?\s*$", re.IGNORECASE)


def _code_hash(customer: str, target: str, code: str) -> str:
    return hashlib.sha256(f"{customer}|{target}|{code}".encode()).hexdigest()


# -- email: a code mailed there ----------------------------------------------------------------------
def new_code(tx: Any, customer: str, email: str, now: datetime) -> str:
    """A fresh 6-digit code for this visitor and address (kept only as a hash)."""
    code = f"{secrets.randbelow(10**6):06d}"
    tx.conn.execute("UPDATE livechat_visitors SET code_hash = ?, code_expires_at = ?, code_attempts = 0 WHERE customer = ?",
                    (_code_hash(customer, email, code), utc_iso(now + CODE_FOR), customer))
    return code


def check_code(tx: Any, customer: str, code: str, now: datetime) -> str:
    """"ok" (the address is proven and linked), "wrong", "expired" or "none"."""
    row = tx.conn.execute("SELECT email, code_hash, code_expires_at, code_attempts FROM livechat_visitors "
                          "WHERE customer = ?", (customer,)).fetchone()
    if row is None or not row[0] or not row[1]:
        return "none"
    email, digest, expires, attempts = row
    if attempts >= CODE_ATTEMPTS or parse_iso(expires) < now:
        tx.conn.execute("UPDATE livechat_visitors SET code_hash = NULL WHERE customer = ?", (customer,))
        return "expired"
    if not hmac.compare_digest(digest, _code_hash(customer, email, code)):
        tx.conn.execute("UPDATE livechat_visitors SET code_attempts = code_attempts + 1 WHERE customer = ?", (customer,))
        return "wrong"
    known = tx.conn.execute("SELECT 1 FROM conversations WHERE channel = 'email' AND lower(customer) = ? LIMIT 1",
                            (email,)).fetchone()
    tx.conn.execute("UPDATE livechat_visitors SET email_verified_at = ?, linked_customer = ?, code_hash = NULL "
                    "WHERE customer = ?", (tx.now, email if known else None, customer))
    return "ok"


# -- WhatsApp: a code sent from the number ----------------------------------------------------------
def new_phone_code(tx: Any, customer: str, e164: str, now: datetime) -> str:
    code = f"{secrets.randbelow(10**6):06d}"
    tx.conn.execute("UPDATE livechat_visitors SET phone_code_hash = ?, phone_code_expires_at = ? WHERE customer = ?",
                    (_code_hash(customer, e164, code), utc_iso(now + CODE_FOR), customer))
    return code


def phone_code_in(text: str | None) -> str | None:
    """The code in a WhatsApp message that is only "KODE 123456" (any case), else None."""
    m = PHONE_CODE.match(text or "")
    return m.group(1) if m else None


def prove_phone(tx: Any, e164: str, code: str, now: datetime) -> str | None:
    """A WhatsApp message from `e164` carried `code`: the visitor waiting for it (their
    number is now proven), else None. A visitor already proven with this number is
    returned again (Twilio may retry the webhook)."""
    rows = tx.conn.execute(
        "SELECT customer, phone_code_hash, phone_code_expires_at, phone_verified_at FROM livechat_visitors "
        "WHERE phone_e164 = ? AND (phone_code_hash IS NOT NULL OR phone_verified_at IS NOT NULL)", (e164,)).fetchall()
    for customer, digest, expires, verified in rows:
        if digest and parse_iso(expires) >= now and hmac.compare_digest(digest, _code_hash(customer, e164, code)):
            tx.conn.execute("UPDATE livechat_visitors SET phone_verified_at = ?, phone_code_hash = NULL "
                            "WHERE customer = ?", (tx.now, customer))
            return str(customer)
    return None
