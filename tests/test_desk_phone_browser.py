"""The console on a phone and from the keyboard (issue 12, item 8), in Debian's Chromium.

At 390x844 (a phone) no console page scrolls sideways: the queue is a list of cards, the
header wraps and keeps the logout button on screen, tables scroll inside their own box and
long customer text, URLs and email addresses wrap. At 1366x800 a ticket ref stays one line.
Ctrl+Enter sends a reply, j/k walk the queue, `/` goes to search, `?` lists the shortcuts.
Every visible text has a contrast of at least 4.5:1 against what is really behind it.

One server for the module (seeded once); each test logs in in its own browser context and
makes the tickets it changes itself, so the tests do not depend on their order.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from playwright.sync_api import expect

from bot.app import create_app
from bot.config import load_settings
from bot.models import Message
from tests.browser import LiveServer, browser, new_page, run_live_server  # noqa: F401  (pytest fixtures)
from tests.test_console_browser import login, sent_bodies, wait_for

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 800}
WAIT_MS = 15_000
SUPERVISOR, AGENT, PASSWORD = "dewi", "sari", "rahasia-123"
LONG_ADDRESS = "seorang.pelanggan.dengan.alamat.yang.sangat.panjang.sekali@subdomain.example-toko-online.co.id"
LONG_WORD = "tolongsegeradicekkarenasayasudahmenunggulamasekali" * 4
LONG_URL = "https://toko.example.com/pesanan/INV-20261120-0001/lacak?kurir=jne&ref=" + "x" * 160
PAGES = {"queue": "/console", "ticket": "/console/t/YS-000001", "dashboard": "/console/dashboard",
         "events": "/console/events", "error": "/console/t/YS-999999"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a supervisor, an agent and three tickets full of long unbroken text."""
    with run_live_server(tmp_path_factory.mktemp("phone")) as srv:
        srv.add_agent(SUPERVISOR, "supervisor", PASSWORD)
        srv.add_agent(AGENT, "agent", PASSWORD)
        srv.send_whatsapp("+6281234500001", f"kak paket saya belum sampai, pesanan INV-20261120-0001 {LONG_WORD} "
                                            f"email saya {LONG_ADDRESS}")
        srv.send_whatsapp("+6281234500002", f"mau retur, barang rusak, fotonya di {LONG_URL}")
        # an email ticket: its customer column is a long address (no webhook for mail: the pipeline itself)
        svc = create_app(load_settings(str(srv.config_path))).extensions["yessindo"]
        svc.handle(Message(channel="email", customer=LONG_ADDRESS, text="pembayaran saya belum terkonfirmasi " + LONG_URL,
                           received_at=datetime.now(timezone.utc), external_id="phone-mail-1", subject="komplain"))
        yield srv


def open_as(new_page: Any, server: LiveServer, name: str, viewport: dict[str, int]) -> Any:
    page = new_page(base_url=server.url, viewport=viewport)
    login(page, name, PASSWORD)
    page.wait_for_load_state()  # the deferred scripts (keys.js) have run
    return page


