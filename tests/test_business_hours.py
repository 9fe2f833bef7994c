"""Opening hours of the support team (policy sections 3 and 5) and the SLA arithmetic."""
from __future__ import annotations

import json
import timeit
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import assume, given, settings, strategies as st
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar, HoursSettings, cuti_bersama_supported
from bot.errors import ConfigError

WIB = ZoneInfo("Asia/Jakarta")
SEVEN = timedelta(hours=7)
US = timedelta(microseconds=1)


def at(y, mo, d, h=0, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=WIB)


@pytest.fixture(scope="module")
def cal():
    return BusinessCalendar(HoursSettings())


CAL = BusinessCalendar(HoursSettings())
CAL_CUTI = BusinessCalendar(HoursSettings(cuti_bersama=True))


def assert_jakarta(dt):
    assert dt.tzinfo is not None
    assert getattr(dt.tzinfo, "key", None) == "Asia/Jakarta"
    assert dt.utcoffset() == SEVEN


# --------------------------------------------------------------------------- windows

def test_weekday_window(cal):
    # Monday 30 November 2026
    assert cal.window(date(2026, 11, 30)) == (at(2026, 11, 30, 8), at(2026, 11, 30, 21))
    assert cal.is_working_day(date(2026, 11, 30))
    assert cal.holiday_name(date(2026, 11, 30)) is None


def test_weekend_window(cal):
    for d in (date(2026, 11, 28), date(2026, 11, 29)):  # Saturday, Sunday
        start, end = cal.window(d)
        assert (start.time(), end.time()) == (time(9), time(17))
        assert not cal.is_working_day(d)
    assert cal.is_open(at(2026, 11, 28, 9))
    assert not cal.is_open(at(2026, 11, 28, 8, 59))
    assert not cal.is_open(at(2026, 11, 28, 17))
    assert cal.is_open(at(2026, 11, 29, 16, 59))


def test_boundaries_0800_and_2100(cal):
    assert not cal.is_open(at(2026, 11, 30, 7, 59, 59))
    assert cal.is_open(at(2026, 11, 30, 8, 0))
    assert cal.is_open(at(2026, 11, 30, 20, 59, 59))
    assert not cal.is_open(at(2026, 11, 30, 21, 0))
    assert cal.next_open(at(2026, 11, 30, 7, 59)) == at(2026, 11, 30, 8)
    assert cal.closes_at(at(2026, 11, 30, 8)) == at(2026, 11, 30, 21)
    assert cal.closes_at(at(2026, 11, 30, 21)) is None
    assert cal.next_open(at(2026, 11, 30, 21)) == at(2026, 12, 1, 8)


def test_independence_day_2026_is_a_holiday_on_monday(cal):
    d = date(2026, 8, 17)
    assert d.weekday() == 0
    assert cal.holiday_name(d) == "Hari Kemerdekaan Republik Indonesia"
    assert not cal.is_working_day(d)
    assert cal.window(d) == (at(2026, 8, 17, 9), at(2026, 8, 17, 17))
    assert not cal.is_open(at(2026, 8, 17, 8, 30))
    assert cal.is_open(at(2026, 8, 17, 9))
    assert not cal.is_open(at(2026, 8, 17, 17))


def test_idul_fitri_2026(cal):
    assert cal.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 22)) == "Hari kedua dari Hari Raya Idul Fitri"
    # Cuti bersama is off by default: Monday 23 March 2026 is a normal working day.
    assert cal.holiday_name(date(2026, 3, 23)) is None
    assert cal.is_working_day(date(2026, 3, 23))


def test_christmas_2026(cal):
    d = date(2026, 12, 25)  # a Friday
    assert cal.holiday_name(d) == "Hari Raya Natal"
    assert cal.window(d) == (at(2026, 12, 25, 9), at(2026, 12, 25, 17))
    assert not cal.is_working_day(d)
    assert not cal.is_open(at(2026, 12, 25, 8, 30))
    assert cal.next_open(at(2026, 12, 25, 8, 30)) == at(2026, 12, 25, 9)


def test_more_2026_holiday_names(cal):
    assert cal.holiday_name(date(2026, 1, 1)) == "Tahun Baru Masehi"
    assert cal.holiday_name(date(2026, 3, 19)) == "Hari Suci Nyepi"
    assert cal.holiday_name(date(2026, 5, 27)) == "Hari Raya Idul Adha"
    assert cal.holiday_name(date(2026, 6, 1)) == "Hari Lahir Pancasila"


