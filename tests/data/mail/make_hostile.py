"""Writes the hostile-mail corpus in tests/data/mail/hostile/ (one mail per file, flat).

Every mail here was written for this project (no text from other suites). Run it again
after changing a shape: `.venv/bin/python tests/data/mail/make_hostile.py`. The files are
committed so other tests and benches (intake, corpus bench) read them as plain .eml files.
"""
from __future__ import annotations

import base64
from pathlib import Path

OUT = Path(__file__).resolve().parent / "hostile"
CRLF = b"\r\n"


def head(subject: str | bytes, *, sender: bytes = b"Ani Wijaya <ani@contoh.id>", extra: bytes = b"",
         ctype: bytes = b"text/plain; charset=utf-8", mid: str = "") -> bytes:
    subj = subject if isinstance(subject, bytes) else subject.encode()
    lines = [
        b"From: " + sender,
        b"To: cs@yessindo.test",
        b"Subject: " + subj,
        b"Date: Mon, 30 Nov 2026 09:15:00 +0700",
        b"Message-ID: <" + (mid or subj.decode("ascii", "replace")[:20].replace(" ", "-")).encode("ascii", "replace") + b"@contoh.id>",
        b"MIME-Version: 1.0",
        b"Content-Type: " + ctype,
    ]
    if extra:
        lines.append(extra.rstrip(CRLF))
    return CRLF.join(lines) + CRLF + CRLF


def html_mail(subject: str, html: str) -> bytes:
    return head(subject, ctype=b"text/html; charset=utf-8") + html.encode()


def nested_multipart(depth: int) -> bytes:
    body = b""
    for i in range(depth):
        body += b"--B%d\r\nContent-Type: multipart/mixed; boundary=B%d\r\n\r\n" % (i, i + 1)
    body += b"--B%d\r\nContent-Type: text/plain\r\n\r\nHalo kak, pesanan saya belum sampai.\r\n--B%d--\r\n" % (depth, depth)
    for i in reversed(range(depth)):
        body += b"--B%d--\r\n" % i
    return head(f"Nested {depth}", ctype=b"multipart/mixed; boundary=B0") + body


def many_parts(n: int) -> bytes:
    parts = b"".join(
        b"--P\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=p%d.txt\r\n\r\nisi %d\r\n" % (i, i)
        for i in range(n)
    )
    return head("Banyak lampiran", ctype=b"multipart/mixed; boundary=P") + b"--P\r\nContent-Type: text/plain\r\n\r\nLihat lampiran.\r\n" + parts + b"--P--\r\n"


