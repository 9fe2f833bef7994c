"""Secret masking (issue 10 item 6): OTPs, PINs, CVVs, passwords and card numbers in the
ways customers really write them, and look-alikes (order numbers, prices, phones, dates,
quantities, products) that must stay as they are."""
from __future__ import annotations

import re

import pytest

from bot.extract import Masked, mask_secrets

# (message, the secret that must disappear, the kind reported)
SECRETS = [
    # Indonesian: keyword before the code
    ("kode OTP saya 482913, kok ga bisa login", "482913", "otp"),
    ("otp 482 913", "482 913", "otp"),
    ("OTP saya 4 8 2 9 1 3", "4 8 2 9 1 3", "otp"),
    ("otpnya 771204 kak", "771204", "otp"),
    ("OTP-nya 5521 ya min", "5521", "otp"),
    ("kode verifikasi: 55123", "55123", "otp"),
    ("kode verifikasinya 903317 udah masuk", "903317", "otp"),
    ("kode aktivasi akun saya 118822", "118822", "otp"),
    ("kodenya 640918 kak", "640918", "otp"),
    ("kode yang masuk ke hp saya 730051", "730051", "otp"),
    ("ini kak kode otp dari sms: 228-461", "228-461", "otp"),
    ("kode OTP saya 48.29.13", "48.29.13", "otp"),
    ("Kode verifikasi Shopee: 602214. JANGAN BERIKAN kode ini", "602214", "otp"),
    ("token saya 99127731", "99127731", "otp"),
    ("kode keamanan 4471", "4471", "otp"),
    # Indonesian: code before the keyword
    ("482913 itu kode OTP saya", "482913", "otp"),
    ("<#> 557301 adalah kode verifikasi Tokopedia Anda", "557301", "otp"),
    ("9 0 1 2 7 7 itu otp nya", "9 0 1 2 7 7", "otp"),
    ("338812 ini kodenya kak", "338812", "otp"),
    # PIN and CVV
    ("pin ATM saya 123456", "123456", "pin"),
    ("PIN kartu debit saya 908172", "908172", "pin"),
    ("pinnya 4412 kak", "4412", "pin"),
    ("m-pin saya 551902", "551902", "pin"),
    ("pin saya 1 2 3 4 5 6", "1 2 3 4 5 6", "pin"),
    ("cvv 123", "123", "cvv"),
    ("cvv nya 482", "482", "cvv"),
    ("kode cvv kartu saya 9911", "9911", "cvv"),
    ("CVC: 707", "707", "cvv"),
    ("837 itu cvv kartu saya", "837", "cvv"),
    # Indonesian passwords
    ("kata sandinya Jakarta2024", "Jakarta2024", "password"),
    ("passwordnya rahasiabanget", "rahasiabanget", "password"),
    ("password saya Rahasia123! tolong cek akun", "Rahasia123!", "password"),
    ("sandi saya: bungamelati", "bungamelati", "password"),
    ("kata sandi akun saya adalah kucingoren", "kucingoren", "password"),
    ("pw: s3cr3t!", "s3cr3t!", "password"),
    ("pass: tokoku88", "tokoku88", "password"),
    ("Jakarta2024 itu password saya", "Jakarta2024", "password"),
    ("passwordku Mawar_Merah", "Mawar_Merah", "password"),
    ("Password Gmail saya: Ab12cd34", "Ab12cd34", "password"),
    ("pwd = qwerty123", "qwerty123", "password"),
    ("password baru saya Budi@1990", "Budi@1990", "password"),
    # English
    ("the code I got is 482913", "482913", "otp"),
    ("my OTP is 661209", "661209", "otp"),
    ("Your Gojek OTP is 4829", "4829", "otp"),
    ("verification code: 300 144", "300 144", "otp"),
    ("here is the one-time code 71 22 09", "71 22 09", "otp"),
    ("550912 is my verification code", "550912", "otp"),
    ("my pin is 2580", "2580", "pin"),
    ("cvv is 044", "044", "cvv"),
    ("my password is hunter22", "hunter22", "password"),
    ("password: correcthorsebattery", "correcthorsebattery", "password"),
    ("the passcode is Blue-Sky-77", "Blue-Sky-77", "password"),
    ("security code 8124", "8124", "otp"),
    ("login code is 92-11-44", "92-11-44", "otp"),
    # cards, in groups, no keyword needed
    ("no kartu 5500-0000-0000-0004", "5500-0000-0000-0004", "card"),
    ("kartu 4111 1111 1111 1111 ditolak", "4111 1111 1111 1111", "card"),
    ("card 378282246310005 please refund", "378282246310005", "card"),
    ("my visa 4012888888881881 was charged twice", "4012888888881881", "card"),
    ("3782 822463 10005 amex saya", "3782 822463 10005", "card"),
]

