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
from bot.dialogue.evolve import evolve as replace
from datetime import datetime, timedelta
from typing import Any

from bot.models import CATEGORIES
from bot.topics import Topic

from .case import (CASE_IDLE, CATEGORY_NEEDS, FOLLOWUP_TOPICS, adopt_ticket, merge_details, missing, name_details,
                   named_list, promise_span, reply_due)
from .asides import Asides
from .handlers import Handlers, join
from .plan import Context, NewTicket, Plan, Snapshot, TicketChange, Turn
from .reply import NEW_REF, ReplyBuilder
from .state import Case

SAID_RESET = timedelta(hours=24)
# Words of a nudge on an open case ("any update?", "masih lama kak?", "halo? ada orang?").
NUDGE_WORDS = frozenset("""
    any update updates news kabar kabarnya info gimana gmn gmana bagaimana masih lama banget bgt amat kapan kpn
    ditunggu tunggu nunggu menunggu cepet cepat cepetan dicepetin dipercepat buruan tolong mohon halo hallo haloo
    p ping min kak kakak admin ada orang anyone anybody there hello hi hey still waiting sudah udah udh dicek
    dicheck belum blm nya ya yaa dong sih deh nih please pls plz on this it status the is what about so ok oke
    jadi how long sampai sampe nyampe again lagi diproses proses diprosesnya kok ga gak respon dibales dibalas
    bales balas reply cs yet soon when sir gan sis mbak mas bang jawaban jawab dijawab direspon response respond
    answer will this take taking forever jam lho loh menit minutes hour hours days hari udah lama sejak tadi from
    since already dah sdh gk ngga nggak y yg lg ini itu kan can you check cek is are do does any anything there news
    progress gimana2 kelanjutan lanjutannya follow up
""".split())
# a long wait, or "delivered" with nothing received: a careful agent apologises first
_LONG_WAIT = re.compile(
    r"\b(?:[5-9]|[1-9]\d)\s*(?:hari|hr|days?)\b|\b(?:\d+|se|satu|dua|two|a)\s*(?:minggu|weeks?|bulan|months?)\b|"
    r"\b(?:status\w*|tertulis|katanya|says|shows)\b.{0,30}\b(?:terkirim|diterima|delivered)\b.{0,40}"
    r"\b(?:belum|tidak|gak|ga|nggak|not|never|haven'?t)\b", re.IGNORECASE)
# "when will you answer", a ticket number: about the open case
REPLY_WORDS_RE = re.compile(r"\b(dibalas|dibales|dijawab|direspon|balasan|jawaban|respon|reply|replied|answer|"
                            r"respond|hear\s+back)\b", re.IGNORECASE)
TICKET_MENTION_RE = re.compile(r"\bYS-\d{6}\b", re.IGNORECASE)
_NO_REPLY_OWED = frozenset({"thanks", "greeting"})


def decide(turn: Turn, snap: Snapshot, ctx: Context) -> Plan:
    return _Decision(turn, snap, ctx).run()


