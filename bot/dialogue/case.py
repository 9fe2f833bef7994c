"""Working with a case: its details, what is still missing, when the next answer is due."""
from __future__ import annotations

from bot.dialogue.evolve import evolve as replace
from datetime import datetime, timedelta
from typing import Any

from bot.knowledge import Knowledge
from handoff.store import Ticket

from .details import Details
from .state import Case

# A case without a ticket (a pre-sale question the shop's facts answered, details sent
# before any question) is forgotten after this long without a message.
CASE_IDLE = timedelta(hours=24)
# What an agent needs when the topic is unknown (the bot knows only the category).
CATEGORY_NEEDS: dict[str, tuple[str, ...]] = {
    "product": ("product",),
    "order_status": ("order_number", "recipient_name"),
    "return_refund": ("order_number", "photo"),
    "payment": ("order_number", "payment_method"),
    "account": ("account_id",),
}
# Questions that, inside an open case of their category, ask how the case is going.
FOLLOWUP_TOPICS = frozenset({"order_tracking", "delivery_estimate", "tracking_number", "refund_status"})
# The ticket's detail keys (what the console shows) per detail kind.
TICKET_KEYS = {
    "order_number": "order_numbers", "email": "emails", "phone": "phones", "recipient_name": "recipient_names",
    "product": "products", "variant": "variants", "payment_method": "payment_methods", "address": "addresses",
    "tracking_number": "tracking_numbers", "voucher": "vouchers", "refund_to": "refund_destinations",
}


def promise_span(knowledge: Knowledge, channel: str) -> timedelta:
    """The channel's response promise in opening time (email 2 h, WhatsApp and chat 15 min)."""
    shop = knowledge.shop
    return timedelta(hours=shop.email_max_hours) if channel == "email" else timedelta(minutes=shop.wa_max_minutes)


def has(case: Case, need: str) -> bool:
    return case.has(need)


def missing(case: Case, needs: tuple[str, ...]) -> list[str]:
    return [n for n in needs if not case.has(n)]


def merge_details(case: Case, details: Details, correct: bool = False) -> tuple[Case, dict[str, tuple[str, ...]]]:
    """The case with the message's details added (`correct`: replacing what was given
    before of the same kind: "salah ketik, yang benar ..."), and those that were new."""
    merged = {k: tuple(v) for k, v in case.details.items()}
    new: dict[str, tuple[str, ...]] = {}
    for kind, values in details.values.items():
        if kind == "photo":  # files accumulate; the value is only a count
            count = sum(int(v.split()[0]) for v in merged.get("photo", ()) if v.split()[0].isdigit())
            count += sum(int(v.split()[0]) for v in values if v.split()[0].isdigit())
            merged["photo"] = (f"{count} file",)
            new["photo"] = values
            continue
        old = () if correct else merged.get(kind, ())
        fresh = tuple(v for v in values if v not in old)
        if fresh:
            merged[kind] = old + fresh
            new[kind] = fresh
    return replace(case, details=merged), new


def name_details(knowledge: Knowledge, lang: str, new: dict[str, tuple[str, ...]]) -> list[str]:
    """"Nomor pesanan INV-...", "Nama penerima Sri Wahyuni"..., one per kind."""
    texts = knowledge.detail_texts.get(lang) or knowledge.detail_texts["id"]
    out = []
    for kind, values in new.items():
        if kind in texts:
            out.append(texts[kind].noted.format(value=", ".join(values)))
    return out


def named_list(knowledge: Knowledge, lang: str, kinds: list[str]) -> str:
    texts = knowledge.detail_texts.get(lang) or knowledge.detail_texts["id"]
    names = [texts[k].ask for k in kinds if k in texts]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + (" dan " if lang == "id" else " and ") + names[-1]


def reply_due(ticket: Ticket, channel_due: datetime) -> tuple[datetime, bool]:
    """When a person answers this ticket next, and whether this message starts the
    next-reply timer (a person answered before and no reply is pending)."""
    if ticket.first_response_at is None:
        return ticket.first_response_due or ticket.due_at, False
    if ticket.reply_due is not None:
        return ticket.reply_due, False
    resolution = ticket.resolution_due or ticket.due_at
    return min(channel_due, resolution), True


def adopt_ticket(ticket: Ticket) -> Case:
    """A case for an open ticket the state does not know (opened before conversation
    state existed): its details, its promise already told."""
    details: dict[str, tuple[str, ...]] = {}
    for kind, key in TICKET_KEYS.items():
        values = ticket.details.get(key)
        if values:
            details[kind] = tuple(str(v) for v in values)
    return Case(category=ticket.intent, topic=getattr(ticket, "topic", None), opened_at=ticket.created_at,
                ticket_ref=ticket.ref, details=details, said=("promise",),
                promised_due=ticket.first_response_due or ticket.due_at,
                topics=(ticket.topic,) if getattr(ticket, "topic", None) else ())


def ticket_details(old: dict[str, Any], details: Details, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket's `details` with this message's added (what the console shows)."""
    merged = {k: list(v) for k, v in old.items()}
    for kind, values in details.values.items():
        key = TICKET_KEYS.get(kind)
        if key:
            merged[key] = list(dict.fromkeys([*merged.get(key, []), *values]))
    if attachments:
        merged["attachments"] = [*merged.get("attachments", []), *attachments]
    return merged
