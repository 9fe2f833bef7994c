"""Phone and keyboard (issue 12, item 8) through the Flask test client: the markup the phone
layout and the shortcuts rely on. The layout itself is checked in a real browser in
tests/test_desk_phone_browser.py."""
from __future__ import annotations

import re

from tests.test_console import Console, console  # noqa: F401  (the fixture)

CELLS = {"ref": "Tiket", "channel": "Saluran", "customer": "Pelanggan", "intent": "Kategori", "priority": "Prioritas",
         "status": "Status", "due": "Batas waktu", "sla": "SLA", "preview": "Pesan terakhir"}


def test_queue_cells_are_named_for_the_phone_cards(console: Console) -> None:
    console.customer("kak paket saya belum sampai")
    html = console.client("sari").get("/console").text
    row = re.search(r'<tr data-ref="YS-000001".*?</tr>', html, re.S)
    assert row, html
    for cls, label in CELLS.items():
        assert re.search(rf'<td class="{cls}" data-label="{label}">', row.group(0)), cls


def test_console_js_names_the_cells_it_renders_the_same_way(console: Console) -> None:
    js = console.client("sari").get("/console/static/console.js").text
    for cls, label in CELLS.items():
        assert re.search(rf'\b{cls}: "{label}"', js), cls


def test_transcript_is_a_polite_live_log(console: Console) -> None:
    console.customer("kak paket saya belum sampai")
    html = console.client("sari").get("/console/t/YS-000001").text
    tag = re.search(r'<div id="transcript"[^>]*>', html)
    assert tag and 'role="log"' in tag.group(0) and 'aria-live="polite"' in tag.group(0)


def test_every_console_page_loads_the_shortcuts_script_without_inline_code(console: Console) -> None:
    client = console.client()
    login_page = client.get("/console/login").text
    assert re.search(r'<script src="/console/static/keys\.js" defer></script>', login_page)
    queue_page = console.client("dewi").get("/console").text
    assert '/console/static/keys.js' in queue_page
    js = client.get("/console/static/keys.js")
    assert js.status_code == 200 and "javascript" in js.content_type
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML", js.text) and "requestSubmit" in js.text


def test_stylesheet_keeps_refs_on_one_line_and_has_a_phone_layout(console: Console) -> None:
    css = console.client().get("/console/static/console.css").text
    assert re.search(r"\.queue td\.ref[^{]*\{[^}]*white-space:\s*nowrap", css)
    assert "@media (max-width: 700px)" in css
    assert re.search(r"attr\(data-label\)", css)
