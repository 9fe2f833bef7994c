"""Turn one raw RFC 5322 mail into a `ParsedMail`, whatever arrives.

`parse_mail` never raises: real inboxes hold wrong or unknown charsets, broken
MIME, HTML-only mail, bounces and plain garbage, and one strange mail must never
stall the mails after it. What could not be read cleanly is written down in
`problems`; `parse_ok` is False only when nothing usable came out at all (then
an agent must look).

`strip_quoted` keeps only the customer's new words: quoted history (English,
Indonesian, Gmail, Outlook) and phone/app signatures are removed before
intent matching.

Standard library only.
"""
from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

from bot.channels.email_auto import AUTO_HEADERS, wanted_header

__all__ = ["MailAttachment", "ParsedMail", "parse_mail", "strip_quoted", "html_to_text"]


@dataclass(frozen=True)
class MailAttachment:
    filename: str | None
    content_type: str
    size: int
    data: bytes | None  # None when over the keep limit


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str
    sender_name: str | None
    to: tuple[str, ...]
    subject: str
    text: str
    new_text: str
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    attachments: tuple[MailAttachment, ...]
    headers: dict[str, str]
    problems: tuple[str, ...]
    parse_ok: bool


# Headers that `email_loop.automatic_reason` looks at (RFC 3834 and friends): the list lives
# with the rules in `email_auto` (`wanted_header` also takes name prefixes).
LOOP_HEADERS: tuple[str, ...] = AUTO_HEADERS
_MAX_LOOP_HEADERS = 64

# Any of these present means the parser found a real mail header block.
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "mime-version",
        "content-type", "return-path", "reply-to", "in-reply-to", "references",
        "delivered-to", "sender", "content-transfer-encoding", "x-mailer", "user-agent",
    }
)

_MSGID_RE = re.compile(r"<[^<>\s]+>")
_WS_RE = re.compile(r"\s+")
# Charsets mail clients declare while sending bytes of a superset (as browsers treat them).
_SUPERSET = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "big5": "big5hkscs", "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-8-i": "iso-8859-8",
    "utf8mb4": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
}
_LATIN1_FAMILY = frozenset({"latin-1", "iso8859-1", "iso8859-15", "cp1252", "ascii"})


# --------------------------------------------------------------------------- text decoding


def _text_codec(charset: str) -> str | None:
    """The Python codec name for a declared charset, or None when unknown / not a text codec."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, TypeError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # e.g. charset="base64" or "rot13"
    return info.name


def _decode_bytes(data: bytes, charset: str | None, problems: list[str], what: str = "body") -> str:
    """Decode bytes in the declared charset; when it is missing, unknown or wrong, decode anyway
    (utf-8, then windows-1252, then utf-8 with replacement) and note it."""
    cs = (charset or "").strip().strip('"').lower()
    if cs in ("", "unknown-8bit", "x-unknown-8bit"):
        codec = None
        cs = ""
    else:
        cs = cs.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*id
        codec = _text_codec(_SUPERSET.get(cs, cs))
    if codec is not None:
        if codec in _LATIN1_FAMILY and not data.isascii():
            # A classic: declared latin-1 / us-ascii but actually utf-8. Real latin-1 text is
            # almost never valid utf-8, so valid utf-8 wins.
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                problems.append(f"{what}: declared charset {cs} but the bytes are utf-8: decoded as utf-8")
                return text
            if codec == "ascii":
                problems.append(f"{what}: 8-bit bytes in declared charset {cs}: decoded as windows-1252")
            if codec in ("latin-1", "iso8859-1", "ascii"):
                codec = "cp1252"  # as browsers do: 0x80-0x9f are curly quotes, dashes, euro
                try:
                    return data.decode(codec)
                except UnicodeDecodeError:
                    return data.decode("latin-1")
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        fallback, text = _guess_decode(data)
        problems.append(f"{what}: bytes not valid in declared charset {cs}: decoded as {fallback}")
        return text
    fallback, text = _guess_decode(data)
    if cs:
        problems.append(f"{what}: unknown charset {cs}: decoded as {fallback}")
    elif fallback != "utf-8":
        problems.append(f"{what}: no charset declared for 8-bit bytes: decoded as {fallback}")
    return text


def _guess_decode(data: bytes) -> tuple[str, str]:
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return "windows-1252", data.decode("cp1252")
    except UnicodeDecodeError:
        return "utf-8 with replacement", data.decode("utf-8", "replace")


def _unsurrogate(value: str) -> str:
    """Header values holding raw 8-bit bytes come back with surrogate escapes: decode them."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _raw_header(msg: Message, name: str) -> str | None:
    """The first value of a header exactly as stored (no RFC 2047 decoding), or None."""
    name = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == name:
            return _unsurrogate(str(value))
    return None


