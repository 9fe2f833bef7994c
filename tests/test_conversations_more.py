"""More scripted conversations with the real pipeline (tests/conversations.py checks the
invariants on every one): each of the six categories in Indonesian and English, details
filling an open case, follow-ups, a second question, a language switch, a burst of
messages, odd order numbers, resolved tickets, ratings, a person taking over, out of
hours, feedback, escalations, pre-sale questions, a huge message, out-of-scope requests
and email threads."""
from __future__ import annotations

import pytest

from tests.conversations import Scenario

MENU = ("1. Produk", "1. Products")
FOLLOW = ("followup",)
SAT_EVENING = "2026-11-28T18:00:00+07:00"  # a Saturday, after closing (weekend hours 09.00-17.00)
EMAIL = dict(channel="email", customer="budi@example.com")
# a nudge on an open, complete case: the case's state, nothing noted, nothing asked, no menu
NUDGE = {"has": ["YS-000001"], "lacks": ["sudah kami catat", "mohon kirimkan", "tinggal", "1. Produk"]}

SCENARIOS = [
    # ------------------------------------------------------------------ order status
    Scenario("id: late parcel, both details in one message, then short nudges", [
        ("Kak, pesanan saya dari minggu lalu kok belum nyampe ya", {
            "plan": "order_status", "topic": "order_tracking", "tickets": 1,
            "has": ["nomor pesanan", "nama penerima", "YS-000001"]}),
        ("no pesanan INV-20261118-0231 atas nama Dimas Prasetyo", {
            "plan": "details", "tickets": 1,
            "has": ["INV-20261118-0231", "Dimas Prasetyo", "sudah kami catat", "lengkap"],
            "lacks": ["mohon kirimkan", "tinggal", *MENU]}),
        ("?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": [*MENU, "mohon kirimkan"]}),
        ("...", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": [*MENU, "mohon kirimkan"]}),
        ("halo? ada orang?", {"plan": ("followup", "greeting", "human"), "tickets": 1, "has": ["YS-000001"],
                              "lacks": MENU}),
    ]),
    Scenario("en: late order, number then name, then any update / hello??", [
        ("Hi, my order still hasn't arrived and it's been over a week", {
            "plan": "order_status", "topic": "order_tracking", "tickets": 1,
            "has": ["order number", "recipient's name", "YS-000001"], "lacks": ["Kak"]}),
        ("INV-20261117-0042", {
            "plan": "details", "tickets": 1,
            "has": ["Order number INV-20261117-0042", "We still need the recipient's name"],
            "lacks": ["nomor pesanan", *MENU]}),
        ("the recipient is Anita Rahman", {
            "plan": "details", "tickets": 1, "has": ["Anita Rahman", "That's everything we need"],
            "lacks": ["We still need", "Nama penerima"]}),
        ("any update?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": [*MENU, "Kak"]}),
        ("hello??", {"plan": ("followup", "greeting"), "tickets": 1, "has": ["YS-000001"], "lacks": [*MENU, "Kak"]}),
    ]),
    Scenario("id: tracking number asked, order number in an unusual format", [
        ("kak minta nomor resi pesanan saya dong, belum dikirim juga resinya", {
            "plan": "order_status", "topic": "tracking_number", "tickets": 1, "has": ["nomor pesanan"]}),
        ("2611XYZ771", {"plan": "details", "tickets": 1,
                        "has": ["2611XYZ771 sudah kami catat", "lengkap"], "lacks": [*MENU, "mohon kirimkan"]}),
        ("jadi kapan resinya keluar kak?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"],
                                             "lacks": [*MENU, "nomor pesanan ("]}),
    ]),
    Scenario("en: cancellation, order number '#88213' right after the bot asked", [
        ("I'd like to cancel my order please, I ordered the wrong colour", {
            "plan": "order_status", "topic": "cancel_order", "tickets": 1,
            "has": ["cancellation", "order number"], "lacks": ["Kak"]}),
        ("#88213", {"plan": "details", "tickets": 1, "has": ["88213", "noted", "That's everything we need"],
                    "lacks": [*MENU, "please send"]}),
    ]),
    Scenario("id: address change, order number then the new address", [
        ("kak saya mau ganti alamat pengiriman, kemarin salah tulis alamat", {
            "plan": "order_status", "topic": "change_address", "tickets": 1,
            "has": ["nomor pesanan", "alamat baru"]}),
        ("INV-20261123-0777", {"plan": "details", "tickets": 1,
                               "has": ["INV-20261123-0777 sudah kami catat", "tinggal alamat baru"]}),
        ("alamat baru: Jl. Melati No. 12 RT 03/RW 05, Kel. Sukamaju, Kec. Cilodong, Depok 16415", {
            "plan": "details", "tickets": 1, "has": ["Alamat baru Kakak", "lengkap"],
            "lacks": ["tinggal", "mohon kirimkan"]}),
    ]),
    Scenario("en: address change, the new address given plainly", [
        ("Can I still change the delivery address on my order? I moved last week", {
            "plan": "order_status", "topic": "change_address", "tickets": 1,
            "has": ["order number", "new full address"]}),
        ("order INV-20261122-0150", {"plan": "details", "tickets": 1,
                                     "has": ["INV-20261122-0150", "We still need the new full address"]}),
        ("Jl. Kenanga No. 8, Kec. Coblong, Kota Bandung 40132", {
            "plan": "details", "tickets": 1, "has": ["Your new address", "That's everything we need"],
            "lacks": ["We still need"]}),
    ]),
    Scenario("id: a detail before any question, then the question", [
        ("INV-20261122-0311", {"plan": "details", "tickets": 0, "has": ["INV-20261122-0311 sudah kami catat"]}),
        ("paketnya belum sampai kak, padahal katanya udah dikirim", {
            "plan": "order_status", "tickets": 1, "has": ["nama penerima", "YS-000001"]}),
        ("penerimanya Wulan Sari", {"plan": "details", "tickets": 1, "has": ["Wulan Sari", "lengkap"]}),
    ]),
    # ------------------------------------------------------------------ returns & refunds
    Scenario("id: damaged item, a photo with no text, then the order number", [
        ("kak barang yang saya terima pecah, gelasnya retak semua", {
            "plan": "return_refund", "topic": "damaged_item", "tickets": 1,
            "has": ["mohon maaf", "2 hari kerja", "nomor pesanan", "foto"]}),
        ("@photo", {"plan": "details", "tickets": 1, "has": ["Foto/lampiran Kakak", "tinggal nomor pesanan"],
                    "lacks": ["Mohon tambahkan penjelasan", *MENU]}),
        ("INV-20261120-0415", {"plan": "details", "tickets": 1, "has": ["INV-20261120-0415", "lengkap"],
                               "lacks": ["tinggal"]}),
        ("kapan diprosesnya kak?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": MENU}),
    ]),
    Scenario("id: a photo first, then the explanation: the photo is not asked for again", [
        ("@photo", {"tickets": 0}),
        ("ini kak barangnya datang rusak, kardusnya penyok dan isinya patah", {
            "plan": "return_refund", "topic": "damaged_item", "tickets": 1, "has": ["nomor pesanan"],
            "lacks": ["foto/video barang"]}),
    ]),
    Scenario("en: wrong item, photos, then the order number", [
        ("I ordered a blue shirt in size M but received a red one in XL", {
            "plan": "return_refund", "topic": ("wrong_item", "exchange"), "tickets": 1,
            "has": ["sorry", "working days", "order number"], "lacks": ["Kak"]}),
        ("@photo", {"plan": "details", "tickets": 1, "has": ["Your photo/attachment"], "lacks": ["Kak"]}),
        ("it's INV-20261119-0620", {"plan": "details", "tickets": 1, "has": ["INV-20261119-0620"]}),
    ]),
    Scenario("id: exchange for another size", [
        ("kak sepatunya kekecilan, mau tukar ukuran bisa?", {
            "plan": "return_refund", "topic": "exchange", "tickets": 1,
            "has": ["penukaran", "nomor pesanan", "ukuran/warna pengganti"], "lacks": ["ukuran bisa"]}),
        ("ukuran 43 ya kak", {"plan": "details", "tickets": 1, "has": ["43", "sudah kami", "tinggal"]}),
        ("INV-20261115-0909", {"plan": "details", "tickets": 1, "has": ["INV-20261115-0909", "tinggal foto"]}),
    ]),
    Scenario("id: refund not received, a name given, still the order number missing", [
        ("refund saya belum masuk juga kak, udah seminggu lebih", {
            "plan": "return_refund", "topic": "refund_status", "tickets": 1,
            "has": ["refund", "2 hari kerja", "nomor pesanan"]}),
        ("atas nama Rudi Hartono", {"plan": "details", "tickets": 1,
                                    "has": ["Rudi Hartono", "tinggal nomor pesanan"]}),
        ("gimana kak?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": MENU}),
    ]),
    Scenario("en: return request", [
        ("I'd like to return the jacket I bought, it doesn't fit me at all", {
            "plan": "return_refund", "topic": ("return_request", "exchange"), "tickets": 1,
            "has": ["working days", "order number"], "lacks": ["Kak"]}),
    ]),
    Scenario("en: missing item", [
        ("My parcel came today but one of the three items I paid for is missing", {
            "plan": "return_refund", "topic": "missing_item", "tickets": 1,
            "has": ["missing", "order number"], "lacks": ["Kak"]}),
    ]),
    # ------------------------------------------------------------------ payment
    Scenario("id: paid but still pending: payment method, proof photo, order number", [
        ("kak saya sudah transfer tapi status pesanannya masih menunggu pembayaran", {
            "plan": "payment", "topic": "payment_pending", "tickets": 1,
            "has": ["nomor pesanan", "metode pembayaran", "bukti transfer"]}),
        ("transfer via BCA", {"plan": "details", "tickets": 1, "has": ["Metode pembayaran BCA", "tinggal"]}),
        ("@photo", {"plan": "details", "tickets": 1, "has": ["tinggal nomor pesanan"],
                    "lacks": ["bukti transfer/pembayaran"]}),
        ("INV-20261124-0003", {"plan": "details", "tickets": 1, "has": ["INV-20261124-0003", "lengkap"]}),
    ]),
    Scenario("id: failed payment, payment method first", [
        ("pembayaran saya gagal terus kak padahal saldonya udah kepotong", {
            "plan": "payment", "topic": "payment_failed", "tickets": 1,
            "has": ["nomor pesanan", "metode pembayaran"]}),
        ("pakai ShopeePay kak", {"plan": "details", "tickets": 1,
                                 "has": ["Metode pembayaran ShopeePay", "tinggal nomor pesanan"]}),
    ]),
    Scenario("en: failed payment, payment method given", [
        ("My payment failed but the money was still taken from my account", {
            "plan": "payment", "topic": "payment_failed", "tickets": 1,
            "has": ["order number", "payment method"], "lacks": ["Kak"]}),
        ("I paid with GoPay", {"plan": "details", "tickets": 1,
                               "has": ["Payment method GoPay", "We still need your order number"]}),
    ]),
    # ------------------------------------------------------------------ pre-sale
    Scenario("id pre-sale: cash on delivery to Surabaya", [
        ("bisa bayar di tempat ga kak kalau kirim ke Surabaya?", {
            "plan": "payment", "topic": "cod", "has": ["COD"],
            "lacks": ["nomor pesanan", "bukti transfer", "metode pembayaran yang dipakai"]}),
    ]),
    Scenario("en pre-sale: payment methods", [
        ("What payment methods do you accept?", {
            "plan": "payment", "topic": "payment_methods",
            "lacks": ["order number", "receipt", "payment method you used", "Kak"]}),
    ]),
    Scenario("en pre-sale: voucher won't apply at checkout", [
        ("The voucher code won't apply when I try to check out", {
            "plan": ("payment", "product"), "topic": ("checkout_problem", "promo_voucher"),
            "lacks": ["order number", "payment receipt", "Kak"]}),
    ]),
    Scenario("id pre-sale: shipping cost then couriers, one case", [
        ("ongkir ke Makassar berapa ya kak?", {
            "plan": "order_status", "topic": "shipping_cost", "has": ["ongkos kirim"],
            "lacks": ["nomor pesanan", "nama penerima", "bukti"]}),
        ("kurirnya bisa pakai apa aja kak?", {
            "plan": ("order_status", "followup"), "topic": "couriers", "tickets": 1,
            "lacks": ["nomor pesanan", "nama penerima", "bukti", *MENU]}),
    ]),
    Scenario("en pre-sale: promotions", [
        ("Do you have any discount vouchers or promos running this week?", {
            "plan": "product", "topic": "promo_voucher",
            "has": ["promotions"], "lacks": ["order number", "receipt", "Kak"]}),
    ]),
    Scenario("en pre-sale: delivery time", [
        ("How long does shipping to Medan usually take?", {
            "plan": "order_status", "topic": ("delivery_estimate", "shipping_cost"),
            "lacks": ["order number", "recipient's name", "receipt", "Kak"]}),
    ]),
    # ------------------------------------------------------------------ products
    Scenario("id: stock question, then the product link", [
        ("kak barang yang ini masih ready stok ga?", {
            "plan": "product", "topic": "stock", "has": ["stok", "link produk"], "lacks": ["nomor pesanan"]}),
        ("https://yessindo.co.id/p/kemeja-flanel-kotak-l", {
            "plan": "details", "tickets": 1, "has": ["kemeja-flanel-kotak-l", "lengkap"],
            "lacks": [*MENU, "Halo Kak"]}),
    ]),
    Scenario("id: price question", [
        ("harga tas ransel kanvas yang coklat berapa ya kak?", {
            "plan": "product", "topic": "price", "has": ["harga"], "lacks": ["nomor pesanan", "bukti"]}),
    ]),
    Scenario("en: product details, then the link", [
        ("Is the navy parka jacket waterproof?", {
            "plan": "product", "topic": "product_info", "has": ["product"], "lacks": ["order number", "Kak"]}),
        ("https://yessindo.co.id/p/jaket-parka-navy", {
            "plan": "details", "tickets": 1, "has": ["jaket-parka-navy", "That's everything we need"],
            "lacks": MENU}),
    ]),
    Scenario("en: are the shoes original", [
        ("Are the sneakers you sell original? Do they come with a warranty?", {
            "plan": "product", "topic": "authenticity_warranty", "has": ["authenticity"],
            "lacks": ["order number", "Kak"]}),
    ]),
    # ------------------------------------------------------------------ account
    Scenario("id: OTP never arrives, then the phone number", [
        ("kode OTP nya gak masuk-masuk kak, udah coba berkali-kali", {
            "plan": "account", "topic": "login_otp", "tickets": 1,
            "has": ["email atau nomor HP", "jangan"]}),
        ("08123456789", {"plan": "details", "tickets": 1, "has": ["sudah kami catat", "lengkap"],
                         "lacks": ["Saluran resmi", "tinggal"]}),
    ]),
    Scenario("id: delete my account and data", [
        ("tolong hapus akun saya beserta semua data pribadinya", {
            "plan": "account", "topic": "delete_account", "tickets": 1,
            "has": ["penghapusan akun", "email atau nomor HP"]}),
    ]),
    Scenario("id: change the phone number on the account", [
        ("kak mau ganti nomor hp di akun saya, nomor yang lama udah hilang", {
            "plan": "account", "topic": "change_contact", "tickets": 1, "has": ["verifikasi"]}),
        ("email akun saya siti.aminah@example.com", {
            "plan": ("details", "followup"), "tickets": 1,
            "has": ["siti.aminah@example.com sudah kami catat", "YS-000001"],
            "lacks": ["Saluran resmi", "ptyessindo@gmail.com", "tinggal", "mohon kirimkan"]}),
    ]),
    Scenario("id pre-sale: how to sign up", [
        ("cara daftar akun di yessindo gimana kak?", {
            "plan": "account", "topic": "register", "lacks": ["nomor pesanan", "bukti"]}),
    ]),
    Scenario("en: password reset, then the email address", [
        ("I forgot my password and the reset email never arrives", {
            "plan": "account", "topic": "password_reset", "tickets": 1,
            "has": ["email address or phone number registered"], "lacks": ["Kak"]}),
        ("my email is dewi.k@example.com", {
            "plan": "details", "tickets": 1, "has": ["dewi.k@example.com", "That's everything we need"],
            "lacks": ["Official Yessindo channels", "ptyessindo@gmail.com"]}),
    ]),
    Scenario("en: hacked account", [
        ("Someone hacked my account and changed the email on it", {
            "plan": "account", "topic": "hacked_account", "tickets": 1,
            "has": ["sorry", "working days"], "lacks": ["Kak"]}),
    ]),
    # ------------------------------------------------------------------ feedback, complaints, escalation, a person
    Scenario("id: praise is thanked, no ticket", [
        ("pelayanannya cepet banget, barangnya juga bagus. mantap kak!", {
            "plan": "feedback", "topic": "praise", "tickets": 0, "has": ["terima kasih"],
            "lacks": ["mohon maaf", "YS-"]}),
    ]),
    Scenario("en: a suggestion is thanked, no ticket", [
        ("It would be great if your website had a size chart for every shoe", {
            "plan": "feedback", "topic": "suggestion", "tickets": 0, "has": ["thank"], "lacks": ["sorry", "YS-"]}),
    ]),
    Scenario("en: a complaint gets an apology, a ticket and the supervisor", [
        ("I'm really disappointed, your customer service is terrible and nobody answers my messages", {
            "plan": "complaint", "tickets": 1, "has": ["sorry", "supervisor", "YS-000001"],
            "lacks": ["glad to help"]}),
    ]),
    Scenario("id: a complaint during an open case stays on that ticket", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("parah banget pelayanannya, udah dua minggu nggak ada kabar sama sekali", {
            "plan": "complaint", "tickets": 1, "has": ["mohon maaf", "supervisor"],
            "lacks": ["senang bisa membantu"]}),
    ]),
    Scenario("id: escalation during an open case", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("saya minta kasus ini dieskalasi ke atasan kalian, sudah terlalu lama", {
            "plan": "escalation", "tickets": 1, "has": ["supervisor", "2 hari kerja"]}),
    ]),
    Scenario("en: escalation request", [
        ("I want this escalated to a supervisor or manager, now", {
            "plan": "escalation", "tickets": 1, "has": ["supervisor", "2 working days"], "lacks": ["Kak"]}),
    ]),
    Scenario("id: asking for a human", [
        ("saya mau ngobrol sama CS manusia aja, jangan bot", {
            "plan": "human", "tickets": 1, "has": ["manusia", "YS-000001"]}),
    ]),
    Scenario("en: asking for a person mid-case does not open a second ticket", [
        ("My refund still hasn't come through", {"plan": "return_refund", "tickets": 1}),
        ("can I talk to a real person please", {
            "plan": "human", "tickets": 1, "has": ["YS-000001", "a person, not a bot"], "lacks": ["Kak"]}),
    ]),
    # ------------------------------------------------------------------ a second question, a language switch
    Scenario("id: a payment question while an order case is open goes on the same ticket", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("oh iya kak, kalau mau bayar pakai OVO bisa nggak?", {
            "plan": "payment", "topic": "payment_methods", "tickets": 1, "has": ["YS-000001"],
            "lacks": ["bukti transfer", "YS-000002"]}),
    ]),
    Scenario("en: an account question while a damaged-item case is open", [
        ("The mug I received is broken", {"plan": "return_refund", "topic": "damaged_item", "tickets": 1}),
        ("Also, I can't log in to my account anymore", {
            "plan": "account", "tickets": 1, "has": ["added this question to your case YS-000001",
                                                     "email address or phone number"],
            "lacks": ["YS-000002"]}),
    ]),
    Scenario("id to en: the bot follows the customer's language mid-case", [
        ("pesanan saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("INV-20261121-0808 atas nama Kevin Tan", {"plan": "details", "tickets": 1}),
        ("sorry, can we continue in English? when will my parcel arrive?", {
            "plan": FOLLOW, "tickets": 1, "has": ["YS-000001", "at the latest"],
            "lacks": ["Kak", "Laporan", *MENU]}),
        ("any news?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": ["Kak", "Laporan", *MENU]}),
    ]),
    # ------------------------------------------------------------------ a burst of 20 messages
    Scenario("id: twenty messages in quick succession, one case, one ticket", [
        ("kak paket saya belum sampai nih", {"plan": "order_status", "tickets": 1}),
        ("INV-20261121-0588", {"plan": "details", "tickets": 1, "has": ["tinggal nama penerima"]}),
        ("atas nama Yuliana Putri", {"plan": "details", "tickets": 1, "has": ["lengkap"]}),
        ("kapan nyampenya kak?", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("halo", {"plan": ("followup", "greeting"), "tickets": 1, **NUDGE}),
        ("kak?", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("?", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("...", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("gimana kak, udah dicek belum?", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("tolong dicepetin ya", {"plan": ("followup", "complaint"), "tickets": 1, "has": ["YS-000001"],
                                 "lacks": [*NUDGE["lacks"], "apresiasi"]}),
        ("soalnya mau dipakai buat acara hari sabtu", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("halo min", {"plan": ("followup", "greeting"), "tickets": 1, **NUDGE}),
        ("p", {"plan": ("followup", "greeting"), "tickets": 1, **NUDGE}),
        ("masih lama?", {"plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": [*NUDGE["lacks"], "stok"]}),
        ("resinya udah ada belum?", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("ok kak", {"plan": ("thanks", "followup"), "tickets": 1, "lacks": NUDGE["lacks"]}),
        ("ditunggu kabarnya ya", {"plan": ("thanks", "followup"), "tickets": 1, "lacks": NUDGE["lacks"]}),
        ("kak??", {"plan": FOLLOW, "tickets": 1, **NUDGE}),
        ("makasih ya", {"plan": "thanks", "tickets": 1, "lacks": NUDGE["lacks"]}),
        ("🙏", {"plan": ("thanks", "followup"), "tickets": 1, "lacks": NUDGE["lacks"]}),
    ]),
    # ------------------------------------------------------------------ after a resolve: new case, ratings
    Scenario("id: a name days after the resolve opens a new case, not the old ticket", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("@resolve", "sari"),
        ("@clock", "+4d"),
        ("atas nama Sari Dewi", {"plan": "details", "tickets": 1, "has": ["Sari Dewi"],
                                 "lacks": ["YS-000001", "masih kami tangani"]}),
    ]),
    Scenario("en: an order number days after the resolve, then a new problem", [
        ("My order hasn't arrived yet", {"plan": "order_status", "tickets": 1}),
        ("@resolve", "sari"),
        ("@clock", "+5d"),
        ("INV-20261201-0101", {"plan": "details", "tickets": 1, "has": ["INV-20261201-0101"],
                               "lacks": ["YS-000001", "still being handled"]}),
        ("The item in that order arrived broken", {
            "plan": "return_refund", "tickets": 2, "has": ["YS-000002"], "lacks": ["YS-000001"]}),
    ]),
    Scenario("id: a rating of 5 the day after the resolve is recorded and thanked", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("@resolve", "sari"),
        ("@clock", "+1d"),
        ("5", {"plan": None, "tickets": 1, "has": ["terima kasih atas penilaiannya"],
               "lacks": ["YS-000002", *MENU, "nomor pesanan"]}),
    ]),
    Scenario("en: a rating of 4/5 after the resolve is recorded and thanked", [
        ("My order hasn't arrived yet", {"plan": "order_status", "tickets": 1}),
        ("@resolve", "sari"),
        ("@clock", "+2h"),
        ("4/5", {"plan": None, "tickets": 1, "has": ["Thank you for your rating"],
                 "lacks": ["YS-000002", *MENU, "order number"]}),
    ]),
    # ------------------------------------------------------------------ a person takes over
    Scenario("id: after an agent claims the ticket the bot stays silent", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("@claim", "sari"),
        ("halo kak? gimana?", {"status": "silenced", "tickets": 1}),
        ("INV-20261119-0404", {"status": "silenced", "tickets": 1}),
    ]),
    Scenario("en: after an agent claims the ticket the bot stays silent", [
        ("I can't log in to my account", {"plan": "account", "tickets": 1}),
        ("@claim", "sari"),
        ("hello?? anyone there?", {"status": "silenced", "tickets": 1}),
    ]),
    # ------------------------------------------------------------------ out of hours
    Scenario("id: Saturday evening, the closed note once per case", [
        ("@clock", SAT_EVENING),
        ("kak paket saya belum sampai", {"plan": "order_status", "tickets": 1,
                                         "has": ["di luar jam operasional", "Minggu"]}),
        ("INV-20261126-0123", {"plan": "details", "tickets": 1, "lacks": ["di luar jam operasional"]}),
        ("atas nama Bayu Saputra", {"plan": "details", "tickets": 1, "lacks": ["di luar jam operasional"]}),
        ("halo?", {"plan": ("followup", "greeting"), "tickets": 1, "lacks": ["di luar jam operasional"]}),
    ]),
    Scenario("en: Saturday evening, the closed note once per case", [
        ("@clock", SAT_EVENING),
        ("Hello, I was charged twice for my order", {"plan": "payment", "tickets": 1,
                                                     "has": ["outside", "Sunday"]}),
        ("INV-20261127-0555", {"plan": "details", "tickets": 1, "lacks": ["outside"]}),
        ("any update?", {"plan": FOLLOW, "tickets": 1, "lacks": ["outside"]}),
    ]),
    # ------------------------------------------------------------------ robustness, out of scope, hours
    Scenario("id: a 100 KB message is answered sensibly", [
        ("paket saya belum sampai " * 4000, {"plan": "order_status", "tickets": 1, "has": ["nomor pesanan"]}),
    ]),
    Scenario("id: out-of-scope commands mid-case open no ticket", [
        ("paket saya belum sampai kak", {"plan": "order_status", "tickets": 1}),
        ("setel alarm jam 5 pagi dong", {"plan": ("out_of_scope", "followup"), "tickets": 1, "lacks": MENU}),
        ("putar lagu dewa 19", {"plan": ("out_of_scope", "followup"), "tickets": 1, "lacks": MENU}),
        ("besok cuaca di bandung hujan nggak?", {"plan": ("out_of_scope", "followup"), "tickets": 1,
                                                  "lacks": MENU}),
    ]),
    Scenario("en: out-of-scope requests mid-case open no ticket", [
        ("I want to return my shoes, they're too small", {"plan": "return_refund", "tickets": 1}),
        ("what's the weather like in Jakarta tomorrow?", {"plan": ("out_of_scope", "followup"), "tickets": 1,
                                                           "lacks": MENU}),
        ("play some music for me", {"plan": ("out_of_scope", "followup"), "tickets": 1, "lacks": MENU}),
    ]),
    Scenario("en: opening hours on Sunday", [
        ("Are you open on Sundays?", {"plan": "hours", "tickets": 0, "has": ["Saturday–Sunday"],
                                      "lacks": ["Kak"]}),
    ]),
    Scenario("id: greeting, the menu, then a menu number", [
        ("halo kak", {"plan": "greeting", "tickets": 0, "has": ["1. Produk"]}),
        ("2", {"plan": "order_status", "tickets": 1, "has": ["nomor pesanan"], "lacks": ["1. Produk"]}),
    ]),
    # ------------------------------------------------------------------ email
    Scenario("id email: order number in the first mail, the name in the reply", [
        ("@email", "Pesanan belum sampai", "Selamat siang,\n\npesanan saya INV-20261120-0099 sampai sekarang belum "
         "sampai. Mohon dicek.\n\nTerima kasih,\nBudi", {
             "plan": "order_status", "tickets": 1, "has": ["1–2 jam", "nama penerima", "YS-000001"],
             "lacks": ["nomor pesanan (", "5–15 menit"]}),
        ("@email", "Re: Pesanan belum sampai [YS-000001]", "Atas nama Budi Santoso.", {
            "plan": "details", "tickets": 1, "has": ["Budi Santoso", "lengkap"], "lacks": ["1–2 jam"]}),
    ], **EMAIL),
    Scenario("id email: a reply to the refund thread that only thanks", [
        ("@email", "Refund pesanan INV-20261110-0321", "Selamat siang, refund untuk pesanan saya "
         "INV-20261110-0321 belum masuk ke rekening. Mohon bantuannya.", {
             "plan": "return_refund", "topic": "refund_status", "tickets": 1, "has": ["YS-000001"]}),
        ("@email", "Re: Refund pesanan INV-20261110-0321", "Baik, terima kasih banyak atas bantuannya.", {
            "plan": "thanks", "tickets": 1, "has": ["sama-sama"],
            "lacks": ["mohon kirimkan", "YS-000002", "2 hari kerja", *MENU]}),
    ], **EMAIL),
    Scenario("en email: an order that has not arrived", [
        ("@email", "Order not received", "Hello,\n\nI placed order INV-20261119-0777 last week and it still has "
         "not arrived. Could you check?\n\nRegards,\nBudi", {
             "plan": "order_status", "tickets": 1, "has": ["1–2 hours", "recipient's name"],
             "lacks": ["your order number (", "Kak"]}),
        ("@email", "Re: Order not received", "Any update on this?", {
            "plan": FOLLOW, "tickets": 1, "has": ["YS-000001"], "lacks": ["Kak", *MENU]}),
    ], **EMAIL),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_conversation(runner, scenario):
    runner.run(scenario)
