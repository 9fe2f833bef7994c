"""How each kind of message is answered: the handlers of the decision (bot/dialogue/decide.py).

A mixin: the methods use the decision's state and helpers (`self.case`, `self.out`,
`self.status()`, `self.promise()`...), defined in decide.py.
"""
from __future__ import annotations

import re
from bot.dialogue.evolve import evolve as replace
from datetime import datetime
from typing import Any

from bot.models import CATEGORIES
from bot.topics import Topic

from .case import CATEGORY_NEEDS, FOLLOWUP_TOPICS, missing, named_list
from .plan import NewTicket
from .state import Case

THANKS_RE = re.compile(r"\b(makasih\w*|mksh|makasi|terima\s*kasih|trims|thanks?|thx|tq|ty|tengkyu|tenkyu|nuhun|"
                       r"suwun|matur|arigato\w*|syukron|appreciate\w*|grazie|thank\s+you|cheers)\b", re.IGNORECASE)
_PRIVACY = re.compile(r"\b(data\s*(pribadi|diri|saya)|privasi|privacy|personal\s+data|hapus\s+(akun|data)|delete)", re.I)


def join(items: list[str], lang: str) -> str:
    """"a, b dan c" / "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    word = " dan " if lang == "id" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


class Handlers:
    """The answers, by kind of message."""

    # attributes and helpers provided by the decision
    t: Any
    k: Any
    r: Any
    cal: Any
    lang: str
    now: datetime
    ticket: Any
    out: Any
    events: list[tuple[str, dict[str, Any]]]
    change: Any
    key: str
    menu_shown: bool
    unknown_streak: int
    prior_streak: int

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
            self.pending_case()  # the files wait for the case the explanation will open
            self.out.add("media_only")
            self.closed_note()
            return
        self.on_details()

    def pending_case(self) -> list[str]:
        """A case with no question yet, holding what came before it; the details noted."""
        self.set_case(Case(category=None, topic=None, opened_at=self.now))
        return self.take_details()

    def on_details(self) -> None:
        """Details and nothing else: they fill the case."""
        self.key = "details"
        if self.case is None:
            noted = self.pending_case()
            self.out.add("detail_noted_no_case", details=join(noted, self.lang))
            self.closed_note()
            return
        noted = self.take_details()
        if noted:
            self.out.add_varying("detail_noted", details=join(noted, self.lang))
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
        if not THANKS_RE.search(self.t.text):
            # "ok noted", "udah kecatet kan?", "itu aja": an acknowledgement, no thanks to return
            if case is not None and case.ticket_ref and self.ticket is not None:
                self.status()
            else:
                self.out.add_varying("noted_again")
                self.closed_note()
            return
        if case is not None and case.ticket_ref and not self.said("thanks"):
            self.out.add("thanks_case", ref=case.ticket_ref)
            self.mark("thanks")
        elif case is not None and case.ticket_ref and self.ticket is not None:
            self.status()
        else:
            self.out.add_varying("thanks")
        self.closed_note()

    def on_hours(self) -> None:
        self.key = "hours"
        if not self.said("hours"):
            self.out.add("hours")  # the full week once; asked again, only today
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
        # a customer asking for a supervisor is complaining: the dashboard lists their words
        self.events.append(("complaint.recorded", {"topic": "escalation"}))
        if ticket is not None:  # the open case goes to the supervisors
            self.out.add("escalated_to_supervisor", ref=ticket.ref, when=review)
            self.mark("ticket_open")
            return
        self.out.add("escalation", when=review)
        self.ticket_line()

    def on_human(self) -> None:
        self.key = "human"
        case = self.case
        if case is not None and case.ticket_ref and self.ticket is not None:
            due = self.next_due()
            if due <= self.now:
                self.status()
                return
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
        if case is not None and case.ticket_ref and (unclear or words <= 2 or self.t.details):
            self.key = "followup"
            noted = self.take_details()
            if noted:
                self.out.add_varying("detail_noted", details=join(noted, self.lang))
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
                self.out.add_varying("detail_noted", details=join(noted, self.lang))
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
        # what was said before any case (the out-of-hours note) stays said
        said = tuple(x for x in self.state.said if x.startswith("closed:")) + (base.said if base else ())
        self.set_case(Case(category=intent, topic=tid, opened_at=self.now, topics=(tid,) if tid else (),
                           details=dict(base.details) if base else {}, said=said))
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
            self.out.add("detail_noted", details=join(noted, self.lang))
        self.ask(self.needs_of(self.case))  # type: ignore[arg-type]
        if priority == "normal":
            self.promise(due)
        else:
            self.closed_note()
        if intent == "account" and _PRIVACY.search(self.t.text) and tid != "delete_account":
            self.out.add("privacy")
        self.ticket_line()

    def fold_in(self, intent: str, topic: Topic | None) -> None:
        """Another question while a case is open: answered, and added to the same ticket."""
        case = self.case
        assert case is not None and self.ticket is not None
        tid = topic.id if topic is not None else None
        self.set_case(replace(case, topics=case.topics + ((tid,) if tid and tid not in case.topics else ())))
        noted = self.take_details(topic.needs if topic is not None else CATEGORY_NEEDS.get(intent, ()))
        if noted:
            self.out.add_varying("detail_noted", details=join(noted, self.lang))
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
        due = self.next_due()
        if not self.said(mark) and due > self.now:
            self.out.add("ticket_added", ref=self.ticket.ref, when=self.soon(due))
            self.mark(mark)
        else:
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
