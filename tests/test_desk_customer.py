"""The customer panel (issue 12 item 6): details and every earlier conversation and ticket
across channels, links made by agents (logged) or by the customer's own proof, unlink
rights, the ticket page's box, forget."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from handoff import customers, livechat
from tests.test_console import Console, flashes, post

PHONE = "+6281234567890"
EMAIL = "budi.santoso@contoh.example"


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def panel_url(customer: str) -> str:
    from urllib.parse import urlencode

    return "/console/customer?" + urlencode({"id": customer})


def identities(html: str) -> dict[str, str]:
    return dict(re.findall(r'class="identity" data-customer="([^"]+)" data-via="(\w+)"', html))


def tickets(html: str) -> list[str]:
    return re.findall(r'<tr data-ref="(YS-\d{6})"', html)


def link(client, customer: str, other: str, **extra):  # type: ignore[no-untyped-def]
    return post(client, "/console/customer/link", customer=customer, other=other, **extra)


def test_panel_shows_every_conversation_and_ticket_of_one_customer(console, clock):
    first = console.customer("paket saya belum sampai, pesanan INV-20261102-0042", customer=PHONE,
                             display_name="Budi")
    console.store.conn.execute("UPDATE conversations SET state = 'closed'")
    clock.at += timedelta(days=3)
    second = console.customer("mau refund barang rusak", customer=PHONE, display_name="Budi")
    other = console.customer("stok kemeja ada?", customer="+6285700001111")
    c = console.client("sari")
    page = c.get(panel_url(PHONE))
    assert page.status_code == 200
    assert set(tickets(page.text)) == {first, second} and other not in page.text
    assert tickets(page.text)[0] == second  # newest first
    assert 'id="customer-names">Budi<' in page.text
    assert len(re.findall(r'data-conversation="\d+"', page.text)) == 2
    assert identities(page.text) == {PHONE: "self"}
    assert c.get(panel_url("+6289999999999")).status_code == 404


def test_link_by_an_agent_joins_both_histories_and_is_logged(console):
    wa = console.customer("paket saya belum sampai", customer=PHONE)
    em = console.customer("Pesanan saya belum sampai juga lewat email", customer=EMAIL, channel="email")
    c = console.client("sari")
    resp = link(c, PHONE, " Budi.Santoso@Contoh.example ", ref=wa)
    assert resp.status_code == 303 and resp.headers["Location"] == panel_url(PHONE) + f"&ref={wa}"
    page = c.get(panel_url(PHONE))
    assert identities(page.text) == {PHONE: "self", EMAIL: "agent"}
    assert set(tickets(page.text)) == {wa, em}
    assert set(tickets(c.get(panel_url(EMAIL)).text)) == {wa, em}  # from either side
    assert 'id="customer-channels">Email, WhatsApp<' in page.text
    [event] = console.store.events("customer.linked")
    assert event["actor"] == "sari" and event["ticket_ref"] == wa
    assert PHONE not in event["data"] and EMAIL not in event["data"]  # no personal data in the audit trail
    # the ticket page's box names the other id and the email ticket
    box = c.get(f"/console/t/{wa}").text
    assert f'class="linked-id" data-customer="{EMAIL}"' in box and f'class="earlier-ticket" data-ref="{em}"' in box
    assert "Identitas pelanggan ditautkan" in box  # the event's label in the ticket's history


def test_a_phone_number_in_any_spelling_links(console):
    console.customer("halo, email saya ini", customer=EMAIL, channel="email")
    c = console.client("sari")
    link(c, EMAIL, "0812-3456-7890")
    assert identities(c.get(panel_url(EMAIL)).text) == {EMAIL: "self", PHONE: "agent"}
    page = link(c, EMAIL, "+62 812 3456 7890")
    assert "Keduanya sudah tertaut." in flashes(c.get(page.headers["Location"]).text)
    bad = link(c, EMAIL, "bukan nomor")
    assert "Tulis nomor WhatsApp" in flashes(c.get(bad.headers["Location"]).text)[0]
    same = link(c, EMAIL, EMAIL.upper())
    assert "Itu pelanggan yang sama." in flashes(c.get(same.headers["Location"]).text)
    assert len(console.store.events("customer.linked")) == 1


def test_unlink_by_the_agent_who_linked_or_a_supervisor_only(console):
    ref = console.customer("paket saya belum sampai", customer=PHONE)
    sari, budi, dewi = console.client("sari"), console.client("budi"), console.client("dewi")
    link(sari, PHONE, EMAIL)
    [lid] = [r[0] for r in console.store.conn.execute("SELECT id FROM customer_links")]
    # another agent sees the link but no unlink button, and is refused
    assert 'class="unlink"' in sari.get(panel_url(PHONE)).text
    assert 'class="unlink"' not in budi.get(panel_url(PHONE)).text
    refused = post(budi, "/console/customer/unlink", customer=PHONE, link=str(lid))
    assert refused.status_code == 403
    assert console.store.conn.execute("SELECT count(*) FROM customer_links").fetchone()[0] == 1
    # a supervisor may
    assert 'class="unlink"' in dewi.get(panel_url(PHONE)).text
    done = post(dewi, "/console/customer/unlink", customer=PHONE, link=str(lid), ref=ref)
    assert done.status_code == 303
    assert identities(dewi.get(panel_url(PHONE)).text) == {PHONE: "self"}
    [event] = console.store.events("customer.unlinked")
    assert event["actor"] == "dewi" and event["ticket_ref"] == ref
    assert "Tautan identitas pelanggan dilepas" in dewi.get(f"/console/t/{ref}").text
    again = post(dewi, "/console/customer/unlink", customer=PHONE, link=str(lid))
    assert "Tautan ini sudah tidak ada." in flashes(dewi.get(again.headers["Location"]).text)
    # and without the CSRF token nothing happens
    link(sari, PHONE, EMAIL)
    assert sari.post("/console/customer/link", data={"customer": PHONE, "other": "x@contoh.example"}).status_code == 400


def test_a_live_chat_visitor_who_proved_both_is_linked_without_an_agent(console, clock):
    wa = console.customer("paket saya belum sampai", customer=PHONE)
    em = console.customer("pesanan saya belum sampai", customer=EMAIL, channel="email")
    visitor = "web:v-budi"
    web = console.customer("tolong sambungkan ke admin ya kak, mau bicara dengan CS", customer=visitor, channel="web")
    assert web
    store = console.store
    with store.write(clock()) as tx:
        livechat.seen(tx, visitor)
        livechat.set_contact(tx, visitor, "Budi S", EMAIL, "0812-3456-7890")
    ids = {i.customer: i.via for i in customers.identities(store.conn, visitor)}
    assert ids == {visitor: "self"}  # typed, not proven: not linked
    with store.write(clock()) as tx:
        tx.conn.execute("UPDATE livechat_visitors SET email_verified_at = ?, phone_verified_at = ? WHERE customer = ?",
                        (tx.now, tx.now, visitor))
    page = console.client("sari").get(panel_url(PHONE)).text
    assert identities(page) == {PHONE: "self", visitor: "proof", EMAIL: "proof"}  # number -> visitor -> address
    assert set(tickets(page)) == {wa, em, web}
    assert 'class="unlink"' not in page  # a proof cannot be undone by hand
    assert "Budi S" in page and "terverifikasi" in page
    assert not store.events("customer.linked")


def test_forget_removes_the_links(console):
    console.customer("paket saya belum sampai", customer=PHONE)
    console.customer("halo", customer="+6285700001111")
    c = console.client("sari")
    link(c, PHONE, EMAIL)
    link(c, "+6285700001111", "lain@contoh.example")
    console.store.forget(PHONE, console.clock())
    rows = console.store.conn.execute("SELECT a, b FROM customer_links").fetchall()
    assert [tuple(r) for r in rows] == [("+6285700001111", "lain@contoh.example")]


def test_panel_needs_a_login_and_escapes(console):
    xss = '<script>alert(1)</script>'
    console.customer("halo", customer=PHONE, display_name=xss)
    assert console.client().get(panel_url(PHONE)).status_code == 303
    page = console.client("sari").get(panel_url(PHONE)).text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_panel_is_fast_with_many_tickets(console, clock):
    """Indexed reads: a customer with 300 tickets among 3,000 others answers quickly."""
    import time

    store = console.store
    with store.write(clock()) as tx:
        for i in range(3300):
            who = PHONE if i % 11 == 0 else f"+62811{i:08d}"
            conv = tx.create_conversation("whatsapp", who, "id", None)
            tx.add_message(conv, "in", f"pesan {i}", author="customer")
            tx.create_ticket(conv, intent="product", priority="normal", due_at=clock(), details={}, summary="x")
    t0 = time.perf_counter()
    p = customers.panel(store, PHONE)
    took = time.perf_counter() - t0
    assert len(p.tickets) == 200 and p.more
    assert took < 0.5, took
