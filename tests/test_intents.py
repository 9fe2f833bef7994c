"""The intent matcher: normalisation, rules, bad input, accuracy on labelled sets."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import IntentMatcher, evaluate_file, format_report
from bot.models import CATEGORIES, INTENTS, IntentMatch

REPO = Path(__file__).resolve().parents[1]
OWN_HOLDOUT = REPO / "tests" / "data" / "intents_own_holdout.tsv"


@pytest.fixture(scope="module")
def m() -> IntentMatcher:
    return IntentMatcher.load()


# ---------------------------------------------------------------- normalisation
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("paket sy udh dikirim blm", "paket saya sudah dikirim belum"),
        ("gmn caranya, brp lama", "gimana cara berapa lama"),
        ("ga bisa, gak bisa, nggak bisa, engga bisa, tdk bisa", "tidak bisa tidak bisa tidak bisa tidak bisa tidak bisa"),
        ("lamaaa bgt", "lama banget"),
        ("halooo", "halo"),
        ("masuk2", "masuk"),
        ("barang-barang", "barang"),
        ("pengirman", "pengiriman"),
        ("refudn", "refund"),
        ("pembayran", "pembayaran"),
        ("verfikasi", "verifikasi"),
        ("kak min gan sis paket", "paket"),
        ("MINTA RESI DONG!!!", "minta resi"),
        ("paketnya belum di-deliver 😭🙏", "paket belum di deliver"),
        ("pesanan INV-20261102-0042", "pesanan <order>"),
        ("order 55821", "order <order>"),
        ("Assalamu'alaikum", "assalamualaikum"),
        ("mksh", "makasih"),
    ],
)
def test_normalize(m, raw, expected):
    assert m.normalize(raw) == expected


def test_typo_correction_is_strict(m):
    # ordinary words near shop words stay what they are
    assert m.normalize("susah") == "susah"
    assert m.normalize("ayam bakar") == "ayam bakar"
    assert m.normalize("the moon") == "the moon"


def test_admin_is_kept_as_content(m):
    assert "admin" in m.normalize("mau ngobrol sama admin asli")


def test_lang_guess(m):
    assert m.match("paket saya belum sampai").lang == "id"
    assert m.match("where is my order").lang == "en"
    assert m.match("my package hasn't arrived yet").lang == "en"


# ---------------------------------------------------------------- rules
@pytest.mark.parametrize(
    "text, intent",
    [
        ("refund saya belum selesai, minta supervisor", "escalation"),
        ("pembayaran saya ga beres2, saya mau ngomong sama atasan", "escalation"),
        ("mau ngomong sama CS soal refund", "human"),
        ("is this a bot? i want a real person", "human"),
        ("mau ngobrol sama admin asli", "human"),
        ("halo kak, paket saya belum sampai", "order_status"),
        ("selamat pagi min, mau refund dong", "return_refund"),
        ("makasih kak, btw kapan restock?", "product"),
        ("thanks! also, how do I reset my password?", "account"),
        ("what time is it in London", "unknown"),
        ("jam tangan ini ready?", "product"),
        ("jam buka toko jam berapa?", "hours"),
        ("halo", "greeting"),
        ("p", "greeting"),
        ("makasih kak", "thanks"),
        ("siapa presiden pertama indonesia", "unknown"),
        ("cuaca besok gimana", "unknown"),
        ("55821", "unknown"),
        ("asdkjh qwpoeiru", "unknown"),
        # product lexicon: an item or attribute with no other cue is a product question
        ("kompor ini berapa watt", "product"),
        ("apa saja yang didapat dalam kotak kamera ini", "product"),
        ("what's the weight of this suitcase", "product"),
        # ... but someone's own thing at home stays out of scope
        ("kulkas di rumah saya rusak, kenapa ya", "unknown"),
        ("my fridge at home is broken, how to fix it", "unknown"),
        # escalation variants win over the topic
        ("refund saya tolong dieskalasi", "escalation"),
        ("saya mau bicara sama kepala cs", "escalation"),
        # a courier agent is not a person to talk to
        ("barang retur boleh saya antar ke agen jne?", "return_refund"),
        ("mau ngobrol sama agen", "human"),
        # suggestion framing wins over the topic
        ("semoga ke depan ada pembayaran pakai qris", "feedback"),
        ("i wish you had more courier options", "feedback"),
        # thanks leading, praise following: thanks
        ("terima kasih banyak, sangat membantu", "thanks"),
        ("👍👍", "feedback"),
        ("misi", "greeting"),
    ],
)
def test_rules(m, text, intent):
    assert m.match(text).intent == intent


def test_email_subject_counts(m):
    im = m.match("Mohon dicek, sudah seminggu.", subject="Pesanan belum sampai")
    assert im.intent == "order_status"


def test_email_style_long_text(m):
    body = (
        "Dengan hormat,\n\nSaya memesan sepatu pada tanggal 2 November dengan nomor pesanan "
        "INV-20261102-0042. Sampai hari ini paket belum saya terima dan nomor resi tidak bisa dilacak.\n"
        "Mohon bantuannya untuk mengecek status pengiriman.\n\nTerima kasih,\nRina"
    )
    assert m.match(body, subject="Pesanan belum diterima").intent == "order_status"


def test_match_result_shape(m):
    im = m.match("paket sy udh dikirim blm ya")
    assert isinstance(im, IntentMatch)
    assert im.intent in INTENTS and 0.0 <= im.confidence <= 1.0 and im.lang in ("id", "en")
    assert 1 <= len(im.candidates) <= 3
    assert all(label in INTENTS and 0.0 <= score <= 1.0 for label, score in im.candidates)
    assert im.candidates[0][0] == im.intent


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "x" * 100_000,
        "paket belum sampai " * 6000,
        "😀😀😀🙏🙏",
        b"\x00\xff\xfe\x80abc\x00".decode("latin-1"),
        bytes(range(256)).decode("latin-1"),
        "مرحبا 你好 hello привет",
        "\u200b\u200d\ufeff",
        "<order> <num> <<<>>>",
        None,
        12345,
    ],
)
def test_bad_input_never_raises(m, text):
    im = m.match(text)
    assert isinstance(im, IntentMatch)
    assert im.intent in INTENTS
    assert 0.0 <= im.confidence <= 1.0


def test_empty_is_unknown(m):
    assert m.match("").intent == "unknown"
    assert m.match("🙏🙏").intent == "unknown"


def test_huge_input_is_fast(m):
    import time

    t = time.perf_counter()
    m.match("a" * 100_000 + " paket belum sampai")
    assert time.perf_counter() - t < 0.05


def test_load_with_explicit_dir():
    m2 = IntentMatcher.load(REPO / "knowledge" / "intents")
    assert m2.match("lupa password").intent == "account"


# ---------------------------------------------------------------- accuracy
def test_blind_holdout_with_topics(m):
    """tests/data/intents_own_holdout6.tsv: written for this project by someone who never saw
    the training data, with topics; the issue's targets for sets like our own."""
    report = evaluate_file(m, REPO / "tests" / "data" / "intents_own_holdout6.tsv")
    assert report.total >= 600 and report.topic_total >= 300
    assert report.in_scope_accuracy >= 0.95, format_report(report)
    assert report.wrong_category_rate <= 0.03, format_report(report)
    assert report.topic_accuracy >= 0.95, format_report(report)


