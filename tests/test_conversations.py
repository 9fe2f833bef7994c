"""Conversations, not forms: scripted chats with the real pipeline (tests/conversations.py
checks on every one that the bot never repeats itself, never asks again for a detail it
has, keeps the case, and never takes a detail for a question)."""
from __future__ import annotations

import pytest

from tests.conversations import Scenario

ORDER = ("order_status", "followup")

SCENARIOS = [
    Scenario("order number, then the name, then when it arrives", [
        ("paket saya belum sampai", {"plan": "order_status", "has": ["nomor pesanan", "nama penerima", "5–15 menit"],
                                     "tickets": 1}),
        ("INV-20261125-0456", {"plan": "details", "has": ["Nomor pesanan INV-20261125-0456 sudah kami catat",
                                                          "tinggal nama penerima"],
                               "lacks": ["5–15 menit", "masih kami tangani", "1. Produk"], "tickets": 1}),
        ("atas nama Sri Wahyuni", {"plan": "details", "has": ["Nama penerima Sri Wahyuni sudah kami catat",
                                                              "lengkap", "paling lambat"], "tickets": 1}),
        ("kira-kira kapan sampainya?", {"plan": "followup", "has": ["YS-000001", "paling lambat"],
                                        "lacks": ["1. Produk", "nomor pesanan ("], "tickets": 1}),
        ("gimana kak?", {"plan": "followup", "has": ["YS-000001"], "lacks": ["1. Produk"]}),
        ("halo? ada orang?", {"plan": ("followup", "greeting", "human"), "has": ["YS-000001"], "lacks": ["1. Produk"]}),
    ]),
    Scenario("an email address given is noted, not answered with our contacts", [
        ("akun saya tidak bisa login", {"plan": "account", "has": ["email atau nomor HP"]}),
        ("email saya rina.w@example.com", {"plan": "details", "has": ["rina.w@example.com sudah kami catat"],
                                           "lacks": ["Saluran resmi", "ptyessindo@gmail.com"]}),
    ]),
    Scenario("thanks after the problem is solved is thanks, not an escalation", [
        ("Terima kasih kak, masalahnya sudah beres sekarang 🙏", {"plan": "thanks", "intent": "thanks", "tickets": 0,
                                                                  "lacks": ["supervisor"]}),
    ]),
    Scenario("thanks that mentions the parcel is thanks", [
        ("makasih min, paketnya udh nyampe", {"plan": "thanks", "intent": "thanks", "tickets": 0}),
    ]),
    Scenario("a complaint gets an apology and a ticket the supervisors see", [
        ("saya kecewa banget, pelayanannya lambat", {"plan": "complaint", "has": ["mohon maaf", "supervisor"],
                                                    "lacks": ["senang bisa membantu"], "tickets": 1}),
    ]),
    Scenario("cancellation is a cancellation, not a status check", [
        ("tolong batalkan pesanan saya", {"plan": "order_status", "topic": "cancel_order",
                                          "has": ["pembatalan", "nomor pesanan"], "lacks": ["status dan pengiriman"]}),
        ("INV-20261120-0001", {"plan": "details", "has": ["INV-20261120-0001 sudah kami catat", "lengkap"]}),
    ]),
    Scenario("COD is a pre-sale question: no proof of transfer, no order number", [
        ("bisa COD ke Medan?", {"plan": "payment", "topic": "cod", "has": ["COD"],
                                "lacks": ["bukti transfer", "nomor pesanan", "metode pembayaran cod sudah"]}),
    ]),
    Scenario("a product link after a product question fills the case", [
        ("stok sepatu ventela hitam 42 ada?", {"plan": "product", "topic": "stock", "lacks": ["link produk"]}),
        ("https://yessindo.co.id/p/ventela-public-hitam-42", {"plan": "details", "lacks": ["1. Produk", "Halo Kak"],
                                                              "has": ["sudah kami catat"], "tickets": 1}),
    ]),
    Scenario("out-of-scope commands get no support answer and no ticket", [
        ("setel alarm jam 7 pagi", {"plan": "out_of_scope", "tickets": 0}),
        ("mainkan lagu noah", {"plan": "out_of_scope", "tickets": 0}),
        ("ingatkan saya membeli handuk besok", {"plan": "out_of_scope", "tickets": 0}),
    ]),
    # found by a reviewer playing customer (tests/conversations.py rules apply to each)
    Scenario("'please do not cancel' is noted for the team, never queued as a cancellation", [
        ("tolong jangan batalkan pesanan INV-20261126-0011 ya kak, saya cuma telat bayar",
         {"plan": "refused_action", "has": ["tidak menginginkan pembatalan"], "lacks": ["permintaan pembatalannya"],
          "tickets": 1}),
    ]),
    Scenario("en: a cancellation taken back", [
        ("I want to cancel my order INV-20261127-0002", {"plan": "order_status", "topic": "cancel_order"}),
        ("actually never mind, please don't cancel it", {"plan": ("refused_action", "withdrawn"),
                                                        "has": ["order cancellation", "YS-000001"],
                                                        "lacks": ["in our support team's queue"]}),
    ]),
    Scenario("a parcel that arrived after all: the case is taken back", [
        ("paket saya belum sampai", {"plan": "order_status"}),
        ("eh udah sampe barusan kak, ga jadi", {"plan": "withdrawn", "has": ["menutup laporan YS-000001"],
                                              "lacks": ["pembatalan"]}),
    ]),
    Scenario("en: not a return, a question about authenticity", [
        ("I don't want to return it, I just want to know if the item is original",
         {"topic": "authenticity_warranty", "lacks": ["special case", "photos/video"]}),
    ]),
    Scenario("order number with spaces, exchange size wanted, a/n, refund destination", [
        ("sepatu yg kemarin ukuran 40 mau tukar ke 41 bisa?", {"topic": "exchange", "has": ["Pilihan 41"],
                                                               "lacks": ["Pilihan ukuran 40"]}),
        ("inv 20261125 0088 a/n Joko", {"plan": "details", "has": ["INV-20261125-0088", "Nama penerima Joko"],
                                        "lacks": ["We still"]}),
        ("kalau jadi refund, ke rekening BCA ya", {"has": ["Tujuan refund ke BCA"], "lacks": ["Metode pembayaran"]}),
    ]),
    Scenario("en: wanting a refund is not a late refund", [
        ("I want a refund for my order", {"topic": "refund_status", "lacks": ["hasn't reached"]}),
    ]),
    Scenario("photos promised, an acknowledgement, 'when will you answer', a ticket number", [
        ("barang saya datang pecah", {"topic": "damaged_item"}),
        ("fotonya nyusul ya kak", {"plan": "photo_waiting", "has": ["fotonya kami tunggu"]}),
        ("ok noted", {"lacks": ["Sama-sama"], "has": ["YS-000001"]}),
        ("kapan dibalas?", {"plan": "followup", "lacks": ["Senin–Jumat"]}),
        ("tiket YS-000001 udah lama loh", {"plan": "followup", "lacks": ["di luar layanan", "belum bisa membantu"]}),
    ]),
    Scenario("menu on request, a product named in the question, hours twice", [
        ("menu", {"plan": "menu", "has": ["1. Produk"]}),
        ("sepatu nike air max ukuran 42 ready ga?", {"topic": "stock", "lacks": ["link produk"]}),
        ("jam buka cs sampai jam berapa?", {"plan": "hours", "has": ["Senin–Jumat"]}),
        ("hari ini buka sampai jam berapa?", {"plan": "hours", "lacks": ["Senin–Jumat"]}),
    ]),
    Scenario("a typo corrected: the order number is replaced, no new question", [
        ("tolong batalkan pesanan saya", {"topic": "cancel_order"}),
        ("INV-20261127-0001", {"plan": "details"}),
        ("sorry kak td salah ketik, yang benar INV-20261127-0011", {"plan": "details",
                                                                   "has": ["INV-20261127-0011 sudah kami catat"],
                                                                   "lacks": ["alamat"]}),
    ]),
    Scenario("saturday night: no 'we are on it' while the team is away", [
        ("@clock", "2026-11-28T22:00:00+07:00"),
        ("akun saya dibobol orang", {"topic": "hacked_account", "has": ["09.00"]}),
        ("gimana kak?", {"plan": "followup", "lacks": ["sedang menangani"]}),
    ]),
    Scenario("a detail after the ticket was resolved opens a new case", [
        ("paket saya belum sampai", {"plan": "order_status", "tickets": 1}),
        ("@resolve", "sari"),
        ("@clock", "+4d"),
        ("INV-20261125-0999", {"plan": "details", "tickets": 1, "lacks": ["YS-000001"]}),
        ("barangnya belum datang juga", {"plan": "order_status", "tickets": 2, "has": ["YS-000002"]}),
    ]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_conversation(runner, scenario):
    runner.run(scenario)
