"""What the supervisor's dashboard shows: ticket volume per day and category, how often
the first-response promise was kept, how long a first response took (in opening time),
customer satisfaction, and what is open and late right now.

`dashboard(store, calendar, now, days=14)` reads with a handful of SQL aggregates, never
ticket by ticket in Python: per-day buckets are grouped in SQL by UTC hour and mapped to
local (Asia/Jakarta) dates in Python (at most days x 24 x intents rows); the median first
response is computed in SQL with a per-day table of cumulative opening time, so the
clock pauses outside opening hours exactly as `BusinessCalendar.opening_time` counts it.

Definitions (tickets created in the last `days` local days, today included):
- met: a person's first response no later than the first-response promise; missed:
  answered late, or unanswered with the promise past; pending: unanswered, promise not
  yet due. A ticket resolved with no reply to the customer (confirmed as such by the
  agent, bot/desk.py) is none of these: nobody answered, so there is nothing to time,
  as in the CSV export (handoff/export.py). `within_promise_share` =
  met / (met + missed), None when nothing has come due.
- median_first_response: opening time from creation to the first response, over the
  tickets that have one.
- CSAT: the ratings of the period's tickets (1-5).
- open_now / late_now: every unresolved ticket, whenever created; late = `due_at` (the
  next unmet promise) before now.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from bot.business_hours import BusinessCalendar
from handoff.store import Store, utc_iso

UTC = timezone.utc


@dataclass(frozen=True)
class Dashboard:
    days: list[date]
    volume: dict[str, list[int]]  # ticket intent -> tickets created per local day (same order as days)
    totals: dict[str, int]  # ticket intent -> tickets created in the period
    within_promise_share: float | None
    met: int
    missed: int
    pending: int
    median_first_response: timedelta | None  # opening time
    csat_average: float | None
    csat_count: int
    csat_distribution: dict[int, int] = field(default_factory=dict)  # 1..5 -> count
    open_now: int = 0
    late_now: int = 0

    @property
    def total(self) -> int:
        return sum(self.totals.values())


# The order categories appear in (the policy's six, then the rest).
INTENT_ORDER = ("product", "order_status", "return_refund", "payment", "account", "feedback", "escalation",
                "human", "unknown")


def _intent_key(intent: str) -> tuple[int, str]:
    return (INTENT_ORDER.index(intent), "") if intent in INTENT_ORDER else (len(INTENT_ORDER), intent)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def dashboard(store: Store, calendar: BusinessCalendar, now: datetime, days: int = 14) -> Dashboard:
    if days < 1:
        raise ValueError("days must be at least 1")
    local_now = calendar.localize(now)
    today = local_now.date()
    day_list = [today - timedelta(days=days - 1 - i) for i in range(days)]
    starts = [datetime.combine(d, time(0), tzinfo=calendar.tz).astimezone(UTC) for d in day_list]
    period_start = utc_iso(starts[0])
    now_iso = utc_iso(now)
    conn = store.conn

    # 1. One pass over the period's tickets: count, met/missed/pending and CSAT per UTC
    #    hour and intent.
    rows = conn.execute(
        """
        SELECT substr(created_at, 1, 13) AS hour, intent, count(*),
               sum(first_response_at <= coalesce(first_response_due, due_at)),
               sum(first_response_at > coalesce(first_response_due, due_at)),
               sum(CASE WHEN first_response_at IS NULL AND resolved_at IS NULL
                        THEN coalesce(first_response_due, due_at) < :now END),
               sum(CASE WHEN first_response_at IS NULL AND resolved_at IS NULL
                        THEN coalesce(first_response_due, due_at) >= :now END),
               sum(csat = 1), sum(csat = 2), sum(csat = 3), sum(csat = 4), sum(csat = 5),
               sum(first_response_at IS NOT NULL)
        FROM tickets WHERE created_at >= :start AND created_at <= :now
        GROUP BY hour, intent
        """,
        {"start": period_start, "now": now_iso},
    ).fetchall()
    start_epochs = [_epoch(s) for s in starts]
    volume: dict[str, list[int]] = {}
    met = missed = pending = answered = 0
    distribution = dict.fromkeys(range(1, 6), 0)
    for row in rows:
        hour = datetime.fromisoformat(row[0] + ":00:00+00:00")
        index = max(0, min(days - 1, bisect_right(start_epochs, _epoch(hour)) - 1))
        volume.setdefault(row[1], [0] * days)[index] += row[2]
        late_answer, unanswered_late, unanswered_pending = row[4] or 0, row[5] or 0, row[6] or 0
        met, missed = met + (row[3] or 0), missed + late_answer + unanswered_late
        pending += unanswered_pending
        for score in range(1, 6):
            distribution[score] += row[6 + score] or 0
        answered += row[12] or 0
    if any(_fractional_offset(calendar, s) for s in starts):
        volume = _volume_by_local_date(store, calendar, day_list, period_start, now_iso)
    volume = {k: volume[k] for k in sorted(volume, key=_intent_key)}
    totals = {k: sum(v) for k, v in volume.items()}
    csat_count = sum(distribution.values())
    csat_average = (sum(k * n for k, n in distribution.items()) / csat_count) if csat_count else None

    # 2. Median first response in opening time.
    median = _median_first_response(store, calendar, day_list, starts, local_now, period_start, now_iso, answered)

    # 3. Right now, whenever created (the partial index on unresolved tickets).
    open_now, late_now = conn.execute(
        "SELECT count(*), coalesce(sum(due_at < ?), 0) FROM tickets WHERE status != 'resolved'", (now_iso,)
    ).fetchone()

    return Dashboard(
        days=day_list, volume=volume, totals=totals,
        within_promise_share=(met / (met + missed)) if (met + missed) else None,
        met=met, missed=missed, pending=pending, median_first_response=median,
        csat_average=csat_average, csat_count=csat_count, csat_distribution=distribution,
        open_now=int(open_now), late_now=int(late_now),
    )


def _fractional_offset(calendar: BusinessCalendar, utc_start: datetime) -> bool:
    offset = utc_start.astimezone(calendar.tz).utcoffset() or timedelta(0)
    return offset.total_seconds() % 3600 != 0


def _volume_by_local_date(store: Store, calendar: BusinessCalendar, day_list: list[date], start: str,
                          now_iso: str) -> dict[str, list[int]]:
    """Zones whose offset is not whole hours: group per minute instead of per hour."""
    index = {d: i for i, d in enumerate(day_list)}
    volume: dict[str, list[int]] = {}
    for minute, intent, n in store.conn.execute(
            "SELECT substr(created_at, 1, 16), intent, count(*) FROM tickets "
            "WHERE created_at >= ? AND created_at <= ? GROUP BY 1, 2", (start, now_iso)):
        local = calendar.localize(datetime.fromisoformat(minute + ":00+00:00")).date()
        if local in index:
            volume.setdefault(intent, [0] * len(day_list))[index[local]] += n
    return volume


def _median_first_response(store: Store, calendar: BusinessCalendar, day_list: list[date],
                           starts: list[datetime], local_now: datetime, period_start: str,
                           now_iso: str, n: int) -> timedelta | None:
    """Median of calendar.opening_time(created_at, first_response_at), in SQL.

    Opening time up to t = cum[day] + clamp(t - window start, 0, window length), with
    `day` the local day of t; the difference of two such values is the opening time
    between them. Days are found by arithmetic on the UTC epoch, valid while the zone's
    offset is the same over the whole period (Asia/Jakarta: always); otherwise the
    median is taken over calendar.opening_time per ticket.
    """
    conn = store.conn
    offsets = {s.astimezone(calendar.tz).utcoffset() for s in starts} | {local_now.utcoffset()}
    if len(offsets) != 1:
        pairs = conn.execute(
            "SELECT created_at, first_response_at FROM tickets WHERE created_at >= ? AND created_at <= ? "
            "AND first_response_at IS NOT NULL", (period_start, now_iso)).fetchall()
        values = sorted(max(timedelta(0), calendar.opening_time(datetime.fromisoformat(a), datetime.fromisoformat(b)))
                        for a, b in pairs)
        return _median(values)
    # Per local day of the period: window start and end (UTC epoch) and the opening
    # seconds of the days before it, in a temporary table keyed by day number (a lookup
    # per ticket by primary key; a CTE would be scanned per ticket).
    table: list[tuple[int, int, int, int]] = []
    cum = 0
    for i, d in enumerate(day_list):
        w_start, w_end = calendar.window(d)
        s, e = _epoch(w_start), _epoch(w_end)
        table.append((i, s, e, cum))
        cum += max(0, e - s)
    if not n:
        return None
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS stats_day (i INTEGER PRIMARY KEY, s INTEGER, e INTEGER, "
                 "cum INTEGER)")
    conn.execute("DELETE FROM temp.stats_day")
    conn.executemany("INSERT INTO temp.stats_day (i, s, e, cum) VALUES (?, ?, ?, ?)", table)
    query = """
        WITH t AS (SELECT unixepoch(created_at) AS a, unixepoch(first_response_at) AS b FROM tickets
                   WHERE created_at >= :start AND created_at <= :now AND first_response_at IS NOT NULL)
        SELECT max(0, (db.cum + max(0, min(t.b, db.e) - db.s)) - (da.cum + max(0, min(t.a, da.e) - da.s))) AS secs
        FROM t JOIN temp.stats_day da ON da.i = max(0, min((t.a - :base) / 86400, :last))
               JOIN temp.stats_day db ON db.i = max(0, min((t.b - :base) / 86400, :last))
        ORDER BY secs LIMIT :take OFFSET :skip
    """
    params: dict[str, Any] = {"start": period_start, "now": now_iso, "base": _epoch(starts[0]),
                              "last": len(table) - 1, "take": 1 if n % 2 else 2, "skip": (n - 1) // 2}
    got = [r[0] for r in conn.execute(query, params)]
    if not got:
        return None
    return timedelta(seconds=sum(got) / len(got))


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


@dataclass(frozen=True)
class AgentStats:
    """One agent's tickets among those created in the period (by who held them last)."""

    agent: str
    handled: int
    resolved: int
    met: int  # first response no later than its promise
    missed: int
    csat_average: float | None
    csat_count: int
    holding_now: int  # claimed right now, whenever created

    @property
    def within_promise_share(self) -> float | None:
        answered = self.met + self.missed
        return self.met / answered if answered else None


