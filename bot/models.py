"""The records that flow through the bot, whatever the channel.

A channel adapter turns its transport's payload into a `Message`; the pipeline
turns a `Message` into an `Outcome` holding the `Reply` objects to send back.
None of these know Flask, Twilio or IMAP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Channel = Literal["whatsapp", "email", "chat"]
Lang = Literal["id", "en"]

INTENTS: tuple[str, ...] = (
    "product",
    "order_status",
    "return_refund",
    "payment",
    "account",
    "feedback",
    "greeting",
    "hours",
    "contact",
    "escalation",
    "human",
    "thanks",
    "unknown",
)
# The six support categories of the policy, in the order of its section 4 (the menu order).
CATEGORIES: tuple[str, ...] = INTENTS[:6]


@dataclass(frozen=True)
class Attachment:
    """A reference to media the customer sent (photo of a parcel, transfer receipt...).
    `data`: the bytes, when the channel hands them over (email) rather than a URL."""

    url: str | None = None
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    def reference(self) -> dict[str, object]:
        """What the message row records (never the bytes)."""
        return {"url": self.url, "content_type": self.content_type, "filename": self.filename, "size": self.size}


@dataclass(frozen=True)
class Message:
    """One inbound customer message, normalised.

    `customer` is the stable customer id on that channel: an E.164 number for
    WhatsApp, a lower-cased address for email, any id for the terminal chat.
    `external_id` is the transport's own id (Twilio MessageSid, Message-ID) and
    is what makes redelivery idempotent.
    """

    channel: Channel
    customer: str
    text: str
    received_at: datetime
    external_id: str | None = None
    subject: str | None = None
    display_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    thread_refs: tuple[str, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IntentMatch:
    """What the matcher decided, with the runner-up candidates for inspection.

    `topic`: inside the six support categories, which of its topics (knowledge/topics.toml)
    the message is about, or None when the matcher cannot tell. `flags`: "sarcasm" when
    praise words wrap a complaint."""

    intent: str
    confidence: float
    lang: Lang
    candidates: tuple[tuple[str, float], ...] = ()
    topic: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One answer to send on the customer's channel."""

    text: str
    channel: Channel
    customer: str
    subject: str | None = None
    in_reply_to: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What `handle` did with one message."""

    status: Literal["answered", "duplicate", "silenced", "ignored"]
    replies: tuple[Reply, ...] = ()
    intent: IntentMatch | None = None
    conversation_id: int | None = None
    message_id: int | None = None
    ticket_ref: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
