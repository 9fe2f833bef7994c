"""Walk the MIME tree of one mail: the texts a person wrote, and the attachments.

Bounded: at most `max_parts` parts are walked and `max_mime_depth` levels followed;
attachment bytes are kept up to a per-attachment and a per-mail total (beyond them the
attachment is listed by name, type and size, and its bytes are never decoded: the size
comes from the encoded length). Text parts far larger than anything read are cut before
decoding. Every part is counted on the parse's `Budget`.
"""
from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from bot.channels.mail_charset import decode_bytes, decode_words, strip_controls
from bot.channels.mail_headers import raw_header
from bot.channels.mail_html import HtmlStats, html_to_text
from bot.channels.mail_types import Budget, BudgetExceeded, MailAttachment, ParseLimits

__all__ = ["MimeWalk", "content_type"]

# The text/plain some senders put next to their HTML instead of the real text.
_PLACEHOLDER = re.compile(
    r"(?:does\s+not|doesn't|cannot|can't)\s+(?:support|display|read)\s+HTML|view\s+(?:this\s+)?(?:e-?mail|message)\s+in\s+(?:a|your)\s+browser"
    r"|this\s+(?:e-?mail|message)\s+(?:is|was)\s+(?:in|sent\s+in)\s+HTML|HTML[-\s]only"
    r"|tidak\s+(?:mendukung|dapat\s+menampilkan)\s+HTML|format\s+HTML",
    re.IGNORECASE,
)


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()[:100]
    except Exception:  # noqa: BLE001
        return "text/plain"


class _Shared:
    """Counters shared by a walk and the sub-walks of its alternatives."""

    def __init__(self) -> None:
        self.parts = 0
        self.kept_bytes = 0
        self.listed = 0
        self.notes: set[str] = set()


