"""Yessindo's opening hours: when the support team answers, and SLA arithmetic.

Policy (kebijakan dukungan pelanggan, section 3 and 5):

* Monday-Friday 08.00-21.00 WIB; Saturday, Sunday and national public holidays
  09.00-17.00 WIB (a holiday that falls on a weekday gets the holiday window).
* Outside opening hours the team answers at the next opening.
* "Hari kerja" (working day) = Monday-Friday that is not a holiday; complex cases are
  due within 2 working days.

Holidays come from the ``holidays`` package (``holidays.Indonesia``, Indonesian names),
plus ``[hours] extra_holidays`` from the config; ``[hours] normal_days`` turns a listed
date back into a normal day of its weekday.  Cuti bersama (collective leave) is the
``holidays`` package's ``government`` category for Indonesia and is off by default
(``[hours] cuti_bersama = true`` turns it on).  With a ``holidays`` release that lacks that
category, list the cuti bersama dates under ``extra_holidays`` instead.

All times are handled with zoneinfo and minute-precise windows.  Inputs may be aware
datetimes in any zone; naive datetimes are taken as local time of the configured zone
(Asia/Jakarta by default).  Every datetime returned is aware, in the configured zone.
Arithmetic is done in UTC internally, so a zone with DST would also be counted correctly.

Window boundaries: a window is half-open, ``[start, end)``: open at 08:00:00 exactly,
closed at 21:00:00 exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

__all__ = ["HoursSettings", "BusinessCalendar", "DEFAULT_EXTRA_HOLIDAY_NAME"]

UTC = timezone.utc
DEFAULT_EXTRA_HOLIDAY_NAME = "Hari libur"

Window = tuple[time, time]


# --------------------------------------------------------------------------- settings

_WINDOW_RE = re.compile(
    r"^\s*(\d{1,2})[:.](\d{2})\s*[-\u2013\u2014]\s*(\d{1,2})[:.](\d{2})\s*$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYS = ("timezone", "weekday", "weekend", "holiday", "extra_holidays", "normal_days",
         "cuti_bersama")


def _check_window(w: Any) -> str | None:
    """Return a problem description for a bad window, None when it is fine."""
    if (not isinstance(w, tuple) or len(w) != 2
            or not all(isinstance(x, time) for x in w)):
        return "must be a (start, end) pair of datetime.time"
    start, end = w
    if start.tzinfo is not None or end.tzinfo is not None:
        return "window times must be naive local times"
    if not end > start:
        return (f"end {end:%H:%M} is not after start {start:%H:%M} "
                "(a window cannot be empty or cross midnight)")
    return None


@dataclass(frozen=True)
class HoursSettings:
    """The ``[hours]`` table.  Windows are local clock times in ``timezone``."""

    timezone: str = "Asia/Jakarta"
    weekday: Window = (time(8, 0), time(21, 0))
    weekend: Window = (time(9, 0), time(17, 0))
    holiday: Window = (time(9, 0), time(17, 0))
    # (date, name); name may be None -> DEFAULT_EXTRA_HOLIDAY_NAME
    extra_holidays: tuple[tuple[date, str | None], ...] = ()
    normal_days: tuple[date, ...] = ()
    cuti_bersama: bool = False

    def __post_init__(self) -> None:
        # Accept lists where tuples are expected, so the dataclass stays hashable.
        for name in ("weekday", "weekend", "holiday"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            problem = _check_window(getattr(self, name))
            if problem:
                raise ValueError(f"HoursSettings.{name}: {problem}")
        extra = []
        for item in self.extra_holidays:
            if isinstance(item, date) and not isinstance(item, datetime):
                item = (item, None)
            d, n = tuple(item)
            extra.append((d, n))
        object.__setattr__(self, "extra_holidays", tuple(extra))
        object.__setattr__(self, "normal_days", tuple(self.normal_days))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"HoursSettings.timezone: unknown timezone {self.timezone!r}") from exc

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, source: str) -> "HoursSettings":
        """Parse the TOML ``[hours]`` table; raise ConfigError(source, "hours.<key>", ...)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError(source, "hours", "must be a table")
        for key in data:
            if key not in _KEYS:
                raise ConfigError(source, f"hours.{key}",
                                  f"unknown key (known keys: {', '.join(_KEYS)})")
        kwargs: dict[str, Any] = {}
        if "timezone" in data:
            kwargs["timezone"] = _parse_timezone(data["timezone"], source)
        for name in ("weekday", "weekend", "holiday"):
            if name in data:
                kwargs[name] = _parse_window(data[name], source, f"hours.{name}")
        if "extra_holidays" in data:
            kwargs["extra_holidays"] = _parse_extra_holidays(data["extra_holidays"], source)
        if "normal_days" in data:
            value = data["normal_days"]
            if not isinstance(value, list):
                raise ConfigError(source, "hours.normal_days",
                                  'must be a list of dates such as ["2026-12-24"]')
            kwargs["normal_days"] = tuple(
                _parse_date(v, source, "hours.normal_days", i) for i, v in enumerate(value, 1))
        if "cuti_bersama" in data:
            value = data["cuti_bersama"]
            if not isinstance(value, bool):
                raise ConfigError(source, "hours.cuti_bersama",
                                  f"must be true or false, not {value!r}")
            kwargs["cuti_bersama"] = value
        extra_dates = {d for d, _ in kwargs.get("extra_holidays", ())}
        for d in kwargs.get("normal_days", ()):
            if d in extra_dates:
                raise ConfigError(source, "hours.normal_days",
                                  f"{d.isoformat()} is also listed in hours.extra_holidays")
        return cls(**kwargs)