def decode_words(value: str | None, problems: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words (any charset, B or Q) and collapse whitespace. Never raises."""
    if not value:
        return ""
    probs = problems if problems is not None else []
    value = _unsurrogate(value)
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001 - a broken encoded word stays as written
        return _WS_RE.sub(" ", value).strip()
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(_unsurrogate(chunk.decode("ascii", "surrogateescape")))
        else:
            out.append(_decode_bytes(chunk, charset, probs, what="header"))
    return _WS_RE.sub(" ", "".join(out)).strip()


# --------------------------------------------------------------------------- HTML to text

# The text/plain some senders put next to their HTML instead of the real text.
_PLACEHOLDER = re.compile(
    r"(?:does\s+not|doesn't|cannot|can't)\s+(?:support|display|read)\s+HTML|view\s+(?:this\s+)?(?:e-?mail|message)\s+in\s+(?:a|your)\s+browser"
    r"|this\s+(?:e-?mail|message)\s+(?:is|was)\s+(?:in|sent\s+in)\s+HTML|HTML[-\s]only"
    r"|tidak\s+(?:mendukung|dapat\s+menampilkan)\s+HTML|format\s+HTML",
    re.IGNORECASE,
)
_BLOCK_PARA = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "hr", "blockquote", "dl"})
_BLOCK_LINE = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address", "center", "form", "caption"})
_BULLET_ONLY = re.compile(r"(?:> )*\s*(?:-|\d+\.) ")
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"})


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.links: list[tuple[str | None, tuple[int, int]]] = []  # (href, (line, column) where <a> opened)
        self.list_stack: list[list[int | str]] = []  # ["ul"|"ol", counter]

    # output helpers
    def _write(self, s: str) -> None:
        if not s:
            return
        if self.lines[-1] == "" and self.quote:
            self.lines[-1] = "> " * self.quote
        self.lines[-1] += s

    def _line_is_empty(self) -> bool:
        return self.lines[-1].strip(" >") == ""

    def _newline(self, blank: bool = False) -> None:
        if _BULLET_ONLY.fullmatch(self.lines[-1]):
            return  # "<li><p>text": the text stays on the bullet's line
        if not self._line_is_empty():
            self.lines.append("")
        if blank and len(self.lines) >= 2 and self.lines[-2].strip(" >") != "":
            self.lines.append("")
        if self._line_is_empty():
            self.lines[-1] = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skip = 0  # an unclosed <head> (or <title>...) must not hide the whole body
            return
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.lines.append("")
            return
        if tag in _BLOCK_PARA:
            self._newline(blank=True)
        elif tag in _BLOCK_LINE:
            self._newline()
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "hr":
            self._write("-----")
            self._newline()
        elif tag in ("ul", "ol"):
            self.list_stack.append([tag, 0])
        elif tag == "li":
            indent = "  " * max(0, len(self.list_stack) - 1)
            if self.list_stack and self.list_stack[-1][0] == "ol":
                self.list_stack[-1][1] = int(self.list_stack[-1][1]) + 1
                self._write(f"{indent}{self.list_stack[-1][1]}. ")
            else:
                self._write(f"{indent}- ")
        elif tag in ("td", "th"):
            if not self._line_is_empty() and not self.lines[-1].endswith(" "):
                self._write(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            self.links.append((href, (len(self.lines) - 1, len(self.lines[-1]))))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._data(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            self._close_link(href, start)
            return
        if tag == "blockquote":
            self._newline(blank=True)
            self.quote = max(0, self.quote - 1)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in ("ul", "ol") and self.list_stack:
            self.list_stack.pop()
        if tag in _BLOCK_PARA:
            self._newline(blank=not (tag == "p" and self.list_stack))
        elif tag in _BLOCK_LINE:
            self._newline()

    def _close_link(self, href: str | None, start: tuple[int, int]) -> None:
        if not href:
            return
        href = href.strip()
        low = href.lower()
        if low.startswith(("#", "javascript:", "data:", "cid:")):
            return
        row, col = start
        shown = " ".join([self.lines[row][col:]] + self.lines[row + 1 :]).strip(" >") if row < len(self.lines) else ""
        target = href[7:] if low.startswith("mailto:") else href
        if target.split("?")[0].rstrip("/") in shown or shown.rstrip("/") in (target, target.rstrip("/")):
            return
        if not shown:
            self._write(target)
        else:
            self._write(f" ({target})")

    def _data(self, data: str) -> None:
        if self.pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self.lines.append("")
                self._write(part)
            return
        data = _WS_RE.sub(" ", data)
        if self._line_is_empty() or self.lines[-1].endswith(" "):
            data = data.lstrip()
        self._write(data)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self._data(data)

    def text(self) -> str:
        return _tidy("\n".join(self.lines))


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad"), None)


def _tidy(text: str) -> str:
    text = text.translate(_INVISIBLE)
    lines = [line.rstrip() for line in text.split("\n")]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n").strip()


def html_to_text(html: str) -> str:
    """Readable text from HTML: paragraphs and line breaks kept, list items as "- ",
    links as "text (url)", blockquotes as "> " lines, no script/style. Never raises."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - whatever was read so far is kept
        pass
    text = parser.text()
    if not text and html.strip():
        # Last resort for HTML the parser could not make sense of: drop the tags.
        crude = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", html)
        crude = re.sub(r"(?s)<[^>]*>", " ", crude)
        text = _tidy(_WS_RE.sub(" ", unescape(crude)))
    return text


# --------------------------------------------------------------------------- MIME walk


class _Walk:
    def __init__(self, keep_bytes: int, problems: list[str], html_cap: int = 1_000_000) -> None:
        self.keep_bytes = keep_bytes
        self.html_cap = html_cap
        self.problems = problems
        self.texts: list[str] = []
        self.attachments: list[MailAttachment] = []
        self.depth_note = False

    def part(self, part: Message, depth: int = 0) -> None:
        try:
            self._part(part, depth)
        except Exception as exc:  # noqa: BLE001 - one broken part never loses the others
            self.problems.append(f"a MIME part could not be read ({type(exc).__name__}): skipped")

    def _part(self, part: Message, depth: int) -> None:
        if depth > 40:
            if not self.depth_note:
                self.problems.append("MIME nesting deeper than 40 levels: the rest was skipped")
                self.depth_note = True
            return
        ctype = _content_type(part)
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
        elif self._is_attachment(part, ctype):
            self._attach(part, ctype)
            return
        text = self._text_of(part, ctype)
        if text:
            self.texts.append(text)

    def _alternative(self, children: list[Message], depth: int) -> None:
        plain = [c for c in children if _content_type(c) == "text/plain" and not self._is_attachment(c, "text/plain")]
        has_other = any(_content_type(c) != "text/plain" for c in children)
        for child in plain:
            text = self._text_of(child, "text/plain")
            if text.strip() and not (has_other and _PLACEHOLDER.search(text[:300]) and len(text) < 300):
                self.texts.append(text)
                for other in children:  # attachments hidden in the other alternatives still count
                    if other.is_multipart():
                        sub = _Walk(self.keep_bytes, [], self.html_cap)
                        sub.part(other, depth + 1)
                        self.attachments.extend(sub.attachments)
                return
        # No usable text/plain: the richest other alternative (HTML, or a multipart/related holding it).
        for child in reversed(children):
            sub = _Walk(self.keep_bytes, self.problems, self.html_cap)
            sub.part(child, depth + 1)
            if any(t.strip() for t in sub.texts):
                self.texts.extend(sub.texts)
                self.attachments.extend(sub.attachments)
                return

    @staticmethod
    def _is_attachment(part: Message, ctype: str) -> bool:
        disposition = (_raw_header(part, "content-disposition") or "").split(";")[0].strip().lower()
        if disposition == "attachment":
            return True
        if ctype not in ("text/plain", "text/html"):
            return True
        try:
            return bool(part.get_filename())
        except Exception:  # noqa: BLE001
            return False

    def _payload(self, part: Message) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"could not decode a {_content_type(part)} part ({type(exc).__name__}): kept as is")
            data = None
        if data is None:
            raw = part.get_payload()
            if isinstance(raw, str):
                data = raw.encode("ascii", "surrogateescape")
            else:
                data = b""
        return data

    def _text_of(self, part: Message, ctype: str) -> str:
        data = self._payload(part)
        try:
            charset = part.get_param("charset")
            if isinstance(charset, tuple):  # RFC 2231 form
                charset = charset[2]
        except Exception:  # noqa: BLE001
            charset = None
        text = _decode_bytes(data, str(charset) if charset else None, self.problems, what=ctype)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        if ctype == "text/html":
            if len(text) > self.html_cap:
                text = text[: self.html_cap]
                self.problems.append(f"HTML body cut at {self.html_cap} characters before conversion")
            return html_to_text(text)
        if _is_flowed(part):
            text = _unflow(text, _param(part, "delsp").lower() == "yes")
        return text.strip("\n")

    def _attach(self, part: Message, ctype: str) -> None:
        filename: str | None
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        if filename is not None:
            filename = decode_words(str(filename), self.problems)
            # No directories (C:\\fakepath\\x.pdf, ../../x) and no control characters.
            filename = re.split(r"[\\/]", filename)[-1]
            filename = "".join(ch for ch in filename if ch.isprintable()).strip() or None
        inner = part.get_payload()
        if isinstance(inner, list):
            try:
                data = b"\n".join(m.as_bytes() for m in inner if isinstance(m, Message))
            except Exception:  # noqa: BLE001
                data = b"\n".join(str(m).encode("utf-8", "replace") for m in inner)
        else:
            data = self._payload(part)
        size = len(data)
        keep = size <= self.keep_bytes
        if not keep:
            self.problems.append(
                f"attachment {filename or ctype} is {size} bytes, over the keep limit of {self.keep_bytes}: bytes not kept"
            )
        self.attachments.append(MailAttachment(filename, ctype, size, data if keep else None))


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
    pending: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        if pending is not None and pending[0] == depth:
            body = pending[1] + body
        elif pending is not None:
            out.append(">" * pending[0] + (" " if pending[0] else "") + pending[1])
        pending = None
        if body.endswith(" ") and body != "-- ":
            pending = (depth, body[:-1] if delsp else body)
            continue
        out.append(">" * depth + (" " if depth and body else "") + body)
    if pending is not None:
        out.append(">" * pending[0] + (" " if pending[0] else "") + pending[1])
    return "\n".join(out)


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # noqa: BLE001
        return "text/plain"


