"""Smoke tests of the browser-test infrastructure (tests/browser.py): Debian's Chromium
against a real `yessindo-bot serve`, the customer simulator at /try, and signed webhooks."""
from __future__ import annotations

import json
import re
import sqlite3

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)


def test_simulator_answers_in_the_browser(live_server, new_page):  # noqa: F811
    page = new_page(base_url=live_server.url)
    page.goto("/try")
    expect(page).to_have_title(re.compile("simulator WhatsApp"))
    customer = page.locator("#who").inner_text()
    assert re.fullmatch(r"\+62000\d{7}", customer)

    page.fill("#text", "halo kak, paket saya belum sampai")
    page.click("button[type=submit]")

    expect(page.locator(".msg.in")).to_have_text("halo kak, paket saya belum sampai")
    answer = page.locator(".msg.out").last
    expect(answer).to_contain_text("nomor pesanan")  # the order-status answer, not the menu or a fallback
    expect(answer).to_contain_text("intent: order_status")
    expect(answer).to_contain_text("tiket: YS-000001")
    assert page.locator(".msg.out").count() == 1
    assert page.locator("#text").input_value() == ""

    # The page went through the real pipeline: recorded under the simulated customer, ticket open.
    with sqlite3.connect(live_server.database) as db:
        rows = db.execute("SELECT direction, text FROM messages WHERE customer = ? ORDER BY id", (customer,)).fetchall()
    assert rows[0] == ("in", "halo kak, paket saya belum sampai")
    assert [d for d, _ in rows] == ["in", "out"]
    listed = live_server.cli("queue", "list", "--json", "--status", "open")
    assert listed.returncode == 0, listed.stderr
    [ticket] = json.loads(listed.stdout)
    assert (ticket["ref"], ticket["intent"], ticket["channel"]) == ("YS-000001", "order_status", "whatsapp")


def test_two_contexts_are_two_customers(live_server, new_page):  # noqa: F811
    """Each new_page is its own browser context: its own sessionStorage, so its own customer."""
    first, second = new_page(base_url=live_server.url), new_page(base_url=live_server.url)
    first.goto("/try")
    second.goto("/try")
    a, b = first.locator("#who").inner_text(), second.locator("#who").inner_text()
    assert a != b
    first.reload()
    assert first.locator("#who").inner_text() == a  # kept for the tab's session


def test_signed_webhook_is_answered_and_forged_one_refused(live_server):  # noqa: F811
    answer = live_server.send_whatsapp("+6281234567890", "halo kak, paket saya belum sampai", ProfileName="Budi")
    assert answer.status == 200, answer.body
    [text] = answer.messages
    assert "nomor pesanan" in text and "YS-000001" in text

    forged = live_server.send_whatsapp("+6281234567891", "halo", signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status == 403
    with sqlite3.connect(live_server.database) as db:
        customers = [r[0] for r in db.execute("SELECT DISTINCT customer FROM messages")]
    assert customers == ["+6281234567890"]  # nothing of the forged request was stored