# messages with no secret, kept exactly as written
LOOK_ALIKES = [
    "pesanan INV-20261125-0456 belum sampai",
    "INV-20261102-0042 kapan dikirim?",
    "harganya Rp 150.000 kak",
    "total Rp 1.250.000 sudah saya transfer",
    "nomor hp 081234567890",
    "wa saya +62 812-3456-7890",
    "hubungi 6281234567890",
    "resi JP1234567890 belum update",
    "no resi 4111111111111111 kok belum jalan",
    "pin bros 3 biji",
    "beli pin 1000 pcs bisa?",
    "pin enamel 2024 edition masih ada?",
    "kode pos 40123",
    "kode promo: HEMAT50",
    "promo code SAVE2024",
    "kode unik 123 sudah saya tambahkan",
    "kode booking 558812",
    "lupa password gmn resetnya",
    "password saya salah terus",
    "passwordnya udah diganti",
    "passwordnya kadaluarsa",
    "kata sandinya terblokir",
    "kode OTP nggak masuk2",
    "kode OTP 6 digit ga masuk",
    "otp saya belum masuk dari tadi",
    "tgl 12.12.2026 otp saya blm masuk",
    "kartu kredit saya ditolak",
    "4111 1111 1111 1112",
    "Pak Sandi 081234567890",
    "saya beli 3 barang seharga 150000",
    "I forgot my password, can you reset it?",
    "the OTP never arrives",
    "my pin code doesn't work",
    "pw banget kasurnya",
    "pass dulu kak, kemahalan",
    "token listrik 1234 5678 9012 3456 7890 belum masuk",
    "rekening BCA 5271234567890 atas nama Budi",
    "sudah bayar ke virtual account 8808 1234 5678 9012",
    "order 20261125 dikirim tanggal 25-11-2026",
    "ukuran 42 warna hitam 2 pasang",
    "tolong kirim kode OTP lagi",
    "nama saya Sandi Wijaya",
    "kata sandi saya tanggal lahir",
    "harga pin 15000",
    "pin 15000 dapat berapa",
    "kode bayar 88081234",
    "otp 12 desember 2026",
]


@pytest.mark.parametrize("text,secret,kind", SECRETS)
def test_secret_is_masked(text: str, secret: str, kind: str) -> None:
    m = mask_secrets(text)
    assert secret not in m.text
    digits = re.sub(r"\D", "", secret)
    if kind != "card" and len(digits) >= 3:
        assert digits not in re.sub(r"\D", "", m.text)  # no digits of the code left anywhere
    assert kind in m.kinds
    assert "*" in m.text


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alike_is_kept(text: str) -> None:
    m = mask_secrets(text)
    assert m == Masked(text, ())


def test_enough_phrasings() -> None:
    assert len(SECRETS) >= 50 and len(LOOK_ALIKES) >= 30
    langs = {"en" if re.search(r"\b(?:my|is|the|here|please|was)\b", t) else "id" for t, _, _ in SECRETS}
    assert langs == {"id", "en"}


def test_the_rest_of_the_message_stays() -> None:
    m = mask_secrets("pesanan INV-20261125-0456, otp saya 482913, bayar Rp 150.000")
    assert m.text == "pesanan INV-20261125-0456, otp saya ******, bayar Rp 150.000"
    assert m.kinds == ("otp",)


def test_card_keeps_last_four_and_several_kinds_are_reported() -> None:
    m = mask_secrets("kartu 4111 1111 1111 1111 cvv 123 otp 998877")
    assert m.text == "kartu **** **** **** 1111 cvv *** otp ******"
    assert set(m.kinds) == {"card", "cvv", "otp"}


def test_empty_and_plain_text() -> None:
    assert mask_secrets("") == Masked("", ())
    assert mask_secrets("halo kak") == Masked("halo kak", ())


def test_long_text_is_fast_enough_to_stay_linear() -> None:
    """Not a timing test: a big message of look-alikes masks nothing and returns it whole."""
    text = "pin bros 3 biji, kode pos 40123, Rp 150.000. " * 2000
    assert mask_secrets(text).text == text


# -- the email subject, end to end: real Dovecot and SMTP, `poll-email --once` ---------------
import os  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from email.header import Header  # noqa: E402
from pathlib import Path  # noqa: E402

from tests.mail_servers import customer_mail, dovecot, smtp_server, write_config  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[1]
SUBJECT_SECRETS = ("482913", "771204", "Jakarta2024")


def _all_stored_text(db: Path) -> str:
    """Every value of every table, and the raw bytes of the database and its WAL."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [str(tuple(r)) for t in tables for r in conn.execute(f'SELECT * FROM "{t}"')]
    finally:
        conn.close()
    raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    return "\n".join(rows) + raw.decode("utf-8", "replace")


def test_a_secret_in_the_subject_is_stored_nowhere_and_never_echoed(tmp_path, dovecot, smtp_server):  # noqa: F811
    encoded = Header("OTP saya 7 7 1 2 0 4 tolong", "utf-8").encode()
    dovecot.append(
        customer_mail(1, subject="Kode OTP saya 482913 kok gagal login", text="Halo kak, saya tidak bisa login."),
        customer_mail(2, subject=encoded, sender="siti@example.com", text="Akun saya kenapa ya kak?"),
        customer_mail(3, subject="Re: passwordnya Jakarta2024", sender="andi@example.com",
                      text="Tolong bantu akun saya diblokir"),
    )
    config = write_config(tmp_path, {**dovecot.settings_table(), **smtp_server.settings_table()})
    r = subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                       cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    sent = smtp_server.wait_for(3)
    assert len(sent) == 3
    for got in sent:
        headers = "\n".join(f"{k}: {v}" for k, v in got.message.items())
        body = got.message.get_body(("plain",)).get_content()
        for secret in SUBJECT_SECRETS:
            assert secret not in headers and secret not in body
        assert got.message["Subject"].startswith("Re: ")
    subjects = sorted(str(g.message["Subject"]) for g in sent)
    assert any("Kode OTP saya ****** kok gagal login" in s for s in subjects)
    stored = _all_stored_text(tmp_path / "bot.db")
    assert "kok gagal login" in stored  # the rest of the subject is kept for the agents
    for secret in SUBJECT_SECRETS + ("7 7 1 2 0 4",):
        assert secret not in stored
    assert "JANGAN PERNAH" in "".join(g.message.get_body(("plain",)).get_content() for g in sent)
    for secret in SUBJECT_SECRETS:
        assert secret not in r.stdout + r.stderr