# --------------------------------------------------------------------------- headers


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID_RE.search(value)
    if found:
        return found.group(0)
    token = value.strip().split()
    if token and "@" in token[0]:
        return f"<{token[0].strip('<>')}>"
    return None


def _all_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    seen: dict[str, None] = {}
    for found in _MSGID_RE.findall(value):
        seen.setdefault(found, None)
    return tuple(seen)


def _addresses(raw: str | None, problems: list[str]) -> list[tuple[str | None, str]]:
    if not raw:
        return []
    try:
        pairs = getaddresses([raw])
    except Exception:  # noqa: BLE001
        pairs = []
    out: list[tuple[str | None, str]] = []
    for name, addr in pairs:
        addr = (addr or "").strip().strip("<>").lower()
        if "@" not in addr:
            continue
        out.append((decode_words(name, problems) or None, addr))
    if not out:
        # getaddresses gives up on some shapes; the first thing that looks like an address will do.
        found = re.search(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+", raw)
        if found:
            out.append((None, found.group(0).lower()))
    return out


_ID_ZONES = re.compile(r"\b(WITA|WIB|WIT)\b", re.IGNORECASE)


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    # Indonesian zone names that some local mailers write instead of an offset.
    value = _ID_ZONES.sub(lambda m: {"WIB": "+0700", "WITA": "+0800", "WIT": "+0900"}[m.group(1).upper()], raw.strip())
    try:
        when = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when


def _synthetic_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()}@synthetic.yessindo>"


