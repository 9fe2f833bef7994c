"""Mail-loop protection (RFC 3834): which mails must never get an automatic answer.

`automatic_reason` is asked before any automatic reply. Such mail is still recorded
(an agent may look at it); it just never gets an answer from the bot, so two
auto-responders can never ping-pong, and bounces, mailing lists and out-of-office
notes never receive a reply. The per-sender hourly cap lives with the sender, not here.
"""
from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Iterable

from bot.channels.email_auto import header_reason, sender_reason, text_reason
from bot.channels.email_parse import ParsedMail
from bot.channels.mail_headers import canonical_address

__all__ = ["automatic_reason", "normalise_address"]

_AUTO_TYPES = frozenset({"message/delivery-status", "message/disposition-notification", "message/feedback-report"})

# Subjects of auto-replies and bounces, English and Indonesian (Outlook, Gmail, Yahoo, Exchange,
# Lotus). Most are recognised only at the start of the subject ("Automatic reply: ...",
# "Balasan otomatis: ...") so that a customer's "Kenapa saya dapat balasan otomatis?" is answered.
_AUTO_SUBJECT_START = re.compile(
    r"^\W*(?:"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto(?:matic)?[-\s]?(?:reply|response|responder|answer)"
    r"|autoreply|autoresponse|vacation\s+(?:reply|response|message|notice)|away\s+from\s+(?:the\s+)?office"
    r"|balas(?:an)?\s+otomatis|jawaban\s+otomatis|respons?\s+otomatis|pesan\s+otomatis"
    r"|sedang\s+cuti|(?:sedang\s+)?di\s+luar\s+kantor|(?:sedang\s+)?tidak\s+(?:berada\s+)?di\s+kantor"
    r"|undeliverable|undelivered\s+mail|delivery\s+status\s+notification|delivery\s+failure"
    r"|mail\s+delivery\s+(?:failed|failure|subsystem)|returned\s+mail|failure\s+notice"
    r")\b",
    re.IGNORECASE,
)
_AUTO_SUBJECT_ANY = re.compile(
    r"\b(?:automatic\s+reply|auto-?reply|autoresponder|is\s+out\s+of\s+(?:the\s+)?office"
    r"|out\s+of\s+(?:the\s+)?office\s+(?:reply|autoreply|notice)|delivery\s+status\s+notification"
    r"|balasan\s+otomatis\s*:)",
    re.IGNORECASE,
)
# Out-of-office / auto-reply wording, looked for in the first lines of the body. Present
# tense and first person, so "I was out of the office when the courier came" or "minggu lalu
# saya sedang cuti" from a real customer still gets an answer.
_AUTO_BODY = re.compile(
    r"(?:"
    r"\b(?:i\s+am|i'm|i’m|i\s+will\s+be)\s+(?:currently\s+|now\s+)?(?:out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+|my\s+)?(?:office|desk|e-?mail)|on\s+(?:annual\s+|parental\s+|maternity\s+)?(?:leave|vacation|holiday))"
    r"|\bthis\s+is\s+an\s+auto(?:matic|mated)?(?:ally)?[-\s]?(?:generated\s+)?(?:reply|response|message|e-?mail)"
    r"|\b(?:saya\s+)?sedang\s+(?:tidak\s+(?:berada\s+)?di\s+kantor|berada\s+di\s+luar\s+kantor)"
    r"|\bsaya\s+(?:sedang\s+)?(?:tidak\s+(?:berada\s+)?di\s+kantor|(?:berada\s+)?di\s+luar\s+kantor)\s+(?:hingga|sampai|s/d|s\.d\.|mulai|dari|pada|selama)"
    r"|\bsedang\s+(?:cuti|berlibur)\s+(?:hingga|sampai|s/d|s\.d\.|mulai|dari\s+tanggal|pada\s+tanggal|dan\s+akan\s+kembali|selama)"
    r"|\bini\s+(?:adalah\s+)?(?:balasan|pesan|jawaban|email|e-mail|surel)\s+otomatis"
    r"(?!\s*(?:\?|ya\b|yah?\b|kah\b|bukan\b|atau\b|apa\b|gak\b|ga\b|nggak\b|tidak\b))"  # "ini balasan otomatis?" asks
    r"|\b(?:respond|reply|answer|get\s+back)\s+(?:to\s+(?:you|it|your\s+\w+)\s+)?(?:upon|on|after|when)\s+(?:my|i)\s+return"
    r"|\blimited\s+access\s+to\s+(?:my\s+)?e-?mail|\bunable\s+to\s+read\s+your\s+(?:message|e-?mail)"
    r"|\bpesan\s+ini\s+(?:dikirim|dibuat)\s+secara\s+otomatis"
    r")"
    r"|^\W*(?:out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[-\s]?reply|sedang\s+cuti|di\s+luar\s+kantor)\b",
    re.IGNORECASE | re.MULTILINE,
)


def normalise_address(address: str) -> str:
    """Lower-cased, "+tag" dropped, and for Gmail the dots of the local part too
    (ptyessindo+x@gmail.com and pt.yessindo@gmail.com are the same mailbox)."""
    address = (address or "").strip()
    if "<" in address:
        address = parseaddr(address)[1]
    address = canonical_address(address)  # "support"@x and x. (trailing dot) are the same mailbox
    if "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def automatic_reason(mail: ParsedMail, own_addresses: Iterable[str]) -> str | None:
    """A short reason why this mail must get no automatic answer, or None when it may get one.

    The causes, in order: unreadable mail; RFC 3834 / 2369 / 3464 / 8098 / 5965 headers and
    bulk-sender headers (`email_auto.header_reason`); report parts; machine senders; our own
    address; auto-reply subjects and openings; text-form reports and notices with no person's
    words (`email_auto.text_reason`). A `Disposition-Notification-To` header (a person asking
    for a read receipt) is no reason.
    """
    if not mail.parse_ok:
        return "unparseable mail: an agent must look"
    h = {k.lower(): (v or "").strip() for k, v in mail.headers.items()}
    reason = header_reason(h)
    if reason:
        return reason
    if any(a.content_type in _AUTO_TYPES for a in mail.attachments):
        return "delivery status notification"

    sender = (mail.sender or "").lower()
    if not sender:
        return "no sender address"
    reason = sender_reason(sender)
    if reason:
        return reason
    if isinstance(own_addresses, str):
        own_addresses = [own_addresses]  # one address given bare, not as a list
    own = {normalise_address(a) for a in own_addresses if a}
    if normalise_address(sender) in own:
        return "sent by our own address"

    subject = mail.subject or ""
    if _AUTO_SUBJECT_START.search(subject) or _AUTO_SUBJECT_ANY.search(subject):
        return "auto-reply subject"
    opening = "\n".join([line for line in (mail.text or "").splitlines() if line.strip()][:4])[:600]
    if _AUTO_BODY.search(opening):
        return "auto-reply text"
    # The person's own words: quoted history (a newsletter a customer answers) does not count.
    return text_reason(subject, mail.new_text or mail.text or "")