def test_confidence_is_calibrated_on_our_held_out_sets(m):
    """Answers given with confidence >= 0.8 are right at least 95 % of the time."""
    from bot.intents.evaluate import evaluate_rows, read_tsv

    rows = [r for p in sorted((REPO / "tests" / "data").glob("intents_*holdout*.tsv")) for r in read_tsv(p)]
    report = evaluate_rows(m, rows)
    n, accuracy = report.confident(0.8)
    assert n >= 0.8 * report.total and accuracy >= 0.95, (n, accuracy)


@pytest.mark.parametrize("text", [
    "setel alarm jam 7 pagi", "mainkan lagu terbaru noah", "ingatkan saya membeli handuk besok",
    "tampilkan daftar putar santai saya", "jam berapa sekarang di london", "cuaca besok di bandung gimana",
    "pesan meja untuk empat orang di restoran padang", "dana pensiun bagusnya ditaruh di mana",
    "return penerbangan saya ke bali besok jam berapa", "lowongan kurir area bekasi masih buka?",
])
def test_out_of_scope_is_never_a_support_category(m, text):
    assert m.match(text).intent not in CATEGORIES


def test_own_holdout_accuracy(m):
    report = evaluate_file(m, OWN_HOLDOUT)
    assert report.total >= 150
    assert report.accuracy >= 0.95, format_report(report)