def _parse_timezone(value: Any, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, "hours.timezone",
                          'must be an IANA timezone name such as "Asia/Jakarta"')
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(source, "hours.timezone",
                          f'unknown timezone {value!r} (expected an IANA name such as '
                          '"Asia/Jakarta", "Asia/Makassar" or "Asia/Jayapura")') from exc
    return value


def _parse_window(value: Any, source: str, key: str) -> Window:
    if not isinstance(value, str):
        raise ConfigError(source, key, f'must be a string such as "08:00-21:00", not {value!r}')
    m = _WINDOW_RE.match(value)
    if not m:
        raise ConfigError(source, key,
                          f'{value!r} is not a window such as "08:00-21:00" or "08.00-21.00"')
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    for h, mi in ((h1, m1), (h2, m2)):
        if h > 23 or mi > 59:
            raise ConfigError(source, key,
                              f"{value!r}: {h:02d}:{mi:02d} is not a time of day (00:00-23:59)")
    start, end = time(h1, m1), time(h2, m2)
    if not end > start:
        raise ConfigError(source, key,
                          f"{value!r}: end {end:%H:%M} is not after start {start:%H:%M} "
                          "(a window cannot be empty or cross midnight)")
    return (start, end)


def _parse_date(value: Any, source: str, key: str, index: int) -> date:
    if isinstance(value, datetime):
        raise ConfigError(source, key, f"item {index}: {value!r} has a time; give only a date")
    if isinstance(value, date):  # TOML native date (unquoted 2026-12-24)
        return value
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(source, key, f"item {index}: {value!r} is not a date (expected YYYY-MM-DD)")


def _parse_extra_holidays(value: Any, source: str) -> tuple[tuple[date, str | None], ...]:
    key = "hours.extra_holidays"
    if not isinstance(value, list):
        raise ConfigError(source, key, 'must be a list of "YYYY-MM-DD" strings or of tables '
                                       '{date = "YYYY-MM-DD", name = "..."}')
    out: list[tuple[date, str | None]] = []
    for i, item in enumerate(value, 1):
        if isinstance(item, Mapping):
            unknown = [k for k in item if k not in ("date", "name")]
            if unknown:
                raise ConfigError(source, key, f"item {i}: unknown field {unknown[0]!r} "
                                               "(expected date and optional name)")
            if "date" not in item:
                raise ConfigError(source, key, f"item {i}: missing date")
            d = _parse_date(item["date"], source, key, i)
            name = item.get("name")
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise ConfigError(source, key, f"item {i}: name must be a non-empty string")
            out.append((d, name.strip() if name else None))
        else:
            out.append((_parse_date(item, source, key, i), None))
    return tuple(out)


# --------------------------------------------------------------------------- holidays

