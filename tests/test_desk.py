"""What agents do (bot/desk.py) against the real pipeline and store: takeover, replies on
the customer's channel, the 24-hour window, escalations, SLA timers and the CSAT question."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from werkzeug.security import generate_password_hash

from bot.config import settings_from_mapping
from bot.desk import Desk, QueueError
from handoff import queue
from handoff.sla import sla_view
from tests.conftest import WIB, Conversation


@pytest.fixture
def settings(tmp_path):
    return settings_from_mapping({"storage": {"database": str(tmp_path / "bot.db")},
                                  "whatsapp": {"template_content_sid": "HX0123456789abcdef0123456789abcdef"}})


@pytest.fixture
def desk(bot, settings, clock):
    d = Desk.from_settings(settings, bot.store)
    for name, role in (("sari", "agent"), ("budi", "agent"), ("dewi", "supervisor")):
        queue.add_agent(bot.store, clock(), name, role, generate_password_hash("rahasia-" + name))
    return d


def later(clock, **kw) -> datetime:
    clock.at = clock.at + timedelta(**kw)
    return clock.at


def outbox(bot):
    return bot.store.outbox()


def test_takeover_silences_bot_and_first_reply_stops_the_first_response_timer(bot, desk, convo, clock):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    t = bot.store.ticket(ref)
    assert t.first_response_due == t.due_at and t.first_response_at is None
    assert t.resolution_due > t.first_response_due
    desk.claim(later(clock, minutes=2), ref, "sari")
    assert convo.send("halo? ada orang?").status == "silenced"
    desk.reply(later(clock, minutes=3), ref, "sari", "Halo Kak, saya Sari, saya cek dulu ya.")
    t = bot.store.ticket(ref)
    assert t.first_response_at == clock.at and t.due_at == t.resolution_due
    [row] = [r for r in outbox(bot) if r["body"].startswith("Halo Kak, saya Sari")]
    assert row["channel"] == "whatsapp" and row["customer"] == convo.customer
    [ev] = bot.store.events("ticket.first_response")
    assert '"within_promise": true' in ev["data"]
    # A second reply does not move the first response.
    desk.reply(later(clock, minutes=30), ref, "sari", "Sudah saya cek, paket di kurir.")
    assert bot.store.ticket(ref).first_response_at == t.first_response_at


def test_reply_needs_the_claim(bot, desk, convo, clock):
    convo.say("mau retur barang rusak")
    ref = convo.last.ticket_ref
    with pytest.raises(QueueError) as err:
        desk.reply(clock(), ref, "sari", "halo")
    assert "claim it first" in str(err.value) and "Ambil alih" in err.value.indonesian
    desk.claim(clock(), ref, "budi")
    with pytest.raises(QueueError) as err:
        desk.claim(clock(), ref, "sari")
    assert "held by budi" in str(err.value) and "ditangani oleh budi" in err.value.indonesian


def test_closed_window_refuses_free_text_and_offers_template_and_email(bot, desk, convo, clock):
    convo.say("akun saya tidak bisa login, email saya budi.s@example.com")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    state = desk.channel_state(clock(), ref)
    assert state.window_open and state.window_closes_at == clock() + timedelta(hours=24)
    # Typed in a WhatsApp message: not proven theirs, so offered only for an explicit pick.
    assert state.email_addresses == () and state.mentioned_addresses == ("budi.s@example.com",)
    assert state.template_available
    later(clock, hours=25)
    state = desk.channel_state(clock(), ref)
    assert state.window_open is False and not state.free_text_ok
    before = len(outbox(bot))
    with pytest.raises(QueueError) as err:
        desk.reply(clock(), ref, "sari", "Halo Kak")
    assert "24-hour window is closed" in str(err.value) and "template" in str(err.value)
    assert "Jendela 24 jam" in err.value.indonesian and "budi.s@example.com" in err.value.indonesian
    assert len(outbox(bot)) == before
    desk.send_template(clock(), ref, "sari")
    tpl = outbox(bot)[-1]
    assert tpl["kind"] == "template" and tpl["content_sid"].startswith("HX") and tpl["content_variables"] == {"1": ref}
    desk.email_customer(clock(), ref, "sari", "Halo Kak, ini balasan lewat email.", "Budi.S@example.com")
    mail = outbox(bot)[-1]
    assert mail["channel"] == "email" and mail["customer"] == "budi.s@example.com"
    assert mail["conversation_id"] == bot.store.ticket(ref).conversation_id
    with pytest.raises(QueueError):
        desk.email_customer(clock(), ref, "sari", "Halo", "orang.lain@example.com")
    transcript = bot.store.messages(bot.store.ticket(ref).conversation_id)
    assert [m["author"] for m in transcript[-2:]] == ["sari", "sari"]


def test_email_reply_is_threaded_and_not_auto_submitted(bot, desk, email_convo, clock):
    email_convo.send("Pesanan saya belum sampai", subject="Pesanan INV-20261101-0002",
                     external_id="<m1@example.com>")
    ref = email_convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    outbox_id = desk.reply(clock(), ref, "sari", "Halo Kak Budi, paket sedang dikirim.")
    row = bot.store.conn.execute("SELECT * FROM email_outbound WHERE outbox_id = ?", (outbox_id,)).fetchone()
    assert row["in_reply_to"] == "<m1@example.com>" and row["auto"] == 0 and f"[{ref}]" in row["subject"]


def test_resolve_asks_for_satisfaction_once_and_stops_the_timers(bot, desk, convo, clock):
    convo.say("cara bayar pakai virtual account gimana")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Bisa lewat menu VA, Kak.")
    t = desk.resolve(later(clock, minutes=5), ref, "sari")
    assert t.status == "resolved" and t.resolved_at == clock.at
    assert sla_view(t, later(clock, days=10), desk.calendar).state == "done"
    conv = bot.store.conversation(t.conversation_id)
    assert conv.state == "bot" and conv.csat_ticket == ref
    question = outbox(bot)[-1]["body"]
    assert ref in question and "1" in question and "5" in question


def test_agent_escalates_to_supervisors_who_must_send_a_written_result(bot, desk, convo, clock):
    convo.say("barang yang datang salah warna, saya mau tukar")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    t = desk.escalate(later(clock, minutes=10), ref, "sari", "pelanggan minta kompensasi ongkir")
    assert (t.priority, t.status, t.agent) == ("escalation", "open", None)
    assert t.resolution_due == desk.calendar.add_working_days(clock(), 2)
    # nobody answered yet: the first-response promise stays and comes first (issue 12)
    assert t.first_response_at is None and t.due_at == t.first_response_due <= t.resolution_due
    assert bot.store.conversation(t.conversation_id).state == "bot"
    told = outbox(bot)[-1]["body"]
    assert ref in told and "supervisor" in told.lower()
    with pytest.raises(QueueError) as err:
        desk.claim(clock(), ref, "budi")
    assert "supervisor" in str(err.value)
    desk.claim(clock(), ref, "dewi")
    with pytest.raises(QueueError) as err:
        desk.resolve(clock(), ref, "dewi", note="  ")
    assert "written result" in str(err.value)
    desk.resolve(later(clock, hours=1), ref, "dewi", note="Kami kirim ulang barang yang benar dan ganti ongkir.")
    bodies = [r["body"] for r in outbox(bot)]
    assert "Kami kirim ulang barang yang benar dan ganti ongkir." in bodies
    kinds = [e["kind"] for e in bot.store.events() if e["ticket_ref"] == ref]
    assert kinds.index("ticket.escalated") < kinds.index("escalation.result_queued") < kinds.index("ticket.resolved")
    with pytest.raises(QueueError):
        desk.escalate(clock(), ref, "sari", "lagi")


def test_escalation_result_goes_by_email_only_to_an_address_the_agent_picks(bot, desk, convo, clock):
    convo.say("saya mau eskalasi ke supervisor, email saya rina@example.com")
    ref = convo.last.ticket_ref
    assert bot.store.ticket(ref).priority == "escalation"
    desk.claim(later(clock, days=2), ref, "dewi")
    with pytest.raises(QueueError) as err:  # an address the customer never gave
        desk.resolve(clock(), ref, "dewi", note="Hasil: disetujui.", email_to="lain@example.com")
    assert "not an email address this customer gave" in str(err.value)
    desk.resolve(clock(), ref, "dewi", note="Hasil peninjauan: dana dikembalikan penuh.",
                 email_to=" Rina@Example.com ")
    [row] = [r for r in outbox(bot) if r["body"] == "Hasil peninjauan: dana dikembalikan penuh."]
    assert row["channel"] == "email" and row["customer"] == "rina@example.com"
    [ev] = [e for e in bot.store.events("escalation.result_queued") if e["ticket_ref"] == ref]
    assert '"via": "email"' in ev["data"]
    # No free text outside the window, so no satisfaction question on WhatsApp either.
    assert bot.store.conversation(bot.store.ticket(ref).conversation_id).csat_ticket is None


def test_escalation_result_never_goes_by_itself_to_an_address_only_mentioned(bot, desk, convo, clock):
    """Item 9: the customer typed an address (a scammer's, a typo): the written result goes
    on WhatsApp (window open) or as the template (closed), never by email on its own."""
    convo.say("saya mau eskalasi ke supervisor, email saya scam@evil.example")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "dewi")
    desk.resolve(later(clock, minutes=5), ref, "dewi", note="Hasil: dana dikembalikan.")
    [row] = [r for r in outbox(bot) if r["body"] == "Hasil: dana dikembalikan."]
    assert (row["channel"], row["customer"]) == ("whatsapp", convo.customer)
    # Window closed: the template, still not the typed address.
    convo.say("saya mau eskalasi lagi ke supervisor, email saya scam@evil.example")
    ref2 = convo.last.ticket_ref
    desk.claim(later(clock, days=2), ref2, "dewi")
    desk.resolve(clock(), ref2, "dewi", note="Hasil kedua: ditolak.")
    [row] = [r for r in outbox(bot) if "Hasil kedua" in (r["body"] or "")]
    assert (row["channel"], row["kind"]) == ("whatsapp", "template")
    assert not [r for r in outbox(bot) if r["customer"] == "scam@evil.example"]
    # Without a template: refused (with the typed address offered only as an explicit pick).
    plain = settings_from_mapping({"storage": {"database": bot.store.path}})
    bare = Desk.from_settings(plain, bot.store)
    convo.say("saya mau eskalasi ke supervisor sekali lagi, email saya scam@evil.example")
    ref3 = convo.last.ticket_ref
    bare.claim(later(clock, days=2), ref3, "dewi")
    with pytest.raises(QueueError) as err:
        bare.resolve(clock(), ref3, "dewi", note="Hasil ketiga.")
    assert "cannot reach" in str(err.value) and "pick it explicitly" in str(err.value)
    assert bot.store.ticket(ref3).status == "claimed"
    assert not [r for r in outbox(bot) if r["customer"] == "scam@evil.example"]
    # The agent chooses it explicitly: then, and only then, it is used.
    bare.resolve(clock(), ref3, "dewi", note="Hasil ketiga.", email_to="scam@evil.example")
    assert [r["body"] for r in outbox(bot) if r["customer"] == "scam@evil.example"] == ["Hasil ketiga."]


def test_email_customer_result_goes_to_the_address_they_wrote_from(bot, desk, email_convo, clock):
    email_convo.send("Saya mau eskalasi ke supervisor. Kalau perlu, email adik saya: adik@example.com",
                     subject="Komplain", external_id="<esc1@example.com>")
    ref = email_convo.last.ticket_ref
    state = desk.channel_state(clock(), ref)
    assert state.email_addresses == ("budi@example.com",) and "adik@example.com" in state.mentioned_addresses
    desk.claim(clock(), ref, "dewi")
    desk.resolve(later(clock, days=3), ref, "dewi", note="Hasil: kami ganti barangnya.")
    [row] = [r for r in outbox(bot) if r["body"] == "Hasil: kami ganti barangnya."]
    assert (row["channel"], row["customer"]) == ("email", "budi@example.com")


def test_escalation_without_any_reachable_channel_is_not_closed(bot, settings, clock, convo):
    plain = settings_from_mapping({"storage": {"database": settings.database}})
    desk = Desk.from_settings(plain, bot.store)
    queue.add_agent(bot.store, clock(), "dewi", "supervisor", generate_password_hash("rahasia-dewi"))
    convo.say("saya mau eskalasi ke supervisor")
    ref = convo.last.ticket_ref
    desk.claim(later(clock, days=3), ref, "dewi")
    with pytest.raises(QueueError) as err:
        desk.resolve(clock(), ref, "dewi", note="Hasil: disetujui.")
    assert "cannot reach" in str(err.value)
    assert bot.store.ticket(ref).status == "claimed"


def test_sla_view_pauses_outside_hours_and_marks_at_risk_and_late(bot, desk, clock):
    clock.set("2026-11-24T20:50:00+07:00")  # Tuesday, 10 minutes before closing
    c = Conversation(bot, clock, customer="+6281111111111")
    c.say("stok kemeja putih ukuran L masih ada?")
    t = bot.store.ticket(c.last.ticket_ref)
    # 15 minutes of opening time: 10 tonight, 5 tomorrow from 08:00.
    assert t.due_at == datetime(2026, 11, 25, 8, 5, tzinfo=WIB)
    v = sla_view(t, datetime(2026, 11, 24, 20, 52, tzinfo=WIB), desk.calendar)
    assert (v.phase, v.state, v.paused) == ("first_response", "ok", False) and v.remaining == timedelta(minutes=13)
    v = sla_view(t, datetime(2026, 11, 25, 3, 0, tzinfo=WIB), desk.calendar)
    assert v.paused and v.remaining == timedelta(minutes=5) and v.state == "at_risk" and "dijeda" in v.label
    v = sla_view(t, datetime(2026, 11, 25, 8, 20, tzinfo=WIB), desk.calendar)
    assert v.state == "late" and v.remaining == -timedelta(minutes=15) and "terlambat 15 mnt" in v.label


def test_queue_sorts_by_the_next_deadline(bot, desk, clock):
    a = Conversation(bot, clock, customer="+6281111111112")
    a.say("mau retur, barang rusak")  # complex: 2 working days
    b = Conversation(bot, clock, customer="+6281111111113")
    b.say("status pesanan saya gimana")  # 15 minutes
    refs = [t.ref for t in bot.store.tickets(status="open")]
    assert refs == [b.last.ticket_ref, a.last.ticket_ref]


def test_forget_removes_what_agents_sent_too(bot, desk, convo, clock):
    convo.say("akun saya tidak bisa login, email saya budi.s@example.com")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.reply(clock(), ref, "sari", "Halo Kak, kami bantu.")
    later(clock, hours=25)
    desk.email_customer(clock(), ref, "sari", "Halo Kak, lewat email ya.", "budi.s@example.com")
    conv_id = bot.store.ticket(ref).conversation_id
    with bot.store.write(clock()) as tx:
        tx.conn.execute("INSERT INTO presence (conversation_id, agent, seen_at) VALUES (?, 'sari', ?)",
                        (conv_id, tx.now))
    counts = bot.store.forget(convo.customer, clock())
    assert counts["conversations"] == 1 and counts["outbox"] == 2 and counts["presence"] == 1
    conn = bot.store.conn
    for table in ("messages", "tickets", "outbox", "email_outbound", "presence"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    left = " ".join(str(tuple(r)) for r in conn.execute("SELECT * FROM events"))
    assert convo.customer not in left and "budi.s@example.com" not in left and ref not in left


def test_long_whatsapp_reply_is_split_and_a_double_submit_sends_once(bot, desk, convo, clock):
    convo.say("stok kemeja putih ukuran L masih ada?")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    long = "\n\n".join(f"Paragraf {i}: " + "kemeja putih tersedia dalam ukuran S sampai XL. " * 12 for i in range(5))
    assert len(long) > 1600
    first = desk.reply(clock(), ref, "sari", long)
    parts = [r for r in outbox(bot) if r["kind"] == "text" and r["body"].startswith("Paragraf")]
    assert len(parts) >= 2 and all(len(p["body"]) <= 1600 for p in parts) and parts[0]["id"] == first
    assert "".join("".join(p["body"].split()) for p in parts) == "".join(long.split())  # nothing lost
    # The same text again within a minute (a double click): nothing new is queued.
    before = len(outbox(bot))
    assert desk.reply(later(clock, seconds=5), ref, "sari", long) == first
    assert len(outbox(bot)) == before
    # Later, the same words are a new message.
    desk.reply(later(clock, minutes=2), ref, "sari", long)
    assert len(outbox(bot)) > before


def test_escalation_note_is_checked_like_a_message(bot, desk, convo, clock):
    convo.say("saya mau eskalasi ke supervisor")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "dewi")
    with pytest.raises(QueueError) as err:
        desk.resolve(clock(), ref, "dewi", note="x" * 4001)
    assert "too long" in str(err.value) and bot.store.ticket(ref).status == "claimed"


def test_a_customer_message_after_the_first_answer_starts_the_next_reply_timer(bot, desk, convo, clock):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.reply(later(clock, minutes=3), ref, "sari", "Halo Kak, saya cek dulu ya.")
    t = bot.store.ticket(ref)
    assert t.reply_due is None and t.due_at == t.resolution_due
    assert sla_view(t, clock(), desk.calendar).phase == "resolution"
    convo.say("makasih kak")  # owes no answer
    assert bot.store.ticket(ref).reply_due is None
    asked = later(clock, minutes=20)
    convo.say("kak sudah dicek belum? kapan sampai?")
    t = bot.store.ticket(ref)
    assert t.reply_since == asked and t.reply_due == asked + timedelta(minutes=15) == t.due_at
    v = sla_view(t, later(clock, minutes=14), desk.calendar)
    assert (v.phase, v.state) == ("next_reply", "at_risk") and v.label.startswith("Balasan berikutnya: sisa 1 mnt")
    convo.say("halo??")  # still the first unanswered message that counts
    assert bot.store.ticket(ref).reply_since == asked
    assert sla_view(bot.store.ticket(ref), later(clock, minutes=5), desk.calendar).state == "late"
    desk.reply(clock(), ref, "sari", "Maaf menunggu Kak, paket tiba besok.")
    t = bot.store.ticket(ref)
    assert t.reply_due is None and t.due_at == t.resolution_due and t.first_response_at < asked
    # The queue sorts the waiting customer first.
    other = Conversation(bot, clock, customer="+6281111111199")
    other.say("mau retur barang rusak")  # complex: due in 2 working days
    convo.say("oke, tapi bisa lebih cepat?")
    refs = [x.ref for x in bot.store.tickets(status="claimed")] + [x.ref for x in bot.store.tickets(status="open")]
    assert refs[0] == ref


def test_cli_resolve_emails_the_result_only_with_email_to(tmp_path):
    """`queue resolve` never picks a typed address by itself; `--email-to` is the agent's pick."""
    import json
    import sqlite3

    from tests.test_cli import run

    env = {"YESSINDO_DATABASE": str(tmp_path / "q.db")}
    assert run(["agent", "add", "dewi", "--role", "supervisor", "--password-stdin"], stdin="rahasia-dewi\n",
               env=env).returncode == 0
    three_days_ago = (datetime.now(WIB) - timedelta(days=3)).isoformat(timespec="seconds")  # window closed
    run(["chat", "--from", "+6281255550000", "--at", three_days_ago],
        stdin="saya mau eskalasi ke supervisor, email saya scam@evil.example\n", env=env)
    [t] = json.loads(run(["queue", "list", "--json"], env=env).stdout)
    assert t["priority"] == "escalation"
    assert run(["queue", "claim", t["ref"], "--agent", "dewi"], env=env).returncode == 0
    p = run(["queue", "resolve", t["ref"], "--agent", "dewi", "--note", "Hasil: disetujui."], env=env)
    assert p.returncode == 1 and "scam@evil.example" in p.stderr.decode()  # offered, not used
    conn = sqlite3.connect(env["YESSINDO_DATABASE"])
    assert conn.execute("SELECT count(*) FROM outbox WHERE channel = 'email'").fetchone()[0] == 0
    p = run(["queue", "resolve", t["ref"], "--agent", "dewi", "--note", "Hasil: disetujui.",
             "--email-to", "scam@evil.example"], env=env)
    assert p.returncode == 0, p.stderr.decode()
    assert conn.execute("SELECT customer, body FROM outbox WHERE channel = 'email'").fetchall() == [
        ("scam@evil.example", "Hasil: disetujui.")]