def _readable(text: str) -> bool:
    if not text.strip():
        return False
    sample = text[:4000]
    good = sum(1 for ch in sample if ch.isprintable() or ch in "\n\t")
    return good / len(sample) >= 0.9 and "\ufffd" not in sample[:200]


# --------------------------------------------------------------------------- entry point


def parse_mail(
    raw: bytes,
    *,
    max_text_chars: int = 20_000,
    keep_attachment_bytes: int = 5 * 1024 * 1024,
) -> ParsedMail:
    """Parse one raw mail. Never raises: problems are noted, and `parse_ok` is False only
    when nothing usable came out (no mail header at all, or the parser itself failed)."""
    try:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        raw = bytes(raw)
    except Exception as exc:  # noqa: BLE001
        return _unparseable(b"", f"unparseable: input is not bytes ({type(exc).__name__})")
    try:
        return _parse(raw, max_text_chars, keep_attachment_bytes)
    except Exception as exc:  # noqa: BLE001 - the promise is: never raise
        return _unparseable(raw, f"unparseable: {type(exc).__name__}: {exc}"[:300])


def _unparseable(raw: bytes, note: str) -> ParsedMail:
    return ParsedMail(
        message_id=_synthetic_id(raw),
        sender="",
        sender_name=None,
        to=(),
        subject="",
        text="",
        new_text="",
        in_reply_to=None,
        references=(),
        date=None,
        attachments=(),
        headers={},
        problems=(note,),
        parse_ok=False,
    )


