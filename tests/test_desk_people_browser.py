"""People in the console, in a real browser (Debian's Chromium through Playwright) at
1366x800 against a real `yessindo-bot serve`: a supervisor adds agent "rina", the page shows
her generated password once; rina logs in with it, is made to choose her own, then works."""
from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser import browser, live_server, new_page  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import login


def test_supervisor_adds_rina_who_must_set_her_own_password(live_server, new_page):
    password = live_server.add_agent("dewi", role="supervisor")
    page: Any = new_page(base_url=live_server.url, viewport={"width": 1366, "height": 800})
    login(page, "dewi", password)
    page.click("#nav-people")
    expect(page.locator("#people")).to_be_visible()
    page.fill("#people-name", "rina")
    page.select_option("#people-role", "agent")
    page.click("#people-add-submit")
    expect(page.locator("#password-shown")).to_have_attribute("data-agent", "rina")
    generated = page.locator("#generated-password").inner_text().strip()
    assert len(generated) >= 10
    expect(page.locator('#people tr[data-agent="rina"]')).to_have_class(re.compile("must-change"))
    page.click("#logout")
    expect(page.locator("#login-name")).to_be_visible()

    page.fill("#login-name", "rina")
    page.fill("#login-password", generated)
    page.click("#login-submit")
    expect(page).to_have_url(re.compile(r"/console/password$"))
    expect(page.locator("#password-forced")).to_be_visible()
    page.goto("/console")  # nothing else in the console before the new password
    expect(page).to_have_url(re.compile(r"/console/password$"))
    page.fill("#current-password", generated)
    page.fill("#new-password", "sandi-rina-sendiri")
    page.fill("#confirm-password", "sandi-rina-sendiri")
    page.click("#password-submit")
    expect(page.locator("#queue")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("rina")
    expect(page.locator(".flash-ok")).to_contain_text("Kata sandi Anda sudah diganti")
    no_sideways = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_sideways
    assert generated not in live_server.log()


def test_people_page_and_export_form_fit_a_phone(live_server, new_page):
    password = live_server.add_agent("dewi", role="supervisor")
    live_server.add_agent("sari-dengan-nama-panjang")
    page: Any = new_page(base_url=live_server.url, viewport={"width": 1366, "height": 800})
    login(page, "dewi", password)
    page.set_viewport_size({"width": 390, "height": 844})
    for path, hook in (("/console/people", "#people-add"), ("/console/dashboard", "#export-csv"),
                       ("/console/password", "#password-form")):
        page.goto(path)
        expect(page.locator(hook)).to_be_visible()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
    page.goto("/console/dashboard")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.startswith("yessindo-tiket-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as f:
        assert f.readline().startswith("ref,channel,category,topic,labels,agent,created")