@pytest.mark.skipif(not cuti_bersama_supported(), reason="holidays lacks the government category")
def test_cuti_bersama_when_enabled():
    assert CAL_CUTI.holiday_name(date(2026, 3, 23)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert CAL_CUTI.holiday_name(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"
    assert not CAL_CUTI.is_working_day(date(2026, 3, 23))
    assert CAL_CUTI.window(date(2026, 3, 23)) == (at(2026, 3, 23, 9), at(2026, 3, 23, 17))
    # Public holidays are still there
    assert CAL_CUTI.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"


def test_extra_holiday():
    cal = BusinessCalendar(HoursSettings(extra_holidays=(
        (date(2026, 12, 24), "Cuti bersama Natal"), (date(2026, 12, 31), None))))
    assert cal.holiday_name(date(2026, 12, 24)) == "Cuti bersama Natal"
    assert cal.holiday_name(date(2026, 12, 31)) == "Hari libur"
    assert not cal.is_working_day(date(2026, 12, 24))
    assert cal.window(date(2026, 12, 24)) == (at(2026, 12, 24, 9), at(2026, 12, 24, 17))
    # an extra date that is already a public holiday keeps the official name
    cal2 = BusinessCalendar(HoursSettings(extra_holidays=((date(2026, 12, 25), "Libur"),)))
    assert cal2.holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"


def test_normal_day_override():
    cal = BusinessCalendar(HoursSettings(normal_days=(date(2026, 12, 25), date(2026, 3, 22))))
    assert cal.holiday_name(date(2026, 12, 25)) is None
    assert cal.is_working_day(date(2026, 12, 25))  # a Friday again
    assert cal.window(date(2026, 12, 25)) == (at(2026, 12, 25, 8), at(2026, 12, 25, 21))
    # a Sunday stays a Sunday: weekend window, not a working day
    assert cal.holiday_name(date(2026, 3, 22)) is None
    assert not cal.is_working_day(date(2026, 3, 22))
    assert cal.window(date(2026, 3, 22)) == (at(2026, 3, 22, 9), at(2026, 3, 22, 17))


def test_custom_windows():
    cal = BusinessCalendar(HoursSettings(holiday=(time(10), time(14))))
    assert cal.window(date(2026, 8, 17)) == (at(2026, 8, 17, 10), at(2026, 8, 17, 14))
    assert cal.window(date(2026, 8, 16)) == (at(2026, 8, 16, 9), at(2026, 8, 16, 17))


# --------------------------------------------------------------------------- zones

def test_naive_input_is_jakarta_time(cal):
    assert cal.is_open(datetime(2026, 11, 30, 8, 0))
    assert not cal.is_open(datetime(2026, 11, 30, 7, 59))
    nxt = cal.next_open(datetime(2026, 11, 30, 7, 0))
    assert nxt == at(2026, 11, 30, 8)
    assert_jakarta(nxt)


def test_other_zone_input_is_converted(cal):
    # 01:00 UTC = 08:00 WIB
    t = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    assert cal.is_open(t)
    assert not cal.is_open(t - US)
    s = cal.status(t)
    assert s["at"] == "2026-11-30T08:00:00+07:00"
    assert_jakarta(cal.closes_at(t))


def test_offset_is_always_plus_seven_no_dst(cal):
    for month in range(1, 13):
        start, end = cal.window(date(2026, month, 15))
        assert start.utcoffset() == SEVEN and end.utcoffset() == SEVEN
        assert start.isoformat().endswith("+07:00")


def test_other_configured_zone():
    cal = BusinessCalendar(HoursSettings(timezone="Asia/Makassar"))
    start, _ = cal.window(date(2026, 11, 30))
    assert start.isoformat() == "2026-11-30T08:00:00+08:00"
    assert cal.is_open(at(2026, 11, 30, 7))  # 07:00 WIB == 08:00 WITA


# --------------------------------------------------------------------------- arithmetic

def test_add_opening_time_friday_evening_to_saturday(cal):
    r = cal.add_opening_time(at(2026, 11, 27, 20, 50), timedelta(minutes=15))
    assert r == at(2026, 11, 28, 9, 5)
    assert_jakarta(r)


def test_add_opening_time_examples(cal):
    # from a closed moment the count starts at the next opening
    assert cal.add_opening_time(at(2026, 11, 30, 6), timedelta(minutes=15)) == at(2026, 11, 30, 8, 15)
    assert cal.add_opening_time(at(2026, 11, 30, 10), timedelta(hours=2)) == at(2026, 11, 30, 12)
    # ending exactly at closing gives the closing moment
    assert cal.add_opening_time(at(2026, 11, 27, 20, 45), timedelta(minutes=15)) == at(2026, 11, 27, 21)
    assert cal.add_opening_time(at(2026, 11, 30, 22), timedelta(0)) == at(2026, 11, 30, 22)
    # over a holiday: Sunday 16 Aug 16:30 + 1 h -> Mon 17 Aug (holiday window) 09:30
    assert cal.add_opening_time(at(2026, 8, 16, 16, 30), timedelta(hours=1)) == at(2026, 8, 17, 9, 30)
    with pytest.raises(ValueError):
        cal.add_opening_time(at(2026, 11, 30, 10), timedelta(minutes=-1))


def test_add_working_days_examples(cal):
    assert cal.add_working_days(at(2026, 11, 28, 10), 2) == at(2026, 12, 2, 8)    # Sat
    assert cal.add_working_days(at(2026, 11, 30, 10), 2) == at(2026, 12, 2, 10)   # Mon
    assert cal.add_working_days(at(2026, 11, 27, 20), 2) == at(2026, 12, 1, 20)   # Fri
    assert cal.add_working_days(at(2026, 11, 30, 7), 2) == at(2026, 12, 2, 8)     # Mon early
    assert cal.add_working_days(at(2026, 11, 30, 21), 2) == at(2026, 12, 3, 8)    # Mon closed
    # skips holidays: Fri 14 Aug 2026 + 2 -> Mon 17 is Independence Day -> Wed 19
    assert cal.add_working_days(at(2026, 8, 14, 10), 2) == at(2026, 8, 19, 10)
    # Christmas Friday 25 Dec 2026: Thu 24 Dec 10:00 + 1 -> Mon 28 Dec 10:00
    assert cal.add_working_days(at(2026, 12, 24, 10), 1) == at(2026, 12, 28, 10)
    # n = 0 normalises to the working window
    assert cal.add_working_days(at(2026, 11, 30, 10), 0) == at(2026, 11, 30, 10)
    assert cal.add_working_days(at(2026, 11, 28, 10), 0) == at(2026, 11, 30, 8)
    assert_jakarta(cal.add_working_days(datetime(2026, 11, 28, 10), 2))
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 11, 30, 10), -1)


