"""The records of a decision: what came in, what the bot remembers, what to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.business_hours import BusinessCalendar
from bot.knowledge import Knowledge
from bot.models import IntentMatch
from bot.responder import Responder
from handoff.store import Ticket

from .details import Details
from .state import DialogueState


@dataclass(frozen=True)
class Turn:
    """One customer message, cleaned, masked and classified."""

    text: str
    channel: str
    now: datetime
    match: IntentMatch
    lang: str
    details: Details
    detail_only: bool = False
    attachments: int = 0
    secret_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """What the store knows of the conversation when the message arrives."""

    state: DialogueState
    ticket: Ticket | None  # the conversation's unresolved ticket
    menu_shown: bool = False
    unknown_streak: int = 0


@dataclass(frozen=True)
class NewTicket:
    intent: str
    topic: str | None
    priority: str
    due_at: datetime  # first-response promise
    resolution_due: datetime


@dataclass(frozen=True)
class TicketChange:
    """Changes to the open ticket beyond the details (which every message adds)."""

    topic: str | None = None  # the ticket had none yet
    raise_to: NewTicket | None = None  # a higher priority (complex case, escalation)
    await_reply: bool = False  # a person answered before: the next-reply timer starts


@dataclass(frozen=True)
class Plan:
    """What to say and what to record for one message."""

    text: str  # the reply; NEW_REF where the new ticket's number goes
    key: str  # the kind of answer ("order_status", "followup", "details"...)
    state: DialogueState
    new_ticket: NewTicket | None = None
    change: TicketChange | None = None
    events: tuple[tuple[str, dict[str, Any]], ...] = ()
    unknown_streak: int = 0
    menu_shown: bool = False
    notes: tuple[str, ...] = ()  # for the people on the ticket ("tidak ingin: pembatalan pesanan")


@dataclass(frozen=True)
class Context:
    """The read-only services a decision uses (no storage)."""

    knowledge: Knowledge
    calendar: BusinessCalendar
    responder: Responder = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.responder is None:
            object.__setattr__(self, "responder", Responder(self.knowledge, self.calendar))
