"""Fill a saved reply's variables for one ticket, for the console and the CLI alike.

The values come from what the bot collected on the ticket (`tickets.details`: order
numbers, products, tracking numbers, recipients ...), the conversation (the customer's
display name, their address on their channel), the live-chat visitor's own contact
details, and who answers. Rules (issue 12):
- `{nama}` with no known name leaves no gap: "Halo Kak {nama}," -> "Halo Kak,";
- any other variable without a value refuses the whole reply, naming what is missing,
  so a customer never reads "nomor pesanan  sedang kami cek";
- an unknown variable refuses too (a text saved before a variable was retired);
- the version in the conversation's language, else the other one.
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from handoff import canned
from handoff.queue import QueueError
from handoff.records import Conversation, Ticket

NAME_VAR = "nama"
_NAME_LIMIT = 60


class CannedError(QueueError):
    """A saved reply that cannot be sent for this ticket; `missing` / `unknown` name the variables."""

    def __init__(self, message: str, indonesian: str, *, missing: tuple[str, ...] = (),
                 unknown: tuple[str, ...] = ()) -> None:
        super().__init__(message, indonesian)
        self.missing = missing
        self.unknown = unknown


@dataclass(frozen=True)
class Filled:
    shortcut: str
    lang: str
    title: str | None
    text: str


# -- the rules, on plain text ------------------------------------------------------------
def _drop_name(text: str) -> str:
    """Remove every `{nama}` leaving no gap: the spaces before it go, and when punctuation
    or the line's end follows, nothing dangles ("Kak {nama}, ..." -> "Kak, ..."). At the
    start of a line a following comma goes too and the next word gets its capital."""
    out = []
    for line in text.split("\n"):
        start = re.match(r"^([ \t]*)\{nama\}[ \t]*[,;:]?[ \t]*", line)
        if start:
            rest = line[start.end():]
            line = start.group(1) + rest[:1].upper() + rest[1:]
        line = re.sub(r"[ \t]*\{nama\}[ \t]*(?=[,.!?;:)]|$)", "", line)
        line = re.sub(r"[ \t]*\{nama\}", "", line)
        out.append(line)
    return "\n".join(out)


def render(text: str, values: dict[str, str | None], *, shortcut: str = "", ref: str = "") -> str:
    """`text` with its variables filled from `values`; CannedError names what is unknown or empty."""
    names = list(dict.fromkeys(canned.VARIABLE_RE.findall(text)))
    what = f"saved reply /{shortcut}" if shortcut else "this saved reply"
    what_id = f"/{shortcut}" if shortcut else "ini"
    unknown = tuple(n for n in names if n not in canned.VARIABLES)
    if unknown:
        braces = ", ".join("{" + n + "}" for n in unknown)
        raise CannedError(f"{what} uses unknown variable {braces}: correct it (canned add)",
                          f"Balasan tersimpan {what_id} memakai variabel yang tidak dikenal: {braces}. "
                          "Minta supervisor memperbaikinya.", unknown=unknown)
    missing = tuple(n for n in names if n != NAME_VAR and not (values.get(n) or "").strip())
    if missing:
        braces = ", ".join("{" + n + "}" for n in missing)
        meaning = ", ".join(canned.VARIABLES[n] for n in missing)
        on = f" for {ref}" if ref else ""
        on_id = f" di tiket {ref}" if ref else ""
        raise CannedError(f"{what} not sent: {braces} {'is' if len(missing) == 1 else 'are'} empty{on} (ask the customer, or write "
                          "the reply yourself)",
                          f"Balasan tersimpan {what_id} tidak dikirim: {braces} ({meaning}) belum ada{on_id}. "
                          "Tanyakan dulu ke pelanggan atau tulis balasan sendiri.", missing=missing)
    if NAME_VAR in names and not (values.get(NAME_VAR) or "").strip():
        text = _drop_name(text)
    return canned.VARIABLE_RE.sub(lambda m: (values.get(m.group(1)) or "").strip(), text)


def pick(versions: dict[str, canned.CannedReply], lang: str | None) -> canned.CannedReply | None:
    """The version in the conversation's language, else the other one."""
    first = lang if lang in canned.LANGS else "id"
    for code in (first, *[c for c in canned.LANGS if c != first]):
        if code in versions:
            return versions[code]
    return None