def attachment_mail(size: int) -> bytes:
    blob = (b"YESSINDO-FOTO-" * (size // 14 + 1))[:size]
    b64 = base64.encodebytes(blob).replace(b"\n", CRLF)
    return (
        head("Foto besar", ctype=b"multipart/mixed; boundary=A")
        + b"--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIni foto paketnya kak.\r\n"
        + b"--A\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n"
        + b"Content-Disposition: attachment; filename=\"paket.jpg\"\r\n\r\n" + b64 + b"--A--\r\n"
    )


def build() -> dict[str, bytes]:
    mails: dict[str, bytes] = {}
    n = 3000
    mails["poison_nested_lists.eml"] = html_mail("Poison lists", "<ol>" * n + "<li>x" * n)
    mails["poison_nested_lists_closed.eml"] = html_mail(
        "Poison lists closed", "<ul>" * 2000 + "<li><p>isi</p></li>" * 2000 + "</ul>" * 2000)
    mails["poison_unclosed_tags.eml"] = html_mail("Poison tags", "<p>Halo</p>" + '<a b="' * 30000)
    mails["poison_deep_quotes.eml"] = html_mail("Poison quotes", "<blockquote>kutipan " * 20000)
    mails["poison_comments_links.eml"] = html_mail(
        "Poison comments", "<!--" * 20000 + "-->" + '<a href="https://x.example/">' * 20000 + "teks" + "</a>" * 20000)
    mails["deep_multipart_1000.eml"] = nested_multipart(1000)
    mails["deep_multipart_60.eml"] = nested_multipart(60)
    mails["ten_thousand_parts.eml"] = many_parts(10_000)
    junk = b"".join(b"X-Junk-%d: %s\r\n" % (i, b"j" * 60) for i in range(5000))
    mails["huge_header.eml"] = head("=?utf-8?q?" + "a" * 200_000 + "?=", extra=junk.rstrip(CRLF)) + b"Isi singkat.\r\n"
    mails["bad_charsets.eml"] = (
        head("=?x-klingon?q?Pesanan?= =?base64?b?SGFsbw==?=", ctype=b"text/plain; charset=\"x-does-not-exist\"")
        + "Pesanan saya sudah dibayar, café.\r\n".encode("cp1252")
    )
    mails["broken_base64.eml"] = (
        head("Base64 rusak", extra=b"Content-Transfer-Encoding: base64")
        + b"SGFsbyBrYWssIHBlc2FuYW4g!!!c2F5YQ=\r\n====\r\n@@@@\r\nYmVsdW0gc2FtcGFp\r\n"
    )
    mails["missing_boundary.eml"] = (
        head("Tanpa boundary", ctype=b"multipart/mixed")
        + b"--XYZ\r\nContent-Type: text/plain\r\n\r\nHalo kak, ini isinya.\r\n--XYZ--\r\n"
    )
    mails["nul_bytes.eml"] = (
        head(b"Pesanan\x00 saya", sender=b"Ani\x00 Wijaya <ani@contoh.id>")
        + b"Halo\x00 kak,\x00 pesanan\x00\x00 saya belum sampai.\r\n"
    )
    mails["control_chars_from_subject.eml"] = head(
        "=?utf-8?q?Tolong=00=1B[31m_dibantu=C2=9B?= \x1b]0;judul\x07",
        sender=b"=?utf-8?q?Budi=1B[2J=00_Santoso?= <budi@contoh.id>",
    ) + b"Halo kak \x1b[31mmerah\x1b[0m, pesanan saya.\r\n"
    mails["non_ascii_sender.eml"] = (
        "From: Jörg Döe <jdöe@mächine.example>\r\nTo: cs@yessindo.test, ülrich@bücher.example\r\n"
        "Subject: Pesanan ☕\r\nMessage-ID: <ümlaut@mächine.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Halo kak, pesanan saya.\r\n"
    ).encode()
    mails["empty.eml"] = b""
    mails["only_headers.eml"] = b"From: ani@contoh.id\r\nSubject: Hanya header\r\nMessage-ID: <only@contoh.id>"
    mails["eight_bit_headers.eml"] = (
        b"From: Jos\xe9 Mar\xeda <jose@contoh.id>\r\nSubject: Caf\xe9 \xfcber \xff\xfe\r\n"
        b"To: cs@yessindo.test\r\nContent-Type: text/plain\r\n\r\nPesanan caf\xe9.\r\n"
    )
    mails["six_mb_attachment.eml"] = attachment_mail(6 * 1024 * 1024)
    words = " ".join("=?utf-8?b?" + base64.b64encode(f"kata{i} ".encode()).decode() + "?=" for i in range(5000))
    mails["rfc2047_abuse.eml"] = head(
        words + " =?utf-8?q?=?utf-8?q?nested?=?= =?utf-8?b?!!!?= =?utf-8?q?unterminated",
        sender=b"=?utf-8?q?victim@contoh.id?= <attacker@jahat.example>",
    ) + b"Isi.\r\n"
    mails["from_no_angle.eml"] = head("Tanpa kurung", sender=b"Big Bug bb@bug.example") + b"Halo.\r\n"
    mails["from_two_addresses.eml"] = head(
        "Dua pengirim", sender=b"ani@contoh.id, budi@contoh.id", extra=b"Sender: Sekretaris <sekretaris@contoh.id>"
    ) + b"Halo.\r\n"
    mails["from_obsolete_colon.eml"] = (
        b"From  : Citra <citra@contoh.id>\r\nSubject  : Kolon lama\r\nTo: cs@yessindo.test\r\n"
        b"Message-ID: <obs@contoh.id>\r\n\r\nHalo kak.\r\n"
    )
    mails["from_empty_angle.eml"] = head("Tanpa alamat", sender=b"\"victim@contoh.id\" <>") + b"Halo.\r\n"
    mails["from_own_quoted.eml"] = head("Dari kami", sender=b"CS <\"cs\"@yessindo.test.>") + b"Tes.\r\n"
    mails["qp_soft_breaks.eml"] = head("QP", extra=b"Content-Transfer-Encoding: quoted-printable") + b"a=\r\n" * 200_000
    mails["flowed_bomb.eml"] = head("Flowed", ctype=b"text/plain; charset=utf-8; format=flowed") + b"kata \r\n" * 100_000 + b"akhir\r\n"
    mails["long_line.eml"] = head("Baris panjang") + b"x" * 2_000_000 + b"\r\n"
    return mails


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (OUT / name).write_bytes(data)
    print(f"{len(build())} mails written to {OUT}")


if __name__ == "__main__":
    main()
