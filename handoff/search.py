"""Search over tickets and conversations for agents (console and CLI), on the FTS5
indexes of handoff/search_index.py.

What a person types is never FTS syntax: every word becomes a quoted string (`"` doubled),
so `"`, `*`, `NEAR(`, `AND`, `-` are just text. Phone numbers in any spelling (0812-3456-7890,
+62 812 3456 7890, 6281234567890) become their national digits and are looked up in the
tickets' phone column, prefixes too; a ticket ref (YS-000123, 000123) and a whole phone
number or email address also hit the tickets directly by index.

Ranking, best first: the ticket whose ref was typed; the customer whose number or address
was typed (newest tickets first); tickets whose facts match (bm25: ref > phone, id, order >
names); then conversations whose messages match. Messages are ranked by bm25 among the
newest matches (`MESSAGE_WINDOW` per page asked for): a common word in 1,000,000 messages
must not make every search score all of them.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from handoff.records import parse_iso

PAGE_SIZE = 20
MAX_PAGE = 50
MAX_QUERY = 200
MESSAGE_WINDOW = 400
CATCH_UP_BATCH = 20_000  # pending rows indexed per write transaction (about 0.2 s)
HIT_START, HIT_END = "\x02", "\x03"  # snippet markers: never in stored text that reaches a page as HTML

_REF = re.compile(r"(?i)^\s*(?:YS[-\s]?)?(\d{6})\s*$|^\s*YS[-\s]?(\d{1,6})\s*$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# a run of digits as a person writes a phone number: +62 812-3456-7890, (0812) 3456 7890
_PHONE_RUN = re.compile(r"(?<![\w\-/+])\+?\(?\d[\d\s\-.()]*\d(?![\w\-/])")
_WORD = re.compile(r"\w", re.UNICODE)
_FACT_WEIGHTS = (10.0, 6.0, 6.0, 6.0, 3.0)  # ref, phones, ids, orders, names


@dataclass(frozen=True)
class Result:
    ref: str | None  # None: a conversation that never became a ticket
    ticket_id: int | None
    conversation_id: int
    channel: str
    customer: str
    name: str | None
    status: str  # the ticket's status, or the conversation's state
    intent: str | None
    created_at: datetime | None
    match: str  # ref | customer | facts | message
    snippet: list[tuple[str, bool]] = field(default_factory=list)  # (text, is the match)

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _hit in self.snippet)

    def as_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "conversation_id": self.conversation_id, "channel": self.channel,
                "customer": self.customer, "name": self.name, "status": self.status, "intent": self.intent,
                "created_at": self.created_at.isoformat() if self.created_at else None, "match": self.match,
                "snippet": self.snippet_text}


@dataclass(frozen=True)
class SearchPage:
    query: str
    results: list[Result]
    page: int
    has_next: bool


@dataclass(frozen=True)
class Query:
    """What the text asks for: exact keys and the two FTS5 expressions (None: nothing to match)."""
    ref: str | None
    customers: tuple[str, ...]
    facts: str | None
    messages: str | None
    words: tuple[str, ...]  # lower-case words and digit strings, to mark matches in snippets
    text: str = ""  # the whole text, tidied
    messages_wide: str | None = None  # the same with suffixed forms of longer words (kurir*), when different


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def national(digits: str) -> str:
    """The digits of a phone number after the country code or trunk 0 (Indonesia)."""
    if digits.startswith("0"):
        return digits.lstrip("0")
    if digits.startswith("62") and len(digits) >= 9:
        return digits[2:]
    return digits


def parse(text: str) -> Query:
    text = " ".join((text or "").split())[:MAX_QUERY]
    ref = None
    m = _REF.match(text)
    if m:
        ref = f"YS-{int(m.group(1) or m.group(2)):06d}"
    customers: list[str] = []
    facts: list[str] = []
    messages: list[str] = []
    wide: list[str] = []
    words: list[str] = []
    rest = text
    for em in _EMAIL.finditer(text):  # an address: a phrase of its parts, and the customer itself
        address = em.group(0).lower()
        customers.append(address)
        facts.append(_quote(address))
        messages.append(_quote(address))
        wide.append(_quote(address))
        words.append(address)
        rest = rest.replace(em.group(0), " ")
    for pm in _PHONE_RUN.finditer(rest):
        raw = pm.group(0)
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 4:
            continue
        nat = national(digits)
        rest = rest.replace(raw, " ", 1)
        if len(digits) >= 9 and (raw.lstrip("(").startswith(("+", "0", "62", "8"))):
            customers.append(("+" + digits) if raw.startswith("+") else "+62" + nat)
        # the phone column by prefix, or the digits as written anywhere (an order number, a ref)
        facts.append(f"(phones : {_quote(nat)}* OR {_quote(digits)})")
        spellings = dict.fromkeys([raw, digits, *(["0" + nat, "62" + nat] if len(digits) >= 9 else [])])
        messages.append("(" + " OR ".join(_quote(s) for s in spellings) + ")")
        wide.append(messages[-1])
        words += [digits, nat]
    chunks = [c for c in rest.split() if _WORD.search(c)]
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        # the last word may be unfinished (a name being typed): a prefix in the facts
        tail = (re.findall(r"\w+", chunk) or [""])[-1]  # the token a prefix would apply to (YS-0 -> 0)
        facts.append(_quote(chunk) + ("*" if last and len(tail) >= 3 and not chunk.isdigit() else ""))
        messages.append(_quote(chunk))
        # wider: a word also matches its suffixed forms (kurir -> kurirnya, kirim -> kiriman)
        wide.append(_quote(chunk) + ("*" if len(chunk) >= 4 and chunk.isalpha() else ""))
        words += [w.lower() for w in re.findall(r"\w+", chunk)]
    exact, wider = " ".join(messages) or None, " ".join(wide) or None
    return Query(ref, tuple(dict.fromkeys(customers)), " ".join(facts) or None, exact,
                 tuple(w for w in dict.fromkeys(words) if w), text, wider if wider != exact else None)


def search(store: Any, text: str, page: int = 1, page_size: int = PAGE_SIZE) -> SearchPage:
    """One page of results for what an agent typed."""
    conn: sqlite3.Connection = store.conn
    bring_up_to_date(store)
    q = parse(text)
    page = min(max(1, page), MAX_PAGE)
    need = page * page_size + 1
    # ('t', ticket id) | ('c', conv id) -> (match, message id, the expression that matched it)
    keys: dict[tuple[str, int], tuple[str, int | None, str | None]] = {}

    def add(key: tuple[str, int], match: str, message: int | None = None, expr: str | None = None) -> None:
        if key not in keys:
            keys[key] = (match, message, expr)

    if q.ref:
        row = conn.execute("SELECT id FROM tickets WHERE ref = ?", (q.ref,)).fetchone()
        if row:
            add(("t", row[0]), "ref")
    for customer in q.customers:
        for (tid,) in conn.execute("SELECT id FROM tickets WHERE customer = ? ORDER BY id DESC LIMIT ?",
                                   (customer, need)):
            add(("t", tid), "customer")
        for (cid,) in conn.execute(  # their conversations that never became a ticket
                "SELECT id FROM conversations c WHERE customer = ? AND NOT EXISTS "
                "(SELECT 1 FROM tickets t WHERE t.conversation_id = c.id) ORDER BY id DESC LIMIT ?", (customer, need)):
            add(("c", cid), "customer")
    if q.facts and len(keys) < need:
        try:
            rows = conn.execute(
                f"SELECT rowid FROM search_facts WHERE search_facts MATCH ? "
                f"ORDER BY bm25(search_facts, {', '.join(map(str, _FACT_WEIGHTS))}), rowid DESC LIMIT ?",
                (q.facts, need)).fetchall()
        except sqlite3.OperationalError:
            rows = []  # nothing the index can match (our quoting leaves no syntax error to make)
        for (tid,) in rows:
            add(("t", tid), "facts")
    # messages: the words as typed; only when that finds too little, their suffixed forms too
    # (a prefix query reads every form's whole list: costly for common words, so not first)
    for expr in (q.messages, q.messages_wide):
        if expr and len(keys) < need:
            for key, mid in _message_hits(conn, expr, need, page * MESSAGE_WINDOW):
                add(key, "message", mid, expr)
    ordered = list(keys.items())
    shown = ordered[(page - 1) * page_size: page * page_size]
    results = [_result(conn, q, key, match, mid, expr) for key, (match, mid, expr) in shown]
    return SearchPage(" ".join((text or "").split())[:MAX_QUERY], [r for r in results if r], page,
                      len(ordered) > page * page_size)


def bring_up_to_date(store: Any, batch: int = CATCH_UP_BATCH) -> None:
    """Index what was written since the last search (search_index.catch_up), in short write
    transactions of at most `batch` rows so webhooks never wait long. A busy database: the
    search runs on the index as it is."""
    from bot.errors import StoreError
    from handoff import search_index

    try:
        while search_index.pending(store.conn):
            with store.write(datetime.now(timezone.utc)) as tx:
                if search_index.catch_up(tx.conn, batch) < batch:
                    break
    except StoreError:
        return


def _message_hits(conn: sqlite3.Connection, expr: str, need: int, window: int) -> list[tuple[tuple[str, int], int]]:
    """(result key, best message) of the conversations whose messages match, best first."""
    try:
        rows = conn.execute(
            "SELECT f.rowid, bm25(search_messages), m.conversation_id, m.created_at FROM search_messages f "
            "JOIN messages m ON m.id = f.rowid WHERE search_messages MATCH ? ORDER BY f.rowid DESC LIMIT ?",
            (expr, window)).fetchall()
    except sqlite3.OperationalError:
        return []
    best: dict[int, tuple[float, int, str]] = {}
    for mid, score, conv, created in rows:
        if conv not in best or score < best[conv][0]:
            best[conv] = (score, mid, created)
    out = []
    for conv, (_score, mid, created) in sorted(best.items(), key=lambda kv: (kv[1][0], -kv[1][1])):
        # the conversation's ticket the message belongs to: the last one opened before it
        row = conn.execute("SELECT id FROM tickets WHERE conversation_id = ? AND created_at <= ? "
                           "ORDER BY id DESC LIMIT 1", (conv, created)).fetchone() or conn.execute(
            "SELECT id FROM tickets WHERE conversation_id = ? ORDER BY id LIMIT 1", (conv,)).fetchone()
        out.append(((("t", row[0]) if row else ("c", conv)), mid))
        if len(out) >= need:
            break
    return out


def _result(conn: sqlite3.Connection, q: Query, key: tuple[str, int], match: str, mid: int | None,
            expr: str | None) -> Result | None:
    kind, ident = key
    if kind == "t":
        row = conn.execute(
            "SELECT t.id, t.ref, t.conversation_id, t.channel, t.customer, c.display_name, t.status, t.intent, "
            "t.created_at, t.details FROM tickets t LEFT JOIN conversations c ON c.id = t.conversation_id "
            "WHERE t.id = ?", (ident,)).fetchone()
    else:
        row = conn.execute(
            "SELECT NULL, NULL, id, channel, customer, display_name, state, NULL, created_at, NULL "
            "FROM conversations WHERE id = ?", (ident,)).fetchone()
    if row is None:
        return None
    tid, ref, conv, channel, customer, name, status, intent, created, details = tuple(row)
    if match == "message" and mid is not None:
        snippet = _message_snippet(conn, expr or q.messages or "", mid)
    else:
        snippet = _facts_snippet(q, match, ref, customer, name, details)
    return Result(ref, tid, conv, channel, customer, name, status, intent, parse_iso(created) if created else None,
                  match, snippet)


def _segments(text: str) -> list[tuple[str, bool]]:
    """Text with HIT_START/HIT_END markers -> [(text, is the match)]."""
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{HIT_START}{HIT_END}]", text)):
        if part:
            out.append((part, i % 2 == 1))
    return out


def _message_snippet(conn: sqlite3.Connection, expr: str, mid: int) -> list[tuple[str, bool]]:
    """The message around the match, from the expression that found it (a cheap seek by rowid)."""
    try:
        row = conn.execute(
            "SELECT snippet(search_messages, 0, ?, ?, '…', 16) FROM search_messages "
            "WHERE search_messages MATCH ? AND rowid = ?", (HIT_START, HIT_END, expr, mid)).fetchone()
    except sqlite3.OperationalError:
        row = None
    if row and row[0]:
        return _segments(" ".join(row[0].split()))
    text = conn.execute("SELECT text FROM messages WHERE id = ?", (mid,)).fetchone()
    return [(" ".join((text[0] or "").split())[:160], False)] if text else []


_FACT_LABELS = (("order_numbers", "Nomor pesanan"), ("phones", "Telepon"), ("emails", "Email"),
                ("recipient_names", "Nama penerima"))


def _mark(value: str, q: Query) -> list[tuple[str, bool]] | None:
    """`value` split where it contains a searched word (digits compared without separators)."""
    low = value.lower()
    bare = re.sub(r"\D", "", value)
    if q.text and re.sub(r"\W", "", q.text.lower()) == re.sub(r"\W", "", low):
        return [(value, True)]  # the whole value was typed (in any spelling)
    for w in sorted(q.words, key=len, reverse=True):
        if len(w) < 2:
            continue
        at = low.find(w)
        if at >= 0:
            return [s for s in ((value[:at], False), (value[at:at + len(w)], True), (value[at + len(w):], False)) if s[0]]
        if w.isdigit() and len(w) >= 4 and w in bare:
            return [(value, True)]
    return None


def _facts_snippet(q: Query, match: str, ref: str | None, customer: str, name: str | None,
                   details: str | None) -> list[tuple[str, bool]]:
    """What matched among the ticket's facts, labelled (Indonesian, as the console shows it)."""
    if match == "ref" and ref:
        return [("Tiket ", False), (ref, True)]
    try:
        facts = json.loads(details or "{}")
    except ValueError:
        facts = {}
    candidates: list[tuple[str, str]] = [("Pelanggan", customer)]
    if name:
        candidates.append(("Nama", name))
    for key, label in _FACT_LABELS:
        values = facts.get(key) if isinstance(facts, dict) else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, str):
                candidates.append((label, value))
    if ref:
        candidates.append(("Tiket", ref))
    for label, value in candidates:
        marked = _mark(value, q)
        if marked:
            return [(f"{label}: ", False), *marked]
    return [(f"Pelanggan: {customer}", False)]