def agent_stats(store: Store, calendar: BusinessCalendar, now: datetime, days: int = 14) -> list[AgentStats]:
    """Per agent, busiest first: one grouped query over the period (index on created_at)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    today = calendar.localize(now).date()
    start = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=calendar.tz)
    rows = store.conn.execute(
        "SELECT agent, count(*) AS handled, sum(status = 'resolved') AS resolved, "
        "sum(first_response_at IS NOT NULL AND first_response_at <= first_response_due) AS met, "
        "sum(first_response_at IS NOT NULL AND first_response_at > first_response_due) AS missed, "
        "avg(csat) AS csat_average, count(csat) AS csat_count "
        "FROM tickets WHERE created_at >= ? AND agent IS NOT NULL GROUP BY +agent",  # +: walk created_at, not agent
        (utc_iso(start),)).fetchall()
    holding = dict(store.conn.execute(
        "SELECT agent, count(*) FROM tickets WHERE status = 'claimed' AND agent IS NOT NULL GROUP BY agent"))
    found = {r["agent"]: AgentStats(r["agent"], r["handled"], r["resolved"] or 0, r["met"] or 0, r["missed"] or 0,
                                    r["csat_average"], r["csat_count"], holding.get(r["agent"], 0)) for r in rows}
    for name, n in holding.items():
        found.setdefault(name, AgentStats(name, 0, 0, 0, 0, None, 0, n))
    return sorted(found.values(), key=lambda a: (-a.handled, -a.holding_now, a.agent))
