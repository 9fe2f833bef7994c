"""The agent's desk on a big store (issue 12, Targets): with 100,000 tickets and 1,000,000
messages, search p95 under 100 ms, the customer panel under 100 ms, the queue page still
under 200 ms, a CSV export of 100,000 tickets under 10 s with flat memory.

    .venv/bin/python bench/bench_desk.py                 # builds (once) or reuses the cached database
    .venv/bin/python bench/bench_desk.py --runs 200      # more samples per figure
    .venv/bin/python bench/bench_desk.py --rebuild       # build the database again

The database: bench/seed_tickets.py's 100,000 tickets (conversations, 2-4 messages each,
events, outbox) through the real migrations, so the search index's triggers fill the index
as rows go in; then more messages of our own (customers writing phone numbers in every
spelling, emails, order numbers; agents answering; Indonesian and English) in big
executemany transactions up to 1,000,000 messages, and a few hundred customer links; the
writes only note what to index (search_pending), so the build ends with one catch-up.
Cached in /tmp keyed by a version (the bench's and the index schema's), so reruns are quick.

What it prints (and asserts nothing):
- search: handoff.search.search in process over varied queries (a customer's number as
  0812..., +62 812-..., 62812..., a number's first digits, refs YS-012345 and 012345, order
  numbers, emails, names, common and rare words in Indonesian and English, words that match
  nothing): p50/p95/max, then the same through GET /console/search (Flask test client,
  logged in: the page an agent sees);
- customer panel: GET /console/customer?id=... for random customers (some linked): p50/p95/max;
- queue page: GET /console (the default page), p50/p95/max;
- export: handoff/export.export_csv over all 100,000 tickets, wall time, then again under
  tracemalloc for the peak Python memory ("export: not built yet" when the module is absent).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from handoff import search_index  # noqa: E402
from handoff.store import SCHEMA_VERSION, Store, utc_iso  # noqa: E402

BENCH_VERSION = "1"
N_TICKETS = 100_000
N_MESSAGES = 1_000_000
TARGET_SEARCH_MS, TARGET_PANEL_MS, TARGET_QUEUE_MS, TARGET_EXPORT_S = 100.0, 100.0, 200.0, 10.0
NOW = datetime(2026, 11, 30, 5, 0, tzinfo=timezone.utc)
SUPERVISOR, PASSWORD = "benchdesk", "bench-desk-password"

CUSTOMER_MORE = [
    "kak ini nomor WhatsApp saya {phone_local}, tolong dihubungi ya",
    "bisa hubungi saya di {phone_dash} kak? sinyal di sini jelek",
    "nomor saya {phone_intl}, atas nama {name}",
    "email saya {email}, kirim invoice ke situ ya kak",
    "pesanan {order} sudah saya bayar lewat transfer BCA tadi pagi",
    "kak, paket {order} statusnya masih diproses gudang terus",
    "barangnya sudah sampai tapi warnanya beda dengan foto di katalog",
    "saya mau tukar ukuran M ke L, masih bisa kak?",
    "kurirnya bilang alamat tidak ditemukan, padahal sudah benar",
    "voucher ongkir gratis tidak bisa dipakai di checkout",
    "Hi, I ordered {order} last week and it still says processing",
    "Could you send the invoice to {email}? Thanks",
    "my number is {phone_intl}, please call me after 5pm",
    "The package arrived damaged, the box was crushed",
    "Is the black one available in size 42?",
    "terima kasih kak, sudah saya terima dengan baik",
    "halo kak, masih ada yang bisa dibantu? saya tunggu kabarnya",
    "refund saya belum masuk ke rekening, sudah 7 hari kerja",
]
AGENT_MORE = [
    "Baik Kak {name}, kami cek dulu pesanan {order} ya, mohon ditunggu.",
    "Terima kasih Kak, nomor {phone_local} sudah kami catat.",
    "Mohon maaf atas ketidaknyamanannya Kak, paket pengganti kami kirim hari ini.",
    "Invoice sudah kami kirim ke {email} ya Kak.",
    "Hi {name}, thank you for waiting. Your order {order} has been shipped today.",
    "We are sorry about the damaged package; a replacement is on its way.",
    "Voucher sudah kami aktifkan ulang, silakan dicoba kembali Kak.",
    "Dana refund sudah kami proses, masuk 3-5 hari kerja ya Kak.",
]


def db_path() -> Path:
    key = hashlib.sha256(("\n".join(search_index.SCHEMA) + BENCH_VERSION + str(SCHEMA_VERSION)).encode()).hexdigest()[:10]
    return Path("/tmp") / f"yessindo-bench-desk-{key}.db"


def _spellings(e164: str) -> dict[str, str]:
    nat = e164[3:]
    return {"phone_local": "0" + nat, "phone_dash": f"0{nat[:3]}-{nat[3:7]}-{nat[7:]}",
            "phone_intl": f"+62 {nat[:3]} {nat[3:7]} {nat[7:]}"}


def build(path: Path) -> dict[str, Any]:
    """Seed 100,000 tickets, then messages up to 1,000,000 and some links."""
    from seed_tickets import seed

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    seed(path, N_TICKETS, now=NOW)
    seeded = time.perf_counter() - t0
    rng = random.Random(20261130)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -400000")
    convs = conn.execute("SELECT c.id, c.channel, c.customer, coalesce(c.display_name, 'Kak'), c.created_at, "
                         "coalesce(json_extract(t.details, '$.order_numbers[0]'), 'INV-20261101-' || "
                         "printf('%04d', c.id % 9999)) FROM conversations c JOIN tickets t ON t.conversation_id = c.id"
                         ).fetchall()
    have = conn.execute("SELECT count(*), max(id) FROM messages").fetchone()
    missing, next_id = N_MESSAGES - have[0], have[1] + 1
    per_conv = missing // len(convs) + 1
    batch: list[tuple[Any, ...]] = []
    written = 0
    conn.execute("BEGIN IMMEDIATE")
    for cid, channel, customer, name, created, order in convs:
        phone = customer if customer.startswith("+") else "+628" + str(rng.randrange(10**9, 10**10))
        email = customer if "@" in customer else f"{name.split()[0].lower()}{rng.randrange(100, 9999)}@gmail.com"
        fill = {"name": name, "order": order, "email": email, **_spellings(phone)}
        at = datetime.fromisoformat(created)
        for k in range(per_conv):
            if written >= missing:
                break
            inbound = k % 2 == 0
            text = rng.choice(CUSTOMER_MORE if inbound else AGENT_MORE).format(**fill)
            at += timedelta(seconds=rng.randrange(30, 900))
            batch.append((next_id, cid, "in" if inbound else "out", channel, customer,
                          "customer" if inbound else "agent01", f"bench-{next_id}" if inbound else None,
                          text, "[]", "{}", utc_iso(at)))
            next_id += 1
            written += 1
        if len(batch) >= 50_000:
            _insert_messages(conn, batch)
            batch = []
    _insert_messages(conn, batch)
    conn.execute("COMMIT")
    # a few hundred people linked across channels (a WhatsApp number and an email address)
    wa = [r[0] for r in conn.execute("SELECT DISTINCT customer FROM tickets WHERE channel = 'whatsapp' LIMIT 400")]
    em = [r[0] for r in conn.execute("SELECT DISTINCT customer FROM tickets WHERE channel = 'email' LIMIT 400")]
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT OR IGNORE INTO customer_links (a, b, via, linked_by, created_at) VALUES (?, ?, 'agent', "
                     "'agent01', ?)", [(*sorted((a, b)), utc_iso(NOW)) for a, b in zip(wa, em)])
    conn.execute("COMMIT")
    t1 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    caught = search_index.catch_up(conn)  # what the first search would do, all at once
    conn.execute("COMMIT")
    print(f"  indexed {caught:,} pending rows in {time.perf_counter() - t1:.1f} s")
    conn.execute("INSERT INTO search_messages (search_messages) VALUES ('optimize')")
    conn.execute("INSERT INTO search_facts (search_facts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {"seed_s": seeded, "messages_s": time.perf_counter() - t0 - seeded}


def _insert_messages(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT INTO messages (id, conversation_id, direction, channel, customer, author, external_id, "
                     "text, attachments, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * len(ms))) - 1)]
    return f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms  (n={len(ms)})"


def p95(ms: list[float]) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(round(0.95 * len(ms))) - 1)]


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def queries(conn: sqlite3.Connection, rng: random.Random, n: int) -> list[str]:
    """Varied searches as agents type them."""
    phones = [r[0] for r in conn.execute("SELECT customer FROM tickets WHERE channel = 'whatsapp' AND id % 97 = 0")]
    emails = [r[0] for r in conn.execute("SELECT customer FROM tickets WHERE channel = 'email' AND id % 97 = 0")]
    refs = [r[0] for r in conn.execute("SELECT ref FROM tickets WHERE id % 211 = 0")]
    orders = [r[0] for r in conn.execute("SELECT json_extract(details, '$.order_numbers[0]') FROM tickets "
                                         "WHERE id % 151 = 0 AND json_extract(details, '$.order_numbers[0]') IS NOT NULL")]
    names = [r[0] for r in conn.execute("SELECT display_name FROM conversations WHERE id % 173 = 0 "
                                        "AND display_name IS NOT NULL")]
    words = ["paket belum sampai", "refund", "where is my order", "kecewa", "voucher ongkir", "ukuran L",
             "barang rusak", "damaged package", "invoice", "kurir alamat", "transfer BCA", "original garansi",
             "penipuan", "size 42", "kak", "pesawat terbang", "password", "COD", "retur", "terima kasih"]
    makers: list[Callable[[], str]] = [
        lambda: "0" + rng.choice(phones)[3:],
        lambda: (lambda n: f"+62 {n[:3]}-{n[3:7]}-{n[7:]}")(rng.choice(phones)[3:]),
        lambda: rng.choice(phones)[1:],
        lambda: "0" + rng.choice(phones)[3:9],  # the first digits, as being typed
        lambda: rng.choice(refs),
        lambda: rng.choice(refs)[3:],
        lambda: rng.choice(orders),
        lambda: rng.choice(emails),
        lambda: rng.choice(names),
        lambda: rng.choice(words),
        lambda: rng.choice(words),
        lambda: rng.choice(words),
    ]
    return [makers[i % len(makers)]() for i in range(n)]


def login(client: Any) -> None:
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    resp = client.post("/console/login", data={"name": SUPERVISOR, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 303, resp.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=120, help="samples per figure (default 120)")
    parser.add_argument("--rebuild", action="store_true", help="build the cached database again")
    args = parser.parse_args()
    path = db_path()
    print(f"agent's desk on a big store: {N_TICKETS:,} tickets, {N_MESSAGES:,} messages ({path})")
    if args.rebuild or not path.exists():
        took = build(path)
        print(f"  built: seed {took['seed_s']:.1f} s, more messages + index {took['messages_s']:.1f} s")
    else:
        print("  reusing the cached database (--rebuild to build it again)")
    store = Store(path)
    conn = store.conn
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("tickets", "messages",
                                                                                       "customer_links")}
    size = sum(Path(str(path) + s).stat().st_size for s in ("", "-wal") if Path(str(path) + s).exists())
    print(f"  rows: {counts['tickets']:,} tickets, {counts['messages']:,} messages, {counts['customer_links']} links; "
          f"database {size / 1e6:.0f} MB")
    rng = random.Random(7)

    from handoff.search import search

    qs = queries(conn, rng, args.runs)
    for q in qs[:12]:
        search(store, q)  # warm the page cache
    ms = [timed(lambda q=q: search(store, q)) for q in qs]
    hits = sum(1 for q in qs if search(store, q).results)
    print(f"search (in process)    : {percentiles(ms)}  {hits}/{len(qs)} queries found something")
    slow = sorted(zip(ms, qs), reverse=True)[:3]
    print("  slowest: " + "; ".join(f"{q!r} {t:.0f} ms" for t, q in slow))
    search_p95 = p95(ms)

    from werkzeug.security import generate_password_hash

    from bot.app import create_app
    from bot.config import settings_from_mapping
    from handoff import queue

    if conn.execute("SELECT 1 FROM agents WHERE name = ?", (SUPERVISOR,)).fetchone() is None:
        queue.add_agent(store, NOW, SUPERVISOR, "supervisor", generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    app = create_app(settings_from_mapping({"storage": {"database": str(path)}}), clock=lambda: NOW)
    client = app.test_client()
    login(client)
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        resp = client.get("/console/search", query_string={"q": q})
        ms.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.status_code
    print(f"search page (console)  : {percentiles(ms)}")
    page_p95 = p95(ms)

    custs = [r[0] for r in conn.execute("SELECT customer FROM tickets WHERE id % 53 = 0")]
    custs += [r[0] for r in conn.execute("SELECT a FROM customer_links LIMIT 40")]
    rng.shuffle(custs)
    custs = custs[:args.runs]
    from urllib.parse import urlencode

    ms = []
    for cust in custs:
        t0 = time.perf_counter()
        resp = client.get("/console/customer?" + urlencode({"id": cust}))
        ms.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, resp.status_code
    print(f"customer panel (page)  : {percentiles(ms)}")
    panel_p95 = p95(ms)

    client.get("/console")
    ms = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        resp = client.get("/console")
        ms.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200
    print(f"queue page GET /console: {percentiles(ms)}")
    queue_p95 = p95(ms)

    export_line = "export: not built yet"
    export_s = None
    try:
        from handoff import export
    except ImportError:
        export = None  # type: ignore[assignment]
    if export is not None:
        import tracemalloc
        from zoneinfo import ZoneInfo

        tz = ZoneInfo("Asia/Jakarta")
        start, end = "2000-01-01T00:00:00+00:00", utc_iso(NOW + timedelta(days=1))

        def run_export() -> tuple[int, int]:
            n_bytes = rows = 0
            for chunk in export.export_csv(str(path), start, end, tz, NOW):
                n_bytes += len(chunk)
                rows += chunk.count("\r\n")
            return rows - 1, n_bytes

        t0 = time.perf_counter()
        rows, n_bytes = run_export()
        export_s = time.perf_counter() - t0
        tracemalloc.start()
        run_export()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        export_line = (f"export CSV             : {rows:,} tickets, {n_bytes / 1e6:.1f} MB in {export_s:.2f} s; "
                       f"peak Python memory {peak / 1e6:.1f} MB (tracemalloc)")
    print(export_line)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"targets: search p95 < {TARGET_SEARCH_MS:.0f} ms {verdict(search_p95 < TARGET_SEARCH_MS)} "
          f"(console page {verdict(page_p95 < TARGET_SEARCH_MS)}); customer panel < {TARGET_PANEL_MS:.0f} ms "
          f"{verdict(panel_p95 < TARGET_PANEL_MS)}; queue page < {TARGET_QUEUE_MS:.0f} ms "
          f"{verdict(queue_p95 < TARGET_QUEUE_MS)}; export < {TARGET_EXPORT_S:.0f} s "
          + (verdict(export_s < TARGET_EXPORT_S) if export_s is not None else "not measured"))
    store.close()


if __name__ == "__main__":
    main()