@lru_cache(maxsize=128)
def _package_holidays(year: int, cuti_bersama: bool) -> dict[date, str]:
    """Indonesian holidays of one year from the ``holidays`` package (names in Indonesian)."""
    import holidays

    kwargs: dict[str, Any] = {"years": year}
    if "id" in getattr(holidays.Indonesia, "supported_languages", ()):
        kwargs["language"] = "id"
    if cuti_bersama:
        categories = getattr(holidays.Indonesia, "supported_categories", ())
        if "government" in categories:
            kwargs["categories"] = ("public", "government")
    try:
        table = holidays.Indonesia(**kwargs)
    except (NotImplementedError, ValueError):  # very old release: no categories/languages
        table = holidays.Indonesia(years=year)
    return {d: str(n) for d, n in table.items() if d.year == year}


def cuti_bersama_supported() -> bool:
    """Whether the installed ``holidays`` exposes Indonesian cuti bersama (category)."""
    import holidays

    return "government" in getattr(holidays.Indonesia, "supported_categories", ())


class _Day(NamedTuple):
    start: datetime        # UTC
    end: datetime          # UTC
    start_local: datetime  # configured zone
    end_local: datetime
    start_iso: str
    end_iso: str
    holiday: str | None
    working: bool


_CACHE_LIMIT = 20_000


