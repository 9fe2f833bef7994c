"""Saved replies in a real browser (Debian's Chromium, 1366x800) against a real server: a
supervisor adds them on /console/canned; an agent holding a ticket types `/ter` in the
reply box, picks the suggestion with the keyboard, finds the text filled with the
customer's name, order number and ticket ref, sends it, and the customer gets it."""
from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import login, sent_bodies, wait_for

CUSTOMER = "+6281234500077"
DESKTOP = {"width": 1366, "height": 800}
TEXT = "Halo Kak {nama}, pesanan {nomor_pesanan} (tiket {tiket}) sedang kami cek. Salam, {agen}."


def add_saved_reply(page: Any, shortcut: str, text: str, title: str = "") -> None:
    page.click("#nav-canned")
    page.fill("#canned-shortcut", shortcut)
    page.fill("#canned-title", title)
    page.fill("#canned-text", text)
    page.click("#canned-save")
    expect(page.locator(".flash-ok")).to_contain_text(f"/{shortcut}")
    expect(page.locator(f'#canned-items .canned-item[data-shortcut="{shortcut}"]')).to_be_visible()


def test_supervisor_adds_and_agent_inserts_with_slash_and_sends(live_server, new_page):
    dewi_pw = live_server.add_agent("dewi", "supervisor")
    sari_pw = live_server.add_agent("sari")
    answer = live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai, pesanan INV-20261120-0077",
                                       ProfileName="Rina")
    assert answer.status == 200 and "YS-000001" in " ".join(answer.messages)

    dewi = new_page(base_url=live_server.url, viewport=DESKTOP)
    login(dewi, "dewi", dewi_pw)
    add_saved_reply(dewi, "terima-cek", TEXT, "Cek pesanan")
    add_saved_reply(dewi, "resi", "Nomor resi Kakak: {resi}.")
    expect(dewi.locator("#canned-items .canned-item")).to_have_count(2)

    sari = new_page(base_url=live_server.url, viewport=DESKTOP)
    login(sari, "sari", sari_pw)
    expect(sari.locator("#canned-form")).to_have_count(0)  # agents only read the saved replies
    sari.goto("/console/t/YS-000001")
    sari.click("#claim")
    expect(sari.locator("#holder")).to_contain_text("sari")
    sari.wait_for_load_state("load")

    box = sari.locator("#reply-text")
    box.click()
    box.press_sequentially("/")
    options = sari.locator("#canned-list .canned-option")
    expect(options).to_have_count(2)  # "/" alone: every saved reply
    blocked = sari.locator('#canned-list .canned-option[data-shortcut="resi"]')
    expect(blocked).to_have_attribute("aria-disabled", "true")
    expect(blocked).to_contain_text("{resi}")  # why it cannot be used: the empty variable, named
    box.press_sequentially("ter")
    expect(options).to_have_count(1)
    option = sari.locator('#canned-list .canned-option[data-shortcut="terima-cek"]')
    expect(option).to_have_attribute("aria-selected", "true")
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    box.press("Escape")
    expect(sari.locator("#canned-list")).to_be_hidden()
    assert box.input_value() == "/ter"  # Escape only closes the list

    box.press("Backspace")
    box.press_sequentially("r")  # typing again reopens it
    expect(option).to_be_visible()
    box.press("Enter")
    filled = "Halo Kak Rina, pesanan INV-20261120-0077 (tiket YS-000001) sedang kami cek. Salam, Sari."
    expect(box).to_have_value(filled)
    expect(sari.locator("#canned-list")).to_be_hidden()
    expect(box).to_be_focused()

    # A blocked reply is never inserted: picking it only says why.
    box.press_sequentially(" /resi")
    expect(blocked).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(sari.locator("#canned-status")).to_contain_text("{resi}")
    assert box.input_value() == filled + " /resi"
    box.press("Escape")
    for _ in range(len(" /resi")):
        box.press("Backspace")
    expect(box).to_have_value(filled)

    sari.click("#reply-send")
    expect(sari.locator(".flash-ok").first).to_be_visible()
    wait_for(lambda: filled in sent_bodies(live_server), "the filled saved reply at the fake Twilio")
    [create] = [r for r in live_server.twilio.creates() if r.form.get("Body") == filled]
    assert create.form["To"] == f"whatsapp:{CUSTOMER}"


def test_the_list_button_inserts_at_the_caret_with_a_click(live_server, new_page):
    dewi_pw = live_server.add_agent("dewi", "supervisor")
    live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai", ProfileName="Rina")
    page = new_page(base_url=live_server.url, viewport=DESKTOP)
    login(page, "dewi", dewi_pw)
    add_saved_reply(page, "salam", "Halo Kak {nama}, saya {agen} dari Yessindo.")
    page.goto("/console/t/YS-000001")
    page.click("#claim")
    expect(page.locator("#holder")).to_contain_text("dewi")
    page.wait_for_load_state("load")  # the deferred scripts listen before the button is clicked
    box = page.locator("#reply-text")
    box.fill("Terima kasih sudah menunggu.")
    box.press("Home")  # the caret at the start: the saved reply goes there
    page.click("#canned-pick")
    expect(page.locator("#canned-pick")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#canned-list")).to_be_focused()
    page.click('#canned-list .canned-option[data-shortcut="salam"]')
    expect(box).to_have_value("Halo Kak Rina, saya Dewi dari Yessindo.Terima kasih sudah menunggu.")
    expect(page.locator("#canned-list")).to_be_hidden()
    expect(page.locator("#canned-pick")).to_have_attribute("aria-expanded", "false")
    # The keyboard works from the button too: open, Enter picks the first.
    box.fill("")
    page.click("#canned-pick")
    expect(page.locator("#canned-list")).to_be_focused()
    page.keyboard.press("Enter")
    expect(box).to_have_value("Halo Kak Rina, saya Dewi dari Yessindo.")


def test_on_a_phone_the_slash_list_fits_and_fills(live_server, new_page):
    sari_pw = live_server.add_agent("sari")
    added = live_server.cli("canned", "add", "salam-panjang", "--title", "Sapaan yang cukup panjang untuk layar kecil",
                            "--text", "Halo Kak {nama}, terima kasih sudah menghubungi Yessindo. Tiket Kakak {tiket} "
                            "sudah kami terima dan sedang kami periksa dengan teliti. Salam, {agen}.")
    assert added.returncode == 0, added.stderr
    live_server.send_whatsapp(CUSTOMER, "kak paket saya belum sampai", ProfileName="Rina")
    page = new_page(base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    login(page, "sari", sari_pw)
    page.goto("/console/t/YS-000001")
    page.click("#claim")
    expect(page.locator("#holder")).to_contain_text("sari")
    page.wait_for_load_state("load")
    box = page.locator("#reply-text")
    box.click()
    box.press_sequentially("/sal")
    option = page.locator('#canned-list .canned-option[data-shortcut="salam-panjang"]')
    expect(option).to_be_visible()
    for hook in ("#canned-tools", "#canned-list", "#canned-pick"):
        box_ = page.locator(hook).bounding_box()
        assert box_ is not None and box_["x"] >= 0 and box_["x"] + box_["width"] <= 390, (hook, box_)
    option.tap()
    expect(box).to_have_value("Halo Kak Rina, terima kasih sudah menghubungi Yessindo. Tiket Kakak YS-000001 sudah "
                              "kami terima dan sedang kami periksa dengan teliti. Salam, Sari.")
