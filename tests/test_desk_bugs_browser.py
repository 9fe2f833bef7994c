"""Issue 12 bugs in a real browser (Debian's Chromium, Playwright) against `yessindo-bot serve`:
an email with an attachment that arrives while the ticket page is open gets its working
/console/files link, and the SLA lines follow the ticket without a reload."""
from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import WAIT_MS, login

WIB = ZoneInfo("Asia/Jakarta")
PDF = b"%PDF-1.4\n% bukti transfer\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def email_in(server, matcher, text: str, n: int, subject: str, attachments=()):  # type: ignore[no-untyped-def]
    """A customer's email through the real pipeline, written to the live server's database."""
    from bot.business_hours import BusinessCalendar
    from bot.config import settings_from_mapping
    from bot.knowledge import load_knowledge
    from bot.models import Message
    from bot.pipeline import Bot
    from handoff.store import Store

    settings = settings_from_mapping({"storage": {"database": str(server.database)}})
    store = Store(settings.database)
    try:
        bot = Bot(load_knowledge(settings.knowledge_dir), matcher, BusinessCalendar(settings.hours), store)
        return bot.handle(Message(channel="email", customer="rina@example.com", text=text, subject=subject,
                                  external_id=f"<m{n}@example.com>", received_at=datetime.now(WIB),
                                  attachments=tuple(attachments)))
    finally:
        store.close()


def test_email_attachment_arriving_while_the_ticket_is_open_gets_a_working_link(live_server, new_page, matcher):
    from bot.models import Attachment

    password = live_server.add_agent("sari")
    first = email_in(live_server, matcher, "Halo, paket saya belum sampai. Pesanan INV-20261120-0001.", 1,
                     "Paket belum sampai")
    ref = first.ticket_ref
    assert ref
    page = new_page(base_url=live_server.url)
    login(page, "sari", password)
    page.goto(f"/console/t/{ref}")
    expect(page.locator("#transcript .msg-in")).to_have_count(1)
    expect(page.locator("#sla-first")).to_contain_text("batas")

    email_in(live_server, matcher, "Ini bukti transfernya, Kak.", 2, f"Re: Paket belum sampai [{ref}]",
             [Attachment(content_type="application/pdf", filename="bukti.pdf", size=len(PDF), data=PDF)])
    link = page.locator("#transcript .msg-in .attachments a", has_text="bukti.pdf")
    expect(link).to_have_count(1, timeout=WAIT_MS)  # appended by console.js, no reload
    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/console/files/\d+", href)
    # the very href the server renders for the same message after a reload
    resp = page.request.get(live_server.url + href)
    assert resp.status == 200 and resp.body() == PDF
    page.reload()
    expect(page.locator("#transcript .msg-in .attachments a", has_text="bukti.pdf")).to_have_attribute("href", href)

    # The first-response promise is broken meanwhile: the open page says so without a reload.
    past = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(timespec="seconds")
    with sqlite3.connect(live_server.database) as db:
        db.execute("UPDATE tickets SET first_response_due = ?, due_at = ?, created_at = ? WHERE ref = ?",
                   (past, past, (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat(timespec="seconds"), ref))
    expect(page.locator("#sla-first")).to_have_class("sla-late", timeout=WAIT_MS)
    expect(page.locator("#sla-first")).to_contain_text("terlambat")

    # Answered, then the customer writes again: the next-reply line comes without a reload.
    expect(page.locator("#sla-next")).to_have_count(0)
    page.click("#claim")
    page.fill("#reply-text", "Halo Kak Rina, bukti transfernya sudah kami terima dan kami cek.")
    page.click("#reply-send")
    expect(page.locator("#sla-first")).to_contain_text("dijawab", timeout=WAIT_MS)
    email_in(live_server, matcher, "Baik, kapan dananya kembali?", 3, f"Re: Paket belum sampai [{ref}]")
    expect(page.locator("#sla-next")).to_contain_text("pelanggan menunggu sejak", timeout=WAIT_MS)
    expect(page.locator("dt", has_text="Balasan berikutnya")).to_have_count(1)
    # the order stays: first response, next reply, resolution
    ids = page.eval_on_selector_all("dl.facts dd[id^=sla-]", "nodes => nodes.map(n => n.id)")
    assert ids == ["sla-first", "sla-next", "sla-resolution"]


def test_resolving_a_ticket_nobody_answered_needs_the_tick_and_asks_no_rating(live_server, new_page):
    from tests.test_console_browser import sent_bodies, tickets, wait_for

    password = live_server.add_agent("sari")
    answer = live_server.send_whatsapp("+6281234500009", "kak paket saya belum sampai")
    assert answer.status == 200
    page = new_page(base_url=live_server.url)
    login(page, "sari", password)
    page.goto("/console/t/YS-000001")
    page.click("#claim")
    expect(page.locator("#resolve-confirm")).to_be_visible()
    page.click("#resolve")  # not ticked: the browser does not submit
    expect(page.locator("#resolve-confirm")).to_be_visible()
    assert tickets(live_server, "claimed")[0]["ref"] == "YS-000001"
    page.check("#resolve-confirm")
    page.click("#resolve")
    expect(page.locator(".flash").first).to_contain_text("YS-000001 selesai")
    [t] = wait_for(lambda: tickets(live_server, "resolved"), "the ticket resolved")
    assert t["first_response_at"] is None
    expect(page.locator("#sla-first")).to_contain_text("Tidak dijawab")
    with sqlite3.connect(live_server.database) as db:  # no rating question queued, none pending
        assert db.execute("SELECT count(*) FROM outbox WHERE body LIKE '%Balas 1-5%'").fetchone()[0] == 0
        assert db.execute("SELECT csat_ticket FROM conversations").fetchall() == [(None,)]
    assert not any("Balas 1-5" in b for b in sent_bodies(live_server))
