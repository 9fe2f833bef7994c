"""`handle(message) -> Outcome`: the one conversation pipeline every channel uses.

Per message, `prepare` (bot/prepare.py, outside any lock): clean the text, mask
secrets, classify, and plan the answer from the conversation as last committed. Then
`record`, in one short write transaction: drop a duplicate, record the message, stay
silent when a person holds the conversation, take a satisfaction rating, and otherwise
read the conversation's state, let `bot.dialogue.decide` plan the answer (pure: no
database in it; the plan made before is reused when its inputs are unchanged) and
apply the plan here, in one place. Knows no Flask, Twilio or IMAP.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar
from bot.csat import CSAT_WINDOW, parse_rating
from bot.desk_assign import on_ticket_created
from bot.desk_triage import wake_on_message
from bot.dialogue import Context, Plan, Turn, find_details
from bot.dialogue.forecast import plan_turn
from bot.dialogue.case import promise_span, ticket_details
from bot.dialogue.reply import NEW_REF
from bot.dialogue.state import from_json, to_json
from bot.extract import mask_secrets
from bot.intents import IntentMatcher
from bot.knowledge import Knowledge
from bot.models import IntentMatch, Message, Outcome, Reply
from bot.prepare import MENU_DIGIT, Prepared, clean_text, forecast, has_words, mask_message, menu_pick, reply_lang
from bot.responder import Responder
from handoff import blobs
from handoff.store import PRIORITIES, Conversation, Store, Ticket, Transaction, _ticket, parse_iso

# Messages that owe no answer from a person (the customer says thanks or hello).
_NO_REPLY_OWED = frozenset({"thanks", "greeting"})

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
        self.context = Context(knowledge, calendar, self.responder)
        # product nouns the matcher knows ("sepatu", "blender"): a question naming one names its product
        lexicon = getattr(matcher, "lexicon", None)
        words = lexicon.intents["product"].lexicon if lexicon is not None and "product" in lexicon.intents else []
        self.product_words = frozenset(w.lower() for w in words if " " not in w)

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
        return self.record(self.prepare(message), within)

    def prepare(self, message: Message) -> Prepared:
        """Everything that needs no write lock: clean, mask, classify, and plan the answer
        from the conversation as last committed (a `Forecast`, checked again in `record`)."""
        now = self.calendar.localize(message.received_at) if message.received_at else self.clock()
        text = clean_text(message.text or "")
        masked, message = mask_message(mask_secrets(text), message)
        match = self.classify(masked.text, message.subject)
        attachments = [a.reference() for a in message.attachments]
        photos = sum(1 for a in message.attachments
                     if not a.content_type or a.content_type.split("/")[0] in ("image", "video"))
        prepared = Prepared(message, now, text, masked, match, attachments, photos, parse_rating(text))
        return replace(prepared, forecast=forecast(self.store, self.context, self.product_words, prepared))

    def record(self, prepared: Prepared, within: AnswerHook | None = None) -> Outcome:
        """The write transaction: record the message and apply the plan (see `handle`)."""
        message, now, text, masked, match = (prepared.message, prepared.now, prepared.text, prepared.masked,
                                             prepared.match)
        stored_text = masked.text
        attachments, photos, rating = list(prepared.attachments), prepared.photos, prepared.rating

        with self.store.write(now) as tx:
            if tx.message_exists(message.channel, "in", message.external_id):
                return Outcome(status="duplicate")
            if message.channel == "email":
                conv = tx.thread_conversation("email", message.customer, message.thread_refs, message.subject)
            else:
                conv = tx.current_conversation(message.channel, message.customer)
            lang = reply_lang(match, text, conv)
            if conv is None:
                conv = tx.create_conversation(message.channel, message.customer, lang, message.display_name)
            blobs.keep(tx, conv.id, attachments, [a.data for a in message.attachments])
            no_reply = self._no_auto_reply(tx, message, now)
            changes: dict[str, Any] = {"last_inbound_at": now}
            if conv.csat_ticket and conv.state != "human" and not no_reply:
                if rating is not None and MENU_DIGIT.match(text) and not self._question_is_last(tx, conv):
                    rating = None  # a bare digit after a later bot message (a menu): a menu pick, not a rating
                rated = self._csat_ticket(tx, conv, now) if rating is not None else None
                if rated is not None and rating is not None:
                    return self._record_csat(tx, conv, rated, rating, message, stored_text, attachments, lang, now,
                                             within)
                changes["csat_ticket"] = None  # the customer moved on: the question lapses
            match = menu_pick(match, text, conv)
            msg_id = tx.add_message(
                conv, "in", stored_text, author="customer", external_id=message.external_id,
                intent=match.intent if text else None, confidence=match.confidence if text else None,
                attachments=attachments,
                meta=dict(message.meta) | ({"subject": message.subject} if message.subject else {})
                | ({"topic": match.topic} if match.topic else {}) | ({"flags": list(match.flags)} if match.flags else {}),
                at=now,
            )
            blobs.link(tx, attachments, msg_id)
            if masked.kinds:
                tx.log_event("secret.masked", "bot", conversation_id=conv.id, data={"kinds": list(masked.kinds)})
            if has_words(text) >= 2:
                changes["lang"] = lang
            if no_reply:
                # Mail loops (RFC 3834): auto-replies, bounces, lists, too many answers: record only.
                tx.update_conversation(conv.id, **changes)
                tx.log_event("message.no_auto_reply", "bot", conversation_id=conv.id, data={"reason": no_reply})
                return Outcome(status="ignored", intent=match, conversation_id=conv.id, message_id=msg_id,
                               notes=(no_reply,))
            ticket = tx.open_ticket(conv.id)
            ticket = wake_on_message(tx, ticket, now, self.calendar)  # a snoozed ticket: the customer wrote
            state = from_json(conv.dialogue)
            if conv.state == "human":
                # A person holds this conversation: record, never answer; the person owes a reply.
                if match.intent not in _NO_REPLY_OWED:
                    self._await_reply(tx, ticket, message.channel, now)
                if ticket is not None:
                    self._add_details(tx, ticket, stored_text, photos, attachments, state)
                tx.update_conversation(conv.id, **changes)
                tx.log_event("message.silenced", "bot", conversation_id=conv.id, data={"agent": conv.agent})
                return Outcome(status="silenced", intent=match, conversation_id=conv.id, message_id=msg_id)

            planned = plan_turn(
                self.context, text=stored_text, channel=message.channel, now=now, match=match, lang=lang,
                conversation_lang=conv.lang, state=state, ticket=ticket, menu_shown=conv.menu_shown,
                unknown_streak=conv.unknown_streak, photos=photos, attachments=len(attachments),
                secret_kinds=masked.kinds, product_words=self.product_words, forecast=prepared.forecast)
            turn, plan = planned.turn, planned.plan
            if turn.detail_only and conv.lang:
                changes.pop("lang", None)  # an address or a link is not a change of language
            ticket, created = self._apply_ticket(tx, conv, ticket, plan, turn, attachments, stored_text)
            body = plan.text.replace(NEW_REF, ticket.ref if ticket is not None else "")
            new_state = plan.state
            if created and ticket is not None and new_state.case is not None:
                new_state = replace(new_state, case=replace(new_state.case, ticket_ref=ticket.ref))
            new_state = new_state.with_reply(body)
            for kind, data in plan.events:
                tx.log_event(kind, "bot", conversation_id=conv.id, ticket_ref=ticket.ref if ticket else None,
                             data=data | {"message_id": msg_id})
            changes.update(unknown_streak=plan.unknown_streak, menu_shown=int(plan.menu_shown or conv.menu_shown),
                           dialogue=to_json(new_state))
            tx.update_conversation(conv.id, **changes)
            tx.add_message(conv, "out", body, author="bot", intent=match.intent, meta={"plan": plan.key}, at=now)
            about = ticket.ref if ticket is not None and new_state.case is not None \
                and new_state.case.ticket_ref == ticket.ref else None
            subject = reply_subject(message.subject, about) if message.channel == "email" else None
            reply = Reply(text=body, channel=message.channel, customer=message.customer, subject=subject,
                          in_reply_to=message.external_id)
            if within is not None:
                within(tx, conv, reply, about)

        return Outcome(
            status="answered", replies=(reply,), intent=match, conversation_id=conv.id, message_id=msg_id,
            ticket_ref=about, notes=(f"plan:{plan.key}",) + tuple(f"masked:{k}" for k in masked.kinds),
        )

    # -- applying a plan ----------------------------------------------------------------------
    def _apply_ticket(self, tx: Transaction, conv: Conversation, ticket: Ticket | None, plan: Plan, turn: Turn,
                      attachments: list[dict[str, Any]], text: str) -> tuple[Ticket | None, bool]:
        """Open the plan's ticket, or change the open one (details always, priority up, the
        next-reply timer)."""
        if plan.new_ticket is not None and ticket is None:
            n = plan.new_ticket
            case = plan.state.case
            details = ticket_details({}, turn.details, attachments)
            if case is not None:
                from bot.dialogue.details import Details

                details = ticket_details(details, Details(dict(case.details)), [])
            if plan.notes:
                details["customer_notes"] = list(plan.notes)
            ticket = tx.create_ticket(conv, intent=n.intent, topic=n.topic, priority=n.priority, due_at=n.due_at,
                                      resolution_due=n.resolution_due, details=details, summary=text[:200])
            on_ticket_created(tx, turn.now, getattr(self, "assign_policy", None))  # [desk] auto_assign
            return ticket, True
        if ticket is None:
            return None, False
        changes: dict[str, Any] = {}
        details = ticket_details(ticket.details, turn.details, attachments)
        if plan.notes:
            details["customer_notes"] = [*details.get("customer_notes", []), *plan.notes]
        if details != ticket.details:
            changes["details"] = details
        change = plan.change
        if change is not None:
            if change.topic and not ticket.topic:
                changes["topic"] = change.topic
            raise_to = change.raise_to
            if raise_to is not None and PRIORITIES.index(raise_to.priority) > PRIORITIES.index(ticket.priority):
                changes.update(priority=raise_to.priority, intent=raise_to.intent,
                               **_raised_timers(ticket, raise_to.due_at, raise_to.resolution_due))
                if raise_to.topic:
                    changes["topic"] = raise_to.topic
                tx.log_event("ticket.priority_raised", "bot", conversation_id=conv.id, ticket_ref=ticket.ref,
                             data={"from": ticket.priority, "to": raise_to.priority})
        if changes:
            tx.update_ticket(ticket, **changes)
            ticket = replace(ticket, **changes)
        if change is not None and change.await_reply:
            ticket = self._await_reply(tx, ticket, conv.channel, turn.now)
        return ticket, False

    def _add_details(self, tx: Transaction, ticket: Ticket, text: str, photos: int,
                     attachments: list[dict[str, Any]], state: Any) -> None:
        """While a person holds the conversation the bot is silent, but the details still reach the ticket."""
        asked = tuple(state.case.asked) if state.case is not None else ()
        details = ticket_details(ticket.details, find_details(text, photos=photos, asked=asked), attachments)
        if details != ticket.details:
            tx.update_ticket(ticket, details=details)

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

    @staticmethod
    def _question_is_last(tx: Transaction, conv: Conversation) -> bool:
        """Nothing was sent in this conversation after the satisfaction question, so a bare
        "2" answers it (the menu uses the same digits: after a menu it is a menu pick)."""
        row = tx.conn.execute("SELECT max(created_at) FROM messages WHERE conversation_id = ? AND direction = 'out'",
                              (conv.id,)).fetchone()
        asked = conv.csat_asked_at
        return asked is not None and (row is None or row[0] is None or parse_iso(row[0]) <= asked)

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

    def _await_reply(self, tx: Transaction, ticket: Ticket | None, channel: str, now: datetime) -> Ticket | None:
        """A customer message on a ticket a person has already answered: the channel's
        response promise runs again (the next-reply timer), from the first message still
        waiting, until a person answers (bot/desk.py stops it)."""
        if ticket is None or ticket.status == "resolved" or ticket.first_response_at is None or ticket.reply_due:
            return ticket
        due = self.calendar.add_opening_time(now, promise_span(self.knowledge, channel))
        resolution = ticket.resolution_due or ticket.due_at
        changes = {"reply_since": now, "reply_due": due, "due_at": min(due, resolution)}
        tx.update_ticket(ticket, **changes)
        return replace(ticket, **changes)


_RE_PREFIX = re.compile(r"^\s*((re|aw|balas|fwd?|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def reply_subject(subject: str | None, ref: str | None) -> str:
    """"Re: <subject> [YS-000123]": one "Re: " however many the thread gathered, and the
    ticket ref once, so a reply threads back even when a mail client drops the headers."""
    base = _RE_PREFIX.sub("", mask_secrets(subject or "").text.strip()).strip()
    if ref:
        base = re.sub(rf"\s*\[{re.escape(ref)}\]", "", base, flags=re.IGNORECASE).strip()
        base = f"{base} [{ref}]".strip()
    return f"Re: {base}" if base else "Re: Yessindo"


def _raised_timers(ticket: Ticket, due_at: datetime, resolution_due: datetime) -> dict[str, Any]:
    """The SLA timers of an open ticket whose priority goes up (as `Desk.escalate` does).

    Before the first response, the first-response promise becomes the new priority's
    (a complex case or an escalation: the working days the reply states); after it, the
    first response is history and stays as it was. The resolution promise is the new
    one, never earlier than the one already given. `due_at` is the next unmet deadline:
    the first response while none was given, else the resolution.
    """
    first_due = ticket.first_response_due or ticket.due_at
    if ticket.first_response_at is None:
        first_due = due_at
    resolution = resolution_due
    if ticket.resolution_due is not None:
        resolution = max(resolution, ticket.resolution_due)
    resolution = max(resolution, first_due)
    due = first_due if ticket.first_response_at is None else resolution
    return {"first_response_due": first_due, "resolution_due": resolution, "due_at": due}
