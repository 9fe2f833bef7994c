"""A note with a mention reaches the other agent's open console (issue 12, Tests): Debian's
Chromium through Playwright at 1366x800 against a real `yessindo-bot serve`.

Sari has the queue open in one browser context; Budi, in another, writes "@sari tolong cek"
on a ticket. Without reloading, Sari's bell counts it, lists it, the tab title counts it,
a tone plays and a browser notification shows (she allowed them); the note is on the
ticket page, never sent to the customer, and a colleague's next note appears there live.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import login, sent_bodies

CUSTOMER = "+6281234500001"
WAIT_MS = 15_000
VIEWPORT = {"width": 1366, "height": 800}
# Record what the page asks of the browser: notifications (granted) and tones.
SPY = """
window.__notified = [];
window.__tones = 0;
class SpyNotification {
  constructor(title, options) { window.__notified.push([title, (options || {}).body || ""]); }
  addEventListener() {}
  close() {}
  static requestPermission() { SpyNotification.permission = "granted"; return Promise.resolve("granted"); }
}
SpyNotification.permission = "default";
window.Notification = SpyNotification;
const RealOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1; return RealOscillator.call(this); };
"""


def test_a_mention_reaches_the_other_agents_open_console(live_server, new_page):
    sari_pw = live_server.add_agent("sari")
    budi_pw = live_server.add_agent("budi")
    live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai, pesanan INV-20261120-0001")

    sari = new_page(base_url=live_server.url, viewport=VIEWPORT)
    sari.add_init_script(SPY)
    login(sari, "sari", sari_pw)
    # the new ticket waits for her: the bell and the title count it
    expect(sari.locator("#notify-count")).to_have_text("1", timeout=WAIT_MS)
    expect(sari).to_have_title(re.compile(r"^\(1\) "))
    # she allows notifications and sound (a click: the only time the page asks), opens the bell
    # and says she has seen the queue: nothing waits any more, the title has no count
    sari.click("#notify-button")
    expect(sari.locator("#notify-allow")).to_be_visible()
    sari.click("#notify-allow")
    expect(sari.locator("#notify-allow")).to_be_hidden()
    expect(sari.locator('#notify-list .notify-item[data-kind="ticket"]')).to_contain_text("YS-000001")
    sari.click("#notify-read-all")
    expect(sari.locator("#notify-count")).to_be_hidden(timeout=WAIT_MS)
    expect(sari).to_have_title(re.compile(r"^Antrean"), timeout=WAIT_MS)
    sari.click("#notify-button")  # closes the panel
    expect(sari.locator("#notify-panel")).to_be_hidden()

    budi = new_page(base_url=live_server.url, viewport=VIEWPORT)
    login(budi, "budi", budi_pw)
    budi.goto("/console/t/YS-000001")
    expect(budi.locator("#notes-section")).to_contain_text("Catatan internal — tidak dikirim ke pelanggan")
    budi.fill("#note-text", "@sari tolong cek")
    budi.click("#note-add")
    expect(budi.locator("#notes .note")).to_have_count(1)  # added in place, no reload
    expect(budi.locator("#notes .note .note-text")).to_have_text("@sari tolong cek")
    expect(budi.locator("#note-text")).to_have_value("")

    # Sari's open queue, not reloaded: the bell counts the mention and lists it; the title counts it
    expect(sari.locator("#notify-count")).to_have_text("1", timeout=WAIT_MS)
    expect(sari).to_have_title(re.compile(r"^\(1\) Antrean"))
    assert sari.locator("#notify-count").get_attribute("aria-live") == "polite"
    sari.click("#notify-button")
    item = sari.locator('#notify-list .notify-item[data-kind="mention"]')
    expect(item).to_contain_text("budi menyebut Anda di YS-000001")
    expect(item).to_contain_text("@sari tolong cek")
    assert sari.evaluate("window.__notified")[0] == ["budi menyebut Anda di YS-000001", "@sari tolong cek"]
    assert sari.evaluate("window.__tones") >= 1

    # she follows it to the ticket: the note is there, the mention is read
    item.locator("a").click()
    expect(sari.locator("#notes .note .note-text")).to_have_text("@sari tolong cek")
    expect(sari.locator("#notify-count")).to_be_hidden(timeout=WAIT_MS)
    expect(sari).to_have_title(re.compile(r"^YS-000001"))
    # budi's next note appears on her open ticket page without a reload
    budi.fill("#note-text", "sudah saya telepon kurirnya <b>besok</b>")
    budi.click("#note-add")
    expect(sari.locator("#notes .note")).to_have_count(2, timeout=WAIT_MS)
    expect(sari.locator("#notes .note").last.locator(".note-text")).to_have_text(
        "sudah saya telepon kurirnya <b>besok</b>")
    # nothing of it went to the customer
    assert not any("tolong cek" in b or "kurirnya" in b for b in sent_bodies(live_server))


def test_notes_and_the_bell_fit_a_phone(live_server, new_page):
    """At 390x844: a long unbroken note and the open bell list stay on screen, no sideways scroll."""
    sari_pw = live_server.add_agent("sari")
    budi_pw = live_server.add_agent("budi")
    live_server.send_whatsapp(CUSTOMER, "mau retur, barang yang datang rusak")
    done = live_server.cli("queue", "note", "YS-000001", "--agent", "budi", "--text", "@sari " + "x" * 300)
    assert done.returncode == 0 and done.stdout == "note added to YS-000001\n", done.stderr
    budi = new_page(base_url=live_server.url, viewport={"width": 390, "height": 844})
    login(budi, "budi", budi_pw)
    sari = new_page(base_url=live_server.url, viewport={"width": 390, "height": 844})
    login(sari, "sari", sari_pw)
    expect(sari.locator("#notify-count")).to_have_text("2", timeout=WAIT_MS)  # the new ticket and the mention
    sari.click("#notify-button")
    panel = sari.locator("#notify-panel")
    expect(panel.locator(".notify-item")).to_have_count(2)
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    sari.goto("/console/t/YS-000001")
    expect(sari.locator("#notes .note")).to_have_count(1)
    budi.click("#notify-button")  # his bell, open on the queue
    expect(budi.locator("#notify-panel")).to_be_visible()
    for page in (sari, budi):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{page.url}: {width}px wide at 390px"
