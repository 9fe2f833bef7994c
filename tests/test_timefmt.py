"""Customer-facing dates and times in Indonesian and English."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from zoneinfo import ZoneInfo

from bot.business_hours import BusinessCalendar, HoursSettings
from bot.timefmt import format_time, format_when, format_window, zone_label

WIB = ZoneInfo("Asia/Jakarta")


def test_format_when_indonesian():
    dt = datetime(2026, 11, 30, 8, 0, tzinfo=WIB)
    assert format_when(dt, "id") == "Senin, 30 November 2026 pukul 08.00 WIB"


def test_format_when_english():
    dt = datetime(2026, 11, 30, 8, 0, tzinfo=WIB)
    assert format_when(dt, "en") == "Monday, 30 November 2026 at 08:00 WIB"


@pytest.mark.parametrize("day,id_name,en_name", [
    (1, "Selasa", "Tuesday"), (2, "Rabu", "Wednesday"), (3, "Kamis", "Thursday"),
    (4, "Jumat", "Friday"), (5, "Sabtu", "Saturday"), (6, "Minggu", "Sunday"),
])
def test_day_names(day, id_name, en_name):
    dt = datetime(2026, 11, 30, 21, 5, tzinfo=WIB) + timedelta(days=day)
    assert format_when(dt, "id").startswith(id_name + ", ")
    assert format_when(dt, "en").startswith(en_name + ", ")
    assert format_when(dt, "id").endswith("pukul 21.05 WIB")


@pytest.mark.parametrize("month,name", [
    (1, "Januari"), (2, "Februari"), (3, "Maret"), (5, "Mei"), (6, "Juni"), (7, "Juli"),
    (8, "Agustus"), (10, "Oktober"), (12, "Desember"),
])
def test_indonesian_months(month, name):
    dt = datetime(2026, month, 5, 9, 0, tzinfo=WIB)
    assert f", 5 {name} 2026 pukul 09.00 WIB" in format_when(dt, "id")


def test_seventeen_august():
    dt = datetime(2026, 8, 17, 9, 0, tzinfo=WIB)
    assert format_when(dt, "id") == "Senin, 17 Agustus 2026 pukul 09.00 WIB"
    assert format_when(dt, "en") == "Monday, 17 August 2026 at 09:00 WIB"


def test_wita_and_wit():
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Makassar")), "id") \
        == "Senin, 30 November 2026 pukul 09.00 WITA"
    assert format_when(datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Jayapura")), "en") \
        == "Monday, 30 November 2026 at 10:00 WIT"


def test_other_zones_show_utc_offset():
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Singapore")), "id") \
        .endswith("pukul 09.00 UTC+8")
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata")), "en") \
        .endswith("at 09:00 UTC+5:30")
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata")), "id") \
        .endswith("pukul 09.00 UTC+5.30")
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc), "en") \
        .endswith("at 09:00 UTC")
    assert format_when(datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=-3))), "en") \
        .endswith("UTC-3")


def test_naive_is_jakarta_and_tz_argument_converts():
    assert format_when(datetime(2026, 11, 30, 8, 0), "id") == \
        "Senin, 30 November 2026 pukul 08.00 WIB"
    utc = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
    assert format_when(utc, "id", tz="Asia/Jakarta") == "Senin, 30 November 2026 pukul 08.00 WIB"
    assert format_when(utc, "en", tz=ZoneInfo("Asia/Makassar")) == \
        "Monday, 30 November 2026 at 09:00 WITA"


def test_unknown_language_falls_back_to_indonesian():
    dt = datetime(2026, 11, 30, 8, 0, tzinfo=WIB)
    assert format_when(dt, "en-US") == format_when(dt, "en")
    assert format_when(dt, "xx") == format_when(dt, "id")


def test_format_window():
    assert format_window(time(8), time(21), "id") == "08.00\u201321.00 WIB"
    assert format_window(time(8), time(21), "en") == "08:00\u201321:00 WIB"
    assert format_window(time(9), time(17), "id", tz="Asia/Makassar") == "09.00\u201317.00 WITA"
    assert format_window(time(9), time(17), "en", tz="Asia/Jayapura") == "09:00\u201317:00 WIT"


def test_format_time_and_zone_label():
    assert format_time(time(7, 5), "id") == "07.05"
    assert format_time(time(7, 5), "en") == "07:05"
    assert zone_label("Asia/Jakarta") == "WIB"
    assert zone_label("Asia/Pontianak") == "WIB"
    assert zone_label(ZoneInfo("Asia/Makassar")) == "WITA"


def test_calendar_results_format_in_configured_zone():
    cal = BusinessCalendar(HoursSettings())
    nxt = cal.next_open(datetime(2026, 11, 27, 21, 30))
    assert format_when(nxt, "id") == "Sabtu, 28 November 2026 pukul 09.00 WIB"
    cal_wita = BusinessCalendar(HoursSettings(timezone="Asia/Makassar"))
    nxt = cal_wita.next_open(datetime(2026, 11, 27, 21, 30))
    assert format_when(nxt, "en") == "Saturday, 28 November 2026 at 09:00 WITA"
