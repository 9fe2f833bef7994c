"""Header fields of a mail: who sent it (RFC 5322, hostile shapes included), to whom,
message ids, date, and one canonical spelling of an address.

Sender rules: the address is what stands in the angle brackets (or alone); a display
name is never taken for an address (`"victim@x" <>` has no sender). A bare
`Big Bug bb@bug.com` gives the address and the name. A From with two addresses uses
Sender when present, else the first valid one, and says so in `problems`.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from bot.channels.mail_charset import decode_words, strip_controls, unsurrogate

__all__ = [
    "canonical_address", "valid_address", "parse_addresses", "pick_sender", "header_map", "raw_header",
    "first_id", "all_ids", "parse_date", "synthetic_id", "fix_obsolete_header_names",
]

# RFC 5322 dot-atom text (RFC 6532 lets non-ASCII in too): a local part needing no quotes.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+)*")
_DOMAIN = re.compile(r"(?:[\w-]+\.)*[\w-]+|\[[0-9A-Fa-f:.]+\]")
_MSGID_RE = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII, no '<' '>' or spaces: safe to echo in a header
_BARE_ADDR = re.compile(r"[^\s<>\"',;:()\[\]]+@[^\s<>\"',;:()\[\]]+")
_ID_ZONES = re.compile(r"\b(WITA|WIB|WIT)\b", re.IGNORECASE)
# "From  : x" (obsolete syntax, RFC 5322 4.5.1): whitespace between a header name and its colon.
_OBS_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_MAX_REFERENCES = 50
# An RFC 2047 encoded word: its text may hold "[", "@", "," or quotes that would break the
# address grammar, so it is set aside while the addresses are split.
_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,64}\?[bBqQ]\?[^?\s]*\?=")


def fix_obsolete_header_names(raw: bytes) -> tuple[bytes, bool]:
    """Remove whitespace before the colon of header names in the header block (`From  :`)."""
    end = raw.find(b"\r\n\r\n")
    end2 = raw.find(b"\n\n")
    ends = [e for e in (end, end2) if e >= 0]
    cut = min(ends) if ends else len(raw)
    head = raw[:cut]
    fixed, count = _OBS_NAME.subn(rb"\1:", head)
    if not count:
        return raw, False
    return fixed + raw[cut:], True


def canonical_address(address: str | None) -> str:
    """One spelling per mailbox: angle brackets and whitespace dropped, lower case, a quoted
    local part that needs no quotes unquoted (`"support"@x` is `support@x`), the trailing
    dot of a fully-qualified domain dropped. Not a validity check (see `valid_address`)."""
    addr = strip_controls((address or "").strip()).strip("<>").strip()
    if "@" not in addr:
        return addr.lower()
    local, _, domain = addr.rpartition("@")
    local = local.strip()
    if len(local) >= 2 and local[0] == local[-1] == '"':
        inner = re.sub(r"\\(.)", r"\1", local[1:-1])
        if _DOT_ATOM.fullmatch(inner):
            local = inner
    domain = domain.strip().rstrip(".")
    return f"{local}@{domain}".lower()


def valid_address(address: str) -> bool:
    """A mailbox we could answer: one local part and a domain of letters, digits, hyphens
    and dots (or an address literal), nothing else."""
    if not address or "@" not in address or len(address) > 320:
        return False
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return False
    if not (_DOT_ATOM.fullmatch(local) or re.fullmatch(r'"(?:[^"\\\x00-\x1f]|\\.)*"', local)):
        return False
    return bool(_DOMAIN.fullmatch(domain))


def header_map(msg: Message, max_chars: int) -> dict[str, str]:
    """The first value of every header, as stored (no RFC 2047 decoding), read at most
    `max_chars` long. One pass over the headers however many there are."""
    out: dict[str, str] = {}
    for key, value in msg.raw_items():
        name = str(key).strip().lower()
        if name not in out:
            out[name] = unsurrogate(str(value)[:max_chars])
    return out


def raw_header(msg: Message, name: str) -> str | None:
    """The first value of a header of one MIME part exactly as stored, or None."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return unsurrogate(str(value)[:4000])
    return None