# -- values from a ticket ----------------------------------------------------------------
def _person_name(raw: str | None) -> str | None:
    """A display name worth greeting: some letters, not an address or a number."""
    name = " ".join((raw or "").split())[:_NAME_LIMIT]
    if not name or "@" in name or not any(c.isalpha() for c in name):
        return None
    return name


def _joined(details: dict[str, Any], key: str) -> str | None:
    values = [str(v).strip() for v in details.get(key) or [] if str(v).strip()]
    return ", ".join(dict.fromkeys(values)) or None


def _first(details: dict[str, Any], key: str) -> str | None:
    values = [str(v).strip() for v in details.get(key) or [] if str(v).strip()]
    return values[0] if values else None


def _agent_name(agent: str) -> str:
    """`sari` -> `Sari`: agents log in with lower-case names, customers read a name."""
    return agent[:1].upper() + agent[1:] if agent.islower() else agent


def ticket_values(conn: sqlite3.Connection, ticket: Ticket, conv: Conversation | None, agent: str) -> dict[str, str | None]:
    """Every variable's value for this ticket (None when unknown)."""
    details = ticket.details or {}
    visitor = None
    if ticket.channel == "web":
        from handoff.livechat import visitor as livechat_visitor

        visitor = livechat_visitor(conn, ticket.customer)
    name = _person_name(conv.display_name if conv else None) or _person_name(visitor.name if visitor else None)
    if ticket.channel == "email":
        email: str | None = ticket.customer
    else:
        email = (visitor.email if visitor and visitor.email else None) or _first(details, "emails")
    if ticket.channel == "whatsapp":
        phone: str | None = ticket.customer.removeprefix("whatsapp:")
    else:
        phone = (visitor.phone if visitor and visitor.phone else None) or _first(details, "phones")
    return {
        "nama": name,
        "nomor_pesanan": _joined(details, "order_numbers"),
        "tiket": ticket.ref,
        "agen": _agent_name(agent),
        "produk": _joined(details, "products"),
        "varian": _joined(details, "variants"),
        "resi": _joined(details, "tracking_numbers"),
        "email": email,
        "telepon": phone,
        "penerima": _joined(details, "recipient_names"),
    }


def _ticket(store: Any, ref: str) -> tuple[Ticket, Conversation | None]:
    ticket = store.ticket((ref or "").strip().upper())
    if ticket is None:
        raise QueueError(f"no ticket {ref}", "Tiket tidak ditemukan.")
    return ticket, store.conversation(ticket.conversation_id)


def fill(store: Any, ref: str, shortcut: str, agent: str) -> Filled:
    """The saved reply `shortcut` filled for ticket `ref`, answered by `agent`."""
    ticket, conv = _ticket(store, ref)
    key = canned.clean_shortcut(shortcut)
    chosen = pick(canned.versions(store.conn, key), conv.lang if conv else None)
    if chosen is None:
        raise QueueError(f"no saved reply /{key} (see: yessindo-bot canned list)",
                         f"Balasan tersimpan /{key} tidak ada.")
    values = ticket_values(store.conn, ticket, conv, agent)
    return Filled(key, chosen.lang, chosen.title, render(chosen.text, values, shortcut=key, ref=ticket.ref))


def suggestions(store: Any, ref: str, query: str, agent: str, limit: int = 20) -> list[dict[str, Any]]:
    """What the reply box offers for `/query`: each shortcut filled for this ticket, or the
    reason it cannot be (naming the missing variables), in the conversation's language."""
    ticket, conv = _ticket(store, ref)
    values = ticket_values(store.conn, ticket, conv, agent)
    out = []
    for key in canned.search(store.conn, query, limit):
        chosen = pick(canned.versions(store.conn, key), conv.lang if conv else None)
        if chosen is None:
            continue
        item: dict[str, Any] = {"shortcut": key, "lang": chosen.lang, "title": chosen.title, "text": None,
                                "error": None, "missing": []}
        try:
            item["text"] = render(chosen.text, values, shortcut=key, ref=ticket.ref)
        except CannedError as exc:
            item.update(error=exc.indonesian, missing=list(exc.missing or exc.unknown))
        out.append(item)
    return out
