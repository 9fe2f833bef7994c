"""The console bugs of issue 12 ("Bugs to fix"), each pinned by a test that fails without
its fix: event labels and the ratings filter, resolving with no reply, escalating before
any answer, the same reply sent twice, the escalation's written result (queued, not sent),
the SLA lines in the ticket JSON, the customer after a release, and a bare "2" after the
satisfaction question. (The attachment link in the open ticket page: test_desk_bugs_browser.py.)"""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.desk import QueueError
from bot.web.console_format import EVENT_LABELS
from tests.conftest import WIB
from tests.test_console import Console, flashes, post, ticket_row
from tests.test_desk import desk, later, outbox, settings  # noqa: F401  (pytest fixtures)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


# -- 1. every event kind has an Indonesian label; the ratings filter matches -------------------
_KIND = r'"([a-z_]+\.[a-z_.]+)"'
_LOGGED = (re.compile(r"log_event\(\s*" + _KIND),  # tx.log_event("ticket.claimed", ...)
           re.compile(r"events\.append\(\(\s*" + _KIND),  # a plan's events (bot/dialogue), logged by the pipeline
           re.compile(r"_person_sends\([^)]*?" + _KIND))  # bot/desk.py: the kind is an argument


def logged_kinds() -> dict[str, str]:
    """Every literal event kind the code logs, with the file that logs it."""
    found: dict[str, str] = {}
    for folder in ("bot", "handoff"):
        for path in sorted((REPO / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for pattern in _LOGGED:
                for kind in pattern.findall(text):
                    found.setdefault(kind, str(path.relative_to(REPO)))
    return found


def test_every_event_kind_the_code_logs_has_an_indonesian_label():
    kinds = logged_kinds()
    # the scan itself works: kinds from each way of logging are found
    assert {"ticket.claimed", "csat.recorded", "feedback.recorded", "agent.replied", "secret.masked"} <= set(kinds)
    missing = {k: where for k, where in kinds.items() if k not in EVENT_LABELS}
    assert not missing, f"event kinds with no label in bot/web/console_format.py EVENT_LABELS: {missing}"
    for kind, label in EVENT_LABELS.items():
        assert label and label != kind and "." not in label.split()[0], (kind, label)


def rated_ticket(console) -> str:
    ref = console.customer("paket saya belum sampai")
    sari = console.client("sari")
    post(sari, f"/console/t/{ref}/claim")
    post(sari, f"/console/t/{ref}/reply", text="Halo Kak, paketnya sudah kami cek.")
    post(sari, f"/console/t/{ref}/resolve")
    console.customer("4")
    return ref


def test_events_filter_for_ratings_matches_and_rows_show_labels_not_keys(console):
    ref = rated_ticket(console)
    assert [e["kind"] for e in console.store.events("csat.recorded")] == ["csat.recorded"]
    dewi = console.client("dewi")
    page = dewi.get("/console/events").text
    assert '<option value="csat.recorded">Pelanggan menilai layanan</option>' in page
    assert 'value="csat.answered"' not in page  # never logged: the filter offered a kind that never matched
    # every row's "Apa" cell is an Indonesian label, never the raw key
    rows = re.findall(r'<tr data-kind="([^"]+)"><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>', page)
    assert rows and all(label != kind and label for kind, label in rows), rows
    assert ("csat.recorded", "Pelanggan menilai layanan") in rows and ("agent.added", "Petugas ditambahkan") in rows
    filtered = dewi.get("/console/events?kind=csat.recorded").text
    rows = re.findall(r'<tr data-kind="([^"]+)">', filtered)
    assert rows == ["csat.recorded"] and ref in filtered and "nilai: 4" in filtered
    # an older database's csat.answered rows are found by the same filter, labelled the same
    with console.store.write(console.clock()) as tx:
        tx.log_event("csat.answered", "customer", ticket_ref=ref, data={"score": 5})
    filtered = dewi.get("/console/events?kind=csat.recorded").text
    assert re.findall(r'<tr data-kind="([^"]+)">', filtered) == ["csat.answered", "csat.recorded"]
    assert "csat.answered</td>" not in filtered


# -- 2. resolving with no human reply ----------------------------------------------------------
def test_resolve_with_no_reply_needs_confirmation_then_no_csat_and_no_first_response(bot, desk, convo, clock):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    desk.claim(later(clock, minutes=1), ref, "sari")
    sent_before = len(outbox(bot))
    with pytest.raises(QueueError) as err:
        desk.resolve(later(clock, minutes=2), ref, "sari")
    assert "--no-reply" in str(err.value) and "Selesaikan tanpa membalas pelanggan" in err.value.indonesian
    assert bot.store.ticket(ref).status == "claimed"
    t = desk.resolve(clock(), ref, "sari", no_reply=True)
    assert t.status == "resolved" and t.first_response_at is None  # the first response is not "met"
    assert len(outbox(bot)) == sent_before  # no satisfaction question: nobody helped
    conv = bot.store.conversation(t.conversation_id)
    assert conv.csat_ticket is None and conv.csat_asked_at is None
    assert bot.store.events("ticket.first_response") == [] and bot.store.events("csat.asked") == []
    [ev] = bot.store.events("ticket.resolved")
    assert json.loads(ev["data"])["no_reply"] is True
    # The customer's "5" afterwards is no rating of that ticket.
    convo.say("5")
    assert bot.store.ticket(ref).csat is None


def test_resolve_after_a_reply_needs_no_confirmation_and_asks_the_rating(bot, desk, convo, clock):
    convo.say("paket saya belum sampai")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.reply(later(clock, minutes=1), ref, "sari", "Sudah kami cek, paket di kurir.")
    t = desk.resolve(later(clock, minutes=1), ref, "sari", no_reply=True)  # the flag changes nothing here
    assert t.first_response_at is not None and bot.store.conversation(t.conversation_id).csat_ticket == ref
    [ev] = bot.store.events("ticket.first_response")
    assert json.loads(ev["data"])["within_promise"] is True


def test_console_resolve_asks_to_tick_the_confirmation_when_nobody_replied(console):
    ref = console.customer("paket saya belum sampai")
    sari = console.client("sari")
    post(sari, f"/console/t/{ref}/claim")
    page = sari.get(f"/console/t/{ref}").text
    assert re.search(r'<input id="resolve-confirm" type="checkbox" name="no_reply" value="1" required>', page)
    assert "Selesaikan tanpa membalas pelanggan" in page
    resp = post(sari, f"/console/t/{ref}/resolve", note="")
    view = sari.get(resp.headers["Location"]).text
    assert ticket_row(console, ref)[0] == "claimed"
    assert any("Belum ada balasan petugas" in f for f in flashes(view))
    post(sari, f"/console/t/{ref}/resolve", note="spam", no_reply="1")
    assert ticket_row(console, ref)[0] == "resolved"
    page = sari.get(f"/console/t/{ref}").text
    assert "tanpa balasan ke pelanggan: ya" in page  # the history says how it was closed
    assert re.search(r'id="sla-first" class="sla-skipped">[^<]*Tidak dijawab', page)
    # once someone has replied, no confirmation is asked
    other = console.customer("status pesanan INV-20261101-0002", customer="+6281299999999")
    post(sari, f"/console/t/{other}/claim")
    post(sari, f"/console/t/{other}/reply", text="Halo Kak, kami cek.")
    assert 'id="resolve-confirm"' not in sari.get(f"/console/t/{other}").text


def test_cli_queue_resolve_refuses_without_no_reply(tmp_path):
    from tests.test_queue_cli import run, ticket

    env = {"YESSINDO_DATABASE": str(tmp_path / "q.db")}
    assert run(["agent", "add", "sari", "--role", "agent", "--password-stdin"], stdin="rahasia-sari\n",
               env=env).returncode == 0
    ref = ticket(env, "paket saya belum sampai")
    assert run(["queue", "claim", ref, "--agent", "sari"], env=env).returncode == 0
    p = run(["queue", "resolve", ref, "--agent", "sari"], env=env)
    assert p.returncode == 1 and p.stderr.decode().startswith("yessindo-bot: queue resolve: nobody has replied")
    assert "--no-reply" in p.stderr.decode()
    p = run(["queue", "resolve", ref, "--agent", "sari", "--no-reply"], env=env)
    assert p.returncode == 0 and f"{ref} resolved" in p.stdout.decode()


# -- 3. escalating before any human answer -----------------------------------------------------
def test_escalate_before_any_answer_keeps_the_first_response_due(bot, desk, convo, clock):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    before = bot.store.ticket(ref)
    assert before.first_response_due is not None and before.first_response_due.date() == clock().date()
    desk.claim(later(clock, minutes=2), ref, "sari")
    t = desk.escalate(later(clock, minutes=1), ref, "sari", "pelanggan minta kompensasi")
    assert t.first_response_due == before.first_response_due  # still today: the customer waits for an answer
    assert t.due_at == before.first_response_due  # the next deadline is that first answer
    assert t.resolution_due == desk.calendar.add_working_days(clock(), 2)
    # Answered: the queue then sorts it by the review time.
    desk.claim(clock(), ref, "dewi")
    desk.reply(later(clock, minutes=1), ref, "dewi", "Halo Kak, saya supervisor, sedang kami tinjau.")
    t = bot.store.ticket(ref)
    assert t.first_response_at == clock() and t.due_at == t.resolution_due


def test_escalate_after_an_answer_moves_only_the_resolution(bot, desk, convo, clock):
    convo.say("paket saya belum sampai")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.reply(later(clock, minutes=1), ref, "sari", "Kami cek dulu ya, Kak.")
    answered = bot.store.ticket(ref)
    t = desk.escalate(later(clock, minutes=5), ref, "sari", "perlu keputusan supervisor")
    assert t.first_response_due == answered.first_response_due and t.first_response_at == answered.first_response_at
    assert t.due_at == t.resolution_due == desk.calendar.add_working_days(clock(), 2)


# -- 4. the same reply twice within a minute ---------------------------------------------------
def test_same_reply_twice_says_it_was_already_sent(bot, desk, convo, clock):
    convo.say("paket saya belum sampai")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    first = desk.reply(clock(), ref, "sari", "Halo Kak, kami cek.")
    again = desk.reply(later(clock, seconds=20), ref, "sari", "Halo Kak, kami cek.")
    assert first.repeat is False and again.repeat is True and int(again) == int(first)
    assert [r["body"] for r in outbox(bot)].count("Halo Kak, kami cek.") == 1


def test_console_and_cli_say_the_repeat_was_already_sent(console, tmp_path):
    ref = console.customer("paket saya belum sampai")
    sari = console.client("sari")
    post(sari, f"/console/t/{ref}/claim")
    first = sari.get(post(sari, f"/console/t/{ref}/reply", text="Halo Kak.").headers["Location"]).text
    assert "Balasan masuk antrean kirim." in flashes(first)
    again = sari.get(post(sari, f"/console/t/{ref}/reply", text="Halo Kak.").headers["Location"]).text
    assert any("sudah dikirim barusan" in f for f in flashes(again))
    assert "Balasan masuk antrean kirim." not in flashes(again)

    from tests.test_queue_cli import run, ticket

    env = {"YESSINDO_DATABASE": str(tmp_path / "q.db")}
    assert run(["agent", "add", "sari", "--role", "agent", "--password-stdin"], stdin="rahasia-sari\n",
               env=env).returncode == 0
    ref = ticket(env, "paket saya belum sampai")
    run(["queue", "claim", ref, "--agent", "sari"], env=env)
    p = run(["queue", "reply", ref, "--agent", "sari", "--text", "Halo Kak."], env=env)
    assert p.returncode == 0 and "queued (outbox" in p.stdout.decode()
    p = run(["queue", "reply", ref, "--agent", "sari", "--text", "Halo Kak."], env=env)
    assert p.returncode == 0 and "already sent" in p.stdout.decode() and "nothing new was queued" in p.stdout.decode()


# -- 5. the escalation's written result is queued, not sent ------------------------------------
def test_written_result_is_logged_as_queued_with_its_outbox_id(bot, desk, convo, clock):
    convo.say("barang yang datang salah warna, saya mau tukar")
    ref = convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    desk.escalate(later(clock, minutes=1), ref, "sari", "kompensasi")
    desk.claim(clock(), ref, "dewi")
    desk.resolve(later(clock, minutes=5), ref, "dewi", note="Hasil: kami kirim ulang barangnya.")
    assert bot.store.events("escalation.result_sent") == []
    [ev] = bot.store.events("escalation.result_queued")
    data = json.loads(ev["data"])
    [row] = [r for r in outbox(bot) if r["body"] == "Hasil: kami kirim ulang barangnya."]
    assert data["outbox_id"] == row["id"] and data["via"] == "whatsapp" and row["status"] != "sent"
    assert EVENT_LABELS["escalation.result_queued"] == "Hasil tertulis masuk antrean kirim"
    assert "dikirim" not in EVENT_LABELS["escalation.result_queued"].split()


# -- 6. the SLA lines in the ticket's JSON -----------------------------------------------------
def test_ticket_api_returns_the_promises_that_change_with_time(console, clock):
    ref = console.customer("paket saya belum sampai")
    sari = console.client("sari")
    page = sari.get(f"/console/t/{ref}").text
    data = sari.get(f"/console/api/t/{ref}").get_json()
    first = {p["id"]: p for p in data["promises"]}
    assert set(first) == {"sla-first", "sla-resolution"}
    for p in first.values():  # the same text the page rendered
        assert f'id="{p["id"]}" class="sla-{p["state"]}">{p["text"]}</dd>' in page
    assert first["sla-first"]["state"] in ("ok", "at_risk")
    clock.at = clock.at + timedelta(hours=1)  # the 15-minute promise is broken now
    later_ = {p["id"]: p for p in sari.get(f"/console/api/t/{ref}").get_json()["promises"]}
    assert later_["sla-first"]["state"] == "late" and later_["sla-first"]["text"] != first["sla-first"]["text"]
    assert "terlambat" in later_["sla-first"]["text"].lower()


def test_console_js_updates_the_promise_lines_on_each_poll():
    js = (REPO / "bot" / "web" / "static" / "console.js").read_text(encoding="utf-8")
    assert "data.promises" in js and 'node.className = "sla-" + p.state' in js and "node.textContent = p.text" in js


# -- 7. after a release the customer is still a person's case ---------------------------------
@pytest.mark.parametrize("text", ["help", "bantuan", "halo", "kak??"])
def test_after_a_release_the_next_message_gets_the_case_not_the_menu(bot, desk, convo, clock, text):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    desk.claim(later(clock, minutes=2), ref, "sari")
    desk.reply(later(clock, minutes=1), ref, "sari", "Halo Kak, saya cek dulu ya.")
    desk.release(later(clock, minutes=1), ref, "sari")
    answer = convo.say(text)
    assert "Silakan pilih topik" not in answer and "1. Produk" not in answer
    t = bot.store.ticket(ref)
    assert t.reply_since == clock() and t.reply_due is not None and t.due_at == t.reply_due  # the promise runs again
    when = t.reply_due.astimezone(WIB).strftime("%H.%M")
    assert ref in answer and when in answer  # the case, and when a person answers next


def test_explicit_menu_request_with_an_open_case_gets_the_menu_and_the_case(bot, desk, convo, clock):
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    desk.claim(later(clock, minutes=2), ref, "sari")
    desk.reply(later(clock, minutes=1), ref, "sari", "Halo Kak, saya cek dulu ya.")
    desk.release(later(clock, minutes=1), ref, "sari")
    answer = convo.say("menu")
    assert "Silakan pilih topik" in answer and ref in answer
    assert bot.store.ticket(ref).reply_due is not None


# -- 8. a bare digit after the satisfaction question -------------------------------------------
def resolved(bot, desk, convo, clock, *, menu_first: bool) -> str:
    if menu_first:
        assert "Silakan pilih topik" in convo.say("menu")
    convo.say("paket saya belum sampai, pesanan INV-20261101-0001")
    ref = convo.last.ticket_ref
    desk.claim(later(clock, minutes=1), ref, "sari")
    desk.reply(later(clock, minutes=1), ref, "sari", "Paket sudah sampai di kurir, Kak.")
    desk.resolve(later(clock, minutes=1), ref, "sari")
    later(clock, minutes=5)
    return ref


def test_rating_question_names_its_scale():
    from bot.config import DEFAULT_KNOWLEDGE_DIR
    from bot.knowledge import load_knowledge

    k = load_knowledge(DEFAULT_KNOWLEDGE_DIR)
    assert "Balas 1-5 untuk menilai" in k.texts["id"]["csat_question"] and "bukan pilihan menu" in k.texts["id"]["csat_question"]
    assert "Reply 1-5 to rate us" in k.texts["en"]["csat_question"]


def test_menu_then_rating_question_then_2_is_a_rating(bot, desk, convo, clock):
    ref = resolved(bot, desk, convo, clock, menu_first=True)
    assert bot.store.conversation(convo.last.conversation_id).menu_shown
    assert "Balas 1-5 untuk menilai" in outbox(bot)[-1]["body"]
    answer = convo.say("2")
    assert bot.store.ticket(ref).csat == 2 and "penilaian" in answer


def test_rating_question_then_menu_then_2_is_a_menu_pick(bot, desk, convo, clock):
    ref = resolved(bot, desk, convo, clock, menu_first=False)
    assert "Silakan pilih topik" in convo.say("menu")  # a menu after the question
    answer = convo.say("2")
    assert bot.store.ticket(ref).csat is None  # not a 2/5
    assert "penilaian" not in answer and convo.last.intent.intent == "order_status"


def test_bare_digit_after_a_later_bot_message_is_no_rating(bot, desk, convo, clock):
    """The question pending, but the bot wrote after it (a menu sent by another path): "2" is a pick."""
    ref = resolved(bot, desk, convo, clock, menu_first=True)
    conv = bot.store.conversation(convo.last.conversation_id)
    with bot.store.write(later(clock, minutes=1)) as tx:
        tx.add_message(conv, "out", "Silakan pilih topik ...", author="bot", at=clock())
        tx.update_conversation(conv.id, menu_shown=1)
    later(clock, minutes=1)
    convo.say("2")
    assert bot.store.ticket(ref).csat is None and convo.last.intent.intent == "order_status"
    assert bot.store.conversation(conv.id).csat_ticket is None  # the question lapsed


def test_same_email_twice_is_a_repeat_too(bot, desk, email_convo, clock):
    email_convo.say("Paket saya belum sampai, pesanan INV-20261101-0001", subject="Paket")
    ref = email_convo.last.ticket_ref
    desk.claim(clock(), ref, "sari")
    first = desk.email_customer(clock(), ref, "sari", "Halo Kak Budi, kami cek.", "budi@example.com")
    again = desk.email_customer(later(clock, seconds=30), ref, "sari", "Halo Kak Budi, kami cek.", "budi@example.com")
    assert (first.repeat, again.repeat) == (False, True) and int(first) == int(again)
    assert [r["body"] for r in outbox(bot)].count("Halo Kak Budi, kami cek.") == 1


def test_event_details_name_categories_and_priorities_as_the_console_does():
    from datetime import datetime, timezone

    from bot.web.console_format import Fmt, event_view
    from handoff.views import EventView
    from tests.conftest import WIB

    e = EventView(id=1, at=datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc), kind="ticket.created", actor="bot",
                  ticket_ref="YS-000001", data={"intent": "order_status", "priority": "complex"})
    details = event_view(e, Fmt(WIB, "WIB"))["details"]
    assert "kategori: Status pesanan" in details and "prioritas: Kompleks" in details
    assert "order_status" not in details