def _parse(raw: bytes, max_text_chars: int, keep_bytes: int) -> ParsedMail:
    problems: list[str] = []
    if not raw.strip():
        return _unparseable(raw, "unparseable: empty message")
    source = raw
    if raw[:1].isspace():
        # Blank lines or spaces before the headers would turn every header into body text.
        source = raw.lstrip()
        problems.append("whitespace before the headers ignored")
    msg = message_from_bytes(source, policy=compat32)
    names = {str(k).lower() for k, _ in msg.raw_items()}
    has_headers = bool(names & _KNOWN_HEADERS)

    message_id = _first_id(_raw_header(msg, "message-id"))
    if message_id is None:
        message_id = _synthetic_id(raw)

    senders = _addresses(_raw_header(msg, "from"), problems)
    sender_name, sender = senders[0] if senders else (None, "")
    to_raw = ", ".join(v for v in (_raw_header(msg, "to"),) if v)
    to = tuple(dict.fromkeys(addr for _, addr in _addresses(to_raw, problems)))

    subject = decode_words(_raw_header(msg, "subject"), problems)
    in_reply_to = _first_id(_raw_header(msg, "in-reply-to"))
    references = _all_ids(_raw_header(msg, "references"))
    date = _date(_raw_header(msg, "date"))

    headers: dict[str, str] = {}
    for key, value in msg.raw_items():
        name = str(key).strip().lower()
        if name not in headers and len(headers) < _MAX_LOOP_HEADERS and wanted_header(name):
            headers[name] = decode_words(_unsurrogate(str(value))[:2000])
    top_type = _content_type(msg)
    if top_type == "multipart/report":
        headers["content-type"] = decode_words(_raw_header(msg, "content-type") or top_type)

    walk = _Walk(keep_bytes, problems, html_cap=max(200_000, 50 * max_text_chars))
    walk.part(msg)
    text = "\n\n".join(t for t in walk.texts if t.strip())
    cut = len(text) > 2 * max_text_chars + 1000
    if cut:
        text = text[: 2 * max_text_chars + 1000]  # no need to tidy what will be dropped
    text = _tidy(text)

    for defect in getattr(msg, "defects", [])[:3]:
        problems.append(f"MIME defect: {type(defect).__name__}")

    parse_ok = True
    if not has_headers:
        parse_ok = False
        problems.append("unparseable: no mail headers found")
        if not _readable(text):
            text = ""

    if cut or len(text) > max_text_chars:
        text = text[:max_text_chars]
        problems.append(f"body truncated at {max_text_chars} characters")

    try:
        new_text = strip_quoted(text) if text else ""
    except Exception:  # noqa: BLE001
        new_text = text
    return ParsedMail(
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        to=to,
        subject=subject,
        text=text,
        new_text=new_text,
        in_reply_to=in_reply_to,
        references=references,
        date=date,
        attachments=tuple(walk.attachments),
        headers=headers,
        problems=tuple(dict.fromkeys(problems)),
        parse_ok=parse_ok,
    )


# --------------------------------------------------------------------------- quoted history

