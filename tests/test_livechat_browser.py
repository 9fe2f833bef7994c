"""The website live chat in Debian's Chromium against a real `serve`: a customer on the demo
shop page and an agent in the console, side by side in two browser contexts; a foreign
site that tries to embed the widget; the same loop through /try for WhatsApp."""
from __future__ import annotations

import http.server
import re
import sqlite3
import threading
import time
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.procs import free_port
from tests.test_console_browser import login, tickets, wait_for

WAIT_MS = 15_000
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def widget(page: Any) -> Any:
    return page.frame_locator('iframe[data-yessindo="frame"]')


def messages(frame: Any, author: str) -> Any:
    return frame.locator(f'[data-yessindo="message"][data-author="{author}"]')


def say(frame: Any, text: str) -> None:
    frame.locator('[data-yessindo="input"]').fill(text)
    frame.locator('[data-yessindo="send"]').click()


def stored(database: Any, text: str, direction: str = "%") -> int:
    """How many live-chat messages with this text the server's database holds."""
    conn = sqlite3.connect(str(database))
    try:
        return int(conn.execute("SELECT count(*) FROM messages WHERE channel = 'web' AND direction LIKE ? AND text = ?",
                                (direction, text)).fetchone()[0])
    finally:
        conn.close()


def test_customer_and_agent_side_by_side(live_server, new_page):
    password = live_server.add_agent("sari")
    customer = new_page(base_url=live_server.url)
    customer.goto("/livechat/demo")
    chat = widget(customer)
    chat.locator('[data-yessindo="launcher"]').click()
    expect(chat.locator('[data-yessindo="launcher"]')).to_have_attribute("aria-expanded", "true")
    say(chat, "halo kak")
    expect(messages(chat, "bot").first).to_be_visible(timeout=WAIT_MS)
    say(chat, XSS)  # a hostile message is only text, in the widget and in the console
    expect(messages(chat, "customer").last).to_have_text(re.compile(re.escape("<script>")), timeout=WAIT_MS)
    say(chat, "tolong sambungkan ke CS manusia, paket saya hilang")
    expect(messages(chat, "bot").last).to_contain_text("YS-000001", timeout=WAIT_MS)

    agent = new_page(base_url=live_server.url)
    login(agent, "sari", password)
    expect(agent.locator('#queue tr[data-ref="YS-000001"]')).to_be_visible(timeout=WAIT_MS)  # arrives live
    agent.goto("/console/t/YS-000001")
    expect(agent.locator("#channel")).to_have_text("Live chat")
    expect(agent.locator("#transcript")).to_contain_text("<script>")
    agent.click("#claim")
    expect(agent.locator("#holder")).to_contain_text("sari")

    # the agent types: the widget says so
    agent.locator("#reply-text").press_sequentially("Halo Kak")
    expect(chat.locator('[data-yessindo="typing"]')).to_be_visible(timeout=WAIT_MS)
    reply = "Halo Kak, saya Sari. Paket Kakak kami lacak sekarang. " + XSS
    agent.fill("#reply-text", reply)
    agent.click("#reply-send")
    wait_for(lambda: stored(live_server.database, reply, "out"), "the reply stored")
    stored_at = time.monotonic()
    expect(messages(chat, "agent").last).to_contain_text("saya Sari", timeout=WAIT_MS)
    took = time.monotonic() - stored_at
    assert took < 1.0, f"the agent's reply took {took:.2f} s to reach the widget"
    expect(messages(chat, "agent").last).to_contain_text("<script>")  # shown, never run
    assert customer.evaluate("() => window.__pwned") is None and agent.evaluate("() => window.__pwned") is None

    # a reload (or tomorrow's visit) shows the whole conversation
    customer.reload()
    chat = widget(customer)
    launcher = chat.locator('[data-yessindo="launcher"]')
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    expect(messages(chat, "agent")).to_have_count(1, timeout=WAIT_MS)
    assert messages(chat, "customer").count() == 3 and messages(chat, "bot").count() >= 2

    # resolved: the rating question appears in the widget and the answer is recorded
    agent.click("#resolve")
    expect(messages(chat, "bot").last).to_contain_text("YS-000001", timeout=WAIT_MS)
    expect(messages(chat, "bot").last).to_contain_text("5")
    say(chat, "5")
    expect(messages(chat, "bot").last).to_contain_text(re.compile(r"[Tt]erima kasih"), timeout=WAIT_MS)
    [t] = wait_for(lambda: tickets(live_server, "resolved"), "the ticket resolved")
    assert t["csat"] == 5 and not tickets(live_server, "open")


