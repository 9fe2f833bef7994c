"""The customer's new words only: quoted history (English, Indonesian, Gmail, Outlook)
and phone/app signatures are removed before intent matching."""
from __future__ import annotations

import re

from bot.channels.mail_html import tidy

__all__ = ["strip_quoted"]


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
    result = tidy("\n".join(kept))
    return result if result.strip() else text