def test_opening_time_between_matches_brute_force(cal):
    a, b = at(2026, 8, 14, 19, 30), at(2026, 8, 18, 8, 30)
    minutes = 0
    t = a
    while t < b:
        minutes += cal.is_open(t)
        t += timedelta(minutes=1)
    assert cal.opening_time(a, b) == timedelta(minutes=minutes)
    # Fri 19:30-21:00 (1.5 h) + Sat 8 h + Sun 8 h + Mon holiday 8 h + Tue 08:00-08:30
    assert minutes == 90 + 3 * 8 * 60 + 30


# --------------------------------------------------------------------------- status

def test_status_open(cal):
    s = cal.status(at(2026, 11, 30, 8, 0))
    assert s == {"at": "2026-11-30T08:00:00+07:00", "open": True,
                 "closes_at": "2026-11-30T21:00:00+07:00", "holiday": None}
    assert list(s) == ["at", "open", "closes_at", "holiday"]
    assert json.loads(json.dumps(s)) == s


def test_status_closed_on_holiday(cal):
    s = cal.status(at(2026, 8, 17, 18, 0))
    assert s == {"at": "2026-08-17T18:00:00+07:00", "open": False,
                 "next_open": "2026-08-18T08:00:00+07:00",
                 "holiday": "Hari Kemerdekaan Republik Indonesia"}
    assert "closes_at" not in s


def test_status_closed_friday_night(cal):
    s = cal.status(at(2026, 11, 27, 21, 0))
    assert s == {"at": "2026-11-27T21:00:00+07:00", "open": False,
                 "next_open": "2026-11-28T09:00:00+07:00", "holiday": None}


def test_status_and_is_open_are_fast(cal):
    t = at(2026, 11, 30, 10)
    cal.status(t)
    n = 20_000
    per_call = timeit.timeit(lambda: cal.status(t), number=n) / n
    assert per_call < 50e-6, per_call
    per_call = timeit.timeit(lambda: cal.is_open(t), number=n) / n
    assert per_call < 50e-6, per_call


# --------------------------------------------------------------------------- settings