_ATTRIBUTION = re.compile(
    r"^\s*(?:On|Pada|Am|Le|El|Op|Em|Il)\b.{0,400}?(?:\b(?:wrote|menulis|writes|schrieb|schreef|escribió|escreveu|ha scritto)|a\s+écrit)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTION_DE = re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE | re.DOTALL)
_RULE = re.compile(r"^\s*[-_=*]{3,}\s*$")
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Pada|Am|Le|El|Op|Em|Il)\b", re.IGNORECASE)
_ENDS_WROTE = re.compile(
    r"(?:\b(?:wrote|menulis|schrieb|schreef|escribió|escreveu|ha scritto)|a\s+écrit)\s*:\s*$", re.IGNORECASE
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Pesan Asli|Pesan Awal|Pesan asli|Reply message)\s*-{2,}\s*$", re.IGNORECASE
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(?:From|Dari)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\**\s*(?:Sent|Date|To|Subject|Cc|Dikirim|Terkirim|Tanggal|Kepada|Ke|Subjek|Perihal)\s*:", re.IGNORECASE
)
_HEADER_DATE = re.compile(r"^\s*\**\s*(?:Sent|Date|Dikirim|Terkirim|Tanggal)\s*:", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{8,}\s*$")
_SIG_DASH = re.compile(r"^--\s?$")
_DEVICE = (
    r"(?:my\b|iphone|ipad|android|yahoo|outlook|mail\b|samsung|galaxy|xiaomi|redmi|oppo|vivo|realme|huawei|"
    r"ponsel|perangkat|aplikasi|gmail|smartphone|mobile|hp\b|blackberry|aol|proton|windows|huawei|pixel)"
)
_SIGNATURE = re.compile(
    rf"^\s*(?:sent\s+(?:from|with|via|using)\s+(?:the\s+|an?\s+)?{_DEVICE}.*"
    rf"|(?:dikirim|terkirim)\s+(?:dari|dengan|melalui|menggunakan|via)\s+{_DEVICE}.*"
    r"|get\s+outlook\s+for\s+\w+.*"
    r"|dapatkan\s+outlook\s+untuk\s+\w+.*)$",
    re.IGNORECASE,
)


def _attribution_at(lines: list[str], i: int) -> int:
    """How many lines (1-3) form an "On ... wrote:" / "Pada ... menulis:" attribution at line i, else 0."""
    line = lines[i]
    if not _ATTRIBUTION_START.match(line):
        return 0
    joined = line
    for span in range(1, 4):
        if span > 1:
            if i + span - 1 >= len(lines) or not lines[i + span - 1].strip():
                return 0
            joined += " " + lines[i + span - 1].strip()
        if len(joined) > 400:
            return 0
        if _ATTRIBUTION.match(joined) or _ATTRIBUTION_DE.match(joined):
            return span
    return 0


def _outlook_block_at(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [l for l in lines[i + 1 : i + 8] if l.strip()][:5]
    # A date line is required, so a formal letter ("Dari: Budi / Kepada: Yessindo / Perihal: ...")
    # is not mistaken for quoted history.
    return any(_HEADER_DATE.match(l) for l in following) and sum(1 for l in following if _HEADER_OTHER.match(l)) >= 2


def _next_nonblank(lines: list[str], i: int) -> int | None:
    while i < len(lines):
        if lines[i].strip():
            return i
        i += 1
    return None


def strip_quoted(text: str) -> str:
    """The customer's new text only: quoted history (">" lines, "On ... wrote:", "Pada ... menulis:",
    Outlook "-----Original Message-----" / "-----Pesan Asli-----" and "From:/Sent:" or
    "Dari:/Dikirim:" blocks) and signatures ("-- ", "Sent from my iPhone", "Dikirim dari iPhone saya",
    "Get Outlook for Android"...) removed. When nothing would be left, the original text is kept."""
    if not text:
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(">"):
            i += 1
            continue
        span = _attribution_at(lines, i)
        if not span and _ENDS_WROTE.search(stripped) and len(stripped) < 200:
            # "Budi <budi@example.com> wrote:" directly followed by quoted lines.
            nxt = _next_nonblank(lines, i + 1)
            if nxt is not None and lines[nxt].lstrip().startswith(">"):
                span = 1
        if span:
            nxt = _next_nonblank(lines, i + span)
            if nxt is not None and lines[nxt].lstrip().startswith(">"):
                i += span  # bottom-posting possible: drop the attribution, the ">" lines go anyway
                continue
            break  # unmarked history (Gmail HTML, Yahoo...): everything after is quoted
        if _ORIGINAL.match(line) or _outlook_block_at(lines, i):
            break
        if _SIG_DASH.match(line) or (len(stripped) <= 80 and _SIGNATURE.match(stripped)):
            break
        if _UNDERSCORES.match(line):
            nxt = _next_nonblank(lines, i + 1)
            if nxt is not None and (_HEADER_FROM.match(lines[nxt]) or _ORIGINAL.match(lines[nxt])):
                break
        kept.append(line)
        i += 1
    while kept and (not kept[-1].strip() or _RULE.match(kept[-1])):
        kept.pop()  # the blank lines and the "-----" / "_____" rule that introduced the history
    result = _tidy("\n".join(kept))
    return result if result.strip() else text