class _Foreign(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_foreign_site_can_neither_embed_the_chat_nor_call_its_api(live_server, new_page):
    _Foreign.page = f'<!doctype html><title>evil</title><script src="{live_server.url}/livechat/widget.js"></script>'.encode()
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Foreign)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = new_page(base_url=f"http://127.0.0.1:{port}", allow_js_errors=True)
        page.goto("/")
        expect(page.locator('iframe[data-yessindo="frame"]')).to_have_count(1)  # the script runs, but ...
        time.sleep(1.0)
        launcher = widget(page).locator('[data-yessindo="launcher"]')
        assert launcher.count() == 0  # ... the browser refuses to show our frame there (frame-ancestors)
        r = requests.post(live_server.url + "/livechat/api/session", json={},
                          headers={"Origin": f"http://127.0.0.1:{port}"}, timeout=10)
        assert r.status_code == 403
    finally:
        server.shutdown()


def test_the_same_loop_through_try_for_whatsapp(live_server, new_page):
    password = live_server.add_agent("sari")
    phone = new_page(base_url=live_server.url)
    phone.goto("/try")
    phone.fill("#text", "tolong sambungkan ke CS manusia, paket saya hilang")
    phone.click("#form button[type=submit]")
    expect(phone.locator("#log .out").last).to_contain_text("YS-000001", timeout=WAIT_MS)
    agent = new_page(base_url=live_server.url)
    login(agent, "sari", password)
    agent.goto("/console/t/YS-000001")
    agent.click("#claim")
    agent.fill("#reply-text", "Halo Kak, saya Sari dari tim CS. " + XSS)
    agent.click("#reply-send")
    expect(phone.locator("#log .agent").last).to_contain_text("saya Sari", timeout=WAIT_MS)
    expect(phone.locator("#log .agent").last).to_contain_text("<script>")
    agent.click("#resolve")
    expect(phone.locator("#log .out").last).to_contain_text("YS-000001", timeout=WAIT_MS)
    assert phone.evaluate("() => window.__pwned") is None


def test_try_shows_an_agent_reply_stored_before_its_first_poll_came_back(live_server, new_page):
    """/try's first poll only learns where the conversation stands; but a phone that has
    sent a message already knows (the answer says so), and a reply stored after that
    answer is new even if it is stored before any poll came back (seen in CI: an agent
    quick enough to answer within the first polls' 3 seconds was never shown)."""
    live_server.add_agent("sari")
    phone = new_page(base_url=live_server.url)
    held: list = []
    polls = re.compile(r"/try/updates\?")
    phone.route(polls, lambda route: held.append(route))  # every poll waits until the reply is stored
    phone.goto("/try")
    phone.fill("#text", "tolong sambungkan ke CS manusia, paket saya hilang")
    phone.click("#form button[type=submit]")
    expect(phone.locator("#log .out").last).to_contain_text("YS-000001", timeout=WAIT_MS)
    deadline = time.monotonic() + WAIT_MS / 1000
    while not held and time.monotonic() < deadline:
        phone.wait_for_timeout(50)  # (the route handler runs only while Playwright is called)
    assert held, "the page did not poll"
    assert live_server.cli("queue", "claim", "YS-000001", "--agent", "sari").returncode == 0
    assert live_server.cli("queue", "reply", "YS-000001", "--agent", "sari",
                           "--text", "Halo Kak, saya Sari, cepat sekali.").returncode == 0
    for route in held:
        route.continue_()
    phone.unroute(polls)  # later polls go straight through
    expect(phone.locator("#log .agent")).to_have_count(1, timeout=WAIT_MS)
    expect(phone.locator("#log .agent")).to_contain_text("saya Sari, cepat sekali")


