"""Reports (issue 12, item 10): tickets of a period as CSV, from the command line
(`export tickets --since DATE [--until DATE] --csv`) and from the dashboard (supervisors
only, streamed, an attachment). Tickets come from the real pipeline and console actions."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from handoff import export
from tests.conftest import WIB
from tests.test_cli import run
from tests.test_console import Console, post


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def cli_export(console, *args: str):  # type: ignore[no-untyped-def]
    return run(["export", "tickets", *args], env={"YESSINDO_DATABASE": console.config["storage"]["database"]})


def parse(text: str) -> list[dict[str, str]]:
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == export.HEADER
    return [dict(zip(export.HEADER, row)) for row in lines[1:]]


def label(console, ref: str, *names: str) -> None:
    db = console.db()
    tid = db.execute("SELECT id FROM tickets WHERE ref = ?", (ref,)).fetchone()[0]
    for name in names:
        db.execute("INSERT OR IGNORE INTO labels (name, created_at) VALUES (?, '2026-11-01T00:00:00+00:00')", (name,))
        db.execute("INSERT INTO ticket_labels (ticket_id, label, added_at) VALUES (?, ?, '2026-11-24T03:00:00+00:00')",
                   (tid, name))
    db.commit()


def set_created(console, ref: str, utc: str) -> None:
    db = console.db()
    db.execute("UPDATE tickets SET created_at = ? WHERE ref = ?", (utc, ref))
    db.commit()


def late_resolved_ticket(console) -> str:
    """WhatsApp, created Tue 24 Nov 10:00 WIB; sari answers at 11:00 (the promise was 15 minutes
    of opening time: late), resolves at 11:05; the customer rates 4."""
    ref = console.customer("pesanan saya belum sampai, nomor pesanan 12345678")
    assert ref
    sari = console.client("sari")
    assert post(sari, f"/console/t/{ref}/claim").status_code == 303
    console.clock.at = datetime(2026, 11, 24, 11, 0, tzinfo=WIB)
    post(sari, f"/console/t/{ref}/reply", text="Baik Kak, kami cek dulu ya.")
    console.clock.at = datetime(2026, 11, 24, 11, 5, tzinfo=WIB)
    post(sari, f"/console/t/{ref}/resolve", note="")
    db = console.db()
    assert db.execute("SELECT status FROM tickets WHERE ref = ?", (ref,)).fetchone()[0] == "resolved"
    db.execute("UPDATE tickets SET csat = 4, csat_at = '2026-11-24T04:10:00+00:00' WHERE ref = ?", (ref,))
    db.commit()
    return ref


# -- the command line ------------------------------------------------------------------------------
def test_cli_csv_columns_and_values(console):
    ref = late_resolved_ticket(console)
    label(console, ref, "vip", "@risk")
    p = cli_export(console, "--since", "2026-11-24", "--until", "2026-11-24", "--csv")
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    assert text.startswith(",".join(export.HEADER) + "\r\n")
    (row,) = parse(text)
    assert row["ref"] == ref and row["channel"] == "whatsapp" and row["category"] == "order_status"
    assert row["agent"] == "sari"
    assert row["labels"] == "'@risk;vip"  # sorted, ';'-joined, and defused (it starts with @)
    assert row["created"] == "2026-11-24T10:00:00+07:00"
    assert row["first_response"] == "2026-11-24T11:00:00+07:00"
    assert row["resolved"] == "2026-11-24T11:05:00+07:00"
    assert row["promise_met"] == "no" and row["csat"] == "4"
    assert "+628" not in text and "12345678" not in text  # no customer id, no message text


def test_cli_period_bounds_are_jakarta_days(console):
    refs = [console.customer(f"status pesanan nomor {9000 + i}", customer=f"+62812000000{i}") for i in range(4)]
    # 23:59:59 WIB on the 23rd, 00:00 WIB on the 24th, 23:59:59 WIB on the 24th, 00:00 WIB on the 25th
    for ref, utc in zip(refs, ("2026-11-23T16:59:59+00:00", "2026-11-23T17:00:00+00:00",
                               "2026-11-24T16:59:59+00:00", "2026-11-24T17:00:00+00:00")):
        set_created(console, ref, utc)
    p = cli_export(console, "--since", "2026-11-24", "--until", "2026-11-24", "--csv")
    assert p.returncode == 0, p.stderr
    rows = parse(p.stdout.decode())
    assert [r["ref"] for r in rows] == refs[1:3]
    assert [r["created"] for r in rows] == ["2026-11-24T00:00:00+07:00", "2026-11-24T23:59:59+07:00"]
    everything = parse(cli_export(console, "--since", "2026-11-23", "--csv").stdout.decode())  # until today
    assert [r["ref"] for r in everything] == refs
    assert parse(cli_export(console, "--since", "2026-11-26", "--until", "2026-11-27", "--csv").stdout.decode()) == []


@pytest.mark.parametrize("args", [
    ["--since", "2026-13-01", "--csv"], ["--since", "kemarin", "--csv"], ["--since", "2026-11-1", "--csv"],
    ["--since", "2026-11-24", "--until", "2026-11-02x", "--csv"],
    ["--since", "2026-11-24", "--until", "2026-11-20", "--csv"],
])
def test_cli_bad_dates_exit_2_with_one_line(console, args):
    p = cli_export(console, *args)
    assert p.returncode == 2
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yessindo-bot: export tickets: ") and p.stdout == b""


def test_cli_requires_csv_flag(console):
    p = cli_export(console, "--since", "2026-11-24")
    assert p.returncode == 2 and b"--csv" in p.stderr


# -- the CSV itself ------------------------------------------------------------------------------------
def test_csv_injection_defused():
    for bad in ("=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"):
        assert export.safe_cell(bad) == "'" + bad
    for fine in ("YS-000001", "2026-11-24T10:00:00+07:00", "", "vip;=x", 4, None):
        assert export.safe_cell(fine) == ("" if fine is None else str(fine))


def test_injection_in_labels_and_agent_names_through_the_cli(console):
    from werkzeug.security import generate_password_hash

    from handoff import queue

    queue.add_agent(console.store, console.clock(), "-budi2", "agent", generate_password_hash("x" * 12))
    ref = console.customer("status pesanan nomor 55555")
    queue.claim(console.store, console.clock(), ref, "-budi2")
    label(console, ref, "=HYPERLINK(\"http://x\")")
    (row,) = parse(cli_export(console, "--since", "2026-11-24", "--csv").stdout.decode())
    assert row["agent"] == "'-budi2" and row["labels"] == "'=HYPERLINK(\"http://x\")"


def test_promise_met_yes_no_and_empty(console):
    on_time = console.customer("status pesanan nomor 11111", customer="+6281200000011")
    waiting = console.customer("status pesanan nomor 22222", customer="+6281200000022")
    sari = console.client("sari")
    post(sari, f"/console/t/{on_time}/claim")
    console.clock.at = datetime(2026, 11, 24, 10, 5, tzinfo=WIB)
    post(sari, f"/console/t/{on_time}/reply", text="Baik Kak.")
    conn = export.open_reader(console.config["storage"]["database"])
    start, end = export.period(datetime(2026, 11, 24).date(), None, WIB, datetime(2026, 11, 24).date())

    def met(now: datetime) -> dict[str, str]:
        text = "".join(export.csv_chunks(conn, start, end, WIB, now))
        return {r["ref"]: r["promise_met"] for r in parse(text)}

    assert met(datetime(2026, 11, 24, 10, 6, tzinfo=WIB)) == {on_time: "yes", waiting: ""}
    assert met(datetime(2026, 11, 24, 12, 0, tzinfo=WIB)) == {on_time: "yes", waiting: "no"}  # past its promise
    conn.close()


def test_streamed_in_batches_with_the_header_first(console):
    refs = [console.customer(f"status pesanan nomor {7000 + i}", customer=f"+62813000000{i}") for i in range(5)]
    label(console, refs[3], "b", "a")
    conn = export.open_reader(console.config["storage"]["database"])
    start, end = export.period(datetime(2026, 11, 24).date(), None, WIB, datetime(2026, 11, 24).date())
    chunks = export.csv_chunks(conn, start, end, WIB, datetime.now(timezone.utc), batch=2)
    assert next(chunks) == ",".join(export.HEADER) + "\r\n"  # before any ticket is read
    rest = list(chunks)
    assert len(rest) == 3  # 2 + 2 + 1 tickets, one chunk each: nothing holds the whole period
    rows = parse(",".join(export.HEADER) + "\r\n" + "".join(rest))
    assert [r["ref"] for r in rows] == refs and rows[3]["labels"] == "a;b"
    conn.close()


# -- the dashboard's download ---------------------------------------------------------------------------
def test_console_download_streamed_attachment(console):
    ref = late_resolved_ticket(console)
    dewi = console.client("dewi")
    dash = dewi.get("/console/dashboard")
    assert dash.status_code == 200
    for hook in ('id="export-since"', 'id="export-until"', 'id="export-csv"'):
        assert hook in dash.text
    assert re.search(r'id="export-since"[^>]*value="2026-10-26"', dash.text)  # the last 30 days by default
    resp = dewi.get("/console/export/tickets.csv?since=2026-11-24&until=2026-11-24")
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="yessindo-tiket-2026-11-24-2026-11-24.csv"'
    (row,) = parse(resp.get_data(as_text=True))
    assert row["ref"] == ref and row["promise_met"] == "no" and row["csat"] == "4"
    none = dewi.get("/console/export/tickets.csv?since=2026-11-25&until=2026-11-25")
    assert parse(none.get_data(as_text=True)) == []


def test_console_download_refused_for_agents_and_bad_dates(console):
    late_resolved_ticket(console)
    sari = console.client("sari")
    resp = sari.get("/console/export/tickets.csv?since=2026-11-24")
    assert resp.status_code == 403 and "YS-" not in resp.text
    dewi = console.client("dewi")
    for query in ("", "?since=24-11-2026", "?since=2026-11-24&until=2026-11-01", "?since=2026-02-30"):
        bad = dewi.get("/console/export/tickets.csv" + query)
        assert bad.status_code == 400 and "attachment" not in bad.headers.get("Content-Disposition", "")
    assert console.client().get("/console/export/tickets.csv?since=2026-11-24").status_code == 303  # not logged in


def test_period_helper_until_is_inclusive():
    day = datetime(2026, 11, 24).date()
    assert export.period(day, None, WIB, day) == ("2026-11-23T17:00:00+00:00", "2026-11-24T17:00:00+00:00")
    assert export.period(day, day + timedelta(days=6), WIB, day)[1] == "2026-11-30T17:00:00+00:00"


# -- the dashboard's complaint and feedback texts ----------------------------------------------------------
def test_dashboard_lists_complaints_escalation_requests_and_suggestions(console):
    complaint = console.customer("adminnya tidak sopan, saya mau komplain", customer="+6281200000031")
    escalation = console.customer("I want to speak to your supervisor, this is unacceptable <b>now</b>",
                                  customer="+6281200000032")
    console.customer("saran: tolong tambah metode pembayaran qris", customer="+6281200000033")
    page = console.client("dewi").get("/console/dashboard").text
    rows = re.findall(r'<tr class="feedback-item" data-kind="([^"]+)">(.*?)</tr>', page, re.S)
    texts = {re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip(): kind for kind, body in rows}
    by_ref = {ref: kind for ref in (complaint, escalation) for text, kind in texts.items() if ref in text}
    assert by_ref == {complaint: "Keluhan", escalation: "Keluhan"}  # asking for a supervisor is a complaint
    assert any("tambah metode pembayaran" in t and k == "Saran" for t, k in texts.items())
    assert "unacceptable &lt;b&gt;now&lt;/b&gt;" in page  # the customer's words, as text


def test_fixed_offset_shift_in_sql_equals_python_and_dst_zones_work(console):
    from unittest import mock
    from zoneinfo import ZoneInfo

    late_resolved_ticket(console)
    console.customer("status pesanan nomor 31313", customer="+6281200000041")
    path = console.config["storage"]["database"]
    day = datetime(2026, 11, 24).date()
    now = datetime(2026, 11, 24, 12, 0, tzinfo=WIB)
    assert export.fixed_offset(WIB) == timedelta(hours=7)
    start, end = export.period(day, None, WIB, day)
    fast = "".join(export.export_csv(path, start, end, WIB, now))
    with mock.patch.object(export, "fixed_offset", lambda tz: None):
        slow = "".join(export.export_csv(path, start, end, WIB, now))
    assert fast == slow and len(parse(fast)) == 2
    berlin = ZoneInfo("Europe/Berlin")  # summer time: the Python path
    assert export.fixed_offset(berlin) is None
    start, end = export.period(datetime(2026, 11, 23).date(), day, berlin, day)
    rows = parse("".join(export.export_csv(path, start, end, berlin, now)))
    assert rows[0]["created"] == "2026-11-24T04:00:00+01:00" and rows[0]["first_response"] == "2026-11-24T05:00:00+01:00"