def goto(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()


def sideways(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")


def wider_than_viewport(page: Any) -> list[str]:
    """Elements that stick out of the viewport on the right (what makes a page scroll sideways)."""
    return page.evaluate("""() => {
      const w = document.documentElement.clientWidth, out = [];
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if ((r.width || r.height) && r.right > w + 0.5) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
          (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
          ' right=' + Math.round(r.right));
      }
      return out.slice(0, 15);
    }""")


def claim_if_free(page: Any) -> None:
    if page.locator("#claim").count():
        page.click("#claim")
        expect(page.locator(".flash").first).to_be_visible()
        page.wait_for_load_state()


# the other desk pages (search, customer panel, saved replies, team, labels, people, password)
DESK_PAGES = {"search": "/console/search?q=pembayaran", "customer": f"/console/customer?id={LONG_ADDRESS}",
              "canned": "/console/canned", "team": "/console/team", "labels": "/console/labels",
              "people": "/console/people", "password": "/console/password"}


# -- a phone: no sideways scroll, the header wraps -------------------------------------------------
@pytest.mark.parametrize("name", list(PAGES))
def test_phone_pages_never_scroll_sideways_and_logout_is_on_screen(server, new_page, name):
    page = open_as(new_page, server, SUPERVISOR, PHONE)
    goto(page, PAGES[name])
    if name == "ticket":
        claim_if_free(page)  # the holder's page: reply box, resolve, release, escalate
        expect(page.locator("#transcript .msg-in").first).to_contain_text("tolongsegera")
    scroll_width, client_width = sideways(page)
    assert client_width == PHONE["width"]
    assert scroll_width <= client_width, f"{name} is {scroll_width} px wide: {wider_than_viewport(page)}"
    expect(page.locator("#logout")).to_be_in_viewport(ratio=1)
    for link in page.locator("#nav a").all():  # every nav link reachable, none off to the right
        box = link.bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], link.inner_text()


@pytest.mark.parametrize("name", list(DESK_PAGES))
def test_desk_pages_fit_a_phone_and_keep_the_contrast(server, new_page, name):
    for viewport in (PHONE, DESKTOP):
        page = open_as(new_page, server, SUPERVISOR, viewport)
        goto(page, DESK_PAGES[name])
        expect(page.locator("main h1").first).to_be_visible()
        scroll_width, client_width = sideways(page)
        assert scroll_width <= client_width, f"{name} is {scroll_width} px wide: {wider_than_viewport(page)}"
        expect(page.locator("#logout")).to_be_in_viewport(ratio=1)
        assert_contrast(page, f"{name} at {viewport['width']} px")


def test_phone_login_page_fits(server, new_page):
    page = new_page(base_url=server.url, viewport=PHONE)
    page.goto("/console/login")
    page.fill("#login-name", SUPERVISOR)
    page.fill("#login-password", "salah-sandi")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_be_visible()
    scroll_width, client_width = sideways(page)
    assert scroll_width <= client_width, wider_than_viewport(page)
    box = page.locator("#login-name").bounding_box()
    assert box and box["width"] > PHONE["width"] * 0.7  # form controls full width on a phone


def test_phone_queue_is_cards_also_after_a_live_refresh(server, new_page):
    page = open_as(new_page, server, SUPERVISOR, PHONE)
    first = page.locator('#queue tr[data-ref="YS-000001"]')
    expect(first).to_be_visible()
    assert page.locator("#queue thead").evaluate("el => el.getBoundingClientRect().height") <= 1  # names move into the cards
    # A new ticket arrives: console.js rebuilds the rows, which must still be named cards.
    answer = server.send_whatsapp("+6281234500099", "halo kak, saya mau tanya soal pembayaran " + LONG_WORD)
    ref = re.search(r"YS-\d{6}", " ".join(answer.messages)).group(0)
    card = page.locator(f'#queue tr[data-ref="{ref}"]')
    expect(card).to_be_visible(timeout=WAIT_MS)
    assert card.evaluate("el => getComputedStyle(el).display") == "flex"
    box = card.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    customer = card.locator("td.customer")
    assert customer.get_attribute("data-label") == "Pelanggan"
    assert "Pelanggan" in customer.evaluate("el => getComputedStyle(el, '::before').content")
    # ref, priority and SLA on top: the ref's line comes before the customer's
    assert card.locator("td.ref").bounding_box()["y"] < customer.bounding_box()["y"]
    assert card.locator("td.sla").bounding_box()["y"] < customer.bounding_box()["y"]
    scroll_width, client_width = sideways(page)
    assert scroll_width <= client_width, wider_than_viewport(page)


# -- a laptop: refs on one line --------------------------------------------------------------------
def test_desktop_queue_refs_stay_on_one_line_and_the_page_fits(server, new_page):
    page = open_as(new_page, server, SUPERVISOR, DESKTOP)
    expect(page.locator('#queue tr[data-ref="YS-000003"]')).to_be_visible()
    heights = page.evaluate("""() => [...document.querySelectorAll('#queue td.ref a')].map(a => {
      const r = a.getBoundingClientRect(), lh = parseFloat(getComputedStyle(a).lineHeight);
      return [a.textContent, r.height, lh, a.getClientRects().length];
    })""")
    assert len(heights) >= 3
    for text, height, line, boxes in heights:
        assert re.fullmatch(r"YS-\d{6}", text)
        assert boxes == 1 and height <= line * 1.2, f"{text} wraps: {height}px for a {line}px line"
    scroll_width, client_width = sideways(page)
    assert scroll_width <= client_width, wider_than_viewport(page)


@pytest.mark.parametrize("width", [768, 901, 1024, 1280])
def test_queue_and_ticket_fit_tablets_and_small_laptops(server, new_page, width):
    page = open_as(new_page, server, SUPERVISOR, {"width": width, "height": 800})
    for url in ("/console", "/console/t/YS-000003"):
        goto(page, url)
        scroll_width, client_width = sideways(page)
        assert scroll_width <= client_width, f"{url} at {width} px is {scroll_width} px wide: {wider_than_viewport(page)}"
        expect(page.locator("#logout")).to_be_in_viewport(ratio=1)
    goto(page, "/console")
    for text, height, line in page.evaluate("""() => [...document.querySelectorAll('#queue td.ref a')].map(a =>
        [a.textContent, a.getBoundingClientRect().height, parseFloat(getComputedStyle(a).lineHeight)])"""):
        assert height <= line * 1.2, f"{text} wraps at {width} px"


# -- the keyboard ----------------------------------------------------------------------------------
def test_ctrl_enter_sends_the_reply_once_and_cmd_enter_too(server, new_page):
    answer = server.send_whatsapp("+6281234500077", "kak, pesanan saya kapan dikirim?")
    ref = re.search(r"YS-\d{6}", " ".join(answer.messages)).group(0)
    page = open_as(new_page, server, AGENT, DESKTOP)
    goto(page, f"/console/t/{ref}")
    claim_if_free(page)
    expect(page.locator("#reply-text")).to_be_visible()

    first = "Halo Kak, pesanan Kakak dikirim hari ini ya."
    page.fill("#reply-text", first)
    page.press("#reply-text", "Control+Enter")
    page.keyboard.press("Control+Enter")  # a second press while it sends: the guard stops it
    wait_for(lambda: first in sent_bodies(server), "the Ctrl+Enter reply at the fake Twilio")
    expect(page.locator(".flash-ok").first).to_be_visible()
    page.wait_for_load_state()
    expect(page.locator("#transcript .msg-out", has_text="dikirim hari ini")).to_have_count(1)

    second = "Nomor resinya menyusul sebentar lagi, Kak."
    page.fill("#reply-text", second)
    page.press("#reply-text", "Meta+Enter")
    wait_for(lambda: second in sent_bodies(server), "the Cmd+Enter reply at the fake Twilio")
    assert sent_bodies(server).count(first) == 1 and sent_bodies(server).count(second) == 1

    # a plain Enter is a new line, never a send
    page.fill("#reply-text", "baris satu")
    page.press("#reply-text", "Enter")
    page.keyboard.type("baris dua")
    assert page.input_value("#reply-text") == "baris satu\nbaris dua"
    assert "baris satu\nbaris dua" not in sent_bodies(server)


def test_j_k_walk_the_queue_and_enter_opens_the_ticket(server, new_page):
    page = open_as(new_page, server, SUPERVISOR, DESKTOP)
    expect(page.locator('#queue tr[data-ref="YS-000003"]')).to_be_visible()
    refs = page.locator("#queue tr[data-ref]").evaluate_all("rows => rows.map(r => r.dataset.ref)")
    assert len(refs) >= 3

    def selected() -> list[str]:
        return page.locator("#queue tr.selected").evaluate_all("rows => rows.map(r => r.dataset.ref)")

    def focused_ref() -> str | None:
        return page.evaluate("document.activeElement.closest('tr[data-ref]')?.dataset.ref ?? null")

    page.keyboard.press("j")
    assert selected() == [refs[0]] and focused_ref() == refs[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert selected() == [refs[2]] and focused_ref() == refs[2]
    page.keyboard.press("k")
    assert selected() == [refs[1]] and focused_ref() == refs[1]
    outline = page.locator("#queue tr.selected").evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"  # the selection is visible

    # a new ticket arrives and console.js rebuilds the rows: the chosen ticket stays chosen and focused
    answer = server.send_whatsapp("+6281234500055", "kak, saya mau tanya stok barang")
    fresh = re.search(r"YS-\d{6}", " ".join(answer.messages)).group(0)
    expect(page.locator(f'#queue tr[data-ref="{fresh}"]')).to_be_visible(timeout=WAIT_MS)
    assert selected() == [refs[1]] and focused_ref() == refs[1]

    # typing in a field is never taken as a shortcut
    page.evaluate("""() => { const i = document.createElement('input'); i.id = 'typing-here';
                             document.querySelector('main').prepend(i); }""")
    page.click("#typing-here")
    page.keyboard.type("jjk/?")
    assert page.input_value("#typing-here") == "jjk/?"
    assert selected() == [refs[1]]
    assert not page.locator("#shortcuts").is_visible()
    # nor a key with Ctrl or Alt held
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Alt+j")
    assert selected() == [refs[1]]

    page.evaluate("document.activeElement.blur()")  # Enter from nowhere opens the chosen row
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/console/t/{refs[1]}$"))


def test_slash_focuses_search_and_question_mark_lists_the_shortcuts(server, new_page):
    page = open_as(new_page, server, AGENT, DESKTOP)
    if not page.locator("#search").count():  # the search helper's box; stand in for it if not there
        page.evaluate("""() => { const i = document.createElement('input'); i.id = 'search';
                                 document.getElementById('nav').appendChild(i); }""")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    assert page.input_value("#search") == ""  # the slash itself is not typed into the box
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")

    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Ctrl + Enter")
    expect(dialog).to_contain_text("j / k")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_transcript_is_a_polite_live_region(server, new_page):
    page = open_as(new_page, server, AGENT, DESKTOP)
    goto(page, "/console/t/YS-000002")
    transcript = page.locator("#transcript")
    assert transcript.get_attribute("aria-live") == "polite"
    assert transcript.get_attribute("role") == "log"


# -- contrast ------------------------------------------------------------------------------------
CONTRAST_JS = r"""() => {
  function parse(c) {
    const m = /rgba?\(([^)]+)\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, bottom) {  // top (with alpha) composited over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  }
  function lum(c) {
    const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function ratio(a, b) { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
  function background(el) {  // walk up until an opaque background; the canvas is white
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let base = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  }
  function opacity(el) {
    let o = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  }
  function visible(el) {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.visibility === 'visible' && s.display !== 'none' && r.width > 1 && r.height > 1 && el.getClientRects().length;
  }
  function name(el) {
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  }
  const bad = [];
  function check(el, colour, what, text) {
    const fg = parse(colour);
    if (!fg) { bad.push(`${name(el)} ${what}: unreadable colour ${colour}`); return; }
    const bg = background(el);
    fg[3] *= opacity(el);
    const r = ratio(over(fg, bg), bg);
    if (r < 4.5) bad.push(`${name(el)} ${what} "${text.slice(0, 30)}": ${r.toFixed(2)} (${colour} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
  }
  let checked = 0;
  for (const el of document.querySelectorAll('body, body *')) {
    if (['script', 'style', 'title', 'option', 'optgroup'].includes(el.tagName.toLowerCase()) || !visible(el)) continue;
    const s = getComputedStyle(el);
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    const isSvg = el instanceof SVGElement;
    if (own) { check(el, isSvg ? s.fill : s.color, 'text', own); checked++; }
    const tag = el.tagName.toLowerCase();
    if (tag === 'select' || ((tag === 'input' || tag === 'textarea') && el.value && !['hidden', 'checkbox', 'radio', 'range', 'color'].includes(el.type))) {
      check(el, s.color, 'value', tag === 'select' ? (el.selectedOptions[0] || {}).text || '' : el.value); checked++;
    }
    if ((tag === 'input' || tag === 'textarea') && !el.value && el.placeholder) {
      check(el, getComputedStyle(el, '::placeholder').color, 'placeholder', el.placeholder); checked++;
    }
    for (const pseudo of ['::before', '::after']) {
      const p = getComputedStyle(el, pseudo), content = p.content;
      if (content && content !== 'none' && content !== 'normal' && /[\p{L}\p{N}]/u.test(content) && p.display !== 'none') {
        check(el, p.color, pseudo, content); checked++;
      }
    }
  }
  return {checked, bad};
}"""


def assert_contrast(page: Any, where: str) -> None:
    result = page.evaluate(CONTRAST_JS)
    assert result["checked"] > 5, f"{where}: nothing checked"
    assert not result["bad"], f"{where}: text under 4.5:1 contrast:\n" + "\n".join(result["bad"])


@pytest.mark.parametrize("name", list(PAGES))
def test_contrast_at_least_4_5_on_every_text(server, new_page, name):
    for viewport in (DESKTOP, PHONE):
        page = open_as(new_page, server, SUPERVISOR, viewport)
        goto(page, PAGES[name])
        if name == "ticket":
            claim_if_free(page)
            # a disabled button still carries text (the double-submit guard disables it while sending)
            page.evaluate("document.getElementById('release').disabled = true")
            page.evaluate("document.getElementById('reply-send').disabled = true")
        if name == "queue":
            page.keyboard.press("j")  # the selected row's colours too
        assert_contrast(page, f"{name} at {viewport['width']} px")


# Every state colour the console uses, shown at once on a real page (the live data rarely has them
# all at the same moment): flash and notices, SLA marks in plain/late/at-risk/escalation rows,
# badges, delivery marks on an outgoing bubble, the holder and viewers warnings, the shortcuts dialog.
STATES_HTML = """
<div class="flash flash-ok">Balasan terkirim.</div><div class="flash flash-error">Gagal mengirim.</div>
<p class="notice notice-warn">Jendela 24 jam tertutup.</p><p class="notice notice-error">Tiket diubah orang lain.</p>
<table class="queue"><tbody>
 <tr class="late"><td class="sla"><span class="sla-late">Terlambat 2 j</span></td><td class="preview"><span class="who">Pelanggan:</span> <span class="text">halo</span></td></tr>
 <tr class="at-risk escalation"><td class="sla"><span class="sla-at_risk">sisa 5 mnt</span></td><td class="priority"><span class="badge prio-escalation">Eskalasi</span> <span class="badge supervisor">Supervisor</span></td><td class="muted">WIB</td></tr>
 <tr class="mine selected"><td class="ref"><a href="#">YS-000042</a></td><td><span class="badge prio-complex">Kompleks</span> <span class="badge prio-normal">Normal</span></td><td class="sla"><span class="sla-done">Selesai</span></td></tr>
</tbody></table>
<div class="transcript"><div class="msg msg-out msg-agent"><div class="meta"><span class="author">sari</span> · <time>10.00</time></div>
 <div class="text">Halo Kak</div><div class="delivery delivery-read">Dibaca</div></div>
 <div class="msg msg-out"><div class="delivery delivery-failed">Gagal: nomor tidak aktif</div><div class="delivery delivery-queued">Antre</div></div>
 <div class="msg msg-in msg-bot"><div class="meta"><span class="author">Bot</span></div><div class="delivery">Jawaban langsung</div><ul class="attachments"><li><a href="#">foto.jpg</a> <span class="ctype">(image/jpeg)</span></li></ul></div></div>
<dl class="facts"><dt>Penanggung jawab</dt><dd id="holder-sample" class="held-other">budi</dd></dl>
<p class="viewers">Juga melihat: budi</p><p class="actions"><span class="note">Eskalasi: hanya supervisor.</span></p>
<p class="periods"><a class="current" href="#">7 hari</a> · <a href="#">14 hari</a></p>
<div class="tile bad"><span class="big">3</span><span>terlambat sekarang</span></div><p class="hint">Petunjuk</p><code>yessindo-bot</code>
"""


def test_contrast_of_every_state_colour(server, new_page):
    for viewport in (DESKTOP, PHONE):
        page = open_as(new_page, server, SUPERVISOR, viewport)
        page.evaluate("html => { const s = document.createElement('section'); s.id = 'states'; s.innerHTML = html;"
                      " document.querySelector('main').prepend(s); }", STATES_HTML)
        assert page.locator("#states .sla-at_risk").is_visible()
        assert_contrast(page, f"state colours at {viewport['width']} px")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("?")
        expect(page.locator("#shortcuts")).to_be_visible()
        assert_contrast(page, f"shortcuts dialog at {viewport['width']} px")


def test_contrast_on_the_login_page_with_its_error(server, new_page):
    for viewport in (DESKTOP, PHONE):
        page = new_page(base_url=server.url, viewport=viewport)
        page.goto("/console/login")
        assert_contrast(page, f"login at {viewport['width']} px")
        page.fill("#login-name", SUPERVISOR)
        page.fill("#login-password", "salah-sandi")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_be_visible()
        assert_contrast(page, f"login error at {viewport['width']} px")
