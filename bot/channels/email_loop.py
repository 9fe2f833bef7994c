"""Mail-loop protection (RFC 3834): which mails must never get an automatic answer.

`automatic_reason` is asked before any automatic reply. Such mail is still recorded
(an agent may look at it); it just never gets an answer from the bot, so two
auto-responders can never ping-pong, and bounces, mailing lists and out-of-office
notes never receive a reply. The per-sender hourly cap lives with the sender, not here.
"""
from __future__ import annotations

import re
from typing import Iterable

from bot.channels.email_parse import ParsedMail

__all__ = ["automatic_reason", "normalise_address"]

_NO_REPLY_LOCAL = re.compile(
    r"^(?:mailer[-_.]?daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|bounces?)(?:$|[^a-z0-9])",
    re.IGNORECASE,
)
_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_AUTO_TYPES = frozenset({"message/delivery-status", "message/disposition-notification", "message/feedback-report"})

# Subjects of auto-replies and bounces, English and Indonesian (Outlook, Gmail, Yahoo, Exchange).
_AUTO_SUBJECT = re.compile(
    r"(?:^|[\s:\[(])(?:"
    r"out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto(?:matic)?[-\s]?(?:reply|response|responder)"
    r"|autoreply|autoresponse|vacation\s+(?:reply|response|message|notice)|away\s+from\s+(?:the\s+)?office"
    r"|balasan\s+otomatis|balas(?:an)?\s+otomatis|jawaban\s+otomatis|respon(?:s)?\s+otomatis|pesan\s+otomatis"
    r"|sedang\s+cuti|di\s+luar\s+kantor|tidak\s+(?:berada\s+)?di\s+kantor"
    r"|undeliverable|undelivered\s+mail|delivery\s+status\s+notification|mail\s+delivery\s+(?:failed|failure|subsystem)"
    r"|returned\s+mail|delivery\s+failure|failure\s+notice|pengiriman\s+gagal|tidak\s+dapat\s+dikirim"
    r")",
    re.IGNORECASE,
)
# Opening words of an out-of-office / auto-reply body.
_AUTO_BODY = re.compile(
    r"^\W*(?:"
    r"(?:i\s+am|i'm|i’m|i\s+will\s+be)\s+(?:currently\s+|now\s+)?(?:out\s+of\s+(?:the\s+)?office|away\s+from\s+(?:the\s+)?office|on\s+(?:annual\s+)?(?:leave|vacation|holiday))"
    r"|this\s+is\s+an\s+auto(?:matic|mated)?(?:[-\s]?generated)?\s+(?:reply|response|message)"
    r"|thank\s+you\s+for\s+your\s+(?:e-?mail|message)\.?\s+(?:i\s+am|i'm)\s+(?:currently\s+)?(?:out|away)"
    r"|(?:saya\s+)?sedang\s+(?:cuti|tidak\s+(?:berada\s+)?di\s+kantor|(?:berada\s+)?di\s+luar\s+kantor|berlibur)"
    r"|saya\s+(?:sedang\s+)?tidak\s+(?:berada\s+)?di\s+kantor"
    r"|(?:ini\s+(?:adalah\s+)?)?(?:pesan|balasan|email|e-mail|surel)\s+(?:ini\s+)?(?:dikirim\s+secara\s+)?otomatis"
    r"|out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[-\s]?reply|balasan\s+otomatis|di\s+luar\s+kantor"
    r")",
    re.IGNORECASE | re.MULTILINE,
)


def normalise_address(address: str) -> str:
    """Lower-cased, "+tag" dropped, and for Gmail the dots of the local part too
    (ptyessindo+x@gmail.com and pt.yessindo@gmail.com are the same mailbox)."""
    address = (address or "").strip().strip("<>").lower()
    if "@" not in address:
        return address
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def automatic_reason(mail: ParsedMail, own_addresses: Iterable[str]) -> str | None:
    """A short reason why this mail must get no automatic answer, or None when it may get one."""
    h = {k.lower(): (v or "").strip() for k, v in mail.headers.items()}

    auto = h.get("auto-submitted")
    if auto is not None:
        kind = auto.split(";", 1)[0].strip().lower()
        if kind and kind != "no":
            return f"Auto-Submitted: {kind}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in h and h[name].lower() not in ("no", "false", "0"):
            return f"{name} header"
    precedence = h.get("precedence", "").lower()
    if precedence in _PRECEDENCE:
        return f"Precedence: {precedence}"
    if "list-id" in h:
        return "mailing list (List-Id)"
    if "list-unsubscribe" in h:
        return "mailing list (List-Unsubscribe)"
    if "return-path" in h and h["return-path"].replace(" ", "").strip("<>") == "":
        return "empty Return-Path (bounce)"
    if h.get("content-type", "").lower().startswith("multipart/report"):
        return "delivery status notification (multipart/report)"
    if any(a.content_type in _AUTO_TYPES for a in mail.attachments):
        return "delivery status notification"

    sender = (mail.sender or "").lower()
    if not sender:
        return "no sender address"
    local = sender.rpartition("@")[0]
    if _NO_REPLY_LOCAL.match(local):
        return f"automatic sender {local}"
    own = {normalise_address(a) for a in own_addresses if a}
    if normalise_address(sender) in own:
        return "sent by our own address"

    if _AUTO_SUBJECT.search(mail.subject or ""):
        return "auto-reply subject"
    opening = "\n".join([line for line in (mail.text or "").splitlines() if line.strip()][:3])[:600]
    if _AUTO_BODY.search(opening):
        return "auto-reply text"
    return None