class BusinessCalendar:
    """Opening windows, holidays and SLA arithmetic for one HoursSettings."""

    def __init__(self, settings: HoursSettings | None = None) -> None:
        self.settings = settings or HoursSettings()
        self.tz = ZoneInfo(self.settings.timezone)
        self._extra: dict[date, str] = {
            d: (n or DEFAULT_EXTRA_HOLIDAY_NAME) for d, n in self.settings.extra_holidays}
        self._normal = frozenset(self.settings.normal_days)
        self._years: dict[int, dict[date, str]] = {}
        self._days: dict[date, _Day] = {}

    # ---------------------------------------------------------------- lookups

    def holidays_of_year(self, year: int) -> dict[date, str]:
        """All effective holidays of a year (package + extra, minus normal days). Cached."""
        table = self._years.get(year)
        if table is None:
            table = dict(_package_holidays(year, self.settings.cuti_bersama))
            for d, name in self._extra.items():
                if d.year == year:
                    # A date already a public holiday keeps the official name.
                    table.setdefault(d, name)
            for d in self._normal:
                table.pop(d, None)
            self._years[year] = table
        return table

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name (Indonesian) on local date d, or None for a normal day."""
        return self._day(self._as_date(d)).holiday

    def is_working_day(self, d: date) -> bool:
        """Hari kerja: Monday-Friday and not a holiday."""
        return self._day(self._as_date(d)).working

    def window(self, d: date) -> tuple[datetime, datetime]:
        """Opening window [start, end) of local date d, aware in the configured zone."""
        day = self._day(self._as_date(d))
        return day.start_local, day.end_local

    def _day(self, d: date) -> _Day:
        day = self._days.get(d)
        if day is not None:
            return day
        name = self.holidays_of_year(d.year).get(d)
        s = self.settings
        if name is not None:
            start_t, end_t = s.holiday
        elif d.weekday() >= 5:
            start_t, end_t = s.weekend
        else:
            start_t, end_t = s.weekday
        start_local = datetime.combine(d, start_t, tzinfo=self.tz)
        end_local = datetime.combine(d, end_t, tzinfo=self.tz)
        # Normalise (a wall time inside a DST gap maps to a real instant).
        start = start_local.astimezone(UTC)
        end = end_local.astimezone(UTC)
        start_local, end_local = start.astimezone(self.tz), end.astimezone(self.tz)
        day = _Day(start, end, start_local, end_local,
                   start_local.isoformat(timespec="seconds"),
                   end_local.isoformat(timespec="seconds"),
                   name, name is None and d.weekday() < 5)
        if len(self._days) >= _CACHE_LIMIT:
            self._days.clear()
        self._days[d] = day
        return day

    # ---------------------------------------------------------------- conversions

    def _utc(self, t: datetime) -> datetime:
        if not isinstance(t, datetime):
            raise TypeError(f"expected a datetime, got {type(t).__name__}")
        if t.tzinfo is None or t.utcoffset() is None:
            t = t.replace(tzinfo=self.tz)
        return t.astimezone(UTC)

    def localize(self, t: datetime) -> datetime:
        """t as an aware datetime in the configured zone (naive t is taken as local)."""
        return self._utc(t).astimezone(self.tz)

    def _as_date(self, d: date) -> date:
        if isinstance(d, datetime):
            return self.localize(d).date()
        if not isinstance(d, date):
            raise TypeError(f"expected a date, got {type(d).__name__}")
        return d

    def _local_date(self, u: datetime) -> date:
        return u.astimezone(self.tz).date()

    # ---------------------------------------------------------------- queries

    def is_open(self, t: datetime) -> bool:
        """Open at the window start exactly, closed at the window end exactly."""
        u = self._utc(t)
        day = self._day(self._local_date(u))
        return day.start <= u < day.end

    def closes_at(self, t: datetime) -> datetime | None:
        """End of the current window when open, else None."""
        u = self._utc(t)
        day = self._day(self._local_date(u))
        return day.end_local if day.start <= u < day.end else None

    def next_open(self, t: datetime) -> datetime:
        """Next opening strictly after t; when open, the opening after this window closes."""
        u = self._utc(t)
        d = self._local_date(u)
        day = self._day(d)
        if u < day.start:
            return day.start_local
        return self._day(d + timedelta(days=1)).start_local

    def status(self, t: datetime) -> dict[str, Any]:
        """The JSON object of ``yessindo-bot hours``."""
        u = self._utc(t)
        local = u.astimezone(self.tz)
        day = self._day(local.date())
        out: dict[str, Any] = {"at": local.isoformat(timespec="seconds")}
        if day.start <= u < day.end:
            out["open"] = True
            out["closes_at"] = day.end_iso
        else:
            out["open"] = False
            out["next_open"] = (day.start_iso if u < day.start
                                else self._day(local.date() + timedelta(days=1)).start_iso)
        out["holiday"] = day.holiday
        return out

    # ---------------------------------------------------------------- arithmetic

    def opening_time(self, start: datetime, end: datetime) -> timedelta:
        """Total opening time inside [start, end) (zero when end <= start)."""
        a, b = self._utc(start), self._utc(end)
        total = timedelta(0)
        if b <= a:
            return total
        d, last = self._local_date(a), self._local_date(b)
        while d <= last:
            day = self._day(d)
            lo, hi = max(a, day.start), min(b, day.end)
            if hi > lo:
                total += hi - lo
            d += timedelta(days=1)
        return total

    def add_opening_time(self, t: datetime, delta: timedelta) -> datetime:
        """The earliest moment by which ``delta`` of opening time has passed since t.

        Only time inside opening windows counts; from a closed moment the count starts at
        the next opening (15 minutes from Friday 20:50 is Saturday 09:05).  A delta that
        ends exactly at a closing gives the closing moment itself; a zero delta gives t.
        """
        if delta < timedelta(0):
            raise ValueError("delta must not be negative")
        u = self._utc(t)
        if not delta:
            return u.astimezone(self.tz)
        remaining = delta
        d = self._local_date(u)
        while True:
            day = self._day(d)
            if u < day.start:
                u = day.start
            if u < day.end:
                available = day.end - u
                if remaining <= available:
                    return (u + remaining).astimezone(self.tz)
                remaining -= available
            d += timedelta(days=1)
            u = self._day(d).start

    def add_working_days(self, t: datetime, n: int) -> datetime:
        """n working days (hari kerja) later, at the same local clock time.

        When t is not inside a working day's window the count starts from the start of the
        next working day (Saturday 10:00 + 2 -> Wednesday 08:00; Monday 10:00 + 2 ->
        Wednesday 10:00; Friday 20:00 + 2 -> Tuesday 20:00).  Holidays are skipped.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("n must be an int")
        if n < 0:
            raise ValueError("n must not be negative")
        u = self._utc(t)
        d = self._local_date(u)
        day = self._day(d)
        if day.working and day.start <= u < day.end:
            clock = u.astimezone(self.tz).timetz()
        else:
            if not (day.working and u < day.start):
                d += timedelta(days=1)
                while not self._day(d).working:
                    d += timedelta(days=1)
            clock = self._day(d).start_local.timetz()
        for _ in range(n):
            d += timedelta(days=1)
            while not self._day(d).working:
                d += timedelta(days=1)
        return datetime.combine(d, clock.replace(tzinfo=self.tz)).astimezone(UTC).astimezone(self.tz)
