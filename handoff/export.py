"""Tickets of a period as CSV (issue 12, item 10): one row per ticket, for the supervisors'
spreadsheets. Used by `yessindo-bot export tickets --csv` and the dashboard's download.

- Streamed: one cursor over the period's tickets (the `created_at` index), read in batches;
  each batch's labels come from one `ticket_labels` query; each batch is written as one
  CSV chunk. Memory stays flat however many tickets the period holds; nothing is sorted
  in Python. One read transaction, so the rows and their labels are one snapshot.
- Times in the shop's zone, ISO 8601 with the offset (2026-11-30T09:15:00+07:00); for a zone with one
  fixed offset (Asia/Jakarta) SQLite shifts them itself, else Python (zones with summer time).
- "promise_met": the first response within its promise: `yes`, `no` (answered late, or
  still unanswered with the promise past), empty while none is due yet, and for a ticket
  resolved without any human reply (nobody answered: not counted either way).
- CSV injection safe: a cell starting with = + - @ (or a tab / carriage return) gets a
  leading apostrophe, so a spreadsheet shows it as text instead of running it.
- No customer id or message text: refs, categories, labels, names of agents, times, scores.
"""
from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo

from handoff.records import utc_iso

HEADER = ("ref", "channel", "category", "topic", "labels", "agent", "created", "first_response", "resolved",
          "promise_met", "csat")
BATCH = 500  # rows per read and per CSV chunk (and the labels query's parameters: under SQLite's 999)
_FORMULA_START = frozenset("=+-@\t\r")


def safe_cell(value: object) -> str:
    """The cell as text, defused when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in _FORMULA_START and text else text


def period(since: date, until: date | None, tz: tzinfo, today: date) -> tuple[str, str]:
    """The UTC bounds [start, end) of local days `since` .. `until` (inclusive; default today)."""
    last = until or today
    start = datetime.combine(since, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    return utc_iso(start), utc_iso(end)


def _local(value: str | None, tz: tzinfo) -> str:
    return datetime.fromisoformat(value).astimezone(tz).isoformat(timespec="seconds") if value else ""


def _promise_met(first_response: str | None, due: str | None, status: str, now_iso: str) -> str:
    if not due:
        return ""
    if first_response:
        return "yes" if first_response <= due else "no"
    if status != "resolved" and due < now_iso:
        return "no"
    return ""


def _labels(conn: sqlite3.Connection, ids: list[int]) -> dict[int, str]:
    """`label;label` per ticket id, for one batch (one query)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT ticket_id, label FROM ticket_labels WHERE ticket_id IN ({marks}) "
                        "ORDER BY ticket_id, label", ids)
    out: dict[int, list[str]] = {}
    for ticket_id, label in rows:
        out.setdefault(ticket_id, []).append(label)
    return {k: ";".join(v) for k, v in out.items()}


_QUERY = ("SELECT id, ref, channel, intent, topic, agent, {created}, {first}, {resolved}, first_response_at, "
          "coalesce(first_response_due, due_at), csat, status FROM tickets "
          "WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id")


def fixed_offset(tz: tzinfo) -> timedelta | None:
    """The zone's one UTC offset when it has had a single one since 2000 (Asia/Jakarta:
    +07:00), so SQLite can shift the times itself (three times faster); None with DST."""
    probes = [datetime(year, month, 1, tzinfo=tz).utcoffset() for year in (2000, 2013, 2026, 2040)
              for month in (1, 4, 7, 10)]
    first = probes[0]
    return first if first is not None and all(p == first for p in probes) else None


def _shifted(column: str, offset: timedelta) -> str:
    """SQL for the column's UTC ISO time as local ISO 8601 with the (fixed) offset."""
    seconds = int(offset.total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    suffix = f"{'+' if seconds >= 0 else '-'}{hours:02d}:{minutes:02d}"
    return (f"CASE WHEN {column} IS NULL OR {column} = '' THEN '' ELSE "
            f"strftime('%Y-%m-%dT%H:%M:%S', {column}, '{seconds:+d} seconds') || '{suffix}' END")


def rows(conn: sqlite3.Connection, start: str, end: str, tz: tzinfo, now: datetime,
         batch: int = BATCH) -> Iterator[list[list[str]]]:
    """Batches of CSV rows (lists of cells) for tickets created in [start, end) (UTC ISO)."""
    now_iso = utc_iso(now)
    offset = fixed_offset(tz)
    if offset is not None:
        query = _QUERY.format(created=_shifted("created_at", offset), first=_shifted("first_response_at", offset),
                              resolved=_shifted("resolved_at", offset))
        local = str
    else:
        query = _QUERY.format(created="created_at", first="first_response_at", resolved="resolved_at")

        def local(value: str | None) -> str:
            return _local(value, tz)
    cursor = conn.execute(query, (start, end))
    try:
        while True:
            chunk = cursor.fetchmany(batch)
            if not chunk:
                return
            labels = _labels(conn, [r[0] for r in chunk])
            # Only the text cells can start like a formula: times start with a digit, csat is 1-5.
            yield [[safe_cell(ref), safe_cell(channel), safe_cell(intent), safe_cell(topic),
                    safe_cell(labels.get(tid)), safe_cell(agent), local(created), local(first_local),
                    local(resolved), _promise_met(first, due, status, now_iso), "" if csat is None else str(csat)]
                   for tid, ref, channel, intent, topic, agent, created, first_local, resolved, first, due, csat, status
                   in chunk]
    finally:
        cursor.close()


def csv_chunks(conn: sqlite3.Connection, start: str, end: str, tz: tzinfo, now: datetime,
               batch: int = BATCH) -> Iterator[str]:
    """The CSV text: the header row first, then one chunk per batch of tickets."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield buf.getvalue()
    for part in rows(conn, start, end, tz, now, batch):
        buf.seek(0)
        buf.truncate()
        writer.writerows(part)
        yield buf.getvalue()


def open_reader(path: str) -> sqlite3.Connection:
    """A connection of its own for one export (a stream outlives the request's connection),
    in one read transaction: rows and labels from the same snapshot."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("BEGIN")
    return conn


def export_csv(path: str, start: str, end: str, tz: tzinfo, now: datetime) -> Iterator[str]:
    """Open, stream, close: the whole export as a generator (the connection closes when the
    generator ends or is closed, e.g. a client that went away)."""
    conn = open_reader(path)
    try:
        yield from csv_chunks(conn, start, end, tz, now)
    finally:
        try:
            conn.execute("ROLLBACK")
        finally:
            conn.close()
