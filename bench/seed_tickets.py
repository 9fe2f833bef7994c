"""Fill a database with many realistic tickets, fast (for bench/bench_queue.py).

    .venv/bin/python bench/seed_tickets.py /tmp/queue.db                 # 100,000 tickets
    .venv/bin/python bench/seed_tickets.py /tmp/queue.db --n 20000
    .venv/bin/python bench/seed_tickets.py /tmp/worst.db --all-open      # every ticket open

The schema comes from `handoff.store.Store(path)` (the real migrations); then every row
is written with `executemany` in ONE transaction, not through the pipeline (100,000
tickets take seconds, not an hour). Per ticket: a conversation, 2-4 messages (the
customer in, the bot's answer out, sometimes an agent's reply out, sometimes a customer
follow-up in), its events (conversation.created, ticket.created, ticket.claimed,
agent.replied, ticket.resolved) and, for an agent reply, the outbox row that delivered it.

What it looks like (defaults):
- 70 % WhatsApp (E.164 numbers +628...; never the simulator's +62899 range), 30 % email.
- intents product / order_status / return_refund / payment / account / escalation / human;
  priority as the pipeline sets it: escalation -> escalation, return_refund and a wrong
  shipment -> complex, the rest normal. `due_at` as the pipeline computes it with the real
  business-hours calendar (WhatsApp 15 min, email 2 h of opening time; complex and
  escalation 2 working days).
- Schema 3's SLA timers when the columns exist: `first_response_due` and `resolution_due`
  as the pipeline promises them, `first_response_at` = the agent's first reply, `due_at` =
  the next unmet deadline; `csat` (1-5, mostly 4-5) on about 40 % of resolved tickets.
- created_at spread over the last 120 days, mostly in the daytime (WIB).
- about 95 % resolved (with resolved_at and the agent who resolved), 3 % open, 2 % claimed by
  one of 10 agents (escalations only by the 2 supervisors); open and claimed tickets are
  among the most recent. `--all-open`: every ticket open (the worst case for the queue).
- 10 agents (`agent01`..`agent08`, supervisors `spv01`, `spv02`), password `bench-password`.

Appending to a database that already has rows works (ids continue). Columns added later
to the schema are left to their defaults; `seed` refuses, naming them, if a new NOT NULL
column without a default appears.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.business_hours import BusinessCalendar  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from handoff.store import Store, ticket_ref, utc_iso  # noqa: E402

AGENTS = [f"agent{i:02d}" for i in range(1, 9)]
SUPERVISORS = ["spv01", "spv02"]
AGENT_PASSWORD = "bench-password"

INTENT_WEIGHTS = {"order_status": 30, "product": 18, "return_refund": 14, "payment": 14, "account": 9,
                  "human": 9, "escalation": 6}

CUSTOMER_TEXTS = {
    "order_status": ["kak paket saya belum sampai, pesanan {order}", "pesanan {order} kok belum dikirim ya kak?",
                     "resi nya ga update dari kemarin min", "where is my order {order}? it's been 5 days",
                     "min status pesanan saya gimana ya, udah seminggu"],
    "product": ["kak ukuran L masih ada stok?", "produk ini original kan kak?", "warna hitam ready ga min?",
                "does this come with an official warranty?", "bahannya adem ga kak buat sehari-hari?"],
    "return_refund": ["barang yang datang rusak, mau retur kak. pesanan {order}", "saya mau refund, salah ukuran",
                      "gimana cara tukar ukuran kak?", "I want to return the item, it arrived broken ({order})"],
    "payment": ["sudah transfer tapi status masih menunggu pembayaran", "bisa bayar pakai COD ga kak?",
                "VA BCA saya expired, gimana ya?", "payment failed but the money was deducted"],
    "account": ["ga bisa login, lupa password", "mau ganti nomor hp di akun saya", "tolong hapus akun saya kak",
                "I can't reset my password, the email never arrives"],
    "human": ["mau bicara dengan CS langsung", "tolong sambungkan ke admin ya kak", "bisa telpon saya kak?",
              "can I talk to a human please?"],
    "escalation": ["saya kecewa banget, mau komplain ke atasan kalian", "sudah 3x chat ga ada solusi, saya lapor YLKI",
                   "pesanan {order} ga jelas, ini penipuan ya? mau lapor", "I want to speak to a manager, unacceptable"],
}
WRONG_SHIPMENT = "barang yang dikirim salah kak, saya pesan warna merah yang datang biru. pesanan {order}"
FOLLOW_UPS = ["gimana kak, ada kabar?", "halo kak? masih ditunggu ya", "ok kak makasih", "nomor pesanan {order}",
              "any update?"]
BOT_TEXTS = {
    "order_status": "Baik Kak, kami bantu cek pesanannya. Mohon kirimkan nomor pesanan dan nama penerima.",
    "product": "Pertanyaan produk sudah kami teruskan ke tim; kami balas secepatnya.",
    "return_refund": "Kami bantu proses retur/refund. Mohon kirim foto barang dan nomor pesanan.",
    "payment": "Kami bantu cek pembayarannya. Mohon kirim bukti transfer dan nomor pesanan.",
    "account": "Demi keamanan, jangan kirim password atau kode OTP. Tim kami akan membantu akun Kakak.",
    "human": "Baik Kak, kami sambungkan ke tim CS kami.",
    "escalation": "Mohon maaf atas pengalaman Kakak. Keluhan ini kami teruskan ke supervisor untuk ditinjau.",
}
AGENT_TEXTS = {
    "order_status": "Halo Kak, dengan {agent} dari Yessindo. Pesanan {order} sudah kami cek, paket sedang diantar kurir.",
    "product": "Halo Kak, dengan {agent}. Stoknya ready ya Kak, barang original bergaransi resmi.",
    "return_refund": "Terima kasih sudah menunggu Kak. Refund pesanan {order} sudah kami proses, dana masuk 3-5 hari kerja.",
    "payment": "Halo Kak, pembayaran Kakak sudah terverifikasi, pesanan segera diproses.",
    "account": "Halo Kak, akun Kakak sudah kami bantu atur ulang, silakan coba login kembali.",
    "human": "Halo Kak, dengan {agent} dari tim CS Yessindo. Ada yang bisa kami bantu?",
    "escalation": "Hasil tinjauan supervisor: mohon maaf atas kendalanya Kak. Pesanan {order} kami kirim ulang tanpa "
                  "biaya dan ongkir kami tanggung.",
}
FIRST_NAMES = ["Budi", "Sari", "Dewi", "Agus", "Rina", "Andi", "Putri", "Rizky", "Siti", "Hendra", "Wulan", "Fajar",
               "Nur", "Yusuf", "Ayu", "Dimas", "Indah", "Bayu", "Lestari", "Teguh"]
LAST_NAMES = ["Santoso", "Wijaya", "Saputra", "Lestari", "Pratama", "Hidayat", "Kusuma", "Nugroho", "Siregar",
              "Simanjuntak", "Halim", "Gunawan"]
MAIL_DOMAINS = ["gmail.com"] * 6 + ["yahoo.co.id", "yahoo.com", "outlook.com", "hotmail.com", "ymail.com"]
# Mobile prefixes after +628 (Telkomsel, Indosat, XL, Tri, Smartfren); never 89x with 9: /try's +62899.
OPERATORS = ["11", "12", "13", "21", "22", "23", "52", "53", "14", "15", "16", "55", "56", "57", "58", "17", "18",
             "19", "59", "77", "78", "31", "32", "33", "38", "95", "96", "97", "98", "81", "82", "83", "87", "88"]
# Local hour (WIB) weights: few at night, most during the day and the evening.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 10, 9, 9, 9, 9, 9, 8, 8, 9, 10, 9, 6, 3]
WIB = timezone(timedelta(hours=7))


class _Pick:
    """Weighted choices from a fixed table, fast (cumulative weights once)."""

    def __init__(self, rng: random.Random, items: dict[str, float]) -> None:
        self.rng, self.keys = rng, list(items)
        self.cum = []
        total = 0.0
        for v in items.values():
            total += v
            self.cum.append(total)

    def __call__(self) -> str:
        return self.rng.choices(self.keys, cum_weights=self.cum)[0]


def _phone(rng: random.Random) -> str:
    return "+628" + rng.choice(OPERATORS) + str(rng.randrange(10 ** 6, 10 ** 8))


def _email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES).lower(), rng.choice(LAST_NAMES).lower()
    sep = rng.choice([".", "_", ""])
    return f"{first}{sep}{last}{rng.randrange(1, 99999)}@{rng.choice(MAIL_DOMAINS)}"


def _order(rng: random.Random, at: datetime) -> str:
    return f"INV-{(at - timedelta(days=rng.randrange(0, 10))).strftime('%Y%m%d')}-{rng.randrange(1, 9999):04d}"


def _created_times(rng: random.Random, n: int, now: datetime, days: int) -> list[datetime]:
    hours = list(range(24))
    out = []
    today = now.astimezone(WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(n):
        while True:
            day = today - timedelta(days=rng.randrange(0, days))
            at = day + timedelta(hours=rng.choices(hours, weights=HOUR_WEIGHTS)[0], seconds=rng.randrange(3600))
            if at < now:
                break
        out.append(at.astimezone(timezone.utc))
    out.sort()
    return out


def _check_not_null(conn: sqlite3.Connection, table: str, provided: set[str]) -> None:
    missing = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
               if r[3] and r[4] is None and not r[5] and r[1] not in provided]
    if missing:
        raise SystemExit(f"seed_tickets: table {table} has NOT NULL columns without a default that the seeder "
                         f"does not fill: {', '.join(missing)} (update bench/seed_tickets.py)")


def _next_id(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    _check_not_null(conn, table, set(cols))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, (tuple(r[c] for c in cols) for r in rows))


def _ensure_agents(conn: sqlite3.Connection, now: datetime) -> None:
    from werkzeug.security import generate_password_hash

    conn.execute(
        "CREATE TABLE IF NOT EXISTS agents (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, "
        "created_at TEXT NOT NULL)")
    marks = ",".join("?" * len(AGENTS + SUPERVISORS))
    if conn.execute(f"SELECT count(*) FROM agents WHERE name IN ({marks})",
                    AGENTS + SUPERVISORS).fetchone()[0] == len(AGENTS + SUPERVISORS):
        return
    cols = {r[1]: r for r in conn.execute("PRAGMA table_info(agents)")}
    hashed = generate_password_hash(AGENT_PASSWORD)  # once: scrypt is slow on purpose
    rows = [{"name": a, "role": "agent", "password_hash": hashed, "created_at": utc_iso(now - timedelta(days=200))}
            for a in AGENTS]
    rows += [{"name": s, "role": "supervisor", "password_hash": hashed,
              "created_at": utc_iso(now - timedelta(days=200))} for s in SUPERVISORS]
    rows = [{k: v for k, v in r.items() if k in cols} for r in rows]
    _check_not_null(conn, "agents", set(rows[0]))
    names = list(rows[0])
    conn.executemany(f"INSERT OR IGNORE INTO agents ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [tuple(r[c] for c in names) for r in rows])


def seed(database_path: str | Path, n: int = 100_000, *, open_share: float = 0.03, claimed_share: float = 0.02,
         all_open: bool = False, days: int = 120, random_seed: int = 20261124,
         now: datetime | None = None) -> dict[str, Any]:
    """Insert n tickets (with conversations, messages, events, outbox rows) into the database
    at `database_path`, creating or upgrading its schema first. Returns counts and timings."""
    started = time.perf_counter()
    rng = random.Random(random_seed)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    store = Store(database_path)  # the real migrations
    store.close()
    shop = load_knowledge(REPO / "knowledge").shop
    calendar = BusinessCalendar()
    pick_intent = _Pick(rng, INTENT_WEIGHTS)

    created = _created_times(rng, n, now, days)
    # Status: open and claimed among the most recent tickets; the rest resolved.
    if all_open:
        statuses = ["open"] * n
    else:
        n_open, n_claimed = round(n * open_share), round(n * claimed_share)
        recent = min(n, max(n_open + n_claimed, math.ceil((n_open + n_claimed) * 2.5)))
        chosen = rng.sample(range(n - recent, n), n_open + n_claimed)
        statuses = ["resolved"] * n
        for i in chosen[:n_open]:
            statuses[i] = "open"
        for i in chosen[n_open:]:
            statuses[i] = "claimed"

    conn = sqlite3.connect(str(database_path), isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA cache_size = -200000")
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ensure_agents(conn, now)
        conv_id, msg_id, ticket_id = _next_id(conn, "conversations"), _next_id(conn, "messages"), _next_id(conn, "tickets")
        outbox_id = _next_id(conn, "outbox")
        ticket_columns = {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}  # schema 3 adds SLA/CSAT
        # Customers come back: resolved tickets draw from a pool (earlier conversations of a
        # returning customer are closed); open and claimed ones have a customer of their own,
        # as the pipeline would have folded a new message into the open ticket.
        pool_wa = [_phone(rng) for _ in range(max(1, int(n * 0.7 * 0.8)))]
        pool_mail = [_email(rng) for _ in range(max(1, int(n * 0.3 * 0.8)))]
        names = {}
        conversations, messages, tickets, events, outbox = [], [], [], [], []
        last_conv_of: dict[tuple[str, str], int] = {}
        for i in range(n):
            at = created[i]
            status = statuses[i]
            channel = "whatsapp" if rng.random() < 0.7 else "email"
            if status == "resolved":
                customer = rng.choice(pool_wa if channel == "whatsapp" else pool_mail)
            else:
                customer = _phone(rng) if channel == "whatsapp" else _email(rng)
            if customer not in names:
                names[customer] = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" if rng.random() < 0.85 else None
            intent = pick_intent()
            order = _order(rng, at)
            wrong_shipment = intent in ("order_status", "product") and rng.random() < 0.1
            text = (WRONG_SHIPMENT if wrong_shipment else rng.choice(CUSTOMER_TEXTS[intent])).format(order=order)
            english = text[:1].isupper() and any(w in text for w in ("I ", "my ", "any ", "does ", "can "))
            lang = "en" if english else "id"
            # The promises as the pipeline makes them: first response, and resolution.
            if intent == "escalation":
                priority = "escalation"
                first_due = resolution_due = calendar.add_working_days(at, shop.review_working_days)
            elif intent == "return_refund" or wrong_shipment:
                priority = "complex"
                first_due = resolution_due = calendar.add_working_days(at, shop.complex_working_days)
            else:
                priority = "normal"
                first_due = calendar.add_opening_time(at, timedelta(hours=shop.email_max_hours) if channel == "email"
                                                      else timedelta(minutes=shop.wa_max_minutes))
                resolution_due = max(first_due, calendar.add_working_days(at, shop.complex_working_days))
            staff = SUPERVISORS if priority == "escalation" else AGENTS + SUPERVISORS
            agent = None if status == "open" else rng.choice(staff)
            # When things happened: the agent takes it within minutes to a day, resolves later.
            claimed_at = resolved_at = None
            if status != "open":
                claimed_at = min(at + timedelta(seconds=int(rng.lognormvariate(math.log(1800), 1.2))),
                                 now - timedelta(seconds=30))
                claimed_at = max(claimed_at, at + timedelta(seconds=5))
            if status == "resolved":
                resolved_at = min(claimed_at + timedelta(seconds=int(rng.lognormvariate(math.log(5400), 1.3))),
                                  now - timedelta(seconds=1))
                resolved_at = max(resolved_at, claimed_at + timedelta(seconds=1))
            cid, tid = conv_id + i, ticket_id + i
            ref = ticket_ref(tid)
            # Messages: the customer, the bot's answer, maybe an agent's reply, maybe a follow-up.
            if channel == "whatsapp":
                ext = f"SM{tid:08x}{rng.getrandbits(96):024x}"  # unique by the ticket id, even when appending
                meta = {}
            else:
                ext = f"<{tid:08x}{rng.getrandbits(96):024x}@mail.gmail.com>"
                meta = {"subject": text[:60]}
            conv_msgs = [("in", "customer", ext, text, intent, round(rng.uniform(0.55, 1.0), 3), meta, at),
                         ("out", "bot", None, f"{BOT_TEXTS[intent]}\nNomor tiket: {ref}.", None, None, {},
                          at + timedelta(seconds=1))]
            last_in = at
            agent_reply = claimed_at is not None and (priority == "escalation" and status == "resolved"
                                                       or rng.random() < 0.6)
            reply_at = None
            if agent_reply:
                reply_at = claimed_at + timedelta(seconds=rng.randrange(10, 600))
                if resolved_at is not None:
                    reply_at = min(reply_at, resolved_at)
                reply_at = min(reply_at, now)
                body = AGENT_TEXTS[intent].format(agent=agent, order=order)
                conv_msgs.append(("out", agent, None, body, None, None, {}, reply_at))
            if rng.random() < 0.2:
                follow_at = at + timedelta(seconds=rng.randrange(60, 7200))
                if follow_at < now:
                    conv_msgs.append(("in", "customer", ext + "-2" if channel == "whatsapp" else
                                      ext.replace("@", ".2@"), rng.choice(FOLLOW_UPS).format(order=order),
                                      None, None, {}, follow_at))
                    last_in = max(last_in, follow_at)
            conv_msgs.sort(key=lambda m: m[7])
            for direction, author, external_id, body, m_intent, conf, m_meta, m_at in conv_msgs:
                messages.append({
                    "id": msg_id, "conversation_id": cid, "direction": direction, "channel": channel,
                    "customer": customer, "author": author, "external_id": external_id, "text": body,
                    "intent": m_intent, "confidence": conf, "attachments": "[]",
                    "meta": json.dumps(m_meta, ensure_ascii=False), "created_at": utc_iso(m_at),
                })
                msg_id += 1
            updated = max(m[7] for m in conv_msgs)
            if resolved_at:
                updated = max(updated, resolved_at)
            key = (channel, customer)
            if key in last_conv_of:  # a returning customer: the earlier conversation is over
                conversations[last_conv_of[key]]["state"] = "closed"
            last_conv_of[key] = len(conversations)
            conversations.append({
                "id": cid, "channel": channel, "customer": customer, "display_name": names[customer],
                "state": "human" if status == "claimed" else "bot", "agent": agent if status == "claimed" else None,
                "lang": lang, "unknown_streak": 0, "menu_shown": 0, "created_at": utc_iso(at),
                "updated_at": utc_iso(updated), "last_inbound_at": utc_iso(last_in),
            })
            # A person's first message stops the first-response timer; `due_at` is then the
            # resolution promise (the next unmet deadline).
            first_response_at = reply_at
            due = first_due if first_response_at is None else resolution_due
            csat = csat_at = None
            if resolved_at is not None and rng.random() < 0.4:
                csat = rng.choices([1, 2, 3, 4, 5], weights=[4, 4, 10, 32, 50])[0]
                csat_at = resolved_at + timedelta(seconds=rng.randrange(60, 36000))
                if csat_at >= now:
                    csat = csat_at = None
            details: dict[str, Any] = {}
            if "{order}" in text or order in text:
                details["order_numbers"] = [order]
            if channel == "whatsapp" and rng.random() < 0.05:
                details["emails"] = [_email(rng)]
            ticket = {
                "id": tid, "ref": ref, "conversation_id": cid, "channel": channel, "customer": customer,
                "intent": intent, "priority": priority, "status": status, "agent": agent, "due_at": utc_iso(due),
                "created_at": utc_iso(at), "updated_at": utc_iso(updated),
                "resolved_at": utc_iso(resolved_at) if resolved_at else None,
                "details": json.dumps(details, ensure_ascii=False), "summary": text[:200],
            }
            optional = {"first_response_due": utc_iso(first_due), "resolution_due": utc_iso(resolution_due),
                        "first_response_at": utc_iso(first_response_at) if first_response_at else None,
                        "csat": csat, "csat_at": utc_iso(csat_at) if csat_at else None}
            ticket.update({k: v for k, v in optional.items() if k in ticket_columns})
            tickets.append(ticket)
            ev = [(at, "conversation.created", "bot", None, {"channel": channel}),
                  (at, "ticket.created", "bot", ref, {"intent": intent, "priority": priority, "due_at": utc_iso(due)})]
            if claimed_at is not None:
                ev.append((claimed_at, "ticket.claimed", agent, ref, {}))
            if reply_at is not None:
                ev.append((reply_at, "agent.replied", agent, ref, {"outbox_id": outbox_id}))
                ev.append((reply_at, "ticket.first_response", agent, ref, {"within_promise": reply_at <= first_due}))
                sid = (f"SM{outbox_id:08x}{rng.getrandbits(96):024x}" if channel == "whatsapp"
                       else f"<{outbox_id:08x}.{rng.getrandbits(64):016x}@yessindo.co.id>")
                outbox.append({
                    "id": outbox_id, "channel": channel, "customer": customer, "conversation_id": cid, "ticket_ref": ref,
                    "kind": "text", "body": conv_msgs[[m[1] for m in conv_msgs].index(agent)][3],
                    "content_sid": None, "content_variables": None,
                    "status": rng.choice(["delivered", "read"]) if channel == "whatsapp" else "sent",
                    "attempts": 1, "next_attempt_at": utc_iso(reply_at), "lease_until": None, "provider_id": sid,
                    "error_code": None, "last_error": None, "created_at": utc_iso(reply_at),
                    "updated_at": utc_iso(reply_at + timedelta(seconds=2)), "sent_at": utc_iso(reply_at),
                    "first_claimed_at": utc_iso(reply_at), "needs_reconcile": 0,
                })
                outbox_id += 1
            if resolved_at is not None:
                ev.append((resolved_at, "ticket.resolved", agent, ref, {"note": priority == "escalation"}))
            if csat_at is not None:
                ev.append((csat_at, "csat.answered", "customer", ref, {"score": csat}))
            for e_at, kind, actor, e_ref, data in ev:
                events.append({"at": utc_iso(e_at), "kind": kind, "actor": actor, "conversation_id": cid,
                               "ticket_ref": e_ref, "data": json.dumps(data)})
        built = time.perf_counter()
        _insert(conn, "conversations", conversations)
        _insert(conn, "messages", messages)
        _insert(conn, "tickets", tickets)
        _insert(conn, "events", sorted(events, key=lambda e: e["at"]))
        _insert(conn, "outbox", outbox)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    inserted = time.perf_counter()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "tickets": n, "conversations": len(conversations), "messages": len(messages), "events": len(events),
        "outbox": len(outbox), "by_status": {s: statuses.count(s) for s in ("open", "claimed", "resolved")},
        "build_s": round(built - started, 2), "insert_s": round(inserted - built, 2),
        "total_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database", help="SQLite file (created, or appended to)")
    p.add_argument("--n", type=int, default=100_000, help="tickets to add (default 100000)")
    p.add_argument("--open-share", type=float, default=0.03, help="share of open tickets (default 0.03)")
    p.add_argument("--claimed-share", type=float, default=0.02, help="share of claimed tickets (default 0.02)")
    p.add_argument("--all-open", action="store_true", help="every ticket open: the worst case for the queue")
    p.add_argument("--days", type=int, default=120, help="created_at spread over this many days (default 120)")
    p.add_argument("--seed", type=int, default=20261124, help="random seed (same seed, same data)")
    args = p.parse_args(argv)
    if not 0 <= args.open_share + args.claimed_share <= 1:
        p.error("--open-share + --claimed-share must be between 0 and 1")
    result = seed(args.database, args.n, open_share=args.open_share, claimed_share=args.claimed_share,
                  all_open=args.all_open, days=args.days, random_seed=args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
