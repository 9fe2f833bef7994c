"""Search over tickets and conversations (issue 12 item 5): the FTS5 index kept by
triggers, phone spellings, refs, order numbers, emails, names, Indonesian and English
words, escaping, ranking, paging, forget, the upgrade of a version-6 database, the CLI
and the console page."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from handoff import search_index
from handoff.search import parse, search
from handoff.store import Store
from tests.test_cli import run
from tests.test_console import Console

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
PHONE = "+6281234567890"


def make(store: Store, customer: str, text: str, *, channel: str = "whatsapp", name: str | None = None,
         details: dict | None = None, ticket: bool = True, at: datetime = NOW, extra: tuple[str, ...] = ()) -> str | None:
    """One conversation with a customer message (and more), as a ticket unless told not."""
    with store.write(at) as tx:
        conv = tx.create_conversation(channel, customer, "id", name)
        tx.add_message(conv, "in", text, author="customer")
        for more in extra:
            tx.add_message(conv, "out", more, author="bot")
        if not ticket:
            return None
        t = tx.create_ticket(conv, intent="order_status", priority="normal", due_at=at + timedelta(hours=1),
                             details=details or {}, summary=text[:80])
        return t.ref


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "search.db")
    yield s
    s.close()


@pytest.fixture
def shop(store):
    """A few customers on three channels."""
    refs = {
        "budi": make(store, PHONE, "Kak paket saya belum sampai, pesanan INV-20261102-0042 sudah seminggu",
                     name="Budi Santoso", details={"order_numbers": ["INV-20261102-0042"]}),
        "sari": make(store, "sari.wulandari@contoh.example", "Where is my parcel? The tracking has not moved since Monday",
                     channel="email", name="Sari Wulandari", details={"emails": ["sari.wulandari@contoh.example"]}),
        "agus": make(store, "+6285700001111", "Barang datang rusak, mau refund. Hubungi juga 0813-1111-2222 ya kak",
                     name="Agus", details={"phones": ["+6281311112222"]}),
        "web": make(store, "web:abc123", "kemeja batik ukuran L masih ready?", channel="web", name="Dewi"),
    }
    make(store, "+6287700009999", "halo, jam buka toko kapan?", ticket=False)
    return refs


def refs_of(store, text, **kw):
    return [r.ref for r in search(store, text, **kw).results]


@pytest.mark.parametrize("spelling", ["081234567890", "0812-3456-7890", "0812 3456 7890", "+6281234567890",
                                      "+62 812-3456-7890", "6281234567890", "(0812) 3456-7890", "81234567890"])
def test_a_phone_in_any_spelling_finds_the_customer_first(store, shop, spelling):
    found = search(store, spelling).results
    assert found and found[0].ref == shop["budi"] and found[0].match == "customer"


def test_a_phone_prefix_and_a_number_named_in_the_details(store, shop):
    assert refs_of(store, "0812-3456") == [shop["budi"]]  # part of a number, as it is being typed
    assert refs_of(store, "+62 813 1111 2222") == [shop["agus"]]  # a number the customer gave in a message
    assert refs_of(store, "0899-0000-0000") == []


def test_ticket_ref_written_several_ways(store, shop):
    ref = shop["sari"]
    digits = ref[3:]
    for text in (ref, ref.lower(), digits, "YS" + digits, f"YS {int(digits)}"):
        found = search(store, text).results
        assert found and found[0].ref == ref and found[0].match == "ref", text
        assert [t for t, hit in found[0].snippet if hit] == [ref]


def test_order_number_with_and_without_dashes(store, shop):
    for text in ("INV-20261102-0042", "inv-20261102-0042", "INV202611020042"):
        found = search(store, text).results
        assert found and found[0].ref == shop["budi"], text
        assert found[0].snippet_text.startswith("Nomor pesanan")
    assert refs_of(store, "INV-20261102-0043") == []


def test_email_and_name(store, shop):
    found = search(store, "sari.wulandari@contoh.example").results
    assert found[0].ref == shop["sari"] and found[0].match == "customer"
    assert search(store, "SARI.WULANDARI@contoh.example").results[0].ref == shop["sari"]
    assert refs_of(store, "Budi Santoso") == [shop["budi"]]
    assert refs_of(store, "budi sant") == [shop["budi"]]  # the last word as it is being typed
    assert refs_of(store, "santoso budi")[0] == shop["budi"]


def test_message_words_in_indonesian_and_english_with_a_marked_snippet(store, shop):
    found = search(store, "rusak refund").results
    assert [r.ref for r in found] == [shop["agus"]] and found[0].match == "message"
    assert [t.lower() for t, hit in found[0].snippet if hit] == ["rusak", "refund"]
    assert refs_of(store, "parcel tracking") == [shop["sari"]]
    assert refs_of(store, "Where is my parcel") == [shop["sari"]]
    assert refs_of(store, "kemeja") == [shop["web"]]
    assert refs_of(store, "pesawat") == []


def test_diacritics_and_case_do_not_matter(store, shop):
    make(store, "+6281900001111", "Café di Bandung, barang sudah diterima", name="José")
    assert len(search(store, "cafe").results) == 1
    assert len(search(store, "CAFÉ").results) == 1
    assert len(search(store, "jose").results) == 1


def test_a_conversation_without_a_ticket_is_found_too(store, shop):
    [r] = search(store, "jam buka").results
    assert r.ref is None and r.customer == "+6287700009999" and r.status == "bot"
    assert search(store, "0877-0000-9999").results[0].ref is None


@pytest.mark.parametrize("text", ['"', '"paket', 'paket"', "*", "paket*", "NEAR(paket sampai)", "NEAR(", "a OR b",
                                  "NOT paket", "paket AND", "^paket", "col:paket", "text:paket", "phones : 812",
                                  "'); DROP TABLE tickets; --", "{ref}", "(", ")", "-", "+", "\\", "\x00", "paket -belum",
                                  "💬", "  "])
def test_fts_syntax_is_only_text(store, shop, text):
    page = search(store, text)  # never an error
    for r in page.results:  # whatever is found matched the words as words
        assert r.ref or r.conversation_id
    assert store.conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 4


def test_quoting_keeps_words_as_words(store, shop):
    assert parse('kak" OR "x').messages == '"kak""" "OR" """x"'
    assert refs_of(store, 'NEAR(paket belum)') == []  # "near" is a word here, and no message has it
    assert refs_of(store, '"paket" belum*') == [shop["budi"]]  # quotes and stars are not syntax
    assert refs_of(store, "paket OR refund") == []  # OR is a word: no message has all three


def test_ranking_puts_exact_hits_before_words(store, shop):
    # another ticket whose messages name Budi's number and ref: the exact hits still come first
    other = make(store, "+6281100002222", f"tolong cek tiket {shop['budi']} punya teman saya 081234567890",
                 details={"phones": [PHONE]})
    found = search(store, "081234567890").results
    assert [r.ref for r in found[:2]] == [shop["budi"], other]
    assert [r.match for r in found[:2]] == ["customer", "facts"]
    found = search(store, shop["budi"]).results
    assert found[0].ref == shop["budi"] and found[0].match == "ref"
    assert other in [r.ref for r in found[1:]]


def test_bm25_ranks_the_better_message_first(store, shop):
    weak = make(store, "+6281100003333", "ada pertanyaan soal pengiriman dan banyak hal lain yang ingin saya tanyakan "
                                         "tentang toko ini, jam buka, stok, warna, ukuran")
    strong = make(store, "+6281100004444", "pengiriman pengiriman: pengiriman telat")
    assert refs_of(store, "pengiriman")[:2] == [strong, weak]


def test_paging(store):
    refs = [make(store, f"+62812000{i:05d}", f"voucher diskon tidak bisa dipakai nomor {i}",
                 at=NOW + timedelta(minutes=i)) for i in range(45)]
    p1, p2, p3 = (search(store, "voucher", page=n) for n in (1, 2, 3))
    assert len(p1.results) == 20 and p1.has_next
    assert len(p2.results) == 20 and p2.has_next
    assert len(p3.results) == 5 and not p3.has_next
    seen = [r.ref for p in (p1, p2, p3) for r in p.results]
    assert sorted(seen) == sorted(refs) and len(set(seen)) == 45
    assert search(store, "voucher", page=4).results == []
    assert len(search(store, "voucher", page_size=7).results) == 7


def test_the_index_follows_changes(store, shop):
    conn = store.conn
    t = store.ticket(shop["sari"])
    with store.write(NOW) as tx:  # the customer gave an order number later
        tx.update_ticket(t, details={"order_numbers": ["ORD-778899"]})
        tx.update_conversation(t.conversation_id, display_name="Sari Indah")
    assert refs_of(store, "ORD-778899") == [shop["sari"]]
    assert refs_of(store, "Sari Indah") == [shop["sari"]]
    with store.write(NOW) as tx:
        conn.execute("UPDATE messages SET text = 'diganti' WHERE conversation_id = ?", (t.conversation_id,))
    assert refs_of(store, "parcel") == []
    assert refs_of(store, "diganti") == [shop["sari"]]
    assert conn.execute("INSERT INTO search_messages (search_messages) VALUES ('integrity-check')")


def test_live_chat_contact_is_searchable(store, shop):
    from handoff import livechat

    with store.write(NOW) as tx:
        livechat.seen(tx, "web:abc123")
        livechat.set_contact(tx, "web:abc123", "Dewi Lestari", "dewi.l@contoh.example", "0857-1234-0000")
    assert refs_of(store, "0857 1234 0000") == [shop["web"]]
    assert refs_of(store, "dewi.l@contoh.example") == [shop["web"]]
    assert refs_of(store, "Dewi Lestari") == [shop["web"]]


def test_forget_removes_the_customer_from_the_index(store, shop, tmp_path):
    other = make(store, "+6281100005555", "paket untuk Budi, nomornya 0812-3456-7890", details={"phones": [PHONE]})
    assert shop["budi"] in refs_of(store, "0812 3456 7890")
    store.forget(PHONE, NOW)
    assert refs_of(store, "0812 3456 7890") == []
    assert refs_of(store, "INV-20261102-0042") == []
    assert refs_of(store, "Budi Santoso") == []
    assert shop["budi"] not in refs_of(store, "paket")
    assert other in refs_of(store, "paket")  # the other customer's case stays, without the number
    conn = store.conn
    conn.execute("INSERT INTO search_messages (search_messages) VALUES ('integrity-check')")
    conn.execute("INSERT INTO search_facts (search_facts) VALUES ('integrity-check')")
    # no token of the number is left in the index: not as a term, nor in an old segment
    conn.execute("CREATE VIRTUAL TABLE temp.facts_vocab USING fts5vocab(main, search_facts, instance)")
    assert not conn.execute("SELECT 1 FROM temp.facts_vocab WHERE term LIKE '81234567890%'").fetchall()
    store.close()
    raw = (tmp_path / "search.db").read_bytes()
    assert b"81234567890" not in raw and b"santoso" not in raw.lower()


def test_upgrade_fills_the_index_of_a_version_6_database(tmp_path):
    path = tmp_path / "old.db"
    s = Store(path)
    a = make(s, PHONE, "Kak pesanan saya belum sampai", name="Budi Santoso", details={"order_numbers": ["INV-1234-5678"]})
    make(s, "+6285700001111", "minta refund barang rusak")
    s.close()
    old = sqlite3.connect(path, isolation_level=None)  # as a version-6 database was: no index, no triggers
    for (name, kind) in old.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'search_%' AND type IN "
                                    "('trigger', 'table') AND sql IS NOT NULL").fetchall():
        if kind == "trigger":
            old.execute(f"DROP TRIGGER {name}")
    old.execute("DROP TABLE search_messages")
    old.execute("DROP TABLE search_facts")
    old.execute("DROP TABLE search_pending")
    old.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    assert not old.execute("SELECT 1 FROM sqlite_master WHERE name LIKE 'search_%'").fetchall()
    old.close()
    s = Store(path)  # the upgrade
    assert s.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "7"
    assert [r.ref for r in search(s, "0812-3456-7890").results] == [a]
    assert [r.ref for r in search(s, "INV-1234-5678").results] == [a]
    assert len(search(s, "refund rusak").results) == 1
    assert s.conn.execute("SELECT count(*) FROM search_facts").fetchone()[0] == 2
    make(s, "+6281100006666", "pesanan baru")  # and the triggers work after it
    assert len(search(s, "pesanan").results) == 2
    search_index.ensure_schema(s.conn)  # idempotent: no second fill
    assert s.conn.execute("SELECT count(*) FROM search_facts").fetchone()[0] == 3
    s.close()


def test_a_broken_details_text_does_not_break_the_ticket(store):
    with store.write(NOW) as tx:
        conv = tx.create_conversation("whatsapp", PHONE, "id", None)
        t = tx.create_ticket(conv, intent="product", priority="normal", due_at=NOW, details={}, summary="x")
        tx.conn.execute("UPDATE tickets SET details = 'not json {' WHERE id = ?", (t.id,))
    assert refs_of(store, t.ref) == [t.ref]


# -- the command line ---------------------------------------------------------------------------
def test_cli_search_json_and_text(tmp_path, store, shop):
    env = {"YESSINDO_DATABASE": str(tmp_path / "search.db")}
    p = run(["search", "0812-3456-7890", "--json"], env=env)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert rows[0]["ref"] == shop["budi"]
    assert {"ref", "channel", "customer", "status", "snippet"} <= set(rows[0])
    assert rows[0]["channel"] == "whatsapp" and rows[0]["customer"] == PHONE and rows[0]["status"] == "open"
    p = run(["search", "parcel", "tracking"], env=env)
    assert p.returncode == 0 and p.stdout.decode().startswith(shop["sari"])
    assert "s***@contoh.example" in p.stdout.decode()  # masked as `queue list` masks it
    p = run(["search", "INV-20261102-0042"], env=env)
    assert p.returncode == 0 and "order number: INV-20261102-0042" in p.stdout.decode()
    p = run(["search", "tidak-ada-yang-cocok", "--json"], env=env)
    assert p.returncode == 0 and json.loads(p.stdout) == []
    p = run(["search", "paket", "--page", "0"], env=env)
    assert p.returncode == 1 and p.stderr.decode().startswith("yessindo-bot: search:")
    assert p.stderr.decode().count("\n") == 1


# -- the console --------------------------------------------------------------------------------
@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "dewi")
    return c


def test_console_search_page(console):
    ref = console.customer("paket saya belum sampai, nomor pesanan INV-20261102-0042", customer=PHONE)
    c = console.client("sari")
    page = c.get("/console/search?q=0812-3456-7890")
    assert page.status_code == 200
    assert f'<li class="result" data-ref="{ref}"' in page.text
    assert 'id="search" type="search" name="q" value="0812-3456-7890"' in page.text
    page = c.get("/console/search?q=INV-20261102-0042")
    assert f'data-ref="{ref}"' in page.text and "<mark>" in page.text
    empty = c.get("/console/search?q=pesawat+terbang")
    assert 'class="result"' not in empty.text and 'id="results-empty" class="muted">' in empty.text
    assert 'id="search"' in c.get("/console").text  # the box is in every page's header
    assert console.client().get("/console/search?q=x").status_code == 303  # login first


def test_console_search_escapes_what_it_shows(console):
    xss = '<script>alert(1)</script><img src=x onerror=alert(1)>'
    console.customer(f"paket rusak {xss}", customer=PHONE, display_name=xss)
    c = console.client("sari")
    page = c.get("/console/search", query_string={"q": "paket " + xss})
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    page = c.get("/console/search", query_string={"q": "rusak"})
    assert 'class="result"' in page.text and "<script>alert" not in page.text and "&lt;script&gt;" in page.text


def test_the_bots_answers_are_not_indexed(store):
    """The same few texts thousands of times: they would drown what people wrote (and cost
    every webhook a second index write)."""
    make(store, PHONE, "halo kak", extra=("Terima kasih sudah menghubungi Yessindo, ketik MENU",))
    assert refs_of(store, "menghubungi") == []
    assert len(refs_of(store, "halo")) == 1
    with store.write(NOW) as tx:  # deleting and scrubbing both kinds keeps the index sound
        tx.conn.execute("UPDATE messages SET text = text || ' diperbarui'")
    assert len(refs_of(store, "halo diperbarui")) == 1 and refs_of(store, "menghubungi diperbarui") == []
    with store.write(NOW) as tx:
        tx.conn.execute("DELETE FROM messages")
    assert refs_of(store, "halo") == []
    store.conn.execute("INSERT INTO search_messages (search_messages) VALUES ('integrity-check')")
    assert store.conn.execute("SELECT count(*) FROM search_messages").fetchone()[0] == 0


def test_a_write_only_notes_what_to_index_and_a_search_catches_up(store):
    from handoff.search import bring_up_to_date

    conn = store.conn
    conn.execute("CREATE VIRTUAL TABLE temp.msg_vocab USING fts5vocab(main, search_messages, row)")
    a = make(store, PHONE, "sepatu lari merah")
    b = make(store, "+6281100007777", "sepatu lari biru")
    assert {r[0] for r in conn.execute("SELECT kind FROM search_pending")} == {"m", "t"}
    assert not conn.execute("SELECT 1 FROM temp.msg_vocab WHERE term = 'sepatu'").fetchall()  # not yet indexed
    with store.write(NOW) as tx:  # a pending message deleted and another changed before any search
        tx.conn.execute("DELETE FROM messages WHERE text = 'sepatu lari biru'")
        tx.conn.execute("UPDATE messages SET text = 'sepatu lari hijau' WHERE text = 'sepatu lari merah'")
    bring_up_to_date(store, batch=1)  # in several short transactions
    assert not conn.execute("SELECT 1 FROM search_pending").fetchall()
    assert refs_of(store, "sepatu") == [a] and refs_of(store, "hijau") == [a] and refs_of(store, "merah") == []
    assert b not in refs_of(store, "sepatu")
    assert conn.execute("SELECT doc FROM temp.msg_vocab WHERE term = 'sepatu'").fetchone()[0] == 1
    conn.execute("INSERT INTO search_messages (search_messages) VALUES ('integrity-check')")
    # a change to an indexed message reaches the index at once
    with store.write(NOW) as tx:
        tx.conn.execute("UPDATE messages SET text = 'sandal' WHERE text = 'sepatu lari hijau'")
    assert not conn.execute("SELECT 1 FROM search_pending WHERE kind = 'm'").fetchall()
    assert refs_of(store, "sepatu") == [] and refs_of(store, "sandal") == [a]


def test_forget_while_rows_are_pending(store, tmp_path):
    make(store, PHONE, "tas kulit coklat", name="Budi Santoso", details={"order_numbers": ["INV-20261102-0042"]})
    other = make(store, "+6281100008888", "tas kulit hitam punya teman saya 0812-3456-7890", details={"phones": [PHONE]})
    store.forget(PHONE, NOW)
    assert not store.conn.execute("SELECT 1 FROM search_pending").fetchall()
    assert refs_of(store, "tas kulit") == [other]
    assert refs_of(store, "0812 3456 7890") == [] and refs_of(store, "Budi") == []
    store.close()
    raw = (tmp_path / "search.db").read_bytes()
    assert b"81234567890" not in raw and b"santoso" not in raw.lower()


def test_indonesian_suffixes_match_the_word(store):
    a = make(store, PHONE, "kurirnya bilang alamatnya tidak ditemukan")
    assert refs_of(store, "kurir alamat") == [a]
    assert refs_of(store, "kurirnya") == [a]
    assert refs_of(store, "kur") == []  # short words stay whole words
