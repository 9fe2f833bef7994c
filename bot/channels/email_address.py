"""Can this address be mailed? Decided before anything is queued or sent.

Refused (never sent to, the reason recorded): no `@` or more than one, a display name
taken for an address (spaces, `<`, `>`, commas, quotes), control characters, an empty
or over-long local part, a dotless domain or `localhost`, a domain literal (`[1.2.3.4]`),
a label that is not a hostname label (after IDNA for a non-ASCII domain).

A non-ASCII domain is sent in its IDNA form (`mächine.example` -> `xn--mchine-...`);
a non-ASCII local part needs the server's SMTPUTF8 (decided at send time).
"""
from __future__ import annotations

import re

_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOCAL_TLDS = frozenset({"localhost", "local", "localdomain", "internal", "invalid"})


def to_ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA for non-ASCII labels), or None when it is no hostname."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except (UnicodeError, ValueError):
        return None
    return ascii_domain.lower()


def unmailable_reason(address: str) -> str | None:
    """None when `address` can be mailed; otherwise why not (short, English, no address in it)."""
    if not address or not address.strip():
        return "no address"
    if address != address.strip() or any(c.isspace() for c in address):
        return "spaces in the address (a display name?)"
    if any(ord(c) < 32 or ord(c) == 127 for c in address):
        return "control characters in the address"
    if any(c in address for c in '<>,;:"()[]\\'):
        return "not a plain address (a display name or a list?)"
    if address.count("@") != 1:
        return "no single @ in the address"
    local, _, domain = address.partition("@")
    if not local or len(local.encode("utf-8")) > 64:
        return "empty or over-long local part"
    if local.startswith(".") or local.endswith(".") or ".." in local \
            or not all(_ATEXT.match(part) for part in local.split(".")):
        return "invalid local part"
    if not domain or "." not in domain.strip("."):
        return "no domain, or a domain without a dot"
    ascii_domain = to_ascii_domain(domain.rstrip("."))
    if ascii_domain is None or len(ascii_domain) > 253:
        return "the domain is not a valid hostname"
    labels = ascii_domain.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return "the domain is not a valid hostname"
    if labels[-1].isdigit():
        return "the domain is an IP address"
    if labels[-1] in _LOCAL_TLDS:
        return "a local domain"
    return None


def needs_smtputf8(address: str) -> bool:
    """A non-ASCII local part can only be sent to a server offering SMTPUTF8."""
    return not address.partition("@")[0].isascii()


def envelope_address(address: str) -> str:
    """The address as given to SMTP: the domain in IDNA form."""
    local, _, domain = address.partition("@")
    return f"{local}@{to_ascii_domain(domain.rstrip('.')) or domain}"


__all__ = ["unmailable_reason", "needs_smtputf8", "envelope_address", "to_ascii_domain"]
