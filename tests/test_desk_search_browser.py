"""Search and the customer panel in a real browser (Debian's Chromium through Playwright)
against a real `yessindo-bot serve`: an agent finds a customer's ticket by the number
written as 0812..., opens it, and goes on to the customer's whole history."""
from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import login

CUSTOMER = "+6281234500001"
TYPED = "0812-3450-0001"  # the same number as an agent writes it
WAIT_MS = 15_000


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_search_finds_a_ticket_by_phone_written_as_0812(live_server, new_page):
    password = live_server.add_agent("sari")
    other = live_server.send_whatsapp("+6285700001111", "kak barang saya rusak, minta refund")
    assert other.status == 200
    answer = live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai, pesanan INV-20261120-0001")
    assert answer.status == 200 and "YS-000002" in " ".join(answer.messages)
    page = new_page(base_url=live_server.url, viewport={"width": 1366, "height": 800})
    login(page, "sari", password)

    page.fill("#search", TYPED)
    page.press("#search", "Enter")
    results = page.locator("#results .result")
    expect(results.first).to_have_attribute("data-ref", "YS-000002", timeout=WAIT_MS)
    expect(results).to_have_count(1)
    expect(page.locator("#search")).to_have_value(TYPED)
    expect(results.first.locator(".snippet mark")).to_have_count(1)
    assert no_sideways_scroll(page)

    results.first.locator(".ref a").click()
    expect(page.locator("#ticket")).to_have_attribute("data-ref", "YS-000002")
    expect(page.locator("#customer-box")).to_be_visible()
    page.click("#customer-link")
    expect(page.locator("#customer-panel")).to_have_attribute("data-customer", CUSTOMER)
    expect(page.locator('#customer-tickets tr[data-ref="YS-000002"]')).to_be_visible()
    expect(page.locator('#customer-tickets tr[data-ref="YS-000001"]')).to_have_count(0)

    # the same person also wrote by email: the agent links the address, the histories join
    page.fill("#link-to", "budi@contoh.example")
    page.click("#link")
    expect(page.locator('.identity[data-customer="budi@contoh.example"]')).to_be_visible()
    expect(page.locator(".flash-ok")).to_contain_text("Ditautkan")


def test_search_and_panel_fit_a_phone_screen(live_server, new_page):
    password = live_server.add_agent("sari")
    assert live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai, pesanan INV-20261120-0001").status == 200
    page = new_page(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    login(page, "sari", password)
    page.goto("/console/search?q=" + TYPED)
    expect(page.locator('#results .result[data-ref="YS-000001"]')).to_be_visible()
    assert no_sideways_scroll(page)
    page.goto(f"/console/customer?id=%2B{CUSTOMER[1:]}")
    expect(page.locator('#customer-tickets tr[data-ref="YS-000001"]')).to_be_visible()
    assert no_sideways_scroll(page)
