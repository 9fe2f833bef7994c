"""The decision: a message, what the bot remembers and the shop's knowledge in; a plan out.

Pure: no database, no clock of its own (the turn carries `now`), no network. The
pipeline (bot/pipeline.py) reads the snapshot, calls `decide`, and applies the plan
in one short transaction. Tested on its own in tests/test_decide.py.

How a message is read, in order:
1. an empty message or only attachments: the files are noted in the open case;
2. a message that only gives details ("atas nama Sri Wahyuni", an order number, a
   link, an email) fills the open case: each detail acknowledged by name, what is
   still missing named, or the case called complete with who answers by when;
3. a follow-up on the open case ("kapan sampainya?", "halo? ada orang?", "?") gets
   the case's state (in the queue, answered by when), never the menu;
4. anything else by its intent and topic: a new case (answer, the details still
   needed, a ticket, the response promise once), or a new question folded into the
   case already open.
The menu, the contact list, the response promise and the out-of-hours note appear
once per case; the promise again only when it changes.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.models import CATEGORIES
from bot.topics import Topic

from .case import (CASE_IDLE, adopt_ticket, merge_details, missing, name_details, named_list, reply_due,
                   CATEGORY_NEEDS, FOLLOWUP_TOPICS)
from .plan import Context, NewTicket, Plan, Snapshot, TicketChange, Turn
from .reply import NEW_REF, ReplyBuilder
from .state import Case, DialogueState

_PRIVACY = re.compile(r"\b(data\s*(pribadi|diri|saya)|privasi|privacy|personal\s+data|hapus\s+(akun|data)|delete)", re.I)
SAID_RESET = timedelta(hours=24)
_NO_REPLY_OWED = frozenset({"thanks", "greeting"})


def decide(turn: Turn, snap: Snapshot, ctx: Context) -> Plan:
    return _Decision(turn, snap, ctx).run()


class _Decision:
    def __init__(self, turn: Turn, snap: Snapshot, ctx: Context) -> None:
        self.t, self.ctx = turn, ctx
        self.k, self.r, self.cal = ctx.knowledge, ctx.responder, ctx.calendar
        self.lang = turn.lang
        self.now = turn.now
        self.ticket = snap.ticket
        self.menu_shown = snap.menu_shown
        self.unknown_streak = 0
        self.out = ReplyBuilder(self.r, self.lang, lambda text: snap.state.repeats(text))
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.new_ticket: NewTicket | None = None
        self.change = TicketChange()
        self.key = "unknown"
        state = snap.state
        if state.said_at is not None and self.now - state.said_at > SAID_RESET:
            state = replace(state, said=(), said_at=None)
        case = state.case
        if case is not None:
            if case.ticket_ref and (self.ticket is None or self.ticket.ref != case.ticket_ref):
                case = None  # its ticket was resolved: what comes now is a new case
            elif not case.ticket_ref and case.last_at and self.now - case.last_at > CASE_IDLE:
                case = None
        if case is None and self.ticket is not None:
            case = adopt_ticket(self.ticket)
        self.state = replace(state, case=case)
        self.prior_streak = snap.unknown_streak

    # ------------------------------------------------------------------ helpers
    @property
    def case(self) -> Case | None:
        return self.state.case

    def set_case(self, case: Case | None) -> None:
        self.state = replace(self.state, case=case)

    def said(self, what: str) -> bool:
        case = self.case
        return what in (case.said if case is not None else self.state.said)

    def mark(self, what: str) -> None:
        case = self.case
        if case is not None:
            if what not in case.said:
                self.set_case(replace(case, said=case.said + (what,)))
        elif what not in self.state.said:
            self.state = replace(self.state, said=self.state.said + (what,), said_at=self.state.said_at or self.now)

    def ref(self) -> str | None:
        if self.new_ticket is not None:
            return NEW_REF
        case = self.case
        return case.ticket_ref if case is not None else None

    def topic_name(self, case: Case) -> str:
        topic = self.k.topics.get(case.topic or "")
        if topic is not None:
            return topic.name(self.lang)
        if case.category in CATEGORIES:
            return self.r.category_name(self.lang, CATEGORIES.index(case.category)).lower()
        return {"id": "permintaan Kakak", "en": "your request"}.get(self.lang, "permintaan Kakak")

    def soon(self, due: datetime) -> str:
        return self.r.soon(due, self.now, self.lang)

    def first_due(self) -> datetime:
        shop = self.k.shop
        if self.t.channel == "email":
            return self.cal.add_opening_time(self.now, timedelta(hours=shop.email_max_hours))
        return self.cal.add_opening_time(self.now, timedelta(minutes=shop.wa_max_minutes))

    def outer_due(self) -> datetime:
        return self.cal.add_working_days(self.now, self.k.shop.complex_working_days)

    def review_due(self) -> datetime:
        return self.cal.add_working_days(self.now, self.k.shop.review_working_days)

    def closed_note(self) -> None:
        """Outside opening hours: when the team is back, once per closed period."""
        if self.cal.is_open(self.now):
            return
        back = self.cal.next_open(self.now)
        mark = f"closed:{back.isoformat()}"
        if not self.said(mark):
            self.out.add("closed_note", when=back)
            self.mark(mark)

    def promise(self, due: datetime) -> None:
        """The response promise of a normal ticket: once per case, again only when it changes."""
        case = self.case
        if case is None:
            return
        told = case.promised_due
        if told is not None and abs((told - due).total_seconds()) < 60:
            return
        if told is not None:
            self.out.add("promise_update", ref=self.ref(), when=self.soon(due))
        elif not self.cal.is_open(self.now):
            self.out.add("promise_closed", when=self.cal.next_open(self.now))
            self.mark(f"closed:{self.cal.next_open(self.now).isoformat()}")
        elif due - self.now > self._promise_span() + timedelta(minutes=1):
            self.out.add("promise_by", when=self.soon(due))  # the team closes before the usual span is over
        else:
            self.out.add("promise_email" if self.t.channel == "email" else "promise_whatsapp")
        self.set_case(replace(self.case, promised_due=due))  # type: ignore[arg-type]
        self.mark("promise")

    def _promise_span(self) -> timedelta:
        shop = self.k.shop
        return timedelta(hours=shop.email_max_hours) if self.t.channel == "email" else timedelta(minutes=shop.wa_max_minutes)

    def take_details(self, relevant: tuple[str, ...] | None = None) -> list[str]:
        """Merge this message's details into the case; the new ones, named for an
        acknowledgement (with `relevant`: only those kinds, and who the customer is)."""
        case = self.case
        if case is None or not self.t.details:
            return []
        merged, new = merge_details(case, self.t.details)
        self.set_case(merged)
        if relevant is not None:
            keep = set(relevant) | {"order_number", "recipient_name", "email", "phone"}
            if "account_id" in relevant or "proof" in relevant:
                keep |= {"email", "phone", "photo"}
            new = {k: v for k, v in new.items() if k in keep}
        return name_details(self.k, self.lang, new)

    def ask(self, needs: tuple[str, ...]) -> None:
        """Ask, once per case, for the details still missing."""
        case = self.case
        if case is None:
            return
        todo = [n for n in missing(case, needs) if n not in case.asked]
        if todo:
            self.out.add("ask_details", details=named_list(self.k, self.lang, todo))
            self.set_case(replace(case, asked=case.asked + tuple(todo)))

    def needs_of(self, case: Case) -> tuple[str, ...]:
        topic = self.k.topics.get(case.topic or "")
        if topic is not None:
            return topic.needs
        return CATEGORY_NEEDS.get(case.category or "", ())

    def status(self) -> None:
        """Where the open case stands: in the queue, answered by when."""
        case, ticket = self.case, self.ticket
        if case is None or ticket is None:
            return
        due, waits = reply_due(ticket, self.first_due())
        if waits:
            self.change = replace(self.change, await_reply=True)
        key = "followup_answered" if ticket.first_response_at is not None else "followup_status"
        self.out.add_varying(key, ref=ticket.ref, topic=self.topic_name(case), when=self.soon(due))
        self.set_case(replace(self.case, promised_due=due))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the run
    def run(self) -> Plan:
        t = self.t
        if t.secret_kinds:
            self.out.add("secret_warning")
        if not t.text.strip():
            self.on_attachments() if t.attachments else self.on_empty()
        elif t.detail_only:
            self.on_details()
        else:
            intent = t.match.intent
            handler = getattr(self, f"on_{intent}", None)
            if intent in CATEGORIES:
                self.on_category(intent, self.k.topics.get(t.match.topic or ""))
            elif handler is not None:
                handler()
            else:
                self.on_unknown()
        if self.case is not None:
            self.set_case(replace(self.case, last_at=self.now))
        if self.ticket is not None and self.case is not None and self.case.ticket_ref == self.ticket.ref \
                and t.match.intent not in _NO_REPLY_OWED and not self.change.await_reply and t.text.strip():
            _, waits = reply_due(self.ticket, self.first_due())
            if waits:
                self.change = replace(self.change, await_reply=True)
        fill = (lambda s: s.replace(NEW_REF, "YS-??????")) if self.new_ticket else None
        text, varied = self.out.build(self.state, fill)
        self.state = self.state.remember(varied)
        return Plan(text=text, key=self.key, state=self.state, new_ticket=self.new_ticket,
                    change=self.change if self.change != TicketChange() else None, events=tuple(self.events),
                    unknown_streak=self.unknown_streak, menu_shown=self.menu_shown)

    # ------------------------------------------------------------------ messages without words
    def on_empty(self) -> None:
        self.key = "empty"
        if self.case is not None and self.case.ticket_ref:
            self.status()
        elif not self.said("menu"):
            self.out.add("empty")
            self.mark("menu")
            self.menu_shown = True
        else:
            self.out.add_varying("noted_again")
        self.closed_note()

    def on_attachments(self) -> None:
        self.key = "media_only"
        if self.case is None:
            self.out.add("media_only")
            self.closed_note()
            return
        self.on_details()

    def on_details(self) -> None:
        """Details and nothing else: they fill the case."""
        self.key = "details"
        if self.case is None:
            self.set_case(Case(category=None, topic=None, opened_at=self.now))
            noted = self.take_details()
            self.out.add("detail_noted_no_case", details=_join(noted, self.lang))
            self.closed_note()
            return
        noted = self.take_details()
        if noted:
            self.out.add_varying("detail_noted", details=_join(noted, self.lang))
        case = self.case
        still = missing(case, self.needs_of(case))
        if still:
            self.out.add("ask_more", details=named_list(self.k, self.lang, still))
        else:
            if self.needs_of(case):
                self.out.add("case_complete")
            if case.ticket_ref and self.ticket is not None:
                self.status()
        self.closed_note()

    # ------------------------------------------------------------------ labels outside the categories
    def on_greeting(self) -> None:
        self.key = "greeting"
        if self.case is not None and self.case.ticket_ref:
            self.status()
        elif not self.said("menu") and self.case is None:
            self.out.add("greeting")
            self.mark("menu")
            self.menu_shown = True
        else:
            self.out.add_varying("greeting_again")
        self.closed_note()

    def on_thanks(self) -> None:
        self.key = "thanks"
        case = self.case
        if case is not None and case.ticket_ref and not self.said("thanks"):
            self.out.add("thanks_case", ref=case.ticket_ref)
            self.mark("thanks")
        else:
            self.out.add_varying("thanks")
        self.closed_note()

    def on_hours(self) -> None:
        self.key = "hours"
        self.out.add("hours")
        holiday = self.cal.holiday_name(self.cal.localize(self.now).date())
        if holiday:
            self.out.add("hours_holiday_today", holiday=holiday)
        if self.cal.is_open(self.now):
            self.out.add("hours_open_now", closes=self.r.closes(self.cal.closes_at(self.now), self.lang))
        else:
            back = self.cal.next_open(self.now)
            self.out.add("hours_closed_now", when=back)
            self.mark(f"closed:{back.isoformat()}")
        self.mark("hours")

    def on_contact(self) -> None:
        self.key = "contact"
        if self.said("contacts"):
            self.out.add("contact_again")
        else:
            self.out.add("contact")
            self.mark("contacts")
        self.closed_note()

    def on_escalation(self) -> None:
        self.key = "escalation"
        review = self.review_due()
        ticket = self.ticket
        if ticket is not None and ticket.priority == "escalation":
            self.status()
            return
        self.open_or_raise("escalation", None, "escalation", review, review)
        self.out.add("escalation", when=review)
        self.ticket_line()

    def on_human(self) -> None:
        self.key = "human"
        case = self.case
        if case is not None and case.ticket_ref and self.ticket is not None:
            due, waits = reply_due(self.ticket, self.first_due())
            if waits:
                self.change = replace(self.change, await_reply=True)
            self.out.add_varying("human_case", ref=case.ticket_ref, when=self.soon(due))
            return
        due = self.first_due()
        self.open_or_raise("human", None, "normal", due, self.outer_due())
        self.out.add("human")
        self.promise(due)
        self.ticket_line()

    def on_unknown(self) -> None:
        self.key = "unknown"
        m, case = self.t.match, self.case
        words = len(re.findall(r"[^\W\d_]{2,}", self.t.text))
        unclear = m.confidence < 0.8 or "unclear" in m.flags
        if case is not None and case.ticket_ref and (unclear or words <= 2):
            self.key = "followup"
            self.status()
            return
        if not unclear:
            self.key = "out_of_scope"
            self.out.add_varying("out_of_scope")
            self.closed_note()
            return
        self.unknown_streak = self.prior_streak + 1
        if self.unknown_streak >= 2:
            self.key = "unknown_handover"
            self.unknown_streak = 0
            due = self.first_due()
            self.open_or_raise("unknown", None, "normal", due, self.outer_due())
            self.out.add("unknown_handover")
            self.promise(due)
            self.ticket_line()
            return
        if not self.said("menu") and case is None:
            self.out.add("unknown")
            self.mark("menu")
            self.menu_shown = True
        else:
            self.out.add_varying("unknown_again")
        self.closed_note()

    # ------------------------------------------------------------------ the six categories
    def on_category(self, intent: str, topic: Topic | None) -> None:
        self.key = intent
        if intent == "feedback":
            self.on_feedback(topic)
            return
        case = self.case
        tid = topic.id if topic is not None else None
        open_case = case is not None and case.ticket_ref is not None and self.ticket is not None
        if open_case and case.category == intent and (tid is None or tid in case.topics or tid in FOLLOWUP_TOPICS
                                                      or tid == case.topic):
            self.key = "followup"
            noted = self.take_details()
            if noted:
                self.out.add_varying("detail_noted", details=_join(noted, self.lang))
            self.status()
            return
        if self.t.match.confidence >= 1.0 and tid is None:
            self.out.add("menu_pick", category=self.r.category_name(self.lang, CATEGORIES.index(intent)))
        if open_case:
            self.fold_in(intent, topic)
            return
        self.new_case(intent, topic)

    def new_case(self, intent: str, topic: Topic | None) -> None:
        case = self.case
        base = case if case is not None and case.category is None else None  # details that came first
        tid = topic.id if topic is not None else None
        self.set_case(Case(category=intent, topic=tid, opened_at=self.now, topics=(tid,) if tid else (),
                           details=dict(base.details) if base else {}, said=base.said if base else ()))
        noted = self.take_details(topic.needs if topic is not None else CATEGORY_NEEDS.get(intent, ()))
        fact = self.k.fact_for(topic)
        if fact is not None:
            self.key = f"fact:{fact.id}"
            self.out.add_text(self.r.render_text(self.lang, fact.text(self.lang)))
            self.closed_note()
            return
        priority = topic.priority if topic is not None else ("complex" if intent == "return_refund" else "normal")
        resolution = self.outer_due()
        due = resolution if priority == "complex" else self.first_due()
        self.open_or_raise(intent, tid, priority, due, resolution)
        self.answer(intent, topic, when=resolution)
        if noted:
            self.out.add("detail_noted", details=_join(noted, self.lang))
        self.ask(self.needs_of(self.case))  # type: ignore[arg-type]
        if priority == "normal":
            self.promise(due)
        if intent == "account" and _PRIVACY.search(self.t.text) and tid != "delete_account":
            self.out.add("privacy")
        self.ticket_line()

    def fold_in(self, intent: str, topic: Topic | None) -> None:
        """Another question while a case is open: answered, and added to the same ticket."""
        case = self.case
        assert case is not None and self.ticket is not None
        tid = topic.id if topic is not None else None
        self.set_case(replace(case, topics=case.topics + ((tid,) if tid and tid not in case.topics else ())))
        self.take_details()
        fact = self.k.fact_for(topic)
        if fact is not None:
            self.key = f"fact:{fact.id}"
            self.out.add_text(self.r.render_text(self.lang, fact.text(self.lang)))
            return
        priority = topic.priority if topic is not None else ("complex" if intent == "return_refund" else "normal")
        resolution = self.outer_due()
        if priority == "complex" and self.ticket.priority == "normal":
            self.change = replace(self.change, raise_to=NewTicket(intent, tid, "complex", resolution, resolution))
            self.set_case(replace(self.case, category=intent, topic=tid or self.case.topic))  # type: ignore[arg-type]
        self.answer(intent, topic, when=self.ticket.resolution_due or resolution)
        needs = topic.needs if topic is not None else CATEGORY_NEEDS.get(intent, ())
        self.ask(needs)
        mark = f"added:{tid or intent}"
        if not self.said(mark):
            self.out.add("ticket_added", ref=self.ticket.ref)
            self.mark(mark)
        self.status()

    def on_feedback(self, topic: Topic | None) -> None:
        tid = topic.id if topic is not None else None
        if tid == "complaint":
            self.key = "complaint"
            review = self.review_due()
            # a complaint during an open case raises that case to the supervisors, keeping its topic
            intent = self.ticket.intent if self.ticket is not None else "feedback"
            self.open_or_raise(intent, "complaint" if self.ticket is None else None, "escalation", review, review)
            self.out.add_text(self.r.render_text(self.lang, topic.text(self.lang), when=review))  # type: ignore[union-attr]
            self.ticket_line()
            self.events.append(("complaint.recorded", {"topic": "complaint"}))
            return
        self.key = "feedback"
        if topic is not None:
            self.out.add_text(self.r.render_text(self.lang, topic.text(self.lang)))
        else:
            self.out.add_varying("feedback")
        self.events.append(("feedback.recorded", {"topic": tid}))
        self.closed_note()

    # ------------------------------------------------------------------ tickets
    def answer(self, intent: str, topic: Topic | None, when: datetime) -> None:
        if topic is not None:
            self.out.add_text(self.r.render_text(self.lang, topic.text(self.lang), when=when))
        else:
            self.out.add(intent, when=when)

    def open_or_raise(self, intent: str, topic: str | None, priority: str, due: datetime,
                      resolution: datetime) -> None:
        """A new ticket, or the open one raised to this priority (never lowered)."""
        wanted = NewTicket(intent, topic, priority, due, resolution)
        if self.ticket is None:
            self.new_ticket = wanted
            case = self.case or Case(category=intent, topic=topic, opened_at=self.now)
            self.set_case(replace(case, category=case.category or intent, ticket_ref=None))
            return
        from handoff.store import PRIORITIES

        if PRIORITIES.index(priority) > PRIORITIES.index(self.ticket.priority):
            self.change = replace(self.change, raise_to=wanted)
        if topic and not self.ticket.topic:
            self.change = replace(self.change, topic=topic)
        case = self.case or adopt_ticket(self.ticket)
        self.set_case(replace(case, ticket_ref=self.ticket.ref))

    def ticket_line(self) -> None:
        if self.new_ticket is not None:
            self.out.add("ticket", ref=NEW_REF)
            self.mark("ticket")
        elif self.ticket is not None and not self.said("ticket_open"):
            self.out.add("ticket_open", ref=self.ticket.ref)
            self.mark("ticket_open")


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = " dan " if lang == "id" else " and "
    return ", ".join(items[:-1]) + word + items[-1]
