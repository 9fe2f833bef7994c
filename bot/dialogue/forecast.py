"""Planning an answer, and planning it before the write lock when that can be done.

`decide` is pure: the same turn and snapshot always give the same plan. So the pipeline
plans once before its write transaction, from the conversation and open ticket as last
committed (`Forecast`), and inside the transaction, where it reads them again, uses that
plan only when the turn and the snapshot come out equal; otherwise it plans again there.
Under `serve` the workers take turns at the write lock (handoff/write_gate.py), so the
work moved out of it is work another worker can do meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from bot.models import IntentMatch
from handoff.records import Ticket

from .decide import decide
from .details import find_details, is_detail_only
from .plan import Context, Plan, Snapshot, Turn
from .state import DialogueState


@dataclass(frozen=True)
class Forecast:
    """A turn planned, with the inputs it was planned from: made before the write lock,
    it is checked against the same inputs read again inside."""

    turn: Turn
    snapshot: Snapshot
    plan: Plan
    details_key: tuple[tuple[str, ...], str, str | None]  # what the turn's details were found from


def plan_turn(
    context: Context, *, text: str, channel: str, now: datetime, match: IntentMatch, lang: str,
    conversation_lang: str | None, state: DialogueState, ticket: Ticket | None, menu_shown: bool,
    unknown_streak: int, photos: int, attachments: int, secret_kinds: tuple[str, ...],
    product_words: Iterable[str], forecast: Forecast | None = None,
) -> Forecast:
    """The turn and its plan; `forecast`'s parts are reused where their inputs are equal."""
    asked = tuple(state.case.asked) if state.case is not None else ()
    key = (asked, match.intent, match.topic)
    if forecast is not None and forecast.details_key == key:
        details = forecast.turn.details
    else:
        details = find_details(text, photos=photos, asked=asked, intent=match.intent, topic=match.topic,
                               product_words=product_words)
    detail_only = is_detail_only(text, details, match.intent)
    if detail_only and conversation_lang:
        lang = conversation_lang  # an address or a link is not a change of language
    turn = Turn(text=text, channel=channel, now=now, match=match, lang=lang, details=details,
                detail_only=detail_only, attachments=attachments, secret_kinds=secret_kinds)
    snapshot = Snapshot(state, ticket, menu_shown, unknown_streak)
    if forecast is not None and forecast.turn == turn and forecast.snapshot == snapshot:
        plan = forecast.plan
    else:
        plan = decide(turn, snapshot, context)
    return Forecast(turn, snapshot, plan, key)
