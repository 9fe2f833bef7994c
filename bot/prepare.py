"""The pipeline's steps before its write transaction (bot/pipeline.py): clean and mask
the text, and plan the answer from the conversation as last committed.

Nothing here writes or waits for the write lock, so under `serve` one worker does this
while another holds the lock. Measured in process (new customers, as bench_webhook.py
sends): the write transaction went from 0.72-0.80 to 0.43-0.45 ms per message, and two
processes writing one database from about 920 to 1,400 messages/s.
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable

from bot.dialogue import Context
from bot.dialogue.forecast import Forecast, plan_turn
from bot.dialogue.state import DialogueState, from_json
from bot.extract import Masked, mask_secrets
from bot.models import CATEGORIES, IntentMatch, Message
from handoff.store import Conversation, Store

# WhatsApp caps a message at 4,096 characters and email bodies are cut by the email
# channel; this bound only protects the database from a pathological post.
MAX_STORED_CHARS = 200_000
MENU_DIGIT = re.compile(r"^\s*([1-6])\s*[.)]?\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Prepared:
    """A message made ready for the write transaction (`Bot.prepare`)."""

    message: Message
    now: datetime
    text: str  # cleaned, not masked: ratings and menu digits are read from it
    masked: Masked
    match: IntentMatch
    attachments: list[dict[str, Any]]
    photos: int
    rating: int | None
    forecast: Forecast | None = None


def clean_text(raw: str) -> str:
    """Text safe to store and match: valid UTF-8, no control characters, bounded."""
    text = raw.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n"))
    if len(text) > MAX_STORED_CHARS:
        text = text[:MAX_STORED_CHARS] + "\n[…terpotong / truncated]"
    return text.strip()


def has_words(text: str) -> int:
    return len(_WORD.findall(text))


def mask_message(masked: Masked, message: Message) -> tuple[Masked, Message]:
    """The subject and display name are stored and echoed ("Re: ...") like the text: their
    secrets are masked too, and count for the customer's warning."""
    kinds = list(masked.kinds)
    changes: dict[str, Any] = {}
    for name in ("subject", "display_name"):
        value = getattr(message, name)
        if value:
            m = mask_secrets(clean_text(value))
            kinds += m.kinds
            if m.text != value:
                changes[name] = m.text
    return Masked(masked.text, tuple(dict.fromkeys(kinds))), replace(message, **changes) if changes else message


def reply_lang(match: IntentMatch, text: str, conv: Conversation | None) -> str:
    if has_words(text) >= 2 or conv is None:
        return match.lang
    return conv.lang or "id"


def menu_pick(match: IntentMatch, text: str, conv: Conversation) -> IntentMatch:
    digit = MENU_DIGIT.match(text)
    if digit and conv.menu_shown:
        return IntentMatch(CATEGORIES[int(digit.group(1)) - 1], 1.0, conv.lang or match.lang)  # type: ignore[arg-type]
    return match


def forecast(store: Store, context: Context, product_words: Iterable[str], p: Prepared) -> Forecast | None:
    """The plan `Bot.record` would make from the last committed state (bot/dialogue/forecast.py);
    None where it would not plan (a person holds the conversation, a rating may be due, a
    duplicate, mail threads) or the read fails."""
    message = p.message
    if message.channel == "email" or dict(message.meta).get("no_auto_reply"):
        return None
    try:
        with store.reading(p.now) as view:
            if view is None or view.message_exists(message.channel, "in", message.external_id):
                return None
            conv = view.current_conversation(message.channel, message.customer)
            ticket = view.open_ticket(conv.id) if conv is not None else None
    except sqlite3.Error:
        return None
    if conv is not None and (conv.state == "human" or conv.csat_ticket):
        return None
    lang = reply_lang(p.match, p.text, conv)
    if conv is None:  # the conversation `record` would open
        match, state, conv_lang, menu_shown, streak = p.match, DialogueState(), lang, False, 0
    else:
        match, state, conv_lang = menu_pick(p.match, p.text, conv), from_json(conv.dialogue), conv.lang
        menu_shown, streak = conv.menu_shown, conv.unknown_streak
    return plan_turn(
        context, text=p.masked.text, channel=message.channel, now=p.now, match=match, lang=lang,
        conversation_lang=conv_lang, state=state, ticket=ticket, menu_shown=menu_shown, unknown_streak=streak,
        photos=p.photos, attachments=len(p.attachments), secret_kinds=p.masked.kinds, product_words=product_words,
    )
