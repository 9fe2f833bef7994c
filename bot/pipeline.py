"""`handle(message) -> Outcome`: the one conversation pipeline every channel uses.

Per message: clean the text, mask secrets, classify (outside any lock), then in
one short write transaction: drop a duplicate, record the message, stay silent
when a person holds the conversation, decide the answer, open or update the
ticket, record the answer. Knows no Flask, Twilio or IMAP.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar
from bot.extract import Extracted, extract, mask_secrets
from bot.intents import IntentMatcher
from bot.knowledge import Knowledge
from bot.models import CATEGORIES, IntentMatch, Message, Outcome, Reply
from bot.responder import Responder
from handoff import blobs
from handoff.store import PRIORITIES, Conversation, Store, Ticket, Transaction, _ticket

# WhatsApp caps a message at 4,096 characters and email bodies are cut by the email
# channel; this bound only protects the database from a pathological post.
MAX_STORED_CHARS = 200_000
TICKET_INTENTS = frozenset({"product", "order_status", "return_refund", "payment", "account", "escalation", "human"})
_WRONG_SHIPMENT = re.compile(
    r"salah\s*(kirim|barang|warna|ukuran|size|produk|item)|barang(nya)?\s+salah|(ga|gak|nggak|tidak|tdk)\s+sesuai"
    r"|rusak|cacat|pecah|penyok|sobek|robek|(ga|gak|nggak|tidak|tdk|kurang)\s+lengkap|hilang|kurang\s+\d"
    r"|wrong\s+(item|size|colou?r|product|order)|damaged|broken|defective|missing|incomplete",
    re.IGNORECASE,
)
_PRIVACY = re.compile(r"\b(data\s*(pribadi|diri|saya)|privasi|privacy|personal\s+data|hapus\s+(akun|data)|delete)", re.I)
# Messages that owe no answer from a person (the customer says thanks or hello).
_NO_REPLY_OWED = frozenset({"thanks", "greeting"})
_MENU_DIGIT = re.compile(r"^\s*([1-6])\s*[.)]?\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# A satisfaction rating answers the question the desk sends after a resolution
# (bot/desk.py): valid this long after it was asked.
CSAT_WINDOW = timedelta(days=3)
_STARS = "\u2b50\u2605\U0001f31f"  # ⭐ ★ 🌟
_OUT_OF_FIVE = re.compile(r"(?<=\d)\s*(/|dari|of|out\s+of)\s*5(?!\d)")
_NUMBER_WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# Words that may surround a rating ("5 mantap kak", "nilai 4", "4 of 5, thanks").
_RATING_WORDS = frozenset("""
    nilai nilainya skor score rating rate rated bintang star stars dari of out aja saja ya yaa yah iya kak kakak
    min admin gan sis mantap mantab mantul puas sangat banget bgt sekali oke ok okay okey sip siap top keren
    bagus baik cukup lumayan kurang kecewa jelek buruk terima kasih makasih trims thanks thank you thx good great
    excellent very satisfied happy bad poor not tidak gak nggak ga memuaskan pelayanan pelayanannya layanan
    service respon responnya cepat lambat lama and dan so nice perfect sempurna deh dong lah sih nih hehe
