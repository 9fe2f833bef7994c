"""Dates and times as customers read them, in Indonesian or English.

    format_when(dt, "id")  -> "Senin, 30 November 2026 pukul 08.00 WIB"
    format_when(dt, "en")  -> "Monday, 30 November 2026 at 08:00 WIB"
    format_window(time(8), time(21), "id") -> "08.00–21.00 WIB"

The zone label is WIB (Asia/Jakarta, Asia/Pontianak), WITA (Asia/Makassar) or WIT
(Asia/Jayapura); any other zone is shown as its UTC offset ("UTC+8", "UTC+5.30", "UTC").
A naive datetime is taken as Asia/Jakarta local time.  ``lang`` is "id" or "en"
(anything not starting with "en" gets Indonesian: the bot is Indonesian first).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["format_when", "format_soon", "format_window", "format_time", "zone_label"]

DEFAULT_TZ = "Asia/Jakarta"

_DAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def _lang(lang: str | None) -> str:
    return "en" if (lang or "").strip().lower().startswith("en") else "id"


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return ZoneInfo(DEFAULT_TZ)
    if isinstance(tz, str):
        return ZoneInfo(tz)
    return tz


def _offset_label(offset: timedelta | None, lang: str) -> str:
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    h, m = divmod(minutes, 60)
    sep = ":" if lang == "en" else "."
    return f"UTC{sign}{h}" + (f"{sep}{m:02d}" if m else "")


def zone_label(tz: str | tzinfo | None, at: datetime | None = None, lang: str = "id") -> str:
    """WIB / WITA / WIT for Indonesia's zones, else the UTC offset (at ``at``, default now)."""
    zone = _zone(tz)
    key = getattr(zone, "key", None) or getattr(zone, "zone", None)
    if key in _ZONE_LABELS:
        return _ZONE_LABELS[key]
    moment = at if at is not None else datetime.now(zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return _offset_label(moment.astimezone(zone).utcoffset(), _lang(lang))


def format_time(t: time, lang: str) -> str:
    """"08.00" (id) or "08:00" (en)."""
    sep = ":" if _lang(lang) == "en" else "."
    return f"{t.hour:02d}{sep}{t.minute:02d}"


def format_when(dt: datetime, lang: str, tz: str | tzinfo | None = None) -> str:
    """A moment as a sentence fragment: "Senin, 30 November 2026 pukul 08.00 WIB".

    ``tz`` converts dt to that zone first; without it dt's own zone is used (the
    calendar returns times in the configured zone).  Naive dt is Asia/Jakarta time.
    """
    lg = _lang(lang)
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=ZoneInfo(DEFAULT_TZ))
    if tz is not None:
        dt = dt.astimezone(_zone(tz))
    zone = dt.tzinfo
    label = zone_label(zone, dt, lg)
    day = _DAYS[lg][dt.weekday()]
    month = _MONTHS[lg][dt.month - 1]
    word = "at" if lg == "en" else "pukul"
    return f"{day}, {dt.day} {month} {dt.year} {word} {format_time(dt.timetz(), lg)} {label}"


def format_soon(dt: datetime, now: datetime, lang: str, tz: str | tzinfo | None = None) -> str:
    """A deadline as a chat reads it: "pukul 10.15 WIB" today, "besok pukul 08.15 WIB"
    tomorrow, else the full `format_when`."""
    lg = _lang(lang)
    zone = _zone(tz) if tz is not None else (dt.tzinfo or ZoneInfo(DEFAULT_TZ))
    local, today = dt.astimezone(zone), now.astimezone(zone)
    days = (local.date() - today.date()).days
    if days not in (0, 1):
        return format_when(dt, lang, tz)
    clock = f"{format_time(local.timetz(), lg)} {zone_label(zone, local, lg)}"
    if lg == "en":
        return f"{'today' if days == 0 else 'tomorrow'} at {clock}"
    return f"{'hari ini' if days == 0 else 'besok'} pukul {clock}"


def format_window(start: time, end: time, lang: str, tz: str | tzinfo | None = None) -> str:
    """An opening window: "08.00–21.00 WIB" (id) or "08:00–21:00 WIB" (en)."""
    lg = _lang(lang)
    return f"{format_time(start, lg)}\u2013{format_time(end, lg)} {zone_label(tz, lang=lg)}"
