"""Scripted multi-turn conversations with the real pipeline, and the rules every one obeys.

A scenario is a list of steps. A customer step is `(text, expectations)`; an action
step is a tuple starting with "@": ("@clock", "+5m" | ISO time), ("@photo",) a photo
with no text, ("@resolve", agent) a person resolves the open ticket, ("@claim", agent)
a person takes it, ("@reply", agent, text), ("@release", agent), ("@email", subject, body)
a mail (email scenarios only).

Expectations of a customer step (all optional):
  plan      the kind of answer (the pipeline's "plan:" note: "order_status", "followup",
            "details", "fact:cod", "out_of_scope", "complaint"...), or a tuple of kinds
  intent    the matched intent;  topic: the matched topic
  has       substrings the reply must contain (case-insensitive)
  lacks     substrings it must not contain
  tickets   how many tickets exist after this step
  same_ticket  the answer is about the same ticket as the step before
  status    the outcome status (default "answered")

Rules checked on every conversation (`check_invariants`), whatever the script says:
  * no reply repeats an earlier one word for word;
  * a detail the customer gave is never asked for again, and none is asked twice in a case;
  * the menu, the contact list and the response promise appear at most once per case;
  * a message that only gives a detail never opens a ticket of its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.models import Attachment, Message

MENU_MARK = "1. Produk"
MENU_MARK_EN = "1. Products"
CONTACT_MARK = ("Saluran resmi", "Official Yessindo channels")
PROMISE_MARKS = ("±5–15 menit", "about 5–15 minutes", "±1–2 jam", "about 1–2 hours")


@dataclass
class Turn:
    text: str
    reply: str
    status: str
    plan: str | None
    intent: str | None
    topic: str | None
    ticket_ref: str | None
    tickets: int
    case_no: int  # which case of the conversation this reply belongs to
    details_before: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    steps: list[tuple[Any, ...]]
    channel: str = "whatsapp"
    customer: str = "+6281234567890"
    start: str = "2026-11-24T10:00:00+07:00"  # a Tuesday, open


class Runner:
    """Runs scenarios on a bot and a desk (bot/desk.py) sharing one store."""

    def __init__(self, bot, desk, clock) -> None:  # type: ignore[no-untyped-def]
        self.bot, self.desk, self.clock = bot, desk, clock
        self.n = 0

    def run(self, sc: Scenario) -> list[Turn]:
        self.clock.set(sc.start)
        turns: list[Turn] = []
        case_no = 0
        last_ref: str | None = None
        for step in sc.steps:
            if isinstance(step[0], str) and step[0].startswith("@") and step[0] != "@photo" and step[0] != "@email":
                last_ref = self._action(step, last_ref)
                if step[0] == "@resolve":
                    case_no += 1
                continue
            expect: dict[str, Any] = step[-1] if isinstance(step[-1], dict) else {}
            if step[0] == "@photo":
                text, subject = "", None
                attachments = (Attachment(url="https://example.test/p.jpg", content_type="image/jpeg"),)
            elif step[0] == "@email":
                text, subject, attachments = step[2], step[1], ()
            else:
                text, subject, attachments = step[0], None, ()
            before = self._case_details(sc)
            self.n += 1
            msg = Message(channel=sc.channel, customer=sc.customer, text=text, received_at=self.clock(),
                          external_id=f"sc-{self.n}-{id(sc)}", subject=subject, attachments=attachments)
            out = self.bot.handle(msg)
            reply = "\n".join(r.text for r in out.replies)
            plan = next((n[5:] for n in out.notes if n.startswith("plan:")), None)
            t = Turn(text=text, reply=reply, status=out.status, plan=plan,
                     intent=out.intent.intent if out.intent else None, topic=out.intent.topic if out.intent else None,
                     ticket_ref=out.ticket_ref, tickets=len(self.bot.store.tickets()), case_no=case_no,
                     details_before=before)
            self._expect(sc, len(turns), t, expect, turns[-1] if turns else None)
            turns.append(t)
            last_ref = out.ticket_ref or last_ref
            self.clock.at = self.clock.at + timedelta(seconds=20)
        check_invariants(sc, turns)
        return turns

    def _case_details(self, sc: Scenario) -> dict[str, tuple[str, ...]]:
        from bot.dialogue.state import from_json

        row = self.bot.store.conn.execute(
            "SELECT dialogue FROM conversations WHERE channel = ? AND customer = ? ORDER BY id DESC LIMIT 1",
            (sc.channel, sc.customer)).fetchone()
        state = from_json(row[0] if row else None)
        return dict(state.case.details) if state.case is not None else {}

    def _action(self, step: tuple[Any, ...], last_ref: str | None) -> str | None:
        kind = step[0]
        if kind == "@clock":
            value = step[1]
            if value.startswith("+"):
                n, unit = int(value[1:-1]), value[-1]
                self.clock.at = self.clock.at + {"s": timedelta(seconds=n), "m": timedelta(minutes=n),
                                                 "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
            else:
                self.clock.set(value)
            return last_ref
        open_refs = [t.ref for t in self.bot.store.tickets() if t.status != "resolved"]
        ref = open_refs[-1] if open_refs else last_ref
        assert ref, f"{kind}: no ticket to act on"
        agent = step[1]
        if kind == "@claim":
            self.desk.claim(self.clock(), ref, agent)
        elif kind == "@reply":
            self.desk.reply(self.clock(), ref, agent, step[2])
        elif kind == "@release":
            self.desk.release(self.clock(), ref, agent)
        elif kind == "@resolve":
            ticket = self.bot.store.ticket(ref)
            if ticket.agent != agent:
                self.desk.claim(self.clock(), ref, agent)
            note = step[2] if len(step) > 2 else ("Sudah kami selesaikan." if ticket.priority == "escalation" else None)
            if ticket.first_response_at is None and ticket.priority != "escalation":
                # a person answers before resolving (the desk asks to confirm a resolve with no reply)
                self.desk.reply(self.clock(), ref, agent, "Sudah kami bantu, Kak.")
            self.desk.resolve(self.clock(), ref, agent, note)
        else:
            raise ValueError(kind)
        return ref

    @staticmethod
    def _expect(sc: Scenario, i: int, t: Turn, ex: dict[str, Any], prev: Turn | None) -> None:
        where = f"[{sc.name}] step {i + 1} {t.text[:60]!r}\nreply: {t.reply}\n(plan {t.plan}, {t.intent}/{t.topic})"
        assert t.status == ex.get("status", "answered"), where
        if "plan" in ex:
            plans = ex["plan"] if isinstance(ex["plan"], tuple) else (ex["plan"],)
            assert t.plan in plans, f"plan {t.plan!r} not in {plans}: {where}"
        if "intent" in ex:
            intents = ex["intent"] if isinstance(ex["intent"], tuple) else (ex["intent"],)
            assert t.intent in intents, f"intent {t.intent!r} not in {intents}: {where}"
        if "topic" in ex:
            topics = ex["topic"] if isinstance(ex["topic"], tuple) else (ex["topic"],)
            assert t.topic in topics, f"topic {t.topic!r} not in {topics}: {where}"
        low = t.reply.lower()
        for s in ex.get("has", ()):
            assert s.lower() in low, f"missing {s!r}: {where}"
        for s in ex.get("lacks", ()):
            assert s.lower() not in low, f"should not say {s!r}: {where}"
        if "tickets" in ex:
            assert t.tickets == ex["tickets"], f"{t.tickets} tickets, expected {ex['tickets']}: {where}"
        if ex.get("same_ticket"):
            assert prev is not None and t.ticket_ref and t.ticket_ref == prev.ticket_ref, f"not the same ticket: {where}"


def _asks(reply: str) -> list[str]:
    """The detail kinds a reply asks for (by the wording of knowledge/details.toml)."""
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.topics import load_detail_texts

    texts = _DETAIL_TEXTS.get("x")
    if texts is None:
        texts = _DETAIL_TEXTS["x"] = load_detail_texts(DEFAULT_KNOWLEDGE_DIR / "details.toml")
    found = []
    for line in reply.split("\n"):
        if not re.search(r"mohon kirimkan|please send|tinggal|we still need", line, re.I):
            continue
        for lang in ("id", "en"):
            for kind, dt in texts[lang].items():
                if dt.ask.lower() in line.lower() and kind not in found:
                    found.append(kind)
    return found


_DETAIL_TEXTS: dict[str, Any] = {}
_SATISFIES = {"account_id": ("email", "phone"), "proof": ("photo", "proof")}


def check_invariants(sc: Scenario, turns: list[Turn]) -> None:
    seen: dict[str, int] = {}
    for i, t in enumerate(turns):
        if not t.reply:
            continue
        where = f"[{sc.name}] step {i + 1} {t.text[:60]!r}\nreply: {t.reply}"
        key = re.sub(r"\s+", " ", t.reply.strip().lower())
        assert key not in seen, f"reply repeats step {seen[key] + 1} word for word: {where}"
        seen[key] = i
    by_case: dict[int, list[Turn]] = {}
    for t in turns:
        by_case.setdefault(t.case_no, []).append(t)
    for case_no, case_turns in by_case.items():
        asked: dict[str, int] = {}
        for i, t in enumerate(case_turns):
            where = f"[{sc.name}] case {case_no} {t.text[:60]!r}\nreply: {t.reply}"
            for kind in _asks(t.reply):
                given = [k for k in _SATISFIES.get(kind, (kind,)) if t.details_before.get(k)]
                assert not given, f"asks again for {kind} the customer already gave: {where}"
                if "tinggal" not in t.reply.lower() and "we still need" not in t.reply.lower():
                    assert kind not in asked, f"asks twice for {kind}: {where}"
                asked[kind] = i
        for mark, what in ((MENU_MARK, "menu"), (MENU_MARK_EN, "menu"), (CONTACT_MARK[0], "contacts"),
                           (CONTACT_MARK[1], "contacts")):
            n = sum(1 for t in case_turns if mark in t.reply)
            assert n <= 1, f"[{sc.name}] the {what} appears {n} times in case {case_no}"
        n = sum(1 for t in case_turns for m in PROMISE_MARKS if m in t.reply)
        assert n <= 1, f"[{sc.name}] the response promise appears {n} times in case {case_no}"
    for i, t in enumerate(turns):
        if t.plan == "details":
            before = turns[i - 1].tickets if i else 0
            assert t.tickets == before, f"[{sc.name}] a detail-only message opened a ticket: {t.text!r}"


def run_all(runner: Runner, scenarios: list[Scenario]) -> None:
    for sc in scenarios:
        runner.run(sc)


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