def test_pretend_it_is_saturday_night_on_the_demo_page(live_server, new_page):
    page = new_page(base_url=live_server.url)
    page.goto("/livechat/demo")
    page.fill("#demo-clock-at", "2026-11-28T22:00")
    page.click("#demo-clock button[type=submit]")
    expect(page.locator("#demo-clock-now")).to_contain_text("Pura-pura: 2026-11-28 22:00", timeout=WAIT_MS)
    page.wait_for_timeout(1200)  # each worker re-reads the pretend time at most once a second
    page.reload()
    chat = widget(page)
    chat.locator('[data-yessindo="launcher"]').click()
    expect(chat.locator('[data-yessindo="status"]')).to_contain_text("di luar jam operasional", timeout=WAIT_MS)
    say(chat, "paket saya belum sampai")
    expect(messages(chat, "bot").last).to_be_visible(timeout=WAIT_MS)
    page.click("#demo-clock-reset")
    expect(page.locator("#demo-clock-now")).to_contain_text("Sekarang:", timeout=WAIT_MS)


def test_the_console_hears_of_a_new_ticket_at_once_not_on_its_next_poll(live_server, new_page):
    """The doorbell (server-sent events) makes the queue fetch at once; its polling is then
    only a 15-second safety net, so an arrival within 3 s can only come from the stream."""
    password = live_server.add_agent("sari")
    agent = new_page(base_url=live_server.url)
    login(agent, "sari", password)
    agent.wait_for_timeout(1500)  # the stream is open and the first slow poll is scheduled
    t0 = time.monotonic()
    answer = live_server.send_whatsapp("+6281234500009", "tolong sambungkan ke CS manusia, paket saya hilang")
    assert answer.status == 200
    expect(agent.locator('#queue tr[data-ref="YS-000001"]')).to_be_visible(timeout=WAIT_MS)
    took = time.monotonic() - t0
    assert took < 3.0, f"the new ticket took {took:.1f} s to show"


def test_an_unreachable_server_keeps_the_message_and_sends_it_when_back(live_server, new_page):
    page = new_page(base_url=live_server.url, allow_js_errors=True)
    page.goto("/livechat/demo")
    chat = widget(page)
    chat.locator('[data-yessindo="launcher"]').click()
    say(chat, "halo kak")
    expect(messages(chat, "bot").first).to_be_visible(timeout=WAIT_MS)
    page.context.set_offline(True)
    say(chat, "paket saya belum sampai, ditulis saat offline")
    expect(chat.locator('[data-yessindo="offline"]')).to_be_visible(timeout=WAIT_MS)
    mine = messages(chat, "customer").last
    expect(mine).to_contain_text("ditulis saat offline")
    expect(mine).to_have_attribute("data-state", re.compile("failed|sending"))
    page.context.set_offline(False)
    expect(mine).to_have_attribute("data-state", re.compile("sent|read"), timeout=30_000)
    expect(chat.locator('[data-yessindo="offline"]')).to_be_hidden(timeout=WAIT_MS)
    assert stored(live_server.database, "paket saya belum sampai, ditulis saat offline") == 1  # sent once, when back


