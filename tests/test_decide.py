"""The decision alone (bot/dialogue/decide.py): a message, a remembered state, the shop's
knowledge and a time in; a plan out. No database, no matcher: the intent is given."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.business_hours import BusinessCalendar, HoursSettings
from bot.dialogue import Context, DialogueState, Snapshot, Turn, decide, find_details, is_detail_only
from bot.dialogue.reply import NEW_REF
from bot.dialogue.state import Case, from_json, to_json
from bot.knowledge import load_knowledge
from bot.models import IntentMatch
from handoff.store import Ticket
from tests.conftest import WIB

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=WIB)  # Tuesday, open


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(load_knowledge(KNOWLEDGE), BusinessCalendar(HoursSettings()))


def turn(text: str, intent: str = "unknown", topic: str | None = None, *, conf: float = 0.95, lang: str = "id",
         now: datetime = NOW, channel: str = "whatsapp", asked: tuple[str, ...] = (), photos: int = 0,
         flags: tuple[str, ...] = ()) -> Turn:
    details = find_details(text, photos=photos, asked=asked)
    return Turn(text=text, channel=channel, now=now, match=IntentMatch(intent, conf, lang, (), topic, flags),  # type: ignore[arg-type]
                lang=lang, details=details, detail_only=is_detail_only(text, details, intent),
                attachments=photos)


def ticket(ref: str = "YS-000001", intent: str = "order_status", topic: str | None = "order_tracking",
           priority: str = "normal", **kw) -> Ticket:
    due = NOW + timedelta(minutes=15)
    base = dict(id=1, ref=ref, conversation_id=1, channel="whatsapp", customer="+6281234567890", intent=intent,
                priority=priority, status="open", agent=None, due_at=due, created_at=NOW, details={},
                first_response_due=due, resolution_due=NOW + timedelta(days=2), topic=topic)
    base.update(kw)
    return Ticket(**base)  # type: ignore[arg-type]


def snap(state: DialogueState | None = None, t: Ticket | None = None, **kw) -> Snapshot:
    return Snapshot(state or DialogueState(), t, **kw)


def open_case(**kw) -> DialogueState:
    case = Case(category="order_status", topic="order_tracking", opened_at=NOW, ticket_ref="YS-000001",
                asked=("order_number", "recipient_name"), said=("promise", "ticket"),
                promised_due=NOW + timedelta(minutes=15), topics=("order_tracking",), last_at=NOW)
    return DialogueState(case=replace(case, **kw))


def test_new_question_opens_a_ticket_asks_the_topic_details_once_and_promises(ctx):
    plan = decide(turn("paket saya belum sampai", "order_status", "order_tracking"), snap(), ctx)
    assert plan.new_ticket is not None
    assert (plan.new_ticket.intent, plan.new_ticket.topic, plan.new_ticket.priority) == \
        ("order_status", "order_tracking", "normal")
    assert plan.new_ticket.due_at == datetime(2026, 11, 24, 10, 15, tzinfo=WIB)
    assert "nomor pesanan" in plan.text and "nama penerima" in plan.text and "5–15 menit" in plan.text
    assert NEW_REF in plan.text
    assert plan.state.case.asked == ("order_number", "recipient_name")
    assert "promise" in plan.state.case.said


def test_a_detail_fills_the_case_and_names_only_what_is_missing(ctx):
    t = turn("INV-20261125-0456", asked=("order_number", "recipient_name"))
    assert t.detail_only
    plan = decide(t, snap(open_case(), ticket()), ctx)
    assert plan.key == "details" and plan.new_ticket is None
    assert "Nomor pesanan INV-20261125-0456 sudah kami catat" in plan.text
    assert "nama penerima" in plan.text and "nomor pesanan (" not in plan.text
    assert "5–15 menit" not in plan.text and "masih kami tangani" not in plan.text
    assert plan.state.case.details["order_number"] == ("INV-20261125-0456",)


def test_the_last_missing_detail_completes_the_case(ctx):
    state = open_case(details={"order_number": ("INV-1",)})
    plan = decide(turn("atas nama Sri Wahyuni", asked=("order_number", "recipient_name")), snap(state, ticket()), ctx)
    assert "Nama penerima Sri Wahyuni sudah kami catat" in plan.text
    assert "lengkap" in plan.text and "YS-000001" in plan.text and "hari ini pukul 10.15 WIB" in plan.text


def test_a_bare_name_counts_only_when_the_bot_asked_for_it(ctx):
    assert find_details("Sri Wahyuni", asked=("recipient_name",)).get("recipient_name") == ("Sri Wahyuni",)
    assert not find_details("Sri Wahyuni")
    assert find_details("2611XYZ771", asked=("order_number",)).get("order_number") == ("2611XYZ771",)
    assert not find_details("2611XYZ771").get("order_number")


def test_a_follow_up_gets_the_case_state_not_the_menu_nor_a_new_ticket(ctx):
    plan = decide(turn("kira-kira kapan sampainya?", "order_status", "delivery_estimate"),
                  snap(open_case(), ticket()), ctx)
    assert plan.key == "followup" and plan.new_ticket is None
    assert "YS-000001" in plan.text and "paling lambat" in plan.text and "1. Produk" not in plan.text


@pytest.mark.parametrize("text, intent", [("gimana kak?", "unknown"), ("halo? ada orang?", "greeting"),
                                          ("?", "unknown"), ("...", "unknown")])
def test_pings_on_an_open_case_get_its_state(ctx, text, intent):
    plan = decide(turn(text, intent, conf=0.6), snap(open_case(), ticket()), ctx)
    assert "YS-000001" in plan.text and plan.new_ticket is None and "1. Produk" not in plan.text


def test_the_same_follow_up_twice_is_worded_differently(ctx):
    t = turn("kapan sampainya?", "order_status", "delivery_estimate")
    first = decide(t, snap(open_case(), ticket()), ctx)
    state = first.state.with_reply(first.text)
    second = decide(t, snap(state, ticket()), ctx)
    assert second.text != first.text and "YS-000001" in second.text


def test_another_category_while_a_case_is_open_joins_its_ticket(ctx):
    plan = decide(turn("barangnya datang pecah", "return_refund", "damaged_item"), snap(open_case(), ticket()), ctx)
    assert plan.new_ticket is None
    assert plan.change is not None and plan.change.raise_to is not None
    assert plan.change.raise_to.priority == "complex"
    assert "ditambahkan" in plan.text or "tambahkan" in plan.text
    assert "foto" in plan.text.lower()


def test_presale_question_never_asks_for_an_order_number_or_receipt(ctx):
    for topic in ("cod", "couriers", "shipping_cost", "payment_methods", "promo_voucher", "delivery_estimate"):
        category = ctx.knowledge.topics[topic].category
        plan = decide(turn("pertanyaan", category, topic), snap(), ctx)
        assert "nomor pesanan" not in plan.text and "bukti" not in plan.text, topic
        assert plan.new_ticket is not None, topic  # no fact configured: the team answers


def test_an_enabled_fact_answers_without_a_ticket(ctx):
    facts = dict(ctx.knowledge.facts)
    facts["cod"] = replace(facts["cod"], enabled=True)
    knowledge = replace(ctx.knowledge, facts=facts)
    plan = decide(turn("bisa COD ke Medan?", "payment", "cod"), snap(), Context(knowledge, ctx.calendar))
    assert plan.key == "fact:cod" and plan.new_ticket is None
    assert facts["cod"].texts["id"] in plan.text


def test_complaint_goes_to_the_supervisors_with_an_apology(ctx):
    plan = decide(turn("saya kecewa banget, pelayanannya lambat", "feedback", "complaint"), snap(), ctx)
    assert plan.new_ticket.priority == "escalation" and plan.new_ticket.intent == "feedback"
    assert "Mohon maaf" in plan.text and "supervisor" in plan.text
    assert ("complaint.recorded", {"topic": "complaint"}) in plan.events


def test_praise_is_thanked_and_recorded_without_a_ticket(ctx):
    plan = decide(turn("adminnya ramah banget", "feedback", "praise"), snap(), ctx)
    assert plan.new_ticket is None and "Terima kasih" in plan.text
    assert plan.events == (("feedback.recorded", {"topic": "praise"}),)


def test_out_of_hours_note_once_per_closed_period(ctx):
    saturday = datetime(2026, 11, 28, 18, 0, tzinfo=WIB)
    first = decide(turn("halo", "greeting", now=saturday), snap(), ctx)
    assert "Minggu, 29 November 2026 pukul 09.00 WIB" in first.text
    second = decide(turn("makasih", "thanks", now=saturday + timedelta(minutes=1)),
                    snap(first.state.with_reply(first.text)), ctx)
    assert "09.00" not in second.text


def test_menu_once_then_a_short_greeting(ctx):
    first = decide(turn("halo", "greeting"), snap(), ctx)
    assert "1. Produk" in first.text and first.menu_shown
    second = decide(turn("halo", "greeting"), snap(first.state.with_reply(first.text), menu_shown=True), ctx)
    assert "1. Produk" not in second.text and second.text != first.text


def test_promise_told_again_only_when_it_changed(ctx):
    state = open_case(promised_due=NOW + timedelta(minutes=15))
    later = ticket(first_response_due=datetime(2026, 11, 25, 8, 10, tzinfo=WIB),
                   due_at=datetime(2026, 11, 25, 8, 10, tzinfo=WIB))
    plan = decide(turn("gimana kak?", "unknown", conf=0.5), snap(state, later), ctx)
    assert "besok pukul 08.10 WIB" in plan.text


def test_a_resolved_case_is_over_and_a_detail_starts_afresh(ctx):
    plan = decide(turn("INV-20261201-0001"), snap(open_case(), None), ctx)
    assert plan.key == "details" and plan.state.case.ticket_ref is None and "YS-000001" not in plan.text


def test_secret_warning_comes_first(ctx):
    t = replace(turn("otp saya ******", "account", "login_otp"), secret_kinds=("otp",))
    plan = decide(t, snap(), ctx)
    assert plan.text.startswith("⚠️")


def test_english_customer_gets_english(ctx):
    plan = decide(turn("where is my order", "order_status", "order_tracking", lang="en"), snap(), ctx)
    assert "order number" in plan.text and "Kak" not in plan.text


def test_state_survives_json_and_a_broken_value_is_a_fresh_start():
    state = open_case(details={"order_number": ("INV-1",), "recipient_name": ("Sri",)}).with_reply("halo")
    assert from_json(to_json(state)) == state
    assert from_json("{not json") == DialogueState()
    assert from_json('{"case": {"category": 1}}') == DialogueState()


def test_sarcasm_on_a_question_gets_an_apology_first(ctx):
    plan = decide(turn("mantap, udah 2 minggu paket belum sampai 👏", "order_status", "order_tracking",
                       flags=("sarcasm",)), snap(), ctx)
    assert plan.text.startswith("Mohon maaf atas ketidaknyamanannya")


def test_a_broken_promise_is_owned_up_to_never_quoted_in_the_past(ctx):
    late = ticket(first_response_due=NOW - timedelta(minutes=5), due_at=NOW - timedelta(minutes=5))
    plan = decide(turn("halo? ada orang?", "greeting", conf=0.7), snap(open_case(), late), ctx)
    assert "terlambat" in plan.text and "10.15" not in plan.text and "09.55" not in plan.text
    night = datetime(2026, 11, 24, 21, 30, tzinfo=WIB)
    plan = decide(turn("gimana kak?", now=night, conf=0.5), snap(open_case(), late), ctx)
    assert "terlambat" in plan.text and "Rabu, 25 November 2026 pukul 08.00 WIB" in plan.text


def test_a_day_later_the_same_welcome_may_come_again_without_a_counter(ctx):
    first = decide(turn("halo", "greeting"), snap(), ctx)
    state = first.state.with_reply(first.text)
    next_week = decide(turn("halo", "greeting", now=NOW + timedelta(days=7)), snap(state, menu_shown=True), ctx)
    assert next_week.text == first.text and "pesan ke-" not in next_week.text
    same_day = decide(turn("halo", "greeting", now=NOW + timedelta(minutes=5)), snap(state, menu_shown=True), ctx)
    assert same_day.text != first.text


def test_a_detail_with_a_new_question_answers_the_question_too(ctx):
    t = turn("INV-20261125-0456 bisa dibatalkan?", "order_status", "cancel_order", asked=("order_number",))
    plan = decide(t, snap(open_case(), ticket()), ctx)
    assert "INV-20261125-0456 sudah kami catat" in plan.text and "pembatalan" in plan.text
    assert "cancel_order" in plan.state.case.topics


@pytest.mark.parametrize("text", ["udah 10 hari belum sampai kak", "sudah seminggu paket belum datang",
                                  "statusnya diterima tapi saya belum terima barangnya",
                                  "tracking says delivered but I never got it"])
def test_a_long_wait_or_a_parcel_marked_delivered_gets_an_apology_first(ctx, text):
    plan = decide(turn(text, "order_status", "order_tracking"), snap(), ctx)
    assert plan.text.startswith(("Mohon maaf atas ketidaknyamanannya", "We're sorry")), plan.text
