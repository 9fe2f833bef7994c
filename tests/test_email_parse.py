"""Email parsing and loop protection against sample mails in tests/data/mail/."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.channels.email_loop import automatic_reason, normalise_address
from bot.channels.email_parse import MailAttachment, ParsedMail, html_to_text, parse_mail, strip_quoted

MAIL = Path(__file__).resolve().parent / "data" / "mail"
OWN = ("ptyessindo@gmail.com",)


def load(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def parsed(name: str, **kw) -> ParsedMail:
    return parse_mail(load(name), **kw)


# --------------------------------------------------------------------------- parse_mail


def test_plain_mail_fields():
    m = parsed("plain.eml")
    assert m.parse_ok
    assert m.message_id == "<CAB1234plain@mail.example.co.id>"
    assert m.sender == "budi.santoso@example.co.id"  # lower-cased
    assert m.sender_name == "Budi Santoso"
    assert m.to == ("ptyessindo@gmail.com",)
    assert m.subject == "Pesanan YS-1042 belum sampai"
    assert m.date == datetime(2026, 11, 23, 9, 15, tzinfo=timezone(timedelta(hours=7)))
    assert "YS-1042 belum sampai sejak minggu lalu" in m.text
    assert m.new_text == m.text
    assert m.attachments == ()
    assert m.problems == ()
    assert m.headers == {"return-path": "<budi.santoso@example.co.id>"}
    assert automatic_reason(m, OWN) is None


def test_html_only_is_readable_text():
    m = parsed("html_only.eml")
    assert m.parse_ok
    assert m.text.startswith("Selamat siang,")
    assert "Saya mau bayar pakai transfer bank.\nNomor rekeningnya berapa?" in m.text
    assert "- Bank BCA\n- Bank Mandiri" in m.text
    assert "halaman pembayaran (https://yessindo.example/bayar)" in m.text
    assert "& terima kasih banyak" in m.text  # entities decoded, &nbsp; a space
    for junk in ("<", "alert", "color", "script"):
        assert junk not in m.text
    assert automatic_reason(m, OWN) is None


def test_html_to_text_details():
    html = (
        "<p>Satu</p><p>Dua<br/>Tiga</p><ol><li>a</li><li>b</li></ol>"
        '<a href="mailto:cs@yessindo.example">cs@yessindo.example</a> '
        '<a href="https://x.example/">https://x.example/</a>'
        "<blockquote>On Mon, Budi wrote:<br>lama</blockquote>"
        "<style>.x{}</style><script>var a = 1;</script>"
    )
    text = html_to_text(html)
    assert text.startswith("Satu\n\nDua\nTiga\n\n1. a\n2. b")
    assert "cs@yessindo.example (" not in text  # a link showing its own address is not repeated
    assert text.count("https://x.example/") == 1
    assert "> On Mon, Budi wrote:\n> lama" in text
    assert "var a" not in text and ".x{}" not in text
    assert strip_quoted(text).endswith("https://x.example/")


def test_latin1_body_and_header():
    m = parsed("latin1.eml")
    assert m.sender_name == "René Dupré"
    assert m.text == "Bonjour, j'ai commandé un café crème à 25 € — merci!"  # 0x80/0x97 as windows-1252
    assert m.problems == ()


def test_base64_body():
    m = parsed("base64.eml")
    assert m.text == "Halo, saya mau tanya stok sepatu ukuran 42. Masih ada?\nSalam, Rina"
    assert m.sender_name == "Rina"


def test_rfc2047_subject_mixed_charsets():
    m = parsed("rfc2047_subject.eml")
    assert m.subject == "Pengembalian dana untuk pesanan — YS-2001 café"
    assert m.sender_name == "Dewi Lestari"


def test_attachments_recorded_and_kept():
    m = parsed("attachment.eml")
    assert m.text == "Berikut bukti transfer untuk pesanan YS-3003."  # text/plain preferred, no HTML
    assert [(a.filename, a.content_type) for a in m.attachments] == [
        ("bukti transfer ✓.pdf", "application/pdf"),  # RFC 2047 encoded filename
        ("foto_paket_é.png", "image/png"),  # RFC 2231 latin-1 filename
        ("daftar_pesanan_é.csv", "text/csv"),  # RFC 2047 ISO-8859-1 base64 filename
    ]
    assert m.attachments[2].data == b"no,produk\r\n1,Sepatu caf\xc3\xa9\r\n"  # quoted-printable decoded
    pdf = m.attachments[0]
    assert pdf.size == 9 + 256 * 8
    assert pdf.data is not None and pdf.data.startswith(b"%PDF-1.4\n") and len(pdf.data) == pdf.size
    assert m.attachments[1].data.startswith(b"\x89PNG")


def test_attachment_over_keep_limit_keeps_size_not_bytes():
    m = parsed("attachment.eml", keep_attachment_bytes=2100)
    pdf, png, csv = m.attachments
    assert csv.data is not None and csv.size == 27
    assert pdf.data is not None and pdf.size == 2057
    assert png.data is None and png.size == 3008
    assert any("over the keep limit" in p for p in m.problems)


def test_reply_with_indonesian_quoted_history():
    m = parsed("reply_indonesian.eml")
    assert m.new_text == "Kak, paketnya sudah sampai tapi isinya rusak. Bisa retur?"
    assert "menulis" in m.text and "sedang dalam perjalanan" in m.text  # text keeps everything
    assert m.in_reply_to == "<ys-reply-1@yessindo.example>"
    assert m.references == ("<CAB1234plain@mail.example.co.id>", "<ys-reply-1@yessindo.example>")
    assert m.subject == "Re: [YS-000123] Pesanan YS-1042 belum sampai"


def test_reply_with_english_quote_over_two_lines():
    m = parsed("reply_english.eml")
    assert m.new_text == "Thanks, but I still have not received a tracking number."
    assert m.in_reply_to == "<ys-reply-2@yessindo.example>"


def test_outlook_blocks_removed():
    m = parsed("outlook_block.eml")
    assert m.new_text == "Baik, saya sudah kirim barangnya kembali hari ini."
    assert "Original Message" in m.text


def test_signature_removed():
    m = parsed("signature.eml")
    assert m.new_text == "Toko buka jam berapa hari Sabtu?"
    assert "Dikirim dari iPhone saya" in m.text


def test_wrong_charset_decoded_with_a_note():
    m = parsed("wrong_charset.eml")
    assert m.parse_ok
    assert m.text == "Apakah ada tas kulit “asli” harga €50? Naïve question."
    assert any("not valid in declared charset utf-8" in p for p in m.problems)


def test_unknown_charset_decoded_with_a_note():
    m = parsed("unknown_charset.eml")
    assert m.parse_ok
    assert m.text == "Berapa ongkir ke Surabaya? Café di sana juga."
    assert any("unknown charset x-unknown" in p for p in m.problems)


def test_declared_latin1_but_utf8_bytes():
    raw = "From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1\n\nKopi Café ☕\n".encode()
    m = parse_mail(raw)
    assert m.text == "Kopi Café ☕"
    assert any("are utf-8" in p for p in m.problems)


def test_huge_body_sample_truncated_with_note():
    m = parsed("huge_body.eml")
    assert m.parse_ok and m.subject == "Panjang"
    assert len(m.text) == 20_000 and m.text.startswith("Halo kak, pesanan saya YS-9000")
    assert m.problems == ("body truncated at 20000 characters",)
    assert parsed("huge_body.eml", max_text_chars=100_000).problems == ()


def test_huge_body_truncated_with_note():
    body = ("Pesanan saya belum sampai. " * 4000).encode()  # 108,000 characters
    raw = load("plain.eml").split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    m = parse_mail(raw)
    assert m.parse_ok
    assert len(m.text) == 20_000
    assert "body truncated at 20000 characters" in m.problems
    assert len(parse_mail(raw, max_text_chars=500).text) == 500


def test_no_message_id_gets_stable_synthetic_id():
    raw = load("no_message_id.eml")
    a, b = parse_mail(raw), parse_mail(bytes(raw))
    assert a.message_id == b.message_id
    assert a.message_id.startswith("<") and a.message_id.endswith("@synthetic.yessindo>")
    assert len(a.message_id) == len("<@synthetic.yessindo>") + 64
    assert parse_mail(raw + b"lagi\r\n").message_id != a.message_id
    assert a.parse_ok and a.text == "Halo, saya mau tanya soal akun saya."


def test_total_garbage_is_flagged_not_raised():
    m = parsed("garbage.eml")
    assert m.parse_ok is False
    assert m.text == "" and m.sender == ""
    assert any(p.startswith("unparseable") for p in m.problems)
    assert m.message_id.endswith("@synthetic.yessindo>")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 100,
        b"From: \xff\xfe\r\nSubject: =?x-foo?q?=FF=FE?=\r\n\r\n\xff\xfe\xfd",
        b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain; charset=base64\r\n\r\nhi\r\n",
        b"Content-Type: multipart/alternative\r\n\r\nno boundary at all",
        b"From: x@y.example\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!=",
        b"From: <>\r\nTo: ,,,\r\nDate: yesterday\r\nMessage-ID: garbage\r\n\r\nhi",
    ],
)
def test_never_raises(raw):
    m = parse_mail(raw)
    assert isinstance(m, ParsedMail)
    assert m.message_id.startswith("<") and m.message_id.endswith(">")


def test_unknown_charset_in_header_noted():
    m = parse_mail(b"From: a@b.example\r\nSubject: =?x-foo?q?Caf=C3=A9?=\r\n\r\nhi")
    assert m.subject == "Café"
    assert any("unknown charset x-foo" in p for p in m.problems)


def test_no_body():
    m = parse_mail(b"From: Ani <ani@example.id>\r\nSubject: Halo\r\nMessage-ID: <x@y>\r\n\r\n")
    assert m.parse_ok and m.text == "" and m.new_text == "" and m.subject == "Halo"


def test_nested_multipart_html_in_related():
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n"
        b"--M\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n"
        b"--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n"
        b"--A\r\nContent-Type: multipart/related; boundary=R\r\n\r\n"
        b"--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Isi <i>HTML</i></p>\r\n"
        b"--R\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\n\r\nPNG\r\n--R--\r\n--A--\r\n"
        b"--M\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\nSubject: fwd\r\n\r\nisi lama\r\n--M--\r\n"
    )
    m = parse_mail(raw)
    assert m.text == "Isi HTML"  # empty text/plain skipped for the HTML alternative
    assert [a.content_type for a in m.attachments] == ["image/png", "message/rfc822"]
    assert b"isi lama" in m.attachments[1].data


# --------------------------------------------------------------------------- strip_quoted


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Oke kak.\n\nOn Mon, 23 Nov 2026, Budi <b@x.id> wrote:\n> lama", "Oke kak."),
        ("Oke.\nPada Sen, 23 Nov 2026 10.15, Yessindo <cs@y.id> menulis:\n\nhistory tanpa tanda", "Oke."),
        ("Baik.\n-----Pesan Asli-----\nDari: X\nlama", "Baik."),
        ("Baik.\n-----Original Message-----\nlama", "Baik."),
        ("Baik.\nFrom: X <x@y>\nSent: Monday\nTo: Y\nSubject: Z\n\nlama", "Baik."),
        ("Siap.\n-- \nBudi\n0812-555", "Siap."),
        ("Siap.\n\nSent from my iPhone", "Siap."),
        ("Siap.\nSent from my Samsung Galaxy smartphone.", "Siap."),
        ("Siap.\n\nDikirim dari Yahoo Mail di Android", "Siap."),
        ("Siap.\n\nGet Outlook for Android", "Siap."),
        ("> quoted\nJawaban saya di bawah.", "Jawaban saya di bawah."),
        ("On Mon, Budi wrote:\n> pertanyaan lama\n\nIni jawaban di bawah.", "Ini jawaban di bawah."),
        ("Barang dikirim dari gudang Jakarta?\nSent from Jakarta the parcel was late, sent from the store too", None),
        ("From: my phone I can't see the order.\nHelp!", None),
    ],
)
def test_strip_quoted_cases(text, expected):
    assert strip_quoted(text) == (text if expected is None else expected)


def test_strip_quoted_keeps_original_when_nothing_left():
    text = "> hanya kutipan\n> saja"
    assert strip_quoted(text) == text
    assert strip_quoted("") == ""


# --------------------------------------------------------------------------- automatic_reason


def test_auto_reply_not_answered():
    m = parsed("auto_reply.eml")
    assert m.headers["auto-submitted"] == "auto-replied"
    assert m.headers["x-auto-response-suppress"] == "All"
    assert automatic_reason(m, OWN) == "Auto-Submitted: auto-replied"


def test_dsn_bounce_not_answered():
    m = parsed("dsn_bounce.eml")
    assert m.sender == "mailer-daemon@mx.example.com"
    assert m.headers["content-type"].startswith("multipart/report")
    assert m.headers["return-path"] == "<>"
    assert "message/delivery-status" in [a.content_type for a in m.attachments]
    assert "failed permanently" in m.text
    assert automatic_reason(m, OWN) is not None
    # each signal on its own is enough
    without_rp = _replace(m, headers={"content-type": m.headers["content-type"]})
    assert "multipart/report" in automatic_reason(without_rp, OWN)
    bare = _replace(m, headers={}, attachments=(), subject="Hi")
    assert "mailer-daemon" in automatic_reason(bare, OWN)


def test_mailing_list_not_answered():
    m = parsed("mailing_list.eml")
    assert m.headers["list-id"].startswith("Penjual Marketplace")
    assert automatic_reason(m, OWN) is not None
    assert "List-Id" in automatic_reason(_replace(m, headers={"list-id": "x"}), OWN)
    assert "List-Unsubscribe" in automatic_reason(_replace(m, headers={"list-unsubscribe": "<mailto:u@x>"}), OWN)


def _replace(m: ParsedMail, **kw) -> ParsedMail:
    from dataclasses import replace

    return replace(m, **kw)


@pytest.mark.parametrize(
    "headers, reason_part",
    [
        ({"auto-submitted": "auto-generated"}, "auto-generated"),
        ({"x-autoreply": "yes"}, "x-autoreply"),
        ({"x-autorespond": "1"}, "x-autorespond"),
        ({"precedence": "bulk"}, "bulk"),
        ({"precedence": "junk"}, "junk"),
        ({"precedence": "auto_reply"}, "auto_reply"),
        ({"return-path": "<>"}, "Return-Path"),
    ],
)
def test_header_reasons(headers, reason_part):
    base = parsed("plain.eml")
    assert automatic_reason(base, OWN) is None
    reason = automatic_reason(_replace(base, headers=headers), OWN)
    assert reason is not None and reason_part in reason


def test_auto_submitted_no_is_answered():
    base = parsed("plain.eml")
    assert automatic_reason(_replace(base, headers={"auto-submitted": "no"}), OWN) is None
    assert automatic_reason(_replace(base, headers={"precedence": "first-class"}), OWN) is None


@pytest.mark.parametrize(
    "sender",
    ["MAILER-DAEMON@x.example", "postmaster@x.example", "no-reply@shop.example", "noreply@x.example",
     "do-not-reply@bank.example", "donotreply@x.example", "noreply+abc@x.example"],
)
def test_automatic_senders(sender):
    m = _replace(parsed("plain.eml"), sender=sender.lower())
    assert automatic_reason(m, OWN) is not None


def test_real_people_named_like_robots_are_answered():
    base = parsed("plain.eml")
    for sender in ("noreen@x.example", "postmastery@x.example", "replyguy@x.example"):
        assert automatic_reason(_replace(base, sender=sender), OWN) is None


def test_own_address_never_answered():
    base = parsed("plain.eml")
    for sender in ("ptyessindo@gmail.com", "pt.yessindo@gmail.com", "ptyessindo+bot@gmail.com"):
        assert automatic_reason(_replace(base, sender=sender), OWN) == "sent by our own address"
    assert automatic_reason(_replace(base, sender="ptyessindo@yahoo.com"), OWN) is None
    assert normalise_address("P.T.Yessindo+x@GoogleMail.com") == "ptyessindo@gmail.com"


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Out of Office: Pesanan", "Halo"),
        ("Automatic reply: [YS-000123] Pesanan Anda", "Halo"),
        ("Auto-Reply: pesanan", "Halo"),
        ("Balasan otomatis: Pesanan", "Halo"),
        ("Sedang cuti", "Halo"),
        ("Di luar kantor", "Halo"),
        ("Re: Pesanan", "I am out of the office until Monday."),
        ("Re: Pesanan", "Thank you for your email.\nI'm currently out of the office."),
        ("Re: Pesanan", "Saya sedang tidak di kantor sampai 30 November."),
        ("Re: Pesanan", "Terima kasih.\nSaya sedang cuti hingga 1 Desember."),
        ("Re: Pesanan", "Ini adalah balasan otomatis."),
    ],
)
def test_out_of_office_recognised(subject, text):
    m = _replace(parsed("plain.eml"), subject=subject, text=text, new_text=text)
    assert automatic_reason(m, OWN) is not None


def test_customer_mentioning_leave_is_answered():
    text = "Halo kak, minggu lalu saya sedang cuti jadi paketnya dititipkan tetangga. Sudah dikirim belum?"
    m = _replace(parsed("plain.eml"), subject="Pesanan saya", text=text, new_text=text)
    assert automatic_reason(m, OWN) is None


def test_dataclasses_are_frozen():
    m = parsed("plain.eml")
    with pytest.raises(Exception):
        m.subject = "x"  # type: ignore[misc]
    with pytest.raises(Exception):
        MailAttachment("a", "text/plain", 1, b"a").size = 2  # type: ignore[misc]


# --------------------------------------------------------------------------- more real-world shapes


def test_format_flowed_soft_breaks_joined():
    raw = (
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        b"Pesanan saya belum \r\nsampai juga.\r\n\r\nSalam\r\n>> kutipan \r\n>> lama\r\n"
    )
    m = parse_mail(raw)
    assert m.text.startswith("Pesanan saya belum sampai juga.\n\nSalam")
    assert ">> kutipan lama" in m.text
    assert m.new_text == "Pesanan saya belum sampai juga.\n\nSalam"


def test_gmail_html_reply_quote_removed():
    raw = (
        b"From: a@b.example\r\nSubject: Re: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<div dir="ltr">Sudah saya transfer kak.</div><br><div class="gmail_quote">'
        b'<div dir="ltr" class="gmail_attr">Pada Sen, 23 Nov 2026 pukul 10.15 Yessindo &lt;'
        b'<a href="mailto:ptyessindo@gmail.com">ptyessindo@gmail.com</a>&gt; menulis:<br></div>'
        b'<blockquote class="gmail_quote">Silakan transfer ke BCA.</blockquote></div>'
    )
    m = parse_mail(raw)
    assert "> Silakan transfer ke BCA." in m.text
    assert m.new_text == "Sudah saya transfer kak."


def test_outlook_html_reply_block_removed():
    raw = (
        b"From: a@b.example\r\nSubject: RE: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Terima kasih, sudah diterima.</p><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Yessindo<br>"
        b"<b>Sent:</b> Monday, November 23, 2026 10:15<br><b>To:</b> Ani<br><b>Subject:</b> x</div>"
        b"<p>Paket sudah dikirim.</p>"
    )
    m = parse_mail(raw)
    assert "Paket sudah dikirim." in m.text
    assert m.new_text == "Terima kasih, sudah diterima."


def test_raw_utf8_bytes_in_headers():
    raw = "From: Añi Ñoñó <ani@example.id>\r\nSubject: Pesanan café ☕\r\n\r\nhalo".encode()
    m = parse_mail(raw)
    assert m.subject == "Pesanan café ☕"
    assert m.sender_name == "Añi Ñoñó" and m.sender == "ani@example.id"


def test_invisible_characters_dropped_from_html():
    assert html_to_text("<p>Ha\u200blo\ufeff kak</p>") == "Halo kak"


def test_huge_html_capped_before_conversion():
    html = "<p>" + "isi " * 200_000 + "</p>"
    raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    m = parse_mail(raw, max_text_chars=1000)
    assert len(m.text) == 1000
    assert any(p.startswith("HTML body cut at 200000") for p in m.problems)
    assert "body truncated at 1000 characters" in m.problems


def test_one_broken_part_does_not_lose_the_others():
    raw = (
        b"From: Ani <ani@example.id>\r\nSubject: Foto\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIni fotonya.\r\n"
        b"--B\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\xff\xfe.jpg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!\r\n--B--\r\n"
    )
    m = parse_mail(raw)
    assert m.parse_ok and m.text == "Ini fotonya." and m.sender == "ani@example.id"
    assert len(m.attachments) == 1 and m.attachments[0].content_type == "image/jpeg"


def test_mutated_samples_never_raise():
    import random

    rnd = random.Random(4)
    samples = [p.read_bytes() for p in sorted(MAIL.glob("*.eml"))]
    tokens = [b"=?", b"?=", b"\r\n", b"--", b"<", b">", b";", b"\r\n\r\n", b"charset=", b"boundary=", b":", b"\xff",
              b"=?utf-8?b?", b"=?x?q?", b"Content-Type: multipart/mixed; boundary=", b"Content-Transfer-Encoding: base64"]
    for _ in range(400):
        raw = bytearray(rnd.choice(samples))
        for _ in range(rnd.randint(1, 12)):
            i = rnd.randrange(len(raw) + 1)
            op = rnd.random()
            if op < 0.4 and raw:
                raw[min(i, len(raw) - 1)] = rnd.randrange(256)
            elif op < 0.7:
                raw[i:i] = rnd.choice(tokens)
            else:
                del raw[i : i + rnd.randint(1, 40)]
        m = parse_mail(bytes(raw))
        assert isinstance(m, ParsedMail) and m.message_id.startswith("<")
        assert not any(p.startswith("unparseable: ") and "Error" in p for p in m.problems), m.problems
        automatic_reason(m, OWN)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ok.\n\nAm 23.11.2026 um 10:15 schrieb Yessindo <cs@y.id>:\nalt", "Ok."),
        ("Ok.\n\nLe lun. 23 nov. 2026 à 10:15, Yessindo <cs@y.id> a écrit :\nancien", "Ok."),
        ("Ok.\n\nPada 23 Nov 2026, pukul 10.15, Yessindo <cs@y.id> menulis:\nlama", "Ok."),
        ("Ok.\n\nOn Monday, November 23, 2026, 10:15:00 AM GMT+7, Yessindo <cs@y.id> wrote:\nold", "Ok."),
        ("Ok.\n\nYessindo Support <cs@y.id> wrote:\n\n> old", "Ok."),
        ("Ok.\n*From:* Yessindo\n*Sent:* Monday\n*To:* Ani\n*Subject:* x\nold", "Ok."),
        ("Ok.\n\nSent from Mail for Windows", "Ok."),
        ("Ok.\n\nDikirim dari ponsel Samsung Galaxy saya", "Ok."),
        ("Ok.\n\nDapatkan Outlook untuk Android", "Ok."),
    ],
)
def test_strip_quoted_more_clients(text, expected):
    assert strip_quoted(text) == expected


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Pengiriman gagal, paket kembali ke toko?", "Paket saya kembali ke toko."),
        ("Kenapa saya dapat balasan otomatis?", "Saya sudah dapat balasan otomatis tapi belum dijawab."),
        ("Paket datang waktu saya di luar kantor", "I was out of the office when the courier came."),
        ("Pesanan", "Maaf baru balas, saya sedang cuti jadi paketnya dititipkan."),
    ],
)
def test_customers_using_the_words_are_answered(subject, text):
    m = _replace(parsed("plain.eml"), subject=subject, text=text, new_text=text)
    assert automatic_reason(m, OWN) is None


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Budi Santoso is out of the office", "Back on Monday."),
        ("Re: Pesanan", "Terima kasih atas email Anda. Saya sedang cuti hingga 1 Desember 2026."),
        ("Re: Pesanan", "Terima kasih. Pesan ini dikirim secara otomatis."),
        ("Re: Order", "Hello, this is an automated response to confirm we got your message."),
        ("Undeliverable: Pesanan", "Delivery has failed to these recipients"),
    ],
)
def test_more_auto_replies_recognised(subject, text):
    m = _replace(parsed("plain.eml"), subject=subject, text=text, new_text=text)
    assert automatic_reason(m, OWN) is not None


def test_auto_submitted_with_comment_and_response_suppress():
    base = parsed("plain.eml")
    assert automatic_reason(_replace(base, headers={"auto-submitted": "no (manual)"}), OWN) is None
    assert "auto-replied" in automatic_reason(_replace(base, headers={"auto-submitted": "auto-replied (vacation)"}), OWN)
    assert "Suppress" in automatic_reason(_replace(base, headers={"x-auto-response-suppress": "DR, OOF, AutoReply"}), OWN)
    assert automatic_reason(_replace(base, headers={"x-auto-response-suppress": "DR"}), OWN) is None


def test_own_addresses_given_with_display_names():
    base = parsed("plain.eml")
    own = ["Yessindo Support <PTYessindo@gmail.com>"]
    assert automatic_reason(_replace(base, sender="ptyessindo@gmail.com"), own) == "sent by our own address"
    assert automatic_reason(base, own) is None


def test_html_edge_shapes():
    assert html_to_text("<ul><li><p>satu</p></li><li><p>dua</p></li></ul>") == "- satu\n- dua"
    # an unclosed <head> must not hide the body
    assert html_to_text("<html><head><meta charset=utf-8><body><p>Isi pesan</p>") == "Isi pesan"
    assert html_to_text("") == ""


@pytest.mark.parametrize(
    "charset, data, expected, note",
    [
        ("gb2312", "订单 €".encode("gb18030"), "订单 €", None),  # declared gb2312, bytes of its superset
        ("us-ascii", "caf\xe9".encode("cp1252"), "café", "8-bit bytes in declared charset us-ascii"),
        ("utf-8*id", "Halo ☕".encode(), "Halo ☕", None),
        ("base64", b"halo", "halo", "unknown charset base64"),  # not a text codec
    ],
)
def test_charset_edges(charset, data, expected, note):
    raw = b"From: a@b.example\r\nContent-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + data
    m = parse_mail(raw)
    assert m.text == expected
    if note is None:
        assert m.problems == ()
    else:
        assert any(note in p for p in m.problems), m.problems


def test_attachment_filename_has_no_directories():
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b'filename="C:\\\\fakepath\\\\..\\\\nota.pdf"\r\n\r\nPDF\r\n'
        b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\nx\r\n"
        b"--B--\r\n"
    )
    assert [a.filename for a in parse_mail(raw).attachments] == ["nota.pdf", "passwd"]


def test_formal_letter_header_is_not_quoted_history():
    text = "Selamat pagi,\n\nDari: Budi Santoso\nKepada: Yessindo\nPerihal: Pengembalian dana\n\nMohon refund pesanan YS-1042."
    assert strip_quoted(text) == text


def test_signature_variants_and_prose():
    assert strip_quoted("Oke.\n\nSent via the Samsung Galaxy S23, an AT&T 5G smartphone") == "Oke."
    assert strip_quoted("Oke.\n\nDikirim dari aplikasi Email Samsung") == "Oke."
    prose = "Paket saya dikirim dari gudang mana?"
    assert strip_quoted(prose) == prose


def test_leading_blank_lines_and_mbox_from_line():
    m = parse_mail(b"\r\n\r\nFrom: Budi <budi@example.id>\r\nSubject: hi\r\n\r\nisi")
    assert m.parse_ok and m.sender == "budi@example.id" and m.text == "isi"
    assert "whitespace before the headers ignored" in m.problems
    m = parse_mail(b"From budi@example.id Mon Nov 23 10:00:00 2026\nFrom: Budi <budi@example.id>\nSubject: hi\n\nisi")
    assert m.parse_ok and m.sender == "budi@example.id" and m.subject == "hi" and m.text == "isi"


def test_multipart_with_missing_or_wrong_boundary():
    m = parse_mail(b"From: a@b.example\r\nContent-Type: multipart/alternative\r\n\r\nno boundary at all")
    assert m.parse_ok and m.text == "no boundary at all"
    assert any("without usable parts" in p for p in m.problems)
    m = parse_mail(
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n"
        b"--X\r\nContent-Type: text/plain\r\n\r\nIsi pesan\r\n"
        b"--X\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n\r\nPNG\r\n--X--\r\n"
    )
    assert m.text == "Isi pesan"
    assert [(a.filename, a.data) for a in m.attachments] == [("a.png", b"PNG")]


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings, strategies as st  # noqa: E402

_HEADERISH = st.lists(
    st.sampled_from([
        b"From: ", b"Subject: ", b"To: ", b"Message-ID: ", b"Content-Type: ", b"multipart/mixed; boundary=B",
        b"text/html; charset=", b"x-unknown", b"utf-8", b"=?utf-8?b?", b"=?iso-8859-1?q?", b"?=", b"\r\n", b"\r\n\r\n",
        b"--B\r\n", b"--B--", b"<p>", b"<a href=", b"<blockquote>", b"> ", b"On Mon wrote:", b"\xff\xfe", b"\x00",
        b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n", b"=C3=A9",
    ]) | st.binary(max_size=20),
    max_size=40,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_HEADERISH)
def test_parse_mail_never_raises_property(raw):
    m = parse_mail(raw)
    assert isinstance(m, ParsedMail)
    assert m.message_id.startswith("<") and m.message_id.endswith(">")
    assert len(m.text) <= 20_000
    assert m.parse_ok or m.text == "" or m.problems


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_strip_quoted_property(text):
    out = strip_quoted(text)
    assert isinstance(out, str)
    if text.strip():
        assert out.strip()  # never empties a non-empty text


def test_loop_check_small_cases():
    base = parsed("plain.eml")
    assert automatic_reason(parsed("garbage.eml"), OWN) == "unparseable mail: an agent must look"
    assert automatic_reason(_replace(base, headers={"precedence": "bulk (newsletter)"}), OWN) == "Precedence: bulk"
    # a single address given as a string is one address, not a list of characters
    assert automatic_reason(_replace(base, sender="ptyessindo@gmail.com"), "ptyessindo@gmail.com") == "sent by our own address"
    assert automatic_reason(base, "ptyessindo@gmail.com") is None
    assert automatic_reason(_replace(base, sender=""), OWN) == "no sender address"


def test_placeholder_plain_text_gives_way_to_html():
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n"
        b"--A\r\nContent-Type: text/plain\r\n\r\nYour email client does not support HTML messages.\r\n"
        b"--A\r\nContent-Type: text/html\r\n\r\n<p>Pesanan YS-77 belum sampai.</p>\r\n--A--\r\n"
    )
    assert parse_mail(raw).text == "Pesanan YS-77 belum sampai."


def test_indonesian_zone_names_in_date():
    m = parse_mail(b"From: a@b.example\r\nDate: Mon, 23 Nov 2026 10:00:00 WIB\r\n\r\nhi")
    assert m.date == datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    m = parse_mail(b"From: a@b.example\r\nDate: Mon, 23 Nov 2026 10:00:00 -0000\r\n\r\nhi")
    assert m.date == datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    assert parse_mail(b"From: a@b.example\r\nDate: kemarin sore\r\n\r\nhi").date is None


def test_iso_2022_jp_as_windows_writes_it():
    # "№" (0x2D62) is one of cp932's NEC extensions that Python's iso2022_jp codecs refuse.
    word = base64.b64encode(b"\x1b$B-b\x1b(B12 \x1b$B$3$s\x1b(B").decode()
    m = parse_mail(f"From: a@contoh.id\r\nSubject: =?iso-2022-jp?b?{word}?=\r\n\r\nx".encode())
    assert m.subject == "№12 こん" and not m.problems
    # undeclared raw ISO-2022-JP in a header: decoded, not scrubbed of its ESC bytes
    assert parse_mail(b"From: a@contoh.id\r\nSubject: \x1b$B$3$s\x1b(B\r\n\r\nx").subject == "こん"
