"""HTML mail bodies to readable text, in time and memory linear in the input.

Not `html.parser`: on Python 3.11 it is quadratic on unclosed tags (30 KB of `<a ` costs
14 s of CPU), and the converter that sat on it rescanned the current line on every tag
(nested `<ol>` lists: 180 KB took 32 s and 3.8 GB). This tokenizer moves forward only: each
`find` starts where the last one ended and what it passes over is consumed. The converter
keeps the current line as pieces with running flags instead of re-reading it, and caps list
and quote nesting, open links and output size. Every token and every written character is
counted on a `Budget`, so a parse can be stopped and its work measured deterministically.
"""
from __future__ import annotations

import re
from html import unescape

from bot.channels.mail_types import Budget

__all__ = ["html_to_text", "tidy", "HtmlStats"]

_WS_RE = re.compile(r"\s+")
_BLOCK_PARA = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "hr", "blockquote", "dl"})
_BLOCK_LINE = frozenset({"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer", "address", "center", "form", "caption"})
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"})
_RAW_TEXT = frozenset({"script", "style"})  # their content is never markup
_TAG_START = re.compile(r"<(/?)([a-zA-Z][^\s/>\x00]*)")
_ATTR = re.compile(r"""([^\s/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
_RAW_END = {t: re.compile(rf"</{t}[\s/>]", re.IGNORECASE) for t in _RAW_TEXT}
_QUOTE_WINDOW = 256  # how far past a '>' a quoted attribute value may still run
_LINK_LOOKBACK = 4096  # characters of link text compared with its URL
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad"), None)


class HtmlStats:
    """What `html_to_text` did: the steps it counted and whether it cut the output."""

    def __init__(self) -> None:
        self.steps = 0
        self.cut = False
        self.depth_capped = False


class _Full(Exception):
    """The output cap was reached: conversion stops, what was written is kept."""


class _Text:
    """The text being built. The current line is a list of pieces plus flags, so no
    operation ever re-reads it."""

    def __init__(self, budget: Budget, max_chars: int, max_depth: int) -> None:
        self.budget = budget
        self.max_chars = max_chars
        self.max_depth = max_depth
        self.lines: list[str] = []  # finished lines
        self.last_done_has_content = False
        self.cur: list[str] = []
        self.cur_len = 0
        self.has_content = False  # the current line holds more than spaces and '>'
        self.bullet_only = False  # the current line is (quote prefix +) indent + bullet
        self.ends_space = False
        self.total = 0
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.links: list[tuple[str | None, int, int, int]] = []  # href, row, piece index, column
        self.lists: list[list] = []  # ["ul"|"ol", counter]
        self.lists_over = 0  # lists opened beyond max_depth (not followed)
        self.depth_capped = False

    # ------------------------------------------------------------------ output
    def write(self, s: str, *, bullet: bool = False) -> None:
        if not s:
            return
        if not self.cur and self.quote:
            prefix = "> " * min(self.quote, self.max_depth)
            self.cur.append(prefix)
            self.cur_len += len(prefix)
        self.cur.append(s)
        self.cur_len += len(s)
        self.total += len(s)
        self.budget.tick(len(s))
        if bullet:
            self.bullet_only = not self.has_content
        else:
            self.bullet_only = False
        if not self.has_content and s.strip(" >"):
            self.has_content = True
        self.ends_space = s.endswith(" ")
        if self.total > self.max_chars:
            raise _Full

    def _finish_line(self) -> None:
        line = "".join(self.cur)
        self.lines.append(line)
        self.last_done_has_content = self.has_content
        self.total += 1
        self.cur = []
        self.cur_len = 0
        self.has_content = self.bullet_only = self.ends_space = False

    def _clear_line(self) -> None:
        self.cur = []
        self.cur_len = 0
        self.has_content = self.bullet_only = self.ends_space = False

    def newline(self, blank: bool = False) -> None:
        if self.bullet_only:
            return  # "<li><p>text": the text stays on the bullet's line
        if self.has_content:
            self._finish_line()
        if blank and self.lines and self.last_done_has_content:
            self._finish_line()  # the blank line between paragraphs
        if not self.has_content:
            self._clear_line()

    def br(self) -> None:
        self._finish_line()

    # ------------------------------------------------------------------ events
    def start(self, tag: str, attrs: dict[str, str | None]) -> None:
        if tag == "body":
            self.skip = 0  # an unclosed <head> (or <title>...) must not hide the whole body
            return
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.br()
            return
        if tag in _BLOCK_PARA:
            self.newline(blank=True)
        elif tag in _BLOCK_LINE:
            self.newline()
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "hr":
            self.write("-----")
            self.newline()
        elif tag in ("ul", "ol"):
            if len(self.lists) >= self.max_depth:
                self.lists_over += 1
                self.depth_capped = True
            else:
                self.lists.append([tag, 0])
        elif tag == "li":
            indent = "  " * max(0, len(self.lists) - 1)
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                self.write(f"{indent}{self.lists[-1][1]}. ", bullet=True)
            else:
                self.write(f"{indent}- ", bullet=True)
        elif tag in ("td", "th"):
            if self.has_content and not self.ends_space:
                self.write(" ")
        elif tag == "a":
            if len(self.links) < self.max_depth:
                self.links.append((attrs.get("href"), len(self.lines), len(self.cur), self.cur_len))
            else:
                self.depth_capped = True
        elif tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.data(f"[{alt[:200]}]")

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "a" and self.links:
            self._close_link(*self.links.pop())
            return
        if tag == "blockquote":
            self.newline(blank=True)
            self.quote = max(0, self.quote - 1)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in ("ul", "ol"):
            if self.lists_over:
                self.lists_over -= 1
            elif self.lists:
                self.lists.pop()
        if tag in _BLOCK_PARA:
            self.newline(blank=not (tag == "p" and self.lists))
        elif tag in _BLOCK_LINE:
            self.newline()

    def _shown_since(self, row: int, piece: int, col: int) -> str:
        """At most about _LINK_LOOKBACK characters of the text written since a link opened
        (finished lines joined with spaces, as they read)."""
        segments: list[str] = []
        size = 0
        if row < len(self.lines):
            for i in range(row, len(self.lines)):
                line = self.lines[i]
                chunk = line[col:col + _LINK_LOOKBACK] if i == row else line[:_LINK_LOOKBACK]
                segments.append(chunk)
                size += len(chunk) + 1
                if size >= _LINK_LOOKBACK:
                    break
            piece = 0
        if size < _LINK_LOOKBACK:
            current: list[str] = []
            for part in self.cur[piece:]:
                current.append(part[:_LINK_LOOKBACK])
                size += len(current[-1])
                if size >= _LINK_LOOKBACK:
                    break
            segments.append("".join(current))
        self.budget.tick(size)
        return " ".join(segments)

    def _close_link(self, href: str | None, row: int, piece: int, col: int) -> None:
        if not href:
            return
        href = href.strip()[:2048]
        low = href.lower()
        if low.startswith(("#", "javascript:", "data:", "cid:")):
            return
        shown = self._shown_since(row, piece, col).strip(" >")
        target = href[7:] if low.startswith("mailto:") else href
        if target.split("?")[0].rstrip("/") in shown or shown.rstrip("/") in (target, target.rstrip("/")):
            return
        if not shown:
            self.write(target)
        else:
            self.write(f" ({target})")

    def data(self, data: str) -> None:
        if self.skip or not data:
            return
        if self.pre:
            for i, part in enumerate(data.split("\n")):
                if i:
                    self._finish_line()
                self.write(part)
            return
        data = _WS_RE.sub(" ", data)
        if not self.has_content or self.ends_space:
            data = data.lstrip()
        self.write(data)

    def text(self) -> str:
        lines = self.lines + ["".join(self.cur)] if self.cur else self.lines
        return tidy("\n".join(lines))


def _attrs(span: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for m in _ATTR.finditer(span):
        name = m.group(1).lower()
        value = m.group(2)
        if value is not None:
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            value = unescape(value)
        out.setdefault(name, value)
    return out


def _tag_end(html: str, after: int) -> int:
    """Index of the '>' that closes a tag whose name ends at `after`, or -1. A quoted
    attribute value may hold '>' ("a > b"), looked for only within a short window."""
    gt = html.find(">", after)
    if gt < 0:
        return -1
    span = html[after:gt]
    if '"' not in span and "'" not in span:
        return gt
    open_quote = None
    for m in re.finditer(r"[\"']", span):
        if open_quote is None:
            open_quote = m.group(0)
        elif m.group(0) == open_quote:
            open_quote = None
    if open_quote is None:
        return gt
    close = html.find(open_quote, gt, gt + _QUOTE_WINDOW)
    if close < 0:
        return gt
    later = html.find(">", close)
    return later if later >= 0 else gt


def _run(html: str, out: _Text, budget: Budget) -> None:
    pos = 0
    n = len(html)
    find = html.find
    while pos < n:
        lt = find("<", pos)
        if lt < 0:
            out.data(unescape(html[pos:]))
            return
        if lt > pos:
            out.data(unescape(html[pos:lt]))
        budget.tick()
        if html.startswith("<!--", lt):
            end = find("-->", lt + 4)
            pos = n if end < 0 else end + 3
            continue
        nxt = html[lt + 1 : lt + 2]
        if nxt in ("!", "?"):  # doctype, CDATA, processing instruction: dropped
            end = find(">", lt + 2)
            pos = n if end < 0 else end + 1
            continue
        m = _TAG_START.match(html, lt)
        if m is None:
            if nxt == "/":  # "</ x>" and friends: a bogus comment
                end = find(">", lt + 2)
                pos = n if end < 0 else end + 1
                continue
            out.data("<")
            pos = lt + 1
            continue
        gt = _tag_end(html, m.end())
        if gt < 0:
            return  # a tag cut off by the end of the text is dropped
        closing, tag = m.group(1), m.group(2).lower()
        budget.tick(gt - lt)
        pos = gt + 1
        if closing:
            out.end(tag)
            continue
        inner = html[m.end():gt]
        attrs = _attrs(inner) if tag in ("a", "img") else {}
        out.start(tag, attrs)
        if inner.endswith("/"):
            if tag not in ("br", "hr", "img"):
                out.end(tag)
        elif tag in _RAW_TEXT:
            found = _RAW_END[tag].search(html, pos)
            if found is None:
                pos = n
                out.end(tag)
                continue
            end = find(">", found.end() - 1)
            pos = n if end < 0 else end + 1
            out.end(tag)


def tidy(text: str) -> str:
    text = text.translate(_INVISIBLE)
    lines = [line.rstrip() for line in text.split("\n")]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n").strip()


def html_to_text(
    html: str,
    *,
    max_chars: int = 1_000_000,
    max_depth: int = 20,
    budget: Budget | None = None,
    stats: HtmlStats | None = None,
) -> str:
    """Readable text from HTML: paragraphs and line breaks kept, list items as "- ",
    links as "text (url)", blockquotes as "> " lines, no script/style. At most `max_chars`
    characters; list and quote nesting followed `max_depth` deep. Raises only
    `BudgetExceeded` when a given `budget` is spent (the default one never is in practice)."""
    budget = budget if budget is not None else Budget(seconds=3600.0, max_steps=1 << 62)
    start = budget.steps
    out = _Text(budget, max_chars, max_depth)
    try:
        _run(html, out, budget)
    except _Full:
        if stats is not None:
            stats.cut = True
    text = out.text()
    if len(text) > max_chars:
        text = text[:max_chars]
    if stats is not None:
        stats.steps = budget.steps - start
        stats.depth_capped = out.depth_capped
    return text