def test_a_click_on_the_launcher_before_the_chat_is_ready_opens_it_once_ready(live_server, new_page):
    """widget.js paints a launcher at once (first paint) and remembers a click on it until
    the chat frame has loaded (here held back until after the click)."""
    page = new_page(base_url=live_server.url)
    held: list[Any] = []
    page.route("**/livechat/frame?*", lambda route: held.append(route))
    page.goto("/livechat/demo", wait_until="domcontentloaded")
    stand_in = page.locator("#yessindo-livechat button")
    expect(stand_in).to_be_visible(timeout=WAIT_MS)
    expect(stand_in).to_have_attribute("aria-label", re.compile("live chat"))
    stand_in.click()
    wait_for(lambda: held, "the frame's request")
    held[0].continue_()
    launcher = widget(page).locator('[data-yessindo="launcher"]')
    expect(launcher).to_have_attribute("aria-expanded", "true", timeout=WAIT_MS)
    expect(page.locator("#yessindo-livechat button")).to_have_count(0)  # the stand-in is gone


def test_when_the_server_holds_all_the_streams_it_may_the_widget_polls(live_server, new_page):
    """A 429 on the stream (too many open) makes the widget poll: an agent's reply still arrives."""
    live_server.add_agent("sari")
    page = new_page(base_url=live_server.url)
    page.route("**/livechat/api/stream*", lambda route: route.fulfill(status=429, body='{"error": "too many"}',
                                                                        content_type="application/json"))
    page.goto("/livechat/demo")
    chat = widget(page)
    chat.locator('[data-yessindo="launcher"]').click()
    say(chat, "tolong sambungkan ke CS manusia, paket saya hilang")
    expect(messages(chat, "bot").last).to_contain_text("YS-000001", timeout=WAIT_MS)
    assert live_server.cli("queue", "claim", "YS-000001", "--agent", "sari").returncode == 0
    done = live_server.cli("queue", "reply", "YS-000001", "--agent", "sari", "--text", "Halo Kak, saya Sari, lewat polling.")
    assert done.returncode == 0, done.stderr
    expect(messages(chat, "agent").last).to_contain_text("lewat polling", timeout=WAIT_MS)


# Runs in the shop page before its own scripts: for every animation frame, whether the widget's
# stand-in launcher and its chat iframe were there when that frame began.
_FRAMES_PROBE = """
if (window === window.top) {
  const seen = window.__frames = [];
  const tick = () => {
    const sr = document.getElementById("yessindo-livechat")?.shadowRoot;
    seen.push({ button: !!(sr && sr.querySelector("button")), iframe: !!(sr && sr.querySelector("iframe")) });
    if (seen.length < 600) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""


def test_the_stand_in_launcher_is_drawn_before_the_chat_frame_is_made(live_server, new_page):
    """First paint: widget.js draws its stand-in launcher alone and makes the chat iframe only
    once a frame with the stand-in has been drawn (the iframe's document would otherwise hold
    back that very frame); then the chat comes as before. The demo page's clock, asked for
    after its first frame, still shows, and its field is a date-time control by then."""
    page = new_page(base_url=live_server.url)
    page.add_init_script(_FRAMES_PROBE)
    page.goto("/livechat/demo")
    launcher = widget(page).locator('[data-yessindo="launcher"]')
    expect(launcher).to_be_visible(timeout=WAIT_MS)
    frames = page.evaluate("() => window.__frames")
    first = next(i for i, f in enumerate(frames) if f["button"])
    assert not frames[first]["iframe"] and not frames[first + 1]["iframe"], frames[:first + 4]
    assert any(f["iframe"] for f in frames)
    expect(page.locator("#demo-clock-now")).to_contain_text("Sekarang:", timeout=WAIT_MS)
    expect(page.locator("#demo-clock-at")).to_have_attribute("type", "datetime-local")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true", timeout=WAIT_MS)


def test_without_animation_frames_the_chat_frame_still_comes(live_server, new_page):
    """A tab that draws no frames (opened in the background) still gets the chat frame, about a
    second after widget.js ran, so it is ready when the visitor looks."""
    page = new_page(base_url=live_server.url)
    page.add_init_script("if (window === window.top) window.requestAnimationFrame = () => 0;")
    page.goto("/livechat/demo")
    expect(page.locator("#yessindo-livechat iframe")).to_have_count(1, timeout=5_000)
    expect(widget(page).locator('[data-yessindo="launcher"]')).to_be_attached(timeout=WAIT_MS)
