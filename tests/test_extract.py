from __future__ import annotations

import pytest

from bot.extract import extract, mask_secrets, to_e164


def test_order_numbers():
    found = extract("min nomor resi pesanan INV-20261102-0042 apa? juga order 55821")
    assert found.order_numbers == ("INV-20261102-0042", "55821")


def test_bare_number_is_not_an_order_without_an_order_word():
    assert extract("saya beli 3 barang seharga 150000").order_numbers == ()


def test_emails_and_phones():
    found = extract("email Budi.S@Example.com, hp 0812 3456 7890 atau +62 821-2966-6065")
    assert found.emails == ("budi.s@example.com",)
    assert found.phones == ("+6281234567890", "+6282129666065")


@pytest.mark.parametrize("raw,e164", [("081234567890", "+6281234567890"), ("+62 812-3456-7890", "+6281234567890"),
                                      ("6281234567890", "+6281234567890"), ("12", None)])
def test_to_e164(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize("text,kinds,secret", [
    ("kode OTP 123456", ("otp",), "123456"),
    ("otp nya 9876", ("otp",), "9876"),
    ("kode verifikasi: 55123", ("otp",), "55123"),
    ("my password is hunter22", ("password",), "hunter22"),
    ("pw: s3cr3t!", ("password",), "s3cr3t!"),
    ("no kartu 5500-0000-0000-0004", ("card",), "5500-0000-0000-0004"),
])
def test_secrets_are_masked(text, kinds, secret):
    m = mask_secrets(text)
    assert m.kinds == kinds
    assert secret not in m.text


@pytest.mark.parametrize("text", [
    "lupa password gmn resetnya", "password saya salah terus", "kode OTP nggak masuk2",
    "pesanan INV-20261102-0042", "nomor hp 081234567890", "kartu kredit saya ditolak",
    "4111 1111 1111 1112",  # fails Luhn: not a card number
])
def test_ordinary_text_is_not_masked(text):
    assert mask_secrets(text).kinds == ()
    assert mask_secrets(text).text == text


def test_card_keeps_last_four():
    assert mask_secrets("4111111111111111").text.endswith("1111")
