"""Saved replies (issue 12, item 1): the store, the filling rules, the CLI and the console's
page and JSON, through the real app and `bot.cli.main`."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from bot.canned_fill import CannedError, fill, render, suggestions
from handoff import canned
from handoff.queue import QueueError
from tests.conftest import WIB
from tests.test_console import Console, csrf_of, flashes, post


@pytest.fixture
def console(tmp_path, clock):
    c = Console(tmp_path, clock)
    c.add_agents("sari", "budi", "dewi")
    return c


def events(console, kind_prefix="canned."):  # type: ignore[no-untyped-def]
    return console.db().execute("SELECT kind, actor, data FROM events WHERE kind LIKE ? ORDER BY id",
                                (kind_prefix + "%",)).fetchall()


# -- the store ---------------------------------------------------------------------------------
def test_save_adds_then_replaces_and_logs_without_the_text(console, clock):
    reply, new = canned.save(console.store, clock(), "dewi", "/Terima-Kasih", "Terima kasih, Kak {nama}!",
                             title="Penutup")
    assert new and reply.shortcut == "terima-kasih" and reply.lang == "id" and reply.title == "Penutup"
    again, new = canned.save(console.store, clock(), "dewi", "terima-kasih", "Makasih ya Kak {nama}.")
    assert not new and again.id == reply.id and again.text == "Makasih ya Kak {nama}."
    assert again.title == "Penutup"  # no title given: kept
    en, new = canned.save(console.store, clock(), "dewi", "terima-kasih", "Thank you, {nama}!", lang="en")
    assert new and en.id != reply.id
    assert [(r.shortcut, r.lang) for r in canned.all_replies(console.store.conn)] == [
        ("terima-kasih", "en"), ("terima-kasih", "id")]
    logged = events(console)
    assert [k for k, _, _ in logged] == ["canned.added", "canned.changed", "canned.added"]
    assert all("Makasih" not in d and "Terima" not in d for _, _, d in logged)
    assert json.loads(logged[2][2]) == {"shortcut": "terima-kasih", "lang": "en"}


@pytest.mark.parametrize("shortcut", ["", "a b", "x" * 41, "tanya?", "émoji"])
def test_bad_shortcuts_are_refused(console, clock, shortcut):
    with pytest.raises(QueueError) as err:
        canned.save(console.store, clock(), "dewi", shortcut, "Halo")
    assert "a-z" in str(err.value) and "Pintasan" in err.value.indonesian
    assert canned.all_replies(console.store.conn) == []


def test_text_language_and_unknown_variable_rules(console, clock):
    with pytest.raises(QueueError, match="empty"):
        canned.save(console.store, clock(), "dewi", "x", "   ")
    with pytest.raises(QueueError, match="too long"):
        canned.save(console.store, clock(), "dewi", "x", "a" * 4001)
    with pytest.raises(QueueError, match="id or en"):
        canned.save(console.store, clock(), "dewi", "x", "Halo", lang="fr")
    with pytest.raises(QueueError) as err:
        canned.save(console.store, clock(), "dewi", "x", "Halo {namaa}, {tiket}")
    assert "{namaa}" in str(err.value) and "{namaa}" in err.value.indonesian and "{tiket}" not in str(err.value).split(";")[0]
    reply, _ = canned.save(console.store, clock(), "dewi", "json", 'Kode: {"a": 1} :{ ok')  # not variables
    assert reply.text == 'Kode: {"a": 1} :{ ok'
    assert canned.save(console.store, clock(), "dewi", "x", "a" * 4000)[0].text == "a" * 4000


def test_save_without_replace_refuses_an_existing_one_and_update_renames(console, clock):
    first, _ = canned.save(console.store, clock(), "dewi", "salam", "Halo")
    other, _ = canned.save(console.store, clock(), "dewi", "pamit", "Sampai jumpa")
    with pytest.raises(QueueError, match="already exists"):
        canned.save(console.store, clock(), "dewi", "salam", "Halo lagi", replace=False)
    with pytest.raises(QueueError, match="already exists"):
        canned.update(console.store, clock(), "dewi", other.id, "salam", "x")
    renamed = canned.update(console.store, clock(), "dewi", first.id, "sapa", "Halo Kak", lang="en", title="Sapa")
    assert (renamed.shortcut, renamed.lang, renamed.title, renamed.text) == ("sapa", "en", "Sapa", "Halo Kak")
    assert json.loads(events(console)[-1][2]) == {"shortcut": "sapa", "lang": "en", "was": "salam (id)"}
    with pytest.raises(QueueError):
        canned.update(console.store, clock(), "dewi", 999, "a", "b")


def test_remove_one_language_or_both(console, clock):
    for lang in ("id", "en"):
        canned.save(console.store, clock(), "dewi", "salam", "Halo", lang=lang)
    assert canned.remove(console.store, clock(), "dewi", "salam", "en") == 1
    assert set(canned.versions(console.store.conn, "salam")) == {"id"}
    canned.save(console.store, clock(), "dewi", "salam", "Hi", lang="en")
    assert canned.remove(console.store, clock(), "dewi", "/SALAM") == 2
    assert canned.versions(console.store.conn, "salam") == {}
    with pytest.raises(QueueError, match="no saved reply /salam"):
        canned.remove(console.store, clock(), "dewi", "salam")
    assert [k for k, _, _ in events(console, "canned.removed")] == ["canned.removed", "canned.removed"]


def test_search_prefix_first_then_substring_then_text(console, clock):
    for shortcut, text in (("terima-kasih", "Terima kasih"), ("pesanan-terlambat", "Maaf terlambat"),
                           ("alamat", "Alamat toko kami"), ("refund", "Dana kembali dalam 7 hari, terima ya")):
        canned.save(console.store, clock(), "dewi", shortcut, text)
    conn = console.store.conn
    assert canned.search(conn, "ter") == ["terima-kasih", "pesanan-terlambat", "refund"]
    assert canned.search(conn, "/TER") == ["terima-kasih", "pesanan-terlambat", "refund"]
    assert canned.search(conn, "") == ["alamat", "pesanan-terlambat", "refund", "terima-kasih"]
    assert canned.search(conn, "toko") == ["alamat"]
    assert canned.search(conn, "zzz") == []
    assert canned.search(conn, "%") == [] and canned.search(conn, "_") == []  # LIKE wildcards escaped
    assert canned.search(conn, "", limit=2) == ["alamat", "pesanan-terlambat"]


# -- the filling rules -------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Halo Kak {nama},", "Halo Kak,"),
    ("Halo Kak {nama}, pesanan Kakak kami cek.", "Halo Kak, pesanan Kakak kami cek."),
    ("Hi {nama}!", "Hi!"),
    ("Halo {nama} apa kabar?", "Halo apa kabar?"),
    ("{nama}, terima kasih sudah menunggu.", "Terima kasih sudah menunggu."),
    ("Halo Kak {nama} ,\n{nama}: siap", "Halo Kak,\nSiap"),
])
def test_no_name_leaves_no_gap(text, expected):
    out = render(text, {"tiket": "YS-000001"})
    assert out == expected
    assert "  " not in out and " ," not in out and "{" not in out


def test_a_known_name_and_other_variables_are_filled():
    out = render("Halo Kak {nama}, tiket {tiket} untuk pesanan {nomor_pesanan}. Salam, {agen}",
                 {"nama": "Budi", "tiket": "YS-000001", "nomor_pesanan": "INV-1", "agen": "Sari"})
    assert out == "Halo Kak Budi, tiket YS-000001 untuk pesanan INV-1. Salam, Sari"


def test_an_empty_variable_refuses_naming_it_in_both_languages():
    with pytest.raises(CannedError) as err:
        render("Pesanan {nomor_pesanan} ({produk}) untuk Kak {nama}", {"tiket": "YS-000001", "produk": "Kaos"},
               shortcut="cek", ref="YS-000001")
    assert err.value.missing == ("nomor_pesanan",)
    assert "{nomor_pesanan}" in str(err.value) and "/cek" in str(err.value) and "YS-000001" in str(err.value)
    assert "{nomor_pesanan}" in err.value.indonesian and "nomor pesanan" in err.value.indonesian
    assert "{produk}" not in err.value.indonesian and "{nama}" not in err.value.indonesian
    with pytest.raises(CannedError) as err:
        render("{resi} / {email}", {"resi": "  "})
    assert err.value.missing == ("resi", "email")


def test_an_unknown_variable_refuses():
    with pytest.raises(CannedError) as err:
        render("Halo {pelanggan}", {"pelanggan": "x"})
    assert err.value.unknown == ("pelanggan",) and "{pelanggan}" in err.value.indonesian


def test_fill_from_a_ticket_names_language_and_agent(console, clock):
    ref = console.customer("paket saya belum sampai, pesanan INV-20261120-0042", display_name="Budi")
    canned.save(console.store, clock(), "dewi", "cek", "Halo Kak {nama}, pesanan {nomor_pesanan} ({tiket}) "
                "sedang dicek. Salam, {agen}. WA {telepon}")
    canned.save(console.store, clock(), "dewi", "cek", "Hi {nama}, order {nomor_pesanan} ({tiket}).", lang="en")
    filled = fill(console.store, ref.lower(), "/cek", "sari")
    assert filled.lang == "id"
    assert filled.text == (f"Halo Kak Budi, pesanan INV-20261120-0042 ({ref}) sedang dicek. Salam, Sari. "
                           "WA +6281234567890")
    english = console.customer("my package has not arrived yet, where is it?", customer="+6281299999999")
    with pytest.raises(CannedError) as err:  # no order number on that ticket: refused, naming it
        fill(console.store, english, "cek", "sari")
    assert err.value.missing == ("nomor_pesanan",)
    canned.save(console.store, clock(), "dewi", "halo", "Hello {nama}, this is {agen} about {tiket}.", lang="en")
    assert fill(console.store, english, "halo", "sari").text == f"Hello, this is Sari about {english}."
    assert fill(console.store, ref, "halo", "sari").text == f"Hello Budi, this is Sari about {ref}."  # only English: fallback
    with pytest.raises(QueueError, match="no saved reply /nope"):
        fill(console.store, ref, "nope", "sari")
    with pytest.raises(QueueError, match="no ticket"):
        fill(console.store, "YS-999999", "cek", "sari")


def test_suggestions_carry_filled_text_or_the_reason(console, clock):
    ref = console.customer("paket saya belum sampai", customer="+6281288888888")
    canned.save(console.store, clock(), "dewi", "terima-kasih", "Terima kasih, Kak {nama}! ({tiket})")
    canned.save(console.store, clock(), "dewi", "cek-pesanan", "Pesanan {nomor_pesanan} kami cek.")
    items = suggestions(console.store, ref, "", "sari")
    assert [i["shortcut"] for i in items] == ["cek-pesanan", "terima-kasih"]
    assert items[0]["text"] is None and items[0]["missing"] == ["nomor_pesanan"] and "{nomor_pesanan}" in items[0]["error"]
    assert items[1]["text"] == f"Terima kasih, Kak! ({ref})" and items[1]["error"] is None
    assert [i["shortcut"] for i in suggestions(console.store, ref, "ter", "sari")] == ["terima-kasih"]


# -- the command line --------------------------------------------------------------------------
@pytest.fixture
def cli(console, monkeypatch):
    monkeypatch.setenv("YESSINDO_DATABASE", console.config["storage"]["database"])
    from bot.cli import main

    def run(*argv: str) -> int:
        return main(list(argv))
    return run


def test_cli_canned_add_list_remove(cli, capsys, console):
    assert cli("canned", "add", "Salam", "--text", "Halo Kak {nama}!", "--title", "Sapaan") == 0
    assert capsys.readouterr().out == "saved reply /salam (id) added\n"
    assert cli("canned", "add", "salam", "--lang", "en", "--text", "Hi {nama}!") == 0
    assert cli("canned", "add", "salam", "--text", "Halo Kak {nama}, ada yang bisa dibantu?") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "saved reply /salam (id) changed"
    assert cli("canned", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["shortcut"], r["lang"], r["title"]) for r in listed] == [("salam", "en", None), ("salam", "id", "Sapaan")]
    assert listed[1]["text"] == "Halo Kak {nama}, ada yang bisa dibantu?" and listed[1]["created_by"] == "operator"
    assert cli("canned", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("/salam") and "[Sapaan]" in lines[1]
    assert cli("canned", "add", "x", "--text", "Halo {siapa}") == 1
    err = capsys.readouterr().err
    assert err.startswith("yessindo-bot: canned add: unknown variable {siapa}") and err.count("\n") == 1
    assert cli("canned", "remove", "salam", "--lang", "en") == 0
    assert capsys.readouterr().out == "saved reply /salam removed (1 text)\n"
    assert cli("canned", "remove", "nope") == 1
    assert capsys.readouterr().err == "yessindo-bot: canned remove: no saved reply /nope\n"
    assert cli("canned", "remove", "salam") == 0 and cli("canned", "list") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no saved replies"
    with pytest.raises(SystemExit) as usage:
        cli("canned", "add", "x", "--text", "y", "--lang", "fr")
    assert usage.value.code == 2


def test_cli_queue_reply_canned_fills_and_sends(cli, capsys, console, clock):
    clock.at = datetime.now(WIB)  # the CLI works on the real clock: the customer writes now (WhatsApp's window)
    ref = console.customer("paket saya belum sampai, pesanan INV-20261120-0042", display_name="Budi")
    assert cli("canned", "add", "cek", "--text", "Halo Kak {nama}, pesanan {nomor_pesanan} ({tiket}) kami cek. "
               "- {agen}") == 0
    assert cli("canned", "add", "resi", "--text", "Resi {resi} untuk {tiket}") == 0
    capsys.readouterr()
    assert cli("queue", "reply", ref, "--agent", "sari", "--canned", "cek") == 1  # not claimed yet
    assert "claim it first" in capsys.readouterr().err
    assert cli("queue", "claim", ref, "--agent", "sari") == 0
    capsys.readouterr()
    assert cli("queue", "reply", ref, "--agent", "sari", "--canned", "resi") == 1
    err = capsys.readouterr().err
    assert err.startswith("yessindo-bot: queue reply: saved reply /resi not sent: {resi} is empty") and err.count("\n") == 1
    assert cli("queue", "reply", ref.lower(), "--agent", "sari", "--canned", "/cek") == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"reply to {ref} queued \(outbox \d+\)\n", out)
    sent = console.db().execute("SELECT text, author FROM messages WHERE direction = 'out' ORDER BY id DESC LIMIT 1").fetchone()
    assert sent == (f"Halo Kak Budi, pesanan INV-20261120-0042 ({ref}) kami cek. - Sari", "sari")
    assert cli("queue", "reply", ref, "--agent", "sari", "--canned", "nope") == 1
    assert "no saved reply /nope" in capsys.readouterr().err


# -- the console -------------------------------------------------------------------------------
def test_agents_read_the_page_but_every_change_is_403(console, clock):
    canned.save(console.store, clock(), "dewi", "salam", "Halo Kak {nama}")
    [reply] = canned.all_replies(console.store.conn)
    sari = console.client("sari")
    page = sari.get("/console/canned")
    assert page.status_code == 200 and 'data-shortcut="salam"' in page.text and 'id="nav-canned"' in page.text
    assert 'id="canned-form"' not in page.text and "canned-remove" not in page.text and "canned-edit" not in page.text
    assert post(sari, "/console/canned", shortcut="baru", lang="id", text="x").status_code == 403
    assert post(sari, "/console/canned", id=str(reply.id), shortcut="salam", lang="id", text="diubah").status_code == 403
    assert post(sari, f"/console/canned/{reply.id}/remove").status_code == 403
    assert [(r.shortcut, r.text) for r in canned.all_replies(console.store.conn)] == [("salam", "Halo Kak {nama}")]
    assert console.client().get("/console/canned").status_code == 303  # not logged in: to the login page


def test_supervisor_adds_edits_and_removes(console):
    dewi = console.client("dewi")
    page = dewi.get("/console/canned")
    assert 'id="canned-form"' in page.text
    resp = post(dewi, "/console/canned", shortcut="/Terima-Kasih", lang="id", title="Penutup",
                text="Terima kasih, Kak {nama}!")
    assert resp.status_code == 303 and resp.headers["Location"] == "/console/canned"
    page = dewi.get("/console/canned")
    assert flashes(page.text) == ["Balasan tersimpan /terima-kasih (id) ditambahkan."]
    [reply] = canned.all_replies(console.store.conn)
    assert (reply.shortcut, reply.title, reply.created_by) == ("terima-kasih", "Penutup", "dewi")
    again = post(dewi, "/console/canned", shortcut="terima-kasih", lang="id", text="lain")  # no silent overwrite
    assert again.status_code == 400 and "sudah ada" in again.text
    edit = dewi.get(f"/console/canned?edit={reply.id}")
    assert f'name="id" value="{reply.id}"' in edit.text and "Terima kasih, Kak {nama}!</textarea>" in edit.text
    resp = post(dewi, "/console/canned", id=str(reply.id), shortcut="makasih", lang="en", title="", text="Thanks {nama}!")
    assert resp.status_code == 303
    [reply] = canned.all_replies(console.store.conn)
    assert (reply.shortcut, reply.lang, reply.title, reply.text) == ("makasih", "en", None, "Thanks {nama}!")
    bad = post(dewi, "/console/canned", shortcut="ok", lang="id", text="Halo {siapa}")
    assert bad.status_code == 400 and 'id="canned-error"' in bad.text and "{siapa}" in bad.text
    assert 'value="ok"' in bad.text and "Halo {siapa}</textarea>" in bad.text  # what was typed is kept
    resp = post(dewi, f"/console/canned/{reply.id}/remove")
    assert resp.status_code == 303 and canned.all_replies(console.store.conn) == []
    assert flashes(dewi.get("/console/canned").text) == ["Balasan tersimpan /makasih (en) dihapus."]
    post(dewi, f"/console/canned/{reply.id}/remove")
    assert "tidak ada" in flashes(dewi.get("/console/canned").text)[0]
    kinds = [(k, a) for k, a, _ in events(console)]
    assert kinds == [("canned.added", "dewi"), ("canned.changed", "dewi"), ("canned.removed", "dewi")]


def test_posts_without_csrf_are_refused(console):
    dewi = console.client("dewi")
    resp = dewi.post("/console/canned", data={"shortcut": "x", "lang": "id", "text": "Halo"})
    assert resp.status_code == 400 and "CSRF" in resp.text
    resp = dewi.post("/console/canned", data={"shortcut": "x", "lang": "id", "text": "Halo", "csrf_token": "wrong"})
    assert resp.status_code == 400
    canned.save(console.store, console.clock(), "dewi", "x", "Halo")
    [reply] = canned.all_replies(console.store.conn)
    assert dewi.post(f"/console/canned/{reply.id}/remove").status_code == 400
    assert len(canned.all_replies(console.store.conn)) == 1


def test_page_escapes_texts(console, clock):
    canned.save(console.store, clock(), "dewi", "xss", "<script>alert(1)</script>", title="<b>t</b>")
    page = console.client("sari").get("/console/canned").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>t</b>" not in page


def test_api_returns_filled_suggestions_for_the_ticket(console, clock):
    ref = console.customer("paket saya belum sampai, pesanan INV-20261120-0042", display_name="Budi")
    canned.save(console.store, clock(), "dewi", "terima-kasih", "Terima kasih, Kak {nama}! Tiket {tiket}. - {agen}")
    canned.save(console.store, clock(), "dewi", "resi", "Resi {resi}")
    sari = console.client("sari")
    data = sari.get(f"/console/api/t/{ref}/canned?q=ter").json
    assert data["items"] == [{"shortcut": "terima-kasih", "lang": "id", "title": None, "error": None, "missing": [],
                              "text": f"Terima kasih, Kak Budi! Tiket {ref}. - Sari"}]
    [item] = sari.get(f"/console/api/t/{ref}/canned?q=resi").json["items"]
    assert item["text"] is None and item["missing"] == ["resi"] and "{resi}" in item["error"]
    assert len(sari.get(f"/console/api/t/{ref}/canned").json["items"]) == 2
    assert sari.get("/console/api/t/YS-999999/canned?q=").status_code == 404
    assert console.client().get(f"/console/api/t/{ref}/canned").status_code == 401


def test_ticket_page_has_the_reply_tools_only_in_the_reply_form(console):
    ref = console.customer("paket saya belum sampai")
    sari = console.client("sari")
    page = sari.get(f"/console/t/{ref}").text
    assert 'id="canned-pick"' not in page  # not holding it: no reply box
    assert "canned.js" in page and "desk-canned.css" in page
    post(sari, f"/console/t/{ref}/claim")
    page = sari.get(f"/console/t/{ref}").text
    assert 'id="canned-pick"' in page and 'id="canned-list"' in page and 'role="listbox"' in page
    assert page.index('id="canned-pick"') < page.index('id="reply-text"')
    assert f'data-api="/console/api/t/{ref}/canned"' in page
    assert csrf_of(sari)


def test_the_history_names_saved_reply_events_in_indonesian(console):
    dewi = console.client("dewi")
    post(dewi, "/console/canned", shortcut="salam", lang="id", text="Halo Kak {nama}")
    page = dewi.get("/console/events").text
    row = re.search(r'<tr data-kind="canned.added">(.*?)</tr>', page, re.S)
    assert row and re.findall(r"<td>(.*?)</td>", row.group(1))[1:3] == ["dewi", "Balasan tersimpan ditambahkan"]
