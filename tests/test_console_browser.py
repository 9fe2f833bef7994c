"""The agent console in a real browser (Debian's Chromium through Playwright) against a
real `yessindo-bot serve` with a fake Twilio behind the real twilio client.

Each test reads as what people do: a customer writes on WhatsApp (a signed webhook), an
agent logs in, sees the ticket arrive without reloading, takes the conversation over,
answers (the fake Twilio receives it), and resolves it.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)

CUSTOMER = "+6281234500001"
WAIT_MS = 15_000


def login(page: Any, name: str, password: str) -> None:
    page.goto("/console/login")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.locator("#queue")).to_be_visible()


def wait_for(predicate: Callable[[], Any], what: str, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sent_bodies(server: Any) -> list[str]:
    return [r.form.get("Body", "") for r in server.twilio.creates()]


def tickets(server: Any, status: str) -> list[dict[str, Any]]:
    done = server.cli("queue", "list", "--json", "--status", status)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_agent_sees_the_ticket_arrive_takes_over_answers_and_resolves(live_server, new_page):
    password = live_server.add_agent("sari")
    page = new_page(base_url=live_server.url)
    login(page, "sari", password)
    expect(page.locator('#queue tr[data-ref="YS-000001"]')).to_have_count(0)

    answer = live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai, pesanan INV-20261120-0001")
    assert answer.status == 200 and "YS-000001" in " ".join(answer.messages)
    row = page.locator('#queue tr[data-ref="YS-000001"]')
    expect(row).to_be_visible(timeout=WAIT_MS)  # no reload: the queue polls
    expect(page).to_have_title(re.compile(r"^\(1\) "))  # the tab counts the tickets waiting

    page.goto("/console/t/YS-000001")
    expect(page.locator("#transcript .msg-in").first).to_contain_text("belum sampai")
    page.click("#claim")
    expect(page.locator("#holder")).to_contain_text("sari")

    # The customer writes while a person holds the conversation: the bot says nothing,
    # and the message shows up in the open console page without a reload.
    answer = live_server.send_whatsapp(CUSTOMER, "halo? masih ada orang?")
    assert answer.status == 200 and answer.messages == []
    expect(page.locator("#transcript .msg-in").last).to_contain_text("masih ada orang", timeout=WAIT_MS)

    reply = "Halo Kak, saya Sari. Paket Kakak sedang di kurir dan tiba besok."
    page.fill("#reply-text", reply)
    page.click("#reply-send")
    wait_for(lambda: reply in sent_bodies(live_server), "the reply at the fake Twilio")
    [create] = [r for r in live_server.twilio.creates() if r.form.get("Body") == reply]
    assert create.form["To"] == f"whatsapp:{CUSTOMER}"

    # Twilio reports delivery; the console shows it on that message without a reload.
    live_server.post_twilio("/webhooks/whatsapp/status", {
        "MessageSid": create.sid, "MessageStatus": "delivered", "AccountSid": live_server.twilio.account_sid,
        "To": f"whatsapp:{CUSTOMER}", "From": "whatsapp:+6282129666065"})
    out = page.locator("#transcript .msg-out", has_text="Paket Kakak sedang di kurir")
    expect(out.locator(".delivery")).to_contain_text("Diterima", timeout=WAIT_MS)

    page.click("#resolve")
    expect(page.locator(".flash").first).to_be_visible()
    [t] = wait_for(lambda: tickets(live_server, "resolved"), "the ticket resolved")
    assert t["ref"] == "YS-000001" and t["first_response_at"] is not None
    # One satisfaction question follows the resolve, on WhatsApp.
    wait_for(lambda: any("YS-000001" in b and "1" in b and "5" in b for b in sent_bodies(live_server)[1:]),
             "the satisfaction question")
    answer = live_server.send_whatsapp(CUSTOMER, "5")
    assert answer.status == 200 and answer.messages
    assert tickets(live_server, "resolved")[0]["csat"] == 5
    assert len(tickets(live_server, "open")) == 0  # the rating opened no new ticket


def test_second_agent_is_refused_the_claim_and_sees_who_holds_it(live_server, new_page):
    sari_pw = live_server.add_agent("sari")
    budi_pw = live_server.add_agent("budi")
    live_server.send_whatsapp(CUSTOMER, "mau retur, barang yang datang rusak")
    sari = new_page(base_url=live_server.url)
    budi = new_page(base_url=live_server.url)
    login(sari, "sari", sari_pw)
    login(budi, "budi", budi_pw)
    budi.goto("/console/t/YS-000001")  # opened before sari claims: the button is still there
    sari.goto("/console/t/YS-000001")
    sari.click("#claim")
    expect(sari.locator("#holder")).to_contain_text("sari")

    budi.click("#claim")
    expect(budi.locator(".flash").first).to_contain_text("sari")
    expect(budi.locator("#holder")).to_contain_text("sari")
    assert tickets(live_server, "claimed")[0]["agent"] == "sari"
    # Both have the conversation open: each sees the other.
    expect(sari.locator("#viewers")).to_contain_text("budi", timeout=WAIT_MS)
    expect(budi.locator("#viewers")).to_contain_text("sari", timeout=WAIT_MS)


def test_customer_html_renders_as_inert_text(live_server, new_page):
    password = live_server.add_agent("sari")
    payload = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> mau refund kak'
    live_server.send_whatsapp("+6281234500002", payload, ProfileName='<img src=y onerror="window.__xss=3">')
    page = new_page(base_url=live_server.url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, "sari", password)
    expect(page.locator('#queue tr[data-ref="YS-000001"]')).to_be_visible(timeout=WAIT_MS)
    page.goto("/console/t/YS-000001")
    msg = page.locator("#transcript .msg-in").first
    expect(msg).to_contain_text("<script>window.__xss = 1</script>")
    expect(msg).to_contain_text('<img src=x onerror="window.__xss = 2">')
    assert page.locator("#transcript img[src=x]").count() == 0
    assert page.locator("#transcript script").count() == 0
    time.sleep(3.5)  # one polling round re-renders the transcript from JSON
    assert page.evaluate("window.__xss") is None and not dialogs


def test_double_click_on_reply_sends_once(live_server, new_page):
    password = live_server.add_agent("sari")
    live_server.send_whatsapp(CUSTOMER, "stok kemeja putih ukuran L masih ada?")
    page = new_page(base_url=live_server.url)
    login(page, "sari", password)
    page.goto("/console/t/YS-000001")
    page.click("#claim")
    page.fill("#reply-text", "Masih ada, Kak.")
    page.dblclick("#reply-send")
    expect(page.locator(".flash").first).to_be_visible()
    wait_for(lambda: "Masih ada, Kak." in sent_bodies(live_server), "the reply at the fake Twilio")
    time.sleep(2.5)  # the outbox thread has had time to send a second copy, were there one
    assert sent_bodies(live_server).count("Masih ada, Kak.") == 1