class MimeWalk:
    def __init__(
        self,
        limits: ParseLimits,
        budget: Budget,
        problems: list[str],
        html_cap: int,
        shared: _Shared | None = None,
    ) -> None:
        self.limits = limits
        self.budget = budget
        self.problems = problems
        self.html_cap = html_cap
        self.shared = shared or _Shared()
        self.texts: list[str] = []
        self.attachments: list[MailAttachment] = []

    def _note_once(self, key: str, text: str) -> None:
        if key not in self.shared.notes:
            self.shared.notes.add(key)
            self.problems.append(text)

    def part(self, part: Message, depth: int = 0) -> None:
        try:
            self._part(part, depth)
        except BudgetExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken part never loses the others
            self.problems.append(f"a MIME part could not be read ({type(exc).__name__}): skipped")

    def _sub(self, problems: list[str] | None = None) -> "MimeWalk":
        return MimeWalk(self.limits, self.budget, self.problems if problems is None else problems,
                        self.html_cap, self.shared)

    def _part(self, part: Message, depth: int) -> None:
        if depth > self.limits.max_mime_depth:
            self._note_once("depth", f"MIME nesting deeper than {self.limits.max_mime_depth} levels: the rest was skipped")
            return
        self.shared.parts += 1
        if self.shared.parts > self.limits.max_parts:
            self._note_once("parts", f"more than {self.limits.max_parts} MIME parts: the rest was skipped")
            return
        self.budget.tick(64)
        ctype = content_type(part)
        if ctype.startswith("message/"):
            # A forwarded mail (message/rfc822), a delivery or read report: recorded as an
            # attachment, never read as the customer's words.
            self._attach(part, ctype)
            return
        if part.is_multipart():
            children = [c for c in (part.get_payload() or []) if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth)
            else:
                for child in children:
                    if self.shared.parts > self.limits.max_parts:
                        self._note_once("parts", f"more than {self.limits.max_parts} MIME parts: the rest was skipped")
                        break
                    self.part(child, depth + 1)
            return
        if ctype.startswith("multipart/"):
            # Declared multipart, but the parser found no parts (no or wrong boundary).
            repaired = _reparse_with_found_boundary(part, ctype)
            if repaired is not None:
                self.problems.append(f"{ctype}: declared boundary not found, parts split on the one used")
                self._part(repaired, depth + 1)
                return
            self.problems.append(f"{ctype} without usable parts: read as text")
            ctype = "text/plain"
        elif _is_attachment(part, ctype):
            self._attach(part, ctype)
            return
        text = self._text_of(part, ctype)
        if text:
            self.texts.append(text)

    def _alternative(self, children: list[Message], depth: int) -> None:
        plain = [c for c in children if content_type(c) == "text/plain" and not _is_attachment(c, "text/plain")]
        has_other = any(content_type(c) != "text/plain" for c in children)
        for child in plain[:3]:
            text = self._text_of(child, "text/plain")
            if text.strip() and not (has_other and _PLACEHOLDER.search(text[:300]) and len(text) < 300):
                self.texts.append(text)
                for other in children:  # attachments hidden in the other alternatives still count
                    if other.is_multipart():
                        sub = self._sub([])
                        sub.part(other, depth + 1)
                        self.attachments.extend(sub.attachments)
                return
        # No usable text/plain: the richest other alternative (HTML, or a multipart/related holding it).
        for child in list(reversed(children))[:10]:
            sub = self._sub()
            sub.part(child, depth + 1)
            if any(t.strip() for t in sub.texts):
                self.texts.extend(sub.texts)
                self.attachments.extend(sub.attachments)
                return

    def _payload(self, part: Message) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"could not decode a {content_type(part)} part ({type(exc).__name__}): kept as is")
            data = None
        if data is None:
            raw = part.get_payload()
            data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
        return data

    def _text_of(self, part: Message, ctype: str) -> str:
        encoded = part.get_payload()
        limit = 8 * self.html_cap
        if isinstance(encoded, str) and len(encoded) > limit:
            # Far more than will ever be read: decode only the start (cut on a line end, so
            # base64 stays in whole groups).
            cut = encoded.rfind("\n", 0, limit)
            part.set_payload(encoded[: cut if cut > 0 else limit])
            self._note_once("textcut", f"a {ctype} part over {limit} characters: only its start was read")
        data = self._payload(part)
        self.budget.tick(len(data) // 16)
        try:
            charset = part.get_param("charset")
            if isinstance(charset, tuple):  # RFC 2231 form
                charset = charset[2]
        except Exception:  # noqa: BLE001
            charset = None
        text = decode_bytes(data, str(charset) if charset else None, self.problems, what=ctype)
        del data
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        if ctype == "text/html":
            if len(text) > self.html_cap:
                text = text[: self.html_cap]
                self.problems.append(f"HTML body cut at {self.html_cap} characters before conversion")
            stats = HtmlStats()
            # Text past twice the kept length is dropped later anyway ("body truncated"): stop there.
            out = html_to_text(text, max_chars=2 * self.limits.max_text_chars + 1000,
                               max_depth=self.limits.max_html_depth, budget=self.budget, stats=stats)
            del text
            if stats.depth_capped:
                self._note_once("htmldepth", f"HTML nested deeper than {self.limits.max_html_depth} levels: flattened")
            return out
        if _is_flowed(part):
            text = _unflow(text, _param(part, "delsp").lower() == "yes")
        return text.strip("\n")

    def _attach(self, part: Message, ctype: str) -> None:
        shared = self.shared
        shared.listed += 1
        if shared.listed > self.limits.max_attachments_listed:
            self._note_once("listed", f"more than {self.limits.max_attachments_listed} attachments: the rest not listed")
            return
        filename: str | None
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        if filename is not None:
            filename = decode_words(str(filename)[:1000], self.problems)
            # No directories (C:\\fakepath\\x.pdf, ../../x) and no control characters.
            filename = re.split(r"[\\/]", filename)[-1]
            filename = strip_controls("".join(ch for ch in filename if ch.isprintable()))[:255].strip() or None
        room = min(self.limits.keep_attachment_bytes, self.limits.max_attachment_bytes_per_mail - shared.kept_bytes)
        inner = part.get_payload()
        data: bytes | None
        if isinstance(inner, list):
            try:
                data = b"\n".join(m.as_bytes() for m in inner if isinstance(m, Message))
            except Exception:  # noqa: BLE001
                data = b"\n".join(str(m).encode("utf-8", "replace") for m in inner)
            size = len(data)
        else:
            estimate = _decoded_size(part, inner)
            if estimate > room:
                data, size = None, estimate  # never decoded: its bytes are not kept anyway
            else:
                data = self._payload(part)
                size = len(data)
        self.budget.tick(64)
        keep = data is not None and size <= room
        if not keep:
            if size > self.limits.keep_attachment_bytes:
                self.problems.append(
                    f"attachment {filename or ctype} is {size} bytes, over the keep limit of "
                    f"{self.limits.keep_attachment_bytes}: bytes not kept"
                )
            else:
                self.problems.append(
                    f"attachment {filename or ctype} ({size} bytes) is over the per-mail total of "
                    f"{self.limits.max_attachment_bytes_per_mail} bytes: bytes not kept"
                )
            data = None
        else:
            shared.kept_bytes += size
        self.attachments.append(MailAttachment(filename, ctype, size, data))


def _decoded_size(part: Message, payload: object) -> int:
    """The decoded size of a leaf part from its encoded text, without decoding it (exact for
    well-formed base64; the encoded length otherwise)."""
    if not isinstance(payload, str):
        return 0
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":
        n = len(payload)
        for ch in ("\n", "\r", " ", "\t", "="):
            n -= payload.count(ch)
        return max(0, n * 3 // 4)
    return len(payload)


def _is_attachment(part: Message, ctype: str) -> bool:
    disposition = (raw_header(part, "content-disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if ctype not in ("text/plain", "text/html"):
        return True
    try:
        return bool(part.get_filename())
    except Exception:  # noqa: BLE001
        return False


def _reparse_with_found_boundary(part: Message, ctype: str) -> Message | None:
    """A multipart whose declared boundary is missing from the body, but whose body plainly
    uses another one ("--XYZ" on its own line): split it on the boundary actually used."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    found = re.search(r"^--([^\s\r\n]{1,70}?)\s*$", payload[:20000], re.MULTILINE)
    if not found or found.group(1).endswith("--"):
        return None
    boundary = found.group(1)
    body = payload.encode("ascii", "surrogateescape")
    head = f'Content-Type: {ctype}; boundary="{boundary}"\r\n\r\n'.encode()
    repaired = message_from_bytes(head + body, policy=compat32)
    if not repaired.is_multipart() or not repaired.get_payload():
        return None
    return repaired


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:  # noqa: BLE001
        return ""
    if isinstance(value, tuple):  # RFC 2231 form
        value = value[2]
    return str(value or "").strip().strip('"')


def _is_flowed(part: Message) -> bool:
    return _param(part, "format").lower() == "flowed"


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: join soft line breaks (a line ending in a space), keep quote depth."""
    out: list[str] = []
    pending: tuple[int, list[str]] | None = None  # quote depth, pieces of the joined line
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        if pending is not None and pending[0] == depth:
            pieces = pending[1]
        else:
            if pending is not None:
                out.append(">" * pending[0] + (" " if pending[0] else "") + "".join(pending[1]))
            pieces = []
        pending = None
        if body.endswith(" ") and body != "-- ":
            pieces.append(body[:-1] if delsp else body)
            pending = (depth, pieces)
            continue
        pieces.append(body)
        joined = "".join(pieces)
        out.append(">" * depth + (" " if depth and joined else "") + joined)
    if pending is not None:
        out.append(">" * pending[0] + (" " if pending[0] else "") + "".join(pending[1]))
    return "\n".join(out)