def test_from_mapping_full():
    s = HoursSettings.from_mapping({
        "timezone": "Asia/Jakarta",
        "weekday": "08:00-21:00",
        "weekend": "09.00-17.00",
        "holiday": "10.00 - 15.30",
        "extra_holidays": ["2026-12-31", {"date": "2026-12-24", "name": "Cuti bersama Natal"},
                           date(2026, 12, 30)],
        "normal_days": ["2026-12-25"],
        "cuti_bersama": True,
    }, "config.toml")
    assert s.weekday == (time(8), time(21))
    assert s.weekend == (time(9), time(17))
    assert s.holiday == (time(10), time(15, 30))
    assert s.extra_holidays == ((date(2026, 12, 31), None),
                                (date(2026, 12, 24), "Cuti bersama Natal"),
                                (date(2026, 12, 30), None))
    assert s.normal_days == (date(2026, 12, 25),)
    assert s.cuti_bersama is True


def test_from_mapping_defaults():
    assert HoursSettings.from_mapping({}, "x.toml") == HoursSettings()
    assert HoursSettings.from_mapping(None, "x.toml") == HoursSettings()
    assert HoursSettings().cuti_bersama is False


@pytest.mark.parametrize("data,key", [
    ({"timezone": "Asia/Jakart"}, "hours.timezone"),
    ({"timezone": 7}, "hours.timezone"),
    ({"weekday": "21:00-08:00"}, "hours.weekday"),
    ({"weekend": "09:00-09:00"}, "hours.weekend"),
    ({"holiday": "9-17"}, "hours.holiday"),
    ({"weekday": "08:00-25:00"}, "hours.weekday"),
    ({"weekday": ["08:00", "21:00"]}, "hours.weekday"),
    ({"extra_holidays": ["2026-13-01"]}, "hours.extra_holidays"),
    ({"extra_holidays": ["24-12-2026"]}, "hours.extra_holidays"),
    ({"extra_holidays": [{"name": "x"}]}, "hours.extra_holidays"),
    ({"extra_holidays": [{"date": "2026-12-24", "nama": "x"}]}, "hours.extra_holidays"),
    ({"extra_holidays": "2026-12-24"}, "hours.extra_holidays"),
    ({"normal_days": ["2026-02-30"]}, "hours.normal_days"),
    ({"normal_days": ["2026-12-24"], "extra_holidays": ["2026-12-24"]}, "hours.normal_days"),
    ({"cuti_bersama": "yes"}, "hours.cuti_bersama"),
    ({"weekdays": "08:00-21:00"}, "hours.weekdays"),
])
def test_bad_settings_raise_config_error(data, key):
    with pytest.raises(ConfigError) as info:
        HoursSettings.from_mapping(data, "config.toml")
    err = info.value
    assert err.source == "config.toml"
    assert err.key == key
    assert err.problem
    assert str(err).startswith(f"config.toml: {key}: ")


def test_window_error_message_is_clear():
    with pytest.raises(ConfigError) as info:
        HoursSettings.from_mapping({"weekday": "21:00-08:00"}, "c.toml")
    assert "not after start" in info.value.problem
    with pytest.raises(ConfigError) as info:
        HoursSettings.from_mapping({"timezone": "Asia/Jakart"}, "c.toml")
    assert "unknown timezone" in info.value.problem


# --------------------------------------------------------------------------- properties

_BOUNDARY_TIMES = [time(h, m) for h, m in ((7, 59), (8, 0), (8, 59), (9, 0), (16, 59), (17, 0),
                                           (20, 59), (21, 0), (0, 0), (23, 59),
                                           (7, 30), (22, 15), (10, 0), (14, 0))]

_any_dt = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31),
    timezones=st.one_of(st.none(), st.sampled_from(
        [WIB, timezone.utc, ZoneInfo("Asia/Makassar"), ZoneInfo("Europe/Berlin")])))
_edge_dt = st.builds(
    lambda d, t: datetime.combine(d, t, tzinfo=WIB),
    st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(_BOUNDARY_TIMES))