class _Decision(Handlers, Asides):
    def __init__(self, turn: Turn, snap: Snapshot, ctx: Context) -> None:
        self.t, self.ctx = turn, ctx
        self.k, self.r, self.cal = ctx.knowledge, ctx.responder, ctx.calendar
        self.lang = turn.lang
        self.now = turn.now
        self.ticket = snap.ticket
        self.menu_shown = snap.menu_shown
        self.unknown_streak = 0
        self.out = ReplyBuilder(self.r, self.lang, lambda text: self.state.repeats(text))
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.notes: list[str] = []
        self.new_ticket: NewTicket | None = None
        self.change = TicketChange()
        self.key = "unknown"
        state = snap.state
        if state.said_at is not None and self.now - state.said_at > SAID_RESET:
            state = replace(state, said=(), said_at=None)
        if state.last_at is not None and self.now - state.last_at > SAID_RESET:
            state = replace(state, replies=())  # a day later, "halo" may get the same welcome again
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
        return self.cal.add_opening_time(self.now, promise_span(self.k, self.t.channel))

    def next_due(self) -> datetime:
        """When a person answers the open ticket next; a message that starts the
        next-reply timer says so in the plan."""
        due, waits = reply_due(self.ticket, self.first_due())
        if waits:
            self.change = replace(self.change, await_reply=True)
        return due

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
            back = self.cal.next_open(self.now)
            if self.said(f"closed:{back.isoformat()}"):  # "we are closed" was said: the deadline is enough
                self.out.add("promise_by", when=self.soon(due))
            else:
                self.out.add("promise_closed", when=back)
                self.mark(f"closed:{back.isoformat()}")
        elif due - self.now > promise_span(self.k, self.t.channel) + timedelta(minutes=1):
            self.out.add("promise_by", when=self.soon(due))  # the team closes before the usual span is over
        else:
            self.out.add("promise_email" if self.t.channel == "email" else "promise_whatsapp")
        self.set_case(replace(self.case, promised_due=due))  # type: ignore[arg-type]
        self.mark("promise")

    def take_details(self, relevant: tuple[str, ...] | None = None) -> list[str]:
        """Merge this message's details into the case; the new ones, named for an
        acknowledgement (with `relevant`: only those kinds, and who the customer is)."""
        case = self.case
        if case is None or not self.t.details:
            return []
        merged, new = merge_details(case, self.t.details, correct=self.t.details.correction)
        self.set_case(merged)
        if relevant is not None:
            keep = set(relevant) | {"order_number", "recipient_name", "email", "phone", "tracking_number", "voucher",
                                    "refund_to"}
            if "account_id" in relevant or "proof" in relevant:
                keep |= {"email", "phone", "photo"}
            new = {k: v for k, v in new.items() if k in keep}
        if "product" in new and not self.t.detail_only:  # the question names its product: no echo of it
            whole = " ".join(self.t.text.split())[:120]
            new["product"] = tuple(x for x in new["product"] if x != whole)
        return name_details(self.k, self.lang, {k: v for k, v in new.items() if v})

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
        due = self.next_due()
        if due <= self.now:  # the promise is already broken: say so, never quote a time gone by
            if self.said(f"late:{ticket.ref}"):
                self.out.add_varying("noted_again")
            elif self.cal.is_open(self.now):
                self.out.add("followup_late", ref=ticket.ref)
            else:
                self.out.add("followup_late_closed", ref=ticket.ref, when=self.cal.next_open(self.now))
            self.mark(f"late:{ticket.ref}")
            return
        if not self.cal.is_open(self.now):
            back = self.cal.next_open(self.now)
            if not self.said(f"closed:{back.isoformat()}"):  # no "we are on it" while nobody is
                self.out.add("followup_closed", ref=ticket.ref, back=back, when=self.soon(due))
                self.mark(f"closed:{back.isoformat()}")
                self.set_case(replace(self.case, promised_due=due))  # type: ignore[arg-type]
                return
        key = "followup_answered" if ticket.first_response_at is not None else "followup_status"
        self.out.add_varying(key, ref=ticket.ref, topic=self.topic_name(case), when=self.soon(due))
        self.set_case(replace(self.case, promised_due=due))  # type: ignore[arg-type]

    def open_ticket_case(self) -> bool:
        case = self.case
        return case is not None and case.ticket_ref is not None and self.ticket is not None \
            and self.ticket.ref == case.ticket_ref

    def answers_what_we_asked(self) -> bool:
        """A short message that gives a detail the bot asked for and still lacks ("I paid
        with GoPay", "it's INV-..."): an answer, not a new question."""
        case, t = self.case, self.t
        if case is None or not t.details or t.match.intent in ("escalation", "human", "feedback"):
            return False
        if len(re.findall(r"[^\W_]+", t.text)) > 8:
            return False
        asks_more = "?" in t.text and t.match.intent in CATEGORIES and t.match.topic not in (None, case.topic)
        if asks_more:  # "INV-... bisa dibatalkan?": a detail and a new question
            return False
        wanted = set(missing(case, tuple(case.asked)))
        given = set(t.details.kinds())
        if "account_id" in wanted:
            wanted |= {"email", "phone"}
        if "proof" in wanted:
            wanted.add("photo")
        return bool(wanted & given)

    def is_follow_up(self) -> bool:
        """While a case waits for a person: a nudge ("any update?", "masih lama?", "halo?")
        or a question about how the case is going ("kapan diprosesnya?") asks for its state."""
        if not self.open_ticket_case():
            return False
        t = self.t
        words = [w for w in re.findall(r"[^\W\d_]+", t.text.lower())]
        if TICKET_MENTION_RE.search(t.text) and t.match.intent not in ("escalation", "human"):
            return True
        if t.match.intent in ("hours", "contact", "unknown") and REPLY_WORDS_RE.search(t.text) and len(words) <= 10:
            return True  # "kapan dibalas?" is about this case, not the opening hours
        if t.match.intent in ("escalation", "human", "hours", "contact"):
            return False
        if len(words) <= 8 and all(w in NUDGE_WORDS for w in words):
            return True
        if t.match.intent in ("feedback", "thanks"):
            return False
        new_order = set(t.details.get("order_number")) - set(self.case.known("order_number"))  # type: ignore[union-attr]
        return t.match.topic in FOLLOWUP_TOPICS and not new_order and len(words) <= 12

    # ------------------------------------------------------------------ the run
    def run(self) -> Plan:
        t = self.t
        if t.secret_kinds:
            self.out.add("secret_warning")
        if (("sarcasm" in t.match.flags and t.match.intent in CATEGORIES and t.match.intent != "feedback")
                or (t.match.intent == "order_status" and _LONG_WAIT.search(t.text))) and not self.said("apology"):
            self.out.add("apology")  # "mantap, 2 minggu belum sampai 👏" is no compliment
            self.mark("apology")
        if not t.text.strip():
            self.on_attachments() if t.attachments else self.on_empty()
        elif self.aside():
            pass
        elif t.detail_only or self.answers_what_we_asked():
            self.on_details()
        elif self.is_follow_up():
            self.key = "followup"
            noted = self.take_details()
            if noted:
                self.out.add_varying("detail_noted", details=join(noted, self.lang))
            self.status()
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
        self.state = replace(self.state, last_at=self.now)
        if self.ticket is not None and self.case is not None and self.case.ticket_ref == self.ticket.ref \
                and t.match.intent not in _NO_REPLY_OWED and not self.change.await_reply and t.text.strip():
            self.next_due()
        fill = (lambda s: s.replace(NEW_REF, "YS-??????")) if self.new_ticket else None
        text, varied = self.out.build(self.state, fill)
        self.state = self.state.remember(varied)
        return Plan(text=text, key=self.key, state=self.state, new_ticket=self.new_ticket,
                    change=self.change if self.change != TicketChange() else None, events=tuple(self.events),
                    unknown_streak=self.unknown_streak, menu_shown=self.menu_shown, notes=tuple(self.notes))

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