def _looks_like_address(name: str | None) -> bool:
    return bool(name and _BARE_ADDR.search(name))


def parse_addresses(raw: str | None, problems: list[str], what: str = "address") -> list[tuple[str | None, str]]:
    """(display name, canonical address) for every valid address in a header value."""
    if not raw:
        return []
    raw = strip_controls(raw.replace("\r", " ").replace("\n", " "))
    words: list[str] = []

    def _aside(m: re.Match[str]) -> str:
        words.append(m.group(0))
        return f"ewx{len(words) - 1}xwe"

    raw = _ENCODED_WORD.sub(_aside, raw)
    try:
        pairs = getaddresses([raw])
    except Exception:  # noqa: BLE001
        pairs = []
    if words:
        restore = re.compile(r"ewx(\d+)xwe")
        pairs = [(restore.sub(lambda m: words[int(m.group(1))], name or ""), addr) for name, addr in pairs]
    out: list[tuple[str | None, str]] = []
    empty_angle = bool(re.search(r"<\s*>", raw))
    for name, addr in pairs:
        addr = (addr or "").strip()
        if not addr:
            continue
        if re.search(r"\s", addr) and "<" not in raw:
            # "Big Bug bb@bug.com": no angle brackets, the word with "@" is the address.
            words = addr.split()
            found = [w for w in words if "@" in w]
            if len(found) != 1:
                continue
            name = name or " ".join(w for w in words if w not in found)
            addr = found[0]
        addr = canonical_address(addr)
        if not valid_address(addr):
            problems.append(f"{what}: not a valid address skipped")
            continue
        out.append((decode_words(name, problems) or None, addr))
    if not out and not empty_angle and "<" not in raw and '"' not in raw:
        # getaddresses gives up on some shapes; a lone address-looking word will do. Never
        # inside a quoted display name or next to an empty "<>".
        found = _BARE_ADDR.search(raw)
        if found and valid_address(canonical_address(found.group(0))):
            out.append((None, canonical_address(found.group(0))))
    if not out and empty_angle:
        problems.append(f"{what}: empty address <>")
    return out


def pick_sender(from_raw: str | None, sender_raw: str | None, problems: list[str]) -> tuple[str | None, str]:
    """(display name, address) of who wrote the mail, or (None, "") when nobody can be named."""
    found = parse_addresses(from_raw, problems, "From")
    name, addr = found[0] if found else (None, "")
    if len(found) > 1 or (not found and from_raw and from_raw.count("@") > 1):
        problems.append(f"From holds {len(found)} addresses")
        senders = parse_addresses(sender_raw, problems, "Sender")
        if senders:
            name, addr = senders[0]
            problems.append("sender taken from the Sender header")
        elif found:
            problems.append("sender taken from the first address of From")
    if name and _looks_like_address(name) and canonical_address(_BARE_ADDR.search(name).group(0)) != addr:
        problems.append("display name looks like another address: dropped")
        name = None
    return (name[:200] if name else None), addr


def first_id(value: str | None) -> str | None:
    if not value:
        return None
    value = strip_controls(value)
    found = _MSGID_RE.search(value)
    if found:
        return found.group(0)
    token = value.strip().split()
    if token and "@" in token[0]:
        candidate = f"<{token[0].strip('<>')}>"
        if _MSGID_RE.fullmatch(candidate):
            return candidate
    return None


def all_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    seen: dict[str, None] = {}
    for found in _MSGID_RE.findall(strip_controls(value)):
        seen.setdefault(found, None)
        if len(seen) >= _MAX_REFERENCES:
            break
    return tuple(seen)


def parse_date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    # Indonesian zone names that some local mailers write instead of an offset.
    value = _ID_ZONES.sub(lambda m: {"WIB": "+0700", "WITA": "+0800", "WIT": "+0900"}[m.group(1).upper()], raw.strip()[:200])
    try:
        when = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


def synthetic_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()}@synthetic.yessindo>"
