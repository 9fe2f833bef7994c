"""What every channel adapter provides: its transport's payload in, a `Reply` out."""
from __future__ import annotations

from typing import Any, Protocol

from bot.models import Message, Reply


class Channel(Protocol):
    name: str

    def parse_inbound(self, payload: Any) -> Message:
        """Turn the transport's payload (a form, a mail, a terminal line) into a `Message`."""

    def send(self, reply: Reply) -> None:
        """Deliver one reply on this channel."""
