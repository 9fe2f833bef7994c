"""The supervisor dashboard's numbers, on small hand-built data where every figure is known."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from bot.business_hours import BusinessCalendar
from handoff.stats import dashboard
from handoff.store import Store
from tests.conftest import WIB, Conversation

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=WIB)  # Tuesday, open


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "stats.db")
    yield s
    s.close()


@pytest.fixture(scope="module")
def calendar():
    return BusinessCalendar()


_n = 0


def ticket(store, created, *, intent="order_status", due=timedelta(minutes=15), first_response=None,
           resolved=None, csat=None, status=None):
    global _n
    _n += 1
    with store.write(created) as tx:
        conv = tx.create_conversation("whatsapp", f"+628100000{_n:04d}", "id", None)
        t = tx.create_ticket(conv, intent=intent, priority="normal", due_at=created + due, details={}, summary="")
        changes = {}
        if first_response is not None:
            changes["first_response_at"] = first_response
        if resolved is not None:
            changes.update(status="resolved", resolved_at=resolved)
        if status is not None:
            changes["status"] = status
        if csat is not None:
            changes.update(csat=csat, csat_at=resolved or created)
        if changes:
            tx.update_ticket(t, **changes)
    return t


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_days_are_local_and_a_ticket_at_2330_wib_belongs_to_that_day(store, calendar):
    ticket(store, at("2026-11-23T23:30:00+07:00"))  # 16:30 UTC on the 23rd
    ticket(store, at("2026-11-24T00:30:00+07:00"), intent="payment")  # 17:30 UTC on the 23rd
    ticket(store, at("2026-11-10T23:59:00+07:00"))  # before the 14 days
    d = dashboard(store, calendar, NOW, days=14)
    assert d.days[0] == date(2026, 11, 11) and d.days[-1] == date(2026, 11, 24) and len(d.days) == 14
    assert d.volume["order_status"][-2:] == [1, 0]
    assert d.volume["payment"][-2:] == [0, 1]
    assert d.totals == {"order_status": 1, "payment": 1} and d.total == 2
    assert sum(d.volume["order_status"]) == 1  # the 10th is outside the period


def test_first_day_starts_at_local_midnight(store, calendar):
    ticket(store, at("2026-11-11T00:00:00+07:00"))
    ticket(store, at("2026-11-10T23:59:59+07:00"))
    d = dashboard(store, calendar, NOW, days=14)
    assert d.volume["order_status"][0] == 1 and d.total == 1


def test_met_missed_pending(store, calendar):
    ten = at("2026-11-24T10:00:00+07:00")
    ticket(store, ten, first_response=ten + timedelta(minutes=10))  # met
    ticket(store, ten, first_response=ten + timedelta(minutes=15))  # met: exactly on time
    ticket(store, ten, first_response=ten + timedelta(minutes=30))  # missed: late answer
    ticket(store, ten)  # missed: unanswered, due 10.15, now 12.00
    ticket(store, ten, resolved=ten + timedelta(minutes=5))  # none: resolved with no reply, nothing to time
    ticket(store, ten, resolved=ten + timedelta(minutes=50))  # none, however late: nobody answered
    ticket(store, at("2026-11-24T11:55:00+07:00"))  # pending: due 12.10
    d = dashboard(store, calendar, NOW)
    assert (d.met, d.missed, d.pending) == (2, 2, 1)
    assert d.within_promise_share == pytest.approx(2 / 4)


def test_no_tickets(store, calendar):
    d = dashboard(store, calendar, NOW, days=7)
    assert len(d.days) == 7 and d.volume == {} and d.totals == {}
    assert d.within_promise_share is None and d.median_first_response is None and d.csat_average is None
    assert d.csat_distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert (d.met, d.missed, d.pending, d.open_now, d.late_now, d.csat_count) == (0, 0, 0, 0, 0, 0)


def test_median_first_response_counts_opening_time_only(store, calendar):
    # Monday 20:50 -> Tuesday 08:05: 10 minutes before closing + 5 after opening.
    ticket(store, at("2026-11-23T20:50:00+07:00"), first_response=at("2026-11-24T08:05:00+07:00"))
    d = dashboard(store, calendar, NOW)
    assert d.median_first_response == timedelta(minutes=15)
    # Two more: 4 and 40 minutes; the median of 4, 15, 40 is 15.
    ticket(store, at("2026-11-24T09:00:00+07:00"), first_response=at("2026-11-24T09:04:00+07:00"))
    ticket(store, at("2026-11-24T09:00:00+07:00"), first_response=at("2026-11-24T09:40:00+07:00"))
    assert dashboard(store, calendar, NOW).median_first_response == timedelta(minutes=15)
    # An even count: the mean of the two middle values, (15 + 40) / 2.
    ticket(store, at("2026-11-24T09:00:00+07:00"), first_response=at("2026-11-24T10:00:00+07:00"))
    assert dashboard(store, calendar, NOW).median_first_response == timedelta(minutes=27, seconds=30)


@pytest.mark.parametrize("seed", [7, 8])
def test_median_matches_the_calendar_on_random_tickets(store, calendar, seed):
    rng = random.Random(seed)
    start = at("2026-11-11T00:00:00+07:00")
    now = at("2026-11-26T18:00:00+07:00")  # the period holds weekends
    expected = []
    for _ in range(61):
        created = start + timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
        answered = created + timedelta(minutes=rng.choice([1, 7, 30, 300, 900, 2000, 4000]))
        if answered > now:
            answered = now
        ticket(store, created, first_response=answered)
        if created >= at("2026-11-13T00:00:00+07:00"):
            expected.append(calendar.opening_time(created, answered))
    expected.sort()
    mid = len(expected) // 2
    median = expected[mid] if len(expected) % 2 else (expected[mid - 1] + expected[mid]) / 2
    d = dashboard(store, calendar, now, days=14)
    assert d.median_first_response == median


def test_csat_average_and_distribution(store, calendar):
    ten = at("2026-11-24T10:00:00+07:00")
    for score in (5, 5, 4, 1):
        ticket(store, ten, resolved=ten + timedelta(hours=1), csat=score)
    ticket(store, ten, resolved=ten + timedelta(hours=1))  # not rated
    d = dashboard(store, calendar, NOW)
    assert d.csat_count == 4 and d.csat_average == pytest.approx(15 / 4)
    assert d.csat_distribution == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}


def test_open_and_late_now_count_every_unresolved_ticket(store, calendar):
    ticket(store, at("2026-10-01T10:00:00+07:00"))  # old, open, late: counted though outside the period
    ticket(store, at("2026-11-24T11:55:00+07:00"))  # open, due 12.10: not late
    ticket(store, at("2026-11-24T10:00:00+07:00"), status="claimed")  # claimed, due 10.15: late
    ticket(store, at("2026-11-24T09:00:00+07:00"), resolved=at("2026-11-24T09:30:00+07:00"))
    d = dashboard(store, calendar, NOW)
    assert (d.open_now, d.late_now) == (3, 2)


def test_through_the_real_pipeline(bot, clock):
    Conversation(bot, clock, customer="+6281200000001").say("paket saya belum sampai")
    Conversation(bot, clock, customer="+6281200000002").say("barang yang datang rusak, saya minta refund")
    Conversation(bot, clock, customer="+6281200000003").say("halo kak")  # no ticket
    clock.set("2026-11-24T10:30:00+07:00")
    d = dashboard(bot.store, bot.calendar, clock())
    assert d.totals == {"order_status": 1, "return_refund": 1}
    assert d.volume["order_status"][-1] == 1
    # The WhatsApp promise (10.15) has passed unanswered; the refund's (2 working days) has not.
    assert (d.met, d.missed, d.pending) == (0, 1, 1)
    assert (d.open_now, d.late_now) == (2, 1)
