"""What the bot remembers of one conversation: the open case and what it already said.

Kept as JSON on the conversation row (`conversations.dialogue`, schema 5), so it is
deleted with the conversation by `forget` and retention. Frozen dataclasses; every
change makes a new value (`replace`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

from bot.dialogue.evolve import evolve as replace
from datetime import datetime
from typing import Any

from handoff.records import dump_json as _dump_json

REPLY_MEMORY = 60  # fingerprints of the bot's last replies (and their varying parts), never repeated word for word


@dataclass(frozen=True)
class Case:
    """One customer problem, from the first message about it until its ticket is resolved."""

    category: str | None  # the intent label that opened it (None: details came before any question)
    topic: str | None
    opened_at: datetime
    ticket_ref: str | None = None
    details: dict[str, tuple[str, ...]] = field(default_factory=dict)
    asked: tuple[str, ...] = ()  # details the bot asked for: never asked again in this case
    said: tuple[str, ...] = ()  # "promise", "contacts", "menu", "closed", "ticket", "privacy", "hours"...
    promised_due: datetime | None = None  # the answer time the customer was last told
    topics: tuple[str, ...] = ()  # every topic raised in this case, in order
    last_at: datetime | None = None

    def known(self, kind: str) -> tuple[str, ...]:
        return self.details.get(kind, ())

    def has(self, need: str) -> bool:
        if need == "account_id":
            return bool(self.known("email") or self.known("phone"))
        if need == "proof":
            return bool(self.known("photo") or self.known("proof"))
        return bool(self.known(need))


@dataclass(frozen=True)
class DialogueState:
    case: Case | None = None
    said: tuple[str, ...] = ()  # outside any case (a greeting's menu, the contact list)
    said_at: datetime | None = None
    replies: tuple[str, ...] = ()  # fingerprints of recent bot replies
    count: int = 0  # customer messages answered in this conversation
    last_at: datetime | None = None  # the last message: a day of silence starts the talk afresh

    def with_reply(self, text: str) -> "DialogueState":
        return replace(self, replies=(self.replies + (fingerprint(text),))[-REPLY_MEMORY:], count=self.count + 1)

    def remember(self, texts: list[str]) -> "DialogueState":
        """Parts of a reply that have other wordings: the next reply takes another."""
        new = tuple(fingerprint(t) for t in texts)
        return replace(self, replies=(self.replies + new)[-REPLY_MEMORY:]) if new else self

    def repeats(self, text: str) -> bool:
        return fingerprint(text) in self.replies


@lru_cache(maxsize=1024)
def fingerprint(text: str) -> str:
    """The same for texts that differ only in case and spacing. Kept for the last texts
    seen: the answers' parts recur from one customer to the next, and each is
    fingerprinted several times per answer (repeats, then the reply remembered)."""
    norm = " ".join(text.lower().split())  # str.split's whitespace is the same as re's \s
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------- JSON
def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_json(state: DialogueState) -> str:
    case = state.case
    data: dict[str, Any] = {
        "said": list(state.said), "said_at": _iso(state.said_at), "replies": list(state.replies), "count": state.count,
        "last_at": _iso(state.last_at),
        "case": None if case is None else {
            "category": case.category, "topic": case.topic, "opened_at": _iso(case.opened_at),
            "ticket_ref": case.ticket_ref, "details": {k: list(v) for k, v in case.details.items()},
            "asked": list(case.asked), "said": list(case.said), "promised_due": _iso(case.promised_due),
            "topics": list(case.topics), "last_at": _iso(case.last_at),
        },
    }
    return _dump_json(data)


def from_json(text: str | None) -> DialogueState:
    """The stored state; an empty, unreadable or foreign value is a fresh start, never an error."""
    if not text:
        return DialogueState()
    try:
        data = json.loads(text)
        c = data.get("case")
        case = None
        if c:
            case = Case(
                category=c.get("category"), topic=c.get("topic"), opened_at=_dt(c["opened_at"]),  # type: ignore[arg-type]
                ticket_ref=c.get("ticket_ref"),
                details={str(k): tuple(str(x) for x in v) for k, v in (c.get("details") or {}).items()},
                asked=tuple(c.get("asked") or ()), said=tuple(c.get("said") or ()),
                promised_due=_dt(c.get("promised_due")), topics=tuple(c.get("topics") or ()),
                last_at=_dt(c.get("last_at")),
            )
        return DialogueState(case=case, said=tuple(data.get("said") or ()), said_at=_dt(data.get("said_at")),
                             replies=tuple(data.get("replies") or ()), count=int(data.get("count") or 0),
                             last_at=_dt(data.get("last_at")))
    except (ValueError, TypeError, KeyError, AttributeError):
        return DialogueState()