def test_own_holdout2_accuracy(m):
    report = evaluate_file(m, REPO / "tests" / "data" / "intents_own_holdout2.tsv")
    assert report.total >= 100
    assert report.accuracy >= 0.9, format_report(report)


def test_report_format(m, tmp_path):
    p = tmp_path / "mini.tsv"
    p.write_text("# comment\norder_status\tpaket belum sampai\nproduct|hours\tcuaca hari ini\n", encoding="utf-8")
    report = evaluate_file(m, p)
    assert report.total == 2 and report.correct == 1
    assert report["accuracy"] == 0.5
    assert report.confusions[0][0] == "product|hours"
    assert set(report.per_intent["order_status"]) == {"precision", "recall", "support"}
    text = format_report(report)
    assert "accuracy" in text and "cuaca hari ini" in text


@pytest.mark.parametrize("text, intent", [
    # one word, several meanings: the rest of the message decides
    ("jam tangan couple ini ready kak?", "product"),
    ("jam buka cs sampai jam berapa?", "hours"),
    ("cara daftar akun baru gimana", "account"),
    ("minta daftar harga grosirnya dong", "product"),
    ("bisa bayar pakai dana?", "payment"),
    ("dana refund saya belum balik ke rekening", "return_refund"),
    ("mau pesan 3 lusin bisa harga grosir?", "product"),
    ("how do I return these shoes", "return_refund"),
    # paraphrases and synonyms
    ("I'd like a reimbursement for the broken blender", "return_refund"),
    ("can I get compensation for the late delivery money", "return_refund"),
    ("how soon can I expect my package", "order_status"),
    ("bisa dicicil pakai kartu kredit?", "payment"),
    ("bayar tunai di tempat bisa?", "payment"),
])
def test_words_that_mean_different_things_and_paraphrases(m, text, intent):
    assert m.match(text).intent == intent


@pytest.mark.parametrize("text", [
    "makasih min, paketnya udh nyampe", "Terima kasih kak, masalahnya sudah beres sekarang 🙏",
    "refundnya sudah masuk ya kak, terima kasih", "thanks, my order arrived today",
    "oke kak, login udah bisa lagi, makasih",
])
def test_closing_words_that_mention_a_topic_are_thanks(m, text):
    assert m.match(text).intent == "thanks"


def test_an_email_reply_is_read_by_its_body_not_its_old_subject(m):
    im = m.match("Terima kasih kak, refundnya sudah masuk. Salam, Rina", subject="Re: Refund pesanan INV-20261120-0042")
    assert im.intent == "thanks"
    assert m.match("Mohon dicek, sudah seminggu.", subject="Re: Pesanan belum sampai").intent == "order_status"


def test_sarcasm_is_flagged_and_never_taken_as_praise(m):
    im = m.match("wah mantap banget pelayanannya, chat dari kemarin belum dibalas 👏👏")
    assert "sarcasm" in im.flags and im.intent == "feedback" and im.topic == "complaint"
    sincere = m.match("mantap kak, belum pernah secepat ini pengirimannya")
    assert "sarcasm" not in sincere.flags


@pytest.mark.parametrize("text", ["paket saya belum sampai kak", "pesanan INV-20261102-0042 kok lama banget",
                                  "how do I reset my password", "aaaa aaaa aaaa", "gmailnya diretas"])