""".split())


def parse_rating(text: str) -> int | None:
    """The 1-5 satisfaction score in a short reply, or None when the message is more than
    a rating. Strict on purpose: "5", "5 mantap", "4/5", "nilai 3", "⭐⭐⭐⭐" are ratings;
    "1 barang rusak lagi" is not (a new problem, handled as one)."""
    t = text.strip().lower().replace("\ufe0f", "")
    if not t or len(t) > 60:
        return None
    t = _OUT_OF_FIVE.sub("", t)
    numbers = re.findall(r"\d+", t)
    stars = sum(t.count(c) for c in _STARS)
    words = re.findall(r"[^\W\d_]+", t)
    if len(numbers) > 1:
        return None
    unknown_allowed = 1
    if numbers:
        if len(numbers[0]) != 1 or not 1 <= int(numbers[0]) <= 5:
            return None
        score = int(numbers[0])
    elif stars:
        if stars > 5:
            return None
        score = stars
    else:
        named = [w for w in words if w in _NUMBER_WORDS]
        if len(named) != 1:
            return None
        score = _NUMBER_WORDS[named[0]]
        words = [w for w in words if w not in _NUMBER_WORDS]
        unknown_allowed = 0  # "satu lagi" is not a rating
    unknown = [w for w in words if w not in _RATING_WORDS]
    if len(unknown) > unknown_allowed:
        return None
    return score


def clean_text(raw: str) -> str:
    """Text safe to store and match: valid UTF-8, no control characters, bounded."""
    text = raw.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n"))
    if len(text) > MAX_STORED_CHARS:
        text = text[:MAX_STORED_CHARS] + "\n[…terpotong / truncated]"
    return text.strip()


def _has_words(text: str) -> int:
    return len(re.findall(r"[^\W\d_]{2,}", text))


@dataclass(frozen=True)
class Plan:
    """What to do for one classified message, before any ticket exists."""

    key: str  # reply text key
    ticket_intent: str | None = None
    priority: str = "normal"
    due_at: datetime | None = None  # the first-response promise
    resolution_due: datetime | None = None  # the promise to have it solved
    menu_shown: bool = False
    unknown_streak: int = 0


AnswerHook = Callable[[Transaction, Conversation, Reply, "str | None"], None]


def now_in(tz: str) -> Callable[[], datetime]:
    zone = ZoneInfo(tz)
    return lambda: datetime.now(zone)


class Bot:
    def __init__(
        self,
        knowledge: Knowledge,
        matcher: IntentMatcher,
        calendar: BusinessCalendar,
        store: Store,
        clock: Callable[[], datetime] | None = None,
        auto_reply_limit_per_hour: int = 5,
    ) -> None:
        self.auto_reply_limit_per_hour = auto_reply_limit_per_hour
        self.knowledge = knowledge
        self.matcher = matcher
        self.calendar = calendar
        self.store = store
        self.clock = clock or now_in(calendar.settings.timezone)
        self.responder = Responder(knowledge, calendar)

    def warm_up(self) -> None:
        """Do the one-off work (holiday tables for this year and next, matcher caches) at
        start-up, so the first customer does not wait for it."""
        now = self.clock()
        self.calendar.status(now)
        self.calendar.add_working_days(now, 10)
        self.calendar.holidays_of_year(now.year + 1)
        self.matcher.match("halo kak, paket saya belum sampai")

    # -- the pipeline ---------------------------------------------------------------------
    def handle(self, message: Message, within: AnswerHook | None = None) -> Outcome:
        """Record and answer one message. `within(tx, conversation, reply, ticket_ref)` runs
        inside the same transaction once the answer is decided: a channel that delivers
        through the outbox queues the reply there, so the answer and its delivery commit
        together or not at all."""
        now = self.calendar.localize(message.received_at) if message.received_at else self.clock()
        text = clean_text(message.text or "")
        masked = mask_secrets(text)
        stored_text = masked.text
        match = self.classify(masked.text, message.subject)
        found = extract(masked.text + (" " + message.subject if message.subject else ""))
        attachments = [a.reference() for a in message.attachments]
        rating = parse_rating(text)

        with self.store.write(now) as tx:
            if tx.message_exists(message.channel, "in", message.external_id):
                return Outcome(status="duplicate")
            if message.channel == "email":
                conv = tx.thread_conversation("email", message.customer, message.thread_refs, message.subject)
            else:
                conv = tx.current_conversation(message.channel, message.customer)
            lang = self._reply_lang(match, text, conv)
            if conv is None:
                conv = tx.create_conversation(message.channel, message.customer, lang, message.display_name)
            blobs.keep(tx, conv.id, attachments, [a.data for a in message.attachments])
            no_reply = self._no_auto_reply(tx, message, now)
            changes: dict[str, Any] = {"last_inbound_at": now}
            if conv.csat_ticket and conv.state != "human" and not no_reply:
                rated = self._csat_ticket(tx, conv, now) if rating is not None else None
                if rated is not None and rating is not None:
                    return self._record_csat(tx, conv, rated, rating, message, stored_text, attachments, lang, now,
                                             within)
                changes["csat_ticket"] = None  # the customer moved on: the question lapses
            match = self._menu_pick(match, text, conv)
            msg_id = tx.add_message(
                conv, "in", stored_text, author="customer", external_id=message.external_id,
                intent=match.intent if text else None, confidence=match.confidence if text else None,
                attachments=attachments, meta=dict(message.meta) | ({"subject": message.subject} if message.subject else {}),
                at=now,
            )
            blobs.link(tx, attachments, msg_id)
            if masked.kinds:
                tx.log_event("secret.masked", "bot", conversation_id=conv.id, data={"kinds": list(masked.kinds)})
            if _has_words(text) >= 2:
                changes["lang"] = lang
            if no_reply:
                # Mail loops (RFC 3834): auto-replies, bounces, lists, too many answers: record only.
                tx.update_conversation(conv.id, **changes)
                tx.log_event("message.no_auto_reply", "bot", conversation_id=conv.id, data={"reason": no_reply})
                return Outcome(status="ignored", intent=match, conversation_id=conv.id, message_id=msg_id,
                               notes=(no_reply,))
            if conv.state == "human":
                # A person holds this conversation: record, never answer; the person owes a reply.
                if match.intent not in _NO_REPLY_OWED:
                    self._await_reply(tx, tx.open_ticket(conv.id), message.channel, now)
                tx.update_conversation(conv.id, **changes)
                tx.log_event("message.silenced", "bot", conversation_id=conv.id, data={"agent": conv.agent})
                return Outcome(status="silenced", intent=match, conversation_id=conv.id, message_id=msg_id)

            ticket = tx.open_ticket(conv.id)
            plan = self._plan(match, text, conv, message, now, ticket, found)
            ticket, created = self._apply_ticket(tx, conv, ticket, plan, found, attachments, match, stored_text)
            if ticket is not None and not created and plan.ticket_intent and match.intent not in _NO_REPLY_OWED:
                ticket = self._await_reply(tx, ticket, message.channel, now)
            body = self._compose(plan, stored_text, lang, now, message.channel, ticket, created, found, masked.kinds, match)
            if plan.key == "feedback":
                tx.log_event("feedback.recorded", "bot", conversation_id=conv.id, data={"message_id": msg_id})
            changes.update(unknown_streak=plan.unknown_streak, menu_shown=int(plan.menu_shown))
            tx.update_conversation(conv.id, **changes)
            tx.add_message(conv, "out", body, author="bot", intent=match.intent, at=now)
            subject = reply_subject(message.subject, ticket.ref if ticket else None) if message.channel == "email" else None
            reply = Reply(text=body, channel=message.channel, customer=message.customer, subject=subject,
                          in_reply_to=message.external_id)
            if within is not None:
                within(tx, conv, reply, ticket.ref if ticket else None)

        return Outcome(
            status="answered", replies=(reply,), intent=match, conversation_id=conv.id, message_id=msg_id,
            ticket_ref=ticket.ref if ticket else None,
            notes=tuple(f"masked:{k}" for k in masked.kinds),
        )

    # -- satisfaction (CSAT) ------------------------------------------------------------------
    @staticmethod
    def _csat_ticket(tx: Transaction, conv: Conversation, now: datetime) -> Ticket | None:
        """The ticket whose satisfaction question this conversation may still answer."""
        asked = conv.csat_asked_at
        if not conv.csat_ticket or asked is None or now - asked >= CSAT_WINDOW:
            return None
        row = tx.conn.execute("SELECT * FROM tickets WHERE ref = ? AND conversation_id = ?",
                              (conv.csat_ticket, conv.id)).fetchone()
        return _ticket(row) if row is not None else None

    def _record_csat(
        self, tx: Transaction, conv: Conversation, ticket: Ticket, score: int, message: Message, text: str,
        attachments: list[dict[str, Any]], lang: str, now: datetime, within: AnswerHook | None,
    ) -> Outcome:
        """A rating of a resolved ticket: recorded on the ticket and thanked, never a new case."""
        meta = dict(message.meta) | ({"subject": message.subject} if message.subject else {}) | {"csat": score}
        msg_id = tx.add_message(conv, "in", text, author="customer", external_id=message.external_id, intent=None,
                                confidence=None, attachments=attachments, meta=meta, at=now)
        blobs.link(tx, attachments, msg_id)
        tx.update_ticket(ticket, csat=score, csat_at=now)
        tx.update_conversation(conv.id, csat_ticket=None, last_inbound_at=now)
        tx.log_event("csat.recorded", "customer", conversation_id=conv.id, ticket_ref=ticket.ref,
                     data={"score": score})
        body = self.responder.render(lang, "csat_thanks_low" if score <= 2 else "csat_thanks", ref=ticket.ref)
        tx.add_message(conv, "out", body, author="bot", at=now)
        subject = reply_subject(message.subject, ticket.ref) if message.channel == "email" else None
        reply = Reply(text=body, channel=message.channel, customer=message.customer, subject=subject,
                      in_reply_to=message.external_id)
        if within is not None:
            within(tx, conv, reply, ticket.ref)
        return Outcome(status="answered", replies=(reply,), conversation_id=conv.id, message_id=msg_id,
                       ticket_ref=ticket.ref, notes=(f"csat:{score}",))

    # -- steps ------------------------------------------------------------------------------
    def _no_auto_reply(self, tx: Transaction, message: Message, now: datetime) -> str | None:
        reason = dict(message.meta).get("no_auto_reply")
        if reason:
            return str(reason)
        if message.channel == "email" and self.auto_reply_limit_per_hour:
            sent = tx.auto_replies_since("email", message.customer, now - timedelta(hours=1))
            if sent >= self.auto_reply_limit_per_hour:
                return f"rate limit: {sent} automatic answers to this sender in the last hour"
        return None

    def classify(self, text: str, subject: str | None = None) -> IntentMatch:
        if not text and not subject:
            return IntentMatch("unknown", 0.0, "id")
        return self.matcher.match(text, subject=subject) if subject else self.matcher.match(text)

    @staticmethod
    def _reply_lang(match: IntentMatch, text: str, conv: Conversation | None) -> str:
        if _has_words(text) >= 2 or conv is None:
            return match.lang
        return conv.lang or "id"

    @staticmethod
    def _menu_pick(match: IntentMatch, text: str, conv: Conversation) -> IntentMatch:
        digit = _MENU_DIGIT.match(text)
        if digit and conv.menu_shown:
            return IntentMatch(CATEGORIES[int(digit.group(1)) - 1], 1.0, conv.lang or match.lang)  # type: ignore[arg-type]
        return match

    def _first_response_due(self, channel: str, now: datetime) -> datetime:
        shop = self.knowledge.shop
        if channel == "email":
            return self.calendar.add_opening_time(now, timedelta(hours=shop.email_max_hours))
        return self.calendar.add_opening_time(now, timedelta(minutes=shop.wa_max_minutes))

    def _plan(
        self, match: IntentMatch, text: str, conv: Conversation, message: Message, now: datetime,
        ticket: Ticket | None, found: Extracted,
    ) -> Plan:
        if not text:
            if message.attachments:
                return Plan("media_only")
            return Plan("empty", menu_shown=True)
        intent = match.intent
        shop = self.knowledge.shop
        if intent == "unknown" and ticket is not None and found:
            # "INV-20261101-0001" after the bot asked for the order number: a follow-up.
            return Plan("followup", ticket.intent, ticket.priority, ticket.due_at, ticket.resolution_due)
        # Every ticket is to be solved within the policy's outer bound: complex cases in
        # 2 working days, and a normal question no later than that.
        outer = self.calendar.add_working_days(now, shop.complex_working_days)
        if intent == "unknown":
            streak = conv.unknown_streak + 1
            if streak >= 2:
                return Plan("unknown_handover", "unknown", "normal", self._first_response_due(message.channel, now),
                            outer, unknown_streak=0)
            return Plan("unknown", menu_shown=True, unknown_streak=streak)
        if intent == "greeting":
            return Plan("greeting", menu_shown=True)
        if intent in ("hours", "contact", "thanks", "feedback"):
            return Plan(intent)
        if intent == "escalation":
            review = self.calendar.add_working_days(now, shop.review_working_days)
            return Plan("escalation", "escalation", "escalation", review, review)
        complex_case = intent == "return_refund" or (
            intent in ("order_status", "product") and _WRONG_SHIPMENT.search(text) is not None
        )
        if complex_case:
            key = "return_refund" if intent == "return_refund" else "wrong_shipment"
            return Plan(key, intent, "complex", outer, outer)
        return Plan(intent, intent, "normal", self._first_response_due(message.channel, now), outer)

    def _await_reply(self, tx: Transaction, ticket: Ticket | None, channel: str, now: datetime) -> Ticket | None:
        """A customer message on a ticket a person has already answered: the channel's
        response promise runs again (the next-reply timer), from the first message still
        waiting, until a person answers (bot/desk.py stops it)."""
        if ticket is None or ticket.status == "resolved" or ticket.first_response_at is None or ticket.reply_due:
            return ticket
        due = self._first_response_due(channel, now)
        resolution = ticket.resolution_due or ticket.due_at
        changes = {"reply_since": now, "reply_due": due, "due_at": min(due, resolution)}
        tx.update_ticket(ticket, **changes)
        return replace(ticket, **changes)

    def _apply_ticket(
        self,
        tx: Transaction,
        conv: Conversation,
        ticket: Ticket | None,
        plan: Plan,
        found: Extracted,
        attachments: list[dict[str, Any]],
        match: IntentMatch,
        text: str,
    ) -> tuple[Ticket | None, bool]:
        """Open a ticket, or fold this message into the open one (raising its priority if needed)."""
        if ticket is not None:
            details = _merge_details(ticket.details, found, attachments)
            changes: dict[str, Any] = {}
            if details != ticket.details:
                changes["details"] = details
            if plan.ticket_intent and PRIORITIES.index(plan.priority) > PRIORITIES.index(ticket.priority):
                changes.update(priority=plan.priority, intent=plan.ticket_intent,
                               **_raised_timers(ticket, plan))
                tx.log_event("ticket.priority_raised", "bot", conversation_id=conv.id, ticket_ref=ticket.ref,
                             data={"from": ticket.priority, "to": plan.priority})
            if changes:
                tx.update_ticket(ticket, **changes)
                ticket = replace(ticket, **changes)
            return ticket, False
        if not plan.ticket_intent or plan.due_at is None:
            return None, False
        summary = text[:200]
        ticket = tx.create_ticket(
            conv, intent=plan.ticket_intent, priority=plan.priority, due_at=plan.due_at,
            resolution_due=plan.resolution_due, details=_merge_details({}, found, attachments), summary=summary,
        )
        return ticket, True

    def _compose(
        self,
        plan: Plan,
        text: str,
        lang: str,
        now: datetime,
        channel: str,
        ticket: Ticket | None,
        created: bool,
        found: Extracted,
        secret_kinds: tuple[str, ...],
        match: IntentMatch,
    ) -> str:
        r = self.responder
        is_open = self.calendar.is_open(now)
        next_open = None if is_open else self.calendar.next_open(now)
        parts: list[str] = []
        if secret_kinds:
            parts.append(r.render(lang, "secret_warning"))
        if plan.key in CATEGORIES and match.confidence >= 1.0 and ticket is not None and created:
            parts.append(r.render(lang, "menu_pick", category=r.category_name(lang, CATEGORIES.index(plan.key))))
        # {when} in the complex-case and escalation texts is the promise to have it solved.
        due = (ticket.resolution_due or ticket.due_at) if ticket is not None else (plan.resolution_due or plan.due_at)
        if plan.key == "order_status" and found.order_numbers:
            parts.append(r.render(lang, "order_status_known", details=", ".join(found.order_numbers)))
        else:
            parts.append(r.render(lang, plan.key, when=due))
        # This message is about the ticket only when its plan asks for one.
        about_ticket = ticket if plan.ticket_intent else None
        if plan.key == "hours":
            holiday = self.calendar.holiday_name(self.calendar.localize(now).date())
            if holiday:
                parts.append(r.render(lang, "hours_holiday_today", holiday=holiday))
            parts.append(r.render(lang, "hours_open_now", closes=r.closes(self.calendar.closes_at(now), lang))
                         if is_open else r.render(lang, "hours_closed_now", when=next_open))
        elif about_ticket is not None and about_ticket.priority == "normal":
            if not is_open:
                parts.append(r.render(lang, "promise_closed", when=next_open))
            else:
                parts.append(r.render(lang, "promise_email" if channel == "email" else "promise_whatsapp"))
        elif not is_open:
            parts.append(r.render(lang, "closed_note", when=next_open))
        if plan.key == "account" and _PRIVACY.search(text):
            parts.append(r.render(lang, "privacy"))
        detail_line = r.details(lang, found)
        if detail_line and about_ticket is not None:
            parts.append(detail_line)
        if about_ticket is not None:
            parts.append(r.render(lang, "ticket" if created else "ticket_open", ref=about_ticket.ref))
        # One line break between parts: `chat` marks the end of a reply with an empty line.
        return "\n".join(p.strip() for p in parts if p.strip())


_RE_PREFIX = re.compile(r"^\s*((re|aw|balas|fwd?|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def reply_subject(subject: str | None, ref: str | None) -> str:
    """"Re: <subject> [YS-000123]": one "Re: " however many the thread gathered, and the
    ticket ref once, so a reply threads back even when a mail client drops the headers."""
    base = _RE_PREFIX.sub("", (subject or "").strip()).strip()
    if ref:
        base = re.sub(rf"\s*\[{re.escape(ref)}\]", "", base, flags=re.IGNORECASE).strip()
        base = f"{base} [{ref}]".strip()
    return f"Re: {base}" if base else "Re: Yessindo"


def _raised_timers(ticket: Ticket, plan: Plan) -> dict[str, Any]:
    """The SLA timers of an open ticket whose priority goes up (as `Desk.escalate` does).

    Before the first response, the first-response promise becomes the new priority's
    (a complex case or an escalation: the working days the reply states); after it, the
    first response is history and stays as it was. The resolution promise is the new
    plan's, never earlier than the one already given. `due_at` is the next unmet
    deadline: the first response while none was given, else the resolution.
    """
    first_due = ticket.first_response_due or ticket.due_at
    if ticket.first_response_at is None and plan.due_at is not None:
        first_due = plan.due_at
    resolution = plan.resolution_due or plan.due_at or ticket.resolution_due or ticket.due_at
    if ticket.resolution_due is not None:
        resolution = max(resolution, ticket.resolution_due)
    resolution = max(resolution, first_due)
    due = first_due if ticket.first_response_at is None else resolution
    return {"first_response_due": first_due, "resolution_due": resolution, "due_at": due}


def _merge_details(old: dict[str, Any], found: Extracted, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    merged = {k: list(v) for k, v in old.items()}
    for key, values in found.as_dict().items():
        merged[key] = list(dict.fromkeys([*merged.get(key, []), *values]))
    if attachments:
        merged["attachments"] = [*merged.get("attachments", []), *attachments]
    return merged