moments = st.one_of(_any_dt, _edge_dt)
deltas = st.one_of(
    st.integers(min_value=0, max_value=60 * 24 * 10).map(lambda m: timedelta(minutes=m)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
PROPS = settings(deadline=None, max_examples=200)
CAL_CUSTOM = BusinessCalendar(HoursSettings(
    weekday=(time(7, 30), time(22, 15)), holiday=(time(10), time(14)),
    extra_holidays=((date(2026, 12, 24), "Cuti bersama Natal"), (date(2027, 3, 1), None)),
    normal_days=(date(2026, 12, 25), date(2026, 8, 17))))
calendars = st.sampled_from([CAL, CAL_CUTI, CAL_CUSTOM])


def _opening_between(cal, a, b):
    """Opening time in [a, b), from window() alone."""
    a, b = cal.localize(a), cal.localize(b)
    total = timedelta(0)
    d = a.date()
    while d <= b.date():
        s, e = cal.window(d)
        lo, hi = max(a, s), min(b, e)
        if hi > lo:
            total += hi - lo
        d += timedelta(days=1)
    return total


@PROPS
@given(calendars, moments)
def test_prop_next_open(cal, t):
    t0, t = t, cal.localize(t)  # naive inputs are Jakarta time
    n = cal.next_open(t0)
    assert_jakarta(n)
    assert n > t
    assert cal.is_open(n)
    assert not cal.is_open(n - US)
    if not cal.is_open(t):
        # nothing between t and n is open
        assert _opening_between(cal, t, n) == timedelta(0)
    else:
        assert n > cal.closes_at(t)


@PROPS
@given(calendars, moments)
def test_prop_closes_at(cal, t):
    t0, t = t, cal.localize(t)  # naive inputs are Jakarta time
    c = cal.closes_at(t0)
    if not cal.is_open(t0):
        assert c is None
        return
    assert_jakarta(c)
    assert c > t
    assert cal.is_open(c - US)
    assert not cal.is_open(c)
    assert _opening_between(cal, t, c) == c - t  # open all the way


@PROPS
@given(calendars, moments)
def test_prop_status_consistent(cal, t):
    s = cal.status(t)
    assert s["open"] is cal.is_open(t)
    assert set(s) == {"at", "open", "holiday", "closes_at" if s["open"] else "next_open"}
    if s["open"]:
        assert datetime.fromisoformat(s["closes_at"]) == cal.closes_at(t)
    else:
        assert datetime.fromisoformat(s["next_open"]) == cal.next_open(t)
    assert s["holiday"] == cal.holiday_name(cal.localize(t).date())
    assert datetime.fromisoformat(s["at"]).utcoffset() == SEVEN


@PROPS
@given(calendars, moments, deltas, deltas)
def test_prop_add_opening_time_monotonic(cal, t, a, b):
    lo, hi = sorted((a, b))
    assert cal.add_opening_time(t, lo) <= cal.add_opening_time(t, hi)


@PROPS
@given(calendars, moments, deltas, deltas)
def test_prop_add_opening_time_additive(cal, t, a, b):
    assert cal.add_opening_time(t, a + b) == cal.add_opening_time(cal.add_opening_time(t, a), b)


@PROPS
@given(calendars, moments, deltas)
def test_prop_add_opening_time_counts_delta(cal, t, delta):
    t0, t = t, cal.localize(t)  # naive inputs are Jakarta time
    r = cal.add_opening_time(t0, delta)
    assert_jakarta(r)
    assert r >= t
    assert _opening_between(cal, t, r) == delta
    if delta:
        # the earliest such moment: the last instant before r was open
        assert cal.is_open(r - US)


def _start_date(cal, t):
    """Date the working-day count starts from (t's if inside a working window)."""
    t = cal.localize(t)
    d = t.date()
    if cal.is_working_day(d) and cal.is_open(t):
        return d
    while True:
        if cal.is_working_day(d) and cal.window(d)[0] > t:
            return d
        d += timedelta(days=1)


@PROPS
@given(calendars, moments, st.integers(min_value=0, max_value=30))
def test_prop_add_working_days(cal, t, n):
    t0, t = t, cal.localize(t)  # naive inputs are Jakarta time
    r = cal.add_working_days(t0, n)
    assert_jakarta(r)
    assert r >= t
    assert cal.is_working_day(r.date())
    assert cal.is_open(r)
    start = _start_date(cal, t)
    between = 0
    d = start + timedelta(days=1)
    while d <= r.date():
        between += cal.is_working_day(d)
        d += timedelta(days=1)
    assert between == n
    local = cal.localize(t)
    if cal.is_working_day(local.date()) and cal.is_open(local):
        assert r.time() == local.time()
    else:
        assert r.time() == cal.settings.weekday[0]


@PROPS
@given(calendars, moments, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_prop_add_working_days_monotonic(cal, t, a, b):
    assume(a != b)
    lo, hi = sorted((a, b))
    assert cal.add_working_days(t, lo) < cal.add_working_days(t, hi)


@PROPS
@given(calendars, moments, st.integers(min_value=0, max_value=10))
def test_prop_add_working_days_is_never_a_holiday(cal, t, n):
    r = cal.add_working_days(t, n)
    assert cal.is_working_day(r.date())
    assert cal.holiday_name(r.date()) is None
