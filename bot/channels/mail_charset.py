"""Bytes and encoded words to text, whatever charset is declared (or wrongly declared),
and the control-character scrub for everything that may end up in a header."""
from __future__ import annotations

import codecs
import re
from email.header import decode_header

__all__ = ["decode_bytes", "decode_words", "unsurrogate", "strip_controls"]

_WS_RE = re.compile(r"\s+")
# Charsets mail clients declare while sending bytes of a superset (as browsers treat them).
_SUPERSET = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "big5": "big5hkscs", "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-8-i": "iso-8859-8",
    "utf8mb4": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
}
_LATIN1_FAMILY = frozenset({"latin-1", "iso8859-1", "iso8859-15", "cp1252", "ascii"})
# C0 and C1 controls except tab, and DEL: NUL, ESC, CR, LF... never reach a stored name,
# a subject or anything copied into an outgoing header.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]+")


def strip_controls(value: str) -> str:
    """`value` with every C0/C1 control character (tab excepted) replaced by one space, trimmed."""
    if not value:
        return value
    return _CONTROLS.sub(" ", value).strip()


def _text_codec(charset: str) -> str | None:
    """The Python codec name for a declared charset, or None when unknown / not a text codec."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, TypeError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # e.g. charset="base64" or "rot13"
    return info.name


def decode_bytes(data: bytes, charset: str | None, problems: list[str], what: str = "body") -> str:
    """Decode bytes in the declared charset; when it is missing, unknown or wrong, decode anyway
    (utf-8, then windows-1252, then utf-8 with replacement) and note it."""
    cs = (charset or "").strip().strip('"').lower()[:64]
    if cs in ("", "unknown-8bit", "x-unknown-8bit"):
        codec = None
        cs = ""
    else:
        cs = cs.split("*", 1)[0]  # RFC 2231 language suffix: utf-8*id
        codec = _text_codec(_SUPERSET.get(cs, cs))
    cs = strip_controls(cs)
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
        if codec.startswith("iso2022_jp"):
            text = _iso2022_jp_as_cp932(data)
            if text is not None:
                return text  # Windows' ISO-2022-JP (CP50220): NEC and IBM extensions included
        fallback, text = _guess_decode(data)
        problems.append(f"{what}: bytes not valid in declared charset {cs}: decoded as {fallback}")
        return text
    fallback, text = _guess_decode(data)
    if cs:
        problems.append(f"{what}: unknown charset {cs}: decoded as {fallback}")
    elif fallback != "utf-8":
        problems.append(f"{what}: no charset declared for 8-bit bytes: decoded as {fallback}")
    return text


_JIS_ESC = re.compile(rb"\x1b(\$[@B]|\([BJ])")


def _iso2022_jp_as_cp932(data: bytes) -> str | None:
    """ISO-2022-JP as Windows writes it (with cp932's extra characters, which Python's
    iso2022_jp codecs refuse): JIS pairs mapped to Shift_JIS, then decoded as cp932."""
    out = bytearray()
    double = False
    pos = 0
    for m in _JIS_ESC.finditer(data):
        out += _jis_chunk(data[pos:m.start()], double)
        double = m.group(1).startswith(b"$")
        pos = m.end()
    out += _jis_chunk(data[pos:], double)
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


def _jis_chunk(chunk: bytes, double: bool) -> bytes:
    if not double:
        return chunk
    out = bytearray()
    for i in range(0, len(chunk) - 1, 2):
        j1, j2 = chunk[i], chunk[i + 1]
        s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
        s2 = j2 + (0x1F if j1 & 1 else 0x7E)
        if j1 & 1 and s2 >= 0x7F:
            s2 += 1
        out += bytes((s1 & 0xFF, s2 & 0xFF))
    return bytes(out)


def _iso2022(value: str) -> str:
    """Raw ISO-2022-JP (7-bit, switched by ESC sequences) in a header, as some Japanese
    mailers send it undeclared: decoded, before its ESC bytes would be scrubbed."""
    if "\x1b$" not in value and "\x1b(" not in value:
        return value
    try:
        return value.encode("ascii").decode("iso2022_jp_2")
    except (UnicodeError, LookupError):
        return value


def _guess_decode(data: bytes) -> tuple[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if b"\x1b$" in data:
            try:
                return "iso-2022-jp", data.decode("iso2022_jp_2")
            except UnicodeError:
                pass
        return "utf-8", text
    try:
        return "windows-1252", data.decode("cp1252")
    except UnicodeDecodeError:
        return "utf-8 with replacement", data.decode("utf-8", "replace")


def unsurrogate(value: str) -> str:
    """Header values holding raw 8-bit bytes come back with surrogate escapes: decode them."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_words(value: str | None, problems: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words (any charset, B or Q), drop control characters and
    collapse whitespace. Never raises."""
    if not value:
        return ""
    probs = problems if problems is not None else []
    value = _iso2022(unsurrogate(value))
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001 - a broken encoded word stays as written
        return _WS_RE.sub(" ", strip_controls(value)).strip()
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(unsurrogate(chunk.decode("ascii", "surrogateescape")))
        else:
            out.append(decode_bytes(chunk, charset, probs, what="header"))
    return _WS_RE.sub(" ", strip_controls("".join(out))).strip()
