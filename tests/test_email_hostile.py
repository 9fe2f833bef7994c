"""Hostile mail: every mail of tests/data/mail/hostile/ parses into bounded output without
raising; HTML to text does linear work; From and Subject hygiene (RFC 5322 shapes, control
characters); the per-mail caps (parts, attachment bytes, work budget).

The corpus is written by tests/data/mail/make_hostile.py. No wall-clock asserts: work is
compared with the converter's deterministic step counter.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.channels.email_loop import automatic_reason
from bot.channels.email_parse import ParseLimits, canonical_address, decode_words, html_to_text, parse_mail
from bot.channels.mail_html import HtmlStats

HOSTILE = Path(__file__).resolve().parent / "data" / "mail" / "hostile"
MAILS = sorted(HOSTILE.glob("*.eml"))
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
LIMITS = ParseLimits()


def load(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def test_corpus_is_flat_and_large_enough():
    assert len(MAILS) >= 20
    assert all(p.is_file() for p in HOSTILE.iterdir())  # one mail per file, no folders


@pytest.mark.parametrize("path", MAILS, ids=lambda p: p.name)
def test_every_hostile_mail_parses_bounded(path: Path):
    m = parse_mail(path.read_bytes())
    assert len(m.text) <= LIMITS.max_text_chars and len(m.new_text) <= LIMITS.max_text_chars
    assert len(m.subject) <= LIMITS.max_header_chars
    assert m.sender_name is None or len(m.sender_name) <= 200
    assert len(m.attachments) <= LIMITS.max_attachments_listed
    kept = [len(a.data) for a in m.attachments if a.data is not None]
    assert sum(kept) <= LIMITS.max_attachment_bytes_per_mail
    assert all(k <= LIMITS.keep_attachment_bytes for k in kept)
    assert len(m.problems) <= 300 and all(len(p) <= 600 for p in m.problems)
    assert len(m.references) <= 50
    # nothing that can reach a stored name or an outgoing header carries a control character
    fields = [m.subject, m.sender, m.sender_name or "", m.message_id, m.in_reply_to or "", *m.references, *m.to,
              *m.headers.values(), *(a.filename or "" for a in m.attachments)]
    assert not any(CONTROL.search(f) for f in fields), fields
    assert m.message_id.isascii() and m.message_id.startswith("<") and m.message_id.endswith(">")
    assert not any(p.startswith("could not read: time") for p in m.problems)  # well inside the budget


EXPECT = {
    # file: (parse_ok, sender, text contains, a problem contains)
    "poison_nested_lists.eml": (True, "ani@contoh.id", "1. ", "HTML nested deeper than 20 levels"),
    "poison_unclosed_tags.eml": (True, "ani@contoh.id", "Halo", None),
    "poison_comments_links.eml": (True, "ani@contoh.id", "teks", None),
    "deep_multipart_1000.eml": (False, "ani@contoh.id", "", "multipart boundaries declared"),
    "deep_multipart_60.eml": (True, "ani@contoh.id", "", "MIME nesting deeper than 40"),
    "ten_thousand_parts.eml": (True, "ani@contoh.id", "Lihat lampiran.", "more than 1000 MIME parts"),
    "huge_header.eml": (True, "ani@contoh.id", "Isi singkat.", None),
    "bad_charsets.eml": (True, "ani@contoh.id", "café", "unknown charset x-does-not-exist"),
    "broken_base64.eml": (True, "ani@contoh.id", "Halo kak", None),
    "missing_boundary.eml": (True, "ani@contoh.id", "Halo kak, ini isinya.", "declared boundary not found"),
    "nul_bytes.eml": (True, "ani@contoh.id", "pesanan", None),
    "non_ascii_sender.eml": (True, "jdöe@mächine.example", "Halo kak", None),
    "empty.eml": (False, "", "", "empty message"),
    "only_headers.eml": (True, "ani@contoh.id", "", None),
    "eight_bit_headers.eml": (True, "jose@contoh.id", "Pesanan café.", None),
    "six_mb_attachment.eml": (True, "ani@contoh.id", "Ini foto paketnya kak.", "over the keep limit"),
    "rfc2047_abuse.eml": (True, "attacker@jahat.example", "Isi.", "display name looks like another address"),
    "from_no_angle.eml": (True, "bb@bug.example", "Halo.", None),
    "from_two_addresses.eml": (True, "sekretaris@contoh.id", "Halo.", "From holds 2 addresses"),
    "from_obsolete_colon.eml": (True, "citra@contoh.id", "Halo kak.", "obsolete syntax"),
    "from_empty_angle.eml": (True, "", "Halo.", "empty address <>"),
    "from_own_quoted.eml": (True, "cs@yessindo.test", "Tes.", None),
    "long_line.eml": (True, "ani@contoh.id", "xxxx", "body truncated"),
    "qp_soft_breaks.eml": (True, "ani@contoh.id", "aaaa", "body truncated"),
    "flowed_bomb.eml": (True, "ani@contoh.id", "kata kata", "body truncated"),
}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_hostile_mail_specifics(name: str):
    ok, sender, text, problem = EXPECT[name]
    m = parse_mail(load(name))
    assert m.parse_ok is ok
    assert m.sender == sender
    assert text in m.text
    if problem:
        assert any(problem in p for p in m.problems), m.problems


def test_six_mb_attachment_listed_with_exact_size_and_no_bytes():
    m = parse_mail(load("six_mb_attachment.eml"))
    (att,) = m.attachments
    assert att.filename == "paket.jpg" and att.content_type == "image/jpeg"
    assert att.size == 6 * 1024 * 1024 and att.data is None


def test_ten_thousand_parts_bounded():
    m = parse_mail(load("ten_thousand_parts.eml"))
    assert len(m.attachments) == LIMITS.max_attachments_listed
    m = parse_mail(load("ten_thousand_parts.eml"), limits=ParseLimits(max_parts=11))
    assert len(m.attachments) == 9  # 11 parts walked: the multipart itself, the text and nine attachments
    assert any("more than 11 MIME parts" in p for p in m.problems)


# --------------------------------------------------------------------------- linear HTML


def _poison(n: int) -> str:
    return "<ol>" * n + "<li>x" * n


@pytest.mark.parametrize(
    "shape",
    [_poison, lambda n: "<ul>" * n + "<li><p>isi</p></li>" * n + "</ul>" * n, lambda n: '<a b="' * n + ">",
     lambda n: "<blockquote>q" * n, lambda n: '<a href="https://x.example/">' * n + "t" + "</a>" * n,
     lambda n: "<a href=http://x>y</a>" * n, lambda n: "<!--" * n],
    ids=["nested-ol", "nested-ul-closed", "unclosed-quote", "deep-quote", "nested-links", "many-links", "comments"],
)
def test_html_to_text_work_is_linear(shape):
    small, big = HtmlStats(), HtmlStats()
    out_small = html_to_text(shape(3000), stats=small)
    out_big = html_to_text(shape(6000), stats=big)
    assert big.steps <= 2.2 * small.steps + 100
    assert len(out_big) <= 2.2 * len(out_small) + 100


def test_poison_html_output_bounded():
    text = html_to_text(_poison(3000))
    # the old converter wrote 3000 * 3000 indent characters here (9 MB)
    assert len(text) < 60 * 3000
    assert html_to_text(_poison(3000), max_chars=5000).__len__() <= 5000
    assert "1. x" in text


def test_html_still_readable_after_the_rewrite():
    html = ('<p>Halo <b>kak</b>,</p><ul><li>satu</li><li>dua <a href="https://y.example/a">link</a></li></ul>'
            '<a title="a > b" href="mailto:cs@yessindo.test">cs@yessindo.test</a><script>x<y</script>'
            "<table><tr><td>A</td><td>B</td></tr></table>&lt;ok&gt;")
    assert html_to_text(html) == "Halo kak,\n\n- satu\n- dua link (https://y.example/a)\n\ncs@yessindo.test\n\nA B\n\n<ok>"


# --------------------------------------------------------------------------- budgets and caps


def test_work_budget_gives_could_not_read_with_headers_kept():
    m = parse_mail(load("poison_nested_lists.eml"), limits=ParseLimits(max_steps=5000))
    assert not m.parse_ok
    assert m.problems[0].startswith("could not read: work budget")
    assert m.sender == "ani@contoh.id" and m.subject == "Poison lists" and m.text == ""


def test_time_budget_gives_could_not_read():
    m = parse_mail(load("poison_deep_quotes.eml"), limits=ParseLimits(time_budget_s=0.0))
    assert not m.parse_ok and m.problems[0].startswith("could not read: time budget")
    assert automatic_reason(m, ["cs@yessindo.test"]) is not None  # never answered automatically


def _attachments_mail(sizes: list[int]) -> bytes:
    import base64

    parts = b"".join(
        b"--Z\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=f%d.pdf\r\n\r\n" % i + base64.encodebytes(b"%" * size) + b"\r\n"
        for i, size in enumerate(sizes)
    )
    return (b"From: ani@contoh.id\r\nSubject: lampiran\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n"
            b"--Z\r\nContent-Type: text/plain\r\n\r\nIni lampirannya.\r\n" + parts + b"--Z--\r\n")


def test_attachment_bytes_per_mail_capped():
    m = parse_mail(_attachments_mail([2000, 2000, 2000]), max_attachment_bytes_per_mail=5000)
    assert [a.size for a in m.attachments] == [2000, 2000, 2000]
    assert [a.data is not None for a in m.attachments] == [True, True, False]
    assert any("per-mail total of 5000 bytes" in p for p in m.problems)
    assert all(a.data is not None for a in parse_mail(_attachments_mail([2000, 2000, 2000])).attachments)


def test_attachment_bytes_per_mail_from_config(tmp_path):
    from bot.config import EmailSettings, load_settings

    path = tmp_path / "config.toml"
    path.write_text('[email]\naddress = "cs@yessindo.test"\nmax_attachment_bytes_per_mail = 3000\n')
    cap = load_settings(str(path), environ={}).email.max_attachment_bytes_per_mail
    assert cap == 3000
    m = parse_mail(_attachments_mail([2000, 2000]), max_attachment_bytes_per_mail=cap)
    assert [a.data is not None for a in m.attachments] == [True, False]
    assert EmailSettings().max_attachment_bytes_per_mail == LIMITS.max_attachment_bytes_per_mail


# --------------------------------------------------------------------------- From and Subject hygiene


def _from(value: bytes, extra: bytes = b"") -> bytes:
    return b"From: " + value + b"\r\n" + extra + b"Subject: Halo\r\nMessage-ID: <h@contoh.id>\r\n\r\nHalo kak.\r\n"


@pytest.mark.parametrize(
    "value, extra, sender, name",
    [
        (b"Big Bug bb@bug.com", b"", "bb@bug.com", "Big Bug"),
        (b"ani@contoh.id, budi@contoh.id", b"", "ani@contoh.id", None),
        (b"ani@contoh.id, budi@contoh.id", b"Sender: Sekretaris <sek@contoh.id>\r\n", "sek@contoh.id", "Sekretaris"),
        (b'"victim@x.example" <>', b"", "", None),
        (b"<>", b"", "", None),
        (b'"victim@x.example" <attacker@evil.example>', b"", "attacker@evil.example", None),
        (b'"Ani" <"ani"@Contoh.ID.>', b"", "ani@contoh.id", "Ani"),
        (b"Ani <ani@contoh.id> (kantor)", b"", "ani@contoh.id", "Ani"),
        (b"not an address", b"", "", None),
        (b"=?utf-8?q?Ani=00=1B=5B2J_W?= <ani@contoh.id>", b"", "ani@contoh.id", "Ani [2J W"),
    ],
)
def test_sender_rfc5322_shapes(value, extra, sender, name):
    m = parse_mail(_from(value, extra))
    assert (m.sender, m.sender_name) == (sender, name)


def test_two_addresses_and_empty_angle_are_noted():
    assert "From holds 2 addresses" in parse_mail(_from(b"a@contoh.id, b@contoh.id")).problems
    m = parse_mail(_from(b'"victim@x.example" <>'))
    assert "From: empty address <>" in m.problems
    assert automatic_reason(m, ["cs@yessindo.test"]) == "no sender address"


def test_obsolete_whitespace_before_colon():
    m = parse_mail(b"From  : Citra <citra@contoh.id>\r\nSubject\t: Tanya\r\n\r\nHalo.\r\n")
    assert (m.sender, m.sender_name, m.subject) == ("citra@contoh.id", "Citra", "Tanya")
    # only in the header block: the body is left as written
    m = parse_mail(b"From: a@contoh.id\r\n\r\nCatatan  : tetap\r\n")
    assert m.text == "Catatan  : tetap"


@pytest.mark.parametrize("own_spelling", [b'"cs"@yessindo.test', b"cs@yessindo.test.", b'CS <"cs"@YESSINDO.test.>'])
def test_own_address_recognised_in_any_spelling(own_spelling):
    m = parse_mail(_from(own_spelling))
    assert m.sender == "cs@yessindo.test"
    assert automatic_reason(m, ["cs@yessindo.test"]) == "sent by our own address"


def test_canonical_address():
    assert canonical_address('"support"@Yessindo.test.') == "support@yessindo.test"
    assert canonical_address("<Support@yessindo.test>") == "support@yessindo.test"
    assert canonical_address('"john doe"@x.example') == '"john doe"@x.example'  # quotes needed: kept
    assert canonical_address("sup\x00port@x.example") == "sup port@x.example"


def test_control_characters_never_reach_name_or_subject():
    raw = (b"From: =?utf-8?q?Budi=1B]0;x=07_S?= <budi@contoh.id>\r\n"
           b"Subject: =?utf-8?q?Halo=00=1B[2J=C2=9B_kak?= \x1b[31m\x00merah\r\n\r\nisi\r\n")
    m = parse_mail(raw)
    assert not CONTROL.search(m.subject) and not CONTROL.search(m.sender_name or "")
    assert m.subject.startswith("Halo") and "kak" in m.subject and "merah" in m.subject
    assert decode_words("a\x00b\x1bc\td") == "a b c d"  # controls out, whitespace collapsed