def test_answering_reads_the_same_features_as_training(m, text):
    """model.features (fast, cached letter pieces) equals features.feature_counts (training)."""
    import math

    from bot.intents.features import WORD, block_of, feature_counts

    model = m.model
    tokens = m.tokens(text)
    expected: dict[int, float] = {}
    for feat, c in feature_counts(tokens).items():
        i = model.vocab.get(feat)
        if i is not None:
            expected[i] = (1 + math.log(c)) * float(model.idf[i])
    for block in (WORD, 1 - WORD):
        norm = math.sqrt(sum(v * v for i, v in expected.items() if block_of(_name(model, i)) == block))
        for i in [i for i in expected if block_of(_name(model, i)) == block]:
            expected[i] /= norm
    for _ in range(2):  # the second time from the piece cache
        ix, val, _unseen = model.features(tokens)
        got = dict(zip(ix, val))
        assert got.keys() == expected.keys()
        assert all(abs(got[i] - expected[i]) < 1e-5 for i in got)


def _name(model, index: int) -> str:
    names = getattr(model, "_names", None)
    if names is None:
        names = model._names = {i: n for n, i in model.vocab.items()}
    return names[index]


@pytest.mark.parametrize("text, topic", [
    ("pelayanan kalian luar biasa, terima kasih banyak", "praise"),  # sincere: thanks, no grievance
    ("cs nya luar biasa ramah, makasih kak", "praise"),
    ("luar biasa, 4 hari chat saya nggak dibalas sama sekali", "complaint"),  # sarcasm: a grievance
])
def test_luar_biasa_is_praise_unless_a_grievance_comes_with_it(m, text, topic):
    im = m.match(text)
    assert (im.intent, im.topic) == ("feedback", topic)


# Out of scope in the shapes that reached a support category before (none of these lines is
# training data): help-centre questions about services a shop does not run, third-party deal
# and product posts, remarks that ask for nothing.
@pytest.mark.parametrize("text", [
    "Bagaimana cara memesan tiket konser lewat aplikasi?",
    "Bagaimana cara menjadi mitra kurir makanan?",
    "Berapa komisi yang didapat kreator dari setiap penjualan lewat video?",
    "Maskapai apa saja yang tersedia untuk rute Jakarta-Bali?",
    "Apakah saya bisa membeli token listrik untuk meteran pascabayar?",
    "Bagaimana cara membatalkan pesanan makanan yang sudah dimasak restoran?",
    "bayar via dana lebih hemat, cashback 15rb hari ini aja",
    "pakai kartu kredit bni dapat diskon 10% tiap rabu, yuk belanja",
    "produk baru dari brand kami sudah bisa dibeli, cek link",
    "kok bintang iklannya bukan artis itu lagi sih",
    "aku mah kalo belanja baju lebih seneng ke mall langsung",
    "mau mulai nabung emas di marketplace, minimal beli berapa gram ya",
])
def test_other_services_ads_and_remarks_are_never_a_support_category(m, text):
    assert m.match(text).intent not in CATEGORIES


# ...while the same help-centre form about the shop's own matters stays in scope.
@pytest.mark.parametrize("text, intent", [
    ("Apa itu status pesanan Selesai?", "order_status"),
    ("Apa itu refund ke saldo dan bisa ditarik ke rekening?", "return_refund"),
    ("Apa itu garansi 1 tahun pada produk elektronik?", "product"),
    ("Apa itu metode pembayaran transfer bank manual?", "payment"),
    ("min kok aplikasinya makin lama makin lemot ya", "feedback"),
    ("saldo saya terdebit dua kali padahal cuma sekali bayar", "payment"),
])
def test_help_centre_form_and_app_complaints_stay_in_scope(m, text, intent):
    assert m.match(text).intent == intent


def test_money_taken_is_not_typo_corrected(m):
    assert m.normalize("saldo terdebit 2 kali") == "saldo terpotong <num> kali"
