"""Find and mask secrets a customer should never have sent: OTP and verification codes,
PINs, CVV/CVC, passwords and full card numbers.

A secret is recognised by its cause, not by one phrasing: a secret keyword ("OTP",
"kode verifikasi", "PIN", "CVV", "password", "kata sandi", "token"...) with the value
after it or before it, with only filler words in between ("-nya", "saya", "itu",
"adalah", "is", "I got is", ":"). Codes may be split by spaces, dots or dashes
("482 913", "4 8 2 9 1 3"). Card numbers need no keyword: 13-19 digits in groups that
pass the Luhn check and are not a phone, account, tracking or order number.
Order numbers, prices, phone numbers, dates and quantities ("pin bros 3 biji") stay.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Masked", "mask_secrets", "luhn_ok"]


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...] = field(default_factory=tuple)  # "otp", "pin", "cvv", "password", "card"


# -- keywords ---------------------------------------------------------------------------------
_SUFFIX = r"(?:-?(?P<suffix>nya|ku|mu))?"
_KEYWORDS = re.compile(
    r"(?<![\w])(?:"
    r"(?P<cvv>cvv2?|cvc2?|kode\s*(?:cvv|cvc|keamanan\s+kartu)|card\s+security\s+code)"
    r"|(?P<otp>otp|one[\s\-]?time[\s\-]?(?:pass(?:word|code)?|code|pin)"
    r"|kode\s*(?:otp|verifikasi|verif|aktivasi|keamanan|konfirmasi|login|masuk|autentikasi|otentikasi)"
    r"|(?:verification|activation|security|confirmation|login|authentication|auth|2fa|sms)\s+code|tac)"
    r"|(?P<code>kode|code|token)"
    r"|(?P<pin>m-?pin|pin)"
    r"|(?P<password>pass(?:word|wd|code)|pwd|kata\s*sandi|katasandi|sandi|kata\s*kunci|pswd|psw)"
    r"|(?P<weakpw>pass|pw)"
    r")" + _SUFFIX + r"(?![\w])",
    re.IGNORECASE,
)
# "kode pos", "promo code": codes that are no secret.
_NOT_SECRET_CODE = frozenset(
    "pos promo voucher vocer kupon coupon diskon discount booking resi produk product barang warna color colour "
    "referral referal ref unik pembayaran bayar payment va billing bank negara country area zip postal tracking "
    "invoice pesanan order transaksi transfer qr bar barcode sku item model tiket ticket kurir pengiriman "
    "listrik pln pulsa game voucher redeem gift hadiah".split())

# Words that may stand between a keyword and its value.
_FILLERS = frozenset(
    "saya aku ku gue gua gw sy aq q anda kamu km lu lo loe my your the a this that is was are were be "
    "adalah yaitu yakni ialah merupakan itu ini tsb nya i got get received recieved receive sent send just "
    "have has had been you me yang yg masuk dikirim diterima terima trima barusan tadi baru new lama old "
    "dari from by via lewat sms wa whatsapp email hp handphone ponsel ke to bank atm kartu card debit kredit "
    "credit akun account login kak kakak ka min admin gan sis bro mas mba mbak pak bu ya yah dong nih neh sih "
    "tuh nah deh aja saja which number nomor no angka digit terbaru sekarang now current "
    "bca bri bni mandiri btn cimb jenius".split())
_LINKS = frozenset("is was adalah yaitu yakni ialah merupakan itu ini : =".split())
_POSSESSIVE = frozenset("saya aku ku gue gua gw sy aq my anda kamu your".split())

# Plain words that follow "password"/"sandi" without being one.
_STOP = frozenset("""
saya aku lupa reset salah nya baru lama tidak tak gak ga gk nggak ngga enggak engga sudah udah udh dah belum blm
bisa gabisa gbs gimana gmn bagaimana my the forgot akun untuk buat yang yg di ke dan sama terus trs masih again
doesn't does not isn't is was wrong change ganti diganti hilang kok kenapa knp napa apa apaan dimana mana harus
perlu wajib minimal maksimal panjang pendek lemah kuat aman gampang mudah susah benar bener betul beda berapa kapan
error eror expired kadaluarsa kedaluwarsa invalid incorrect keblokir diblokir terblokir dibajak dicuri dihack
dibobol ketahuan bocor berubah direset kena tolong mohon please help reset? forgotten changed keeps won't can't
cannot never always still too very so and or but for with email mail sms link tautan akunnya nomor no number
lagi dulu juga jg pun aja saja doang ya yah dong deh sih nih kak min gan ada tidak? bisa? apa? mana? gmn? gimana?
ini itu tersebut tsb sendiri login masuk keluar logout daftar register baru? lama? old new current sekarang
dikirim kirim send sent ganti? hacked stolen leaked kosong blank empty required weak strong policy requirement
field kolom form salah? benar? nya? otp kode code pin sandi password tolongin bantu bantuin gatau tau
tanggal tgl nama lahir kaya kayak seperti like same mirip birthday name date angka huruf gampang?
""".split())
_VERB_SHAPE = re.compile(r"^(?:di|ter|ber|me[mnr]?|meng|meny|ke|per)[a-z]{3,}$")

# -- values ------------------------------------------------------------------------------------
_GAP = re.compile(r"[\s:=,\-–—\"'“”‘’(*]*")
_WORD = re.compile(r"[^\W\d_]+(?![\w])")
_CODE = re.compile(r"(?<![\w/])\d(?:[ .\-]?\d){2,9}(?![\w/]|[ .\-]?\d)")
_UNITS = frozenset(
    "pcs pc biji buah bh lusin pack pak set unit lembar rupiah rp ribu rb k jt juta x kali times menit mnt detik "
    "jam hari minggu bulan tahun min mins minutes minute seconds second hours hour days day digit digits angka "
    "karakter characters chars gr gram kg cm mm ml meter m item items orang pasang".split())
_DATE = re.compile(r"^(?:\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})$")
_PASSWORD_VALUE = re.compile(r"[^\s,;]+")
_EMAIL_OR_URL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}|^(?:https?:|www\.)", re.IGNORECASE)
_DIGIT_RANGE = {"otp": (4, 8), "code": (4, 8), "pin": (4, 6), "cvv": (3, 4)}
# "harga pin 15000", "beli pin": the pin is a product (a brooch, a badge)
_PRODUCT_CONTEXT = frozenset("harga price beli buy jual sell pesan order stok stock model warna ukuran size bros badge enamel gantungan".split())

# -- cards --------------------------------------------------------------------------------------
_CARD = re.compile(r"(?<![\w+.,/\-])[2-6]\d{3}(?:[ \-]?\d{2,6}){2,5}(?![\w/]|[.,]\d)")
_NOT_CARD_CONTEXT = re.compile(
    r"\b(?:resi|awb|tracking|lacak|order|pesanan|invoice|inv|transaksi|trx|rekening|rek|norek|va|virtual|nik|ktp|"
    r"npwp|kk|id|ref|referensi|booking|no\.?\s*hp|hp|wa|telp|telepon|phone)\b[^\d]{0,20}$",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_FOUR_DIGITS = re.compile(r"\d{4}")


def _card_spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    if not _FOUR_DIGITS.search(text):
        return spans
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if not 13 <= len(digits) <= 19 or not luhn_ok(digits):
            continue
        if digits.startswith("628") and len(digits) <= 14:
            continue  # an Indonesian mobile number written without "+"
        if _NOT_CARD_CONTEXT.search(text[max(0, m.start() - 40):m.start()]):
            continue
        spans.append((m.start(), m.end(), "card"))
    return spans


# -- one value after or before a keyword --------------------------------------------------------
def _code_at(text: str, pos: int, kind: str) -> tuple[int, int] | None:
    """A numeric code starting at pos, within the kind's digit range, not a date or a quantity."""
    m = _CODE.match(text, pos)
    if m is None:
        return None
    low, high = _DIGIT_RANGE[kind]
    value = m.group(0)
    while True:
        digits = sum(ch.isdigit() for ch in value)
        follow = _WORD.match(text, _GAP.match(text, pos + len(value)).end())
        unit = follow is not None and follow.group(0).lower() in _UNITS
        price = kind == "pin" and value.endswith("000")
        if low <= digits <= high and not unit and not price and not _DATE.match(value):
            return pos, pos + len(value)
        cut = max(value.rfind(" "), value.rfind("."), value.rfind("-"))
        if cut <= 0:
            return None
        value = value[:cut]


def _password_ok(value: str, *, link: bool, attached: bool, keyword: str) -> bool:
    low = value.lower()
    if len(value) < 4 or low in _STOP or low in _FILLERS or _EMAIL_OR_URL.search(value):
        return False
    if value.isdigit() and len(value) > 8:
        return False  # a phone or account number
    looks_secret = bool(re.search(r"[\d\W_]", value)) or value[1:] != value[1:].lower()
    if looks_secret:
        return True
    if keyword.lower() in ("pass", "pw"):
        return link  # "pass"/"pw" are ordinary words too ("pw banget")
    if _VERB_SHAPE.match(low) and not link:
        return False  # "passwordnya diganti", "kata sandinya terblokir"
    return link or attached


def _after(text: str, pos: int, kind: str, keyword: str, attached: bool) -> tuple[int, int] | None:
    link = possessive = False
    unknown = 0
    linked_since_unknown = True
    for _ in range(9):
        gap = _GAP.match(text, pos)
        if "\n\n" in gap.group(0):
            return None
        if ":" in gap.group(0) or "=" in gap.group(0):
            link = linked_since_unknown = True
        pos = gap.end()
        word = _WORD.match(text, pos)
        low = word.group(0).lower() if word else ""
        if word and low in _FILLERS:
            link = link or low in _LINKS
            linked_since_unknown = linked_since_unknown or low in _LINKS
            possessive = possessive or low in _POSSESSIVE
            pos = word.end()
            continue
        if kind == "password":
            v = _PASSWORD_VALUE.match(text, pos)
            if v:
                value = v.group(0).rstrip(".)\"'”’")
                if (linked_since_unknown or unknown == 0) and _password_ok(
                        value, link=link, attached=attached or possessive, keyword=keyword):
                    return pos, pos + len(value)
        else:
            span = _code_at(text, pos, kind)
            if span:
                return span if unknown == 0 or linked_since_unknown else None
        if word and unknown < 2:
            unknown += 1
            linked_since_unknown = False
            pos = word.end()
            continue
        return None
    return None


def _before(text: str, start: int, kind: str) -> tuple[int, int] | None:
    """'482913 itu kode OTP saya', 'Jakarta2024 adalah password saya': value, link words, keyword."""
    window_start = max(0, start - 80)
    window = text[window_start:start]
    cursor = len(window)
    link = False
    for raw in reversed(window.split()[-5:]):
        cursor = window.rfind(raw, 0, cursor)
        tok_start = window_start + cursor
        low = raw.lower().strip(",")
        if low in _FILLERS or low in (":", "="):
            link = link or low in _LINKS
            continue
        if not link:
            return None
        if raw.endswith((".", "!", "?")) and kind != "password":
            return None
        end = tok_start + len(raw.rstrip(",:"))
        if kind == "password":
            value = raw.rstrip(",:")
            looks_secret = bool(re.search(r"[\d\W_]", value)) or value[1:] != value[1:].lower()
            if (looks_secret or value.isalpha()) and _password_ok(value, link=True, attached=True,
                                                                  keyword="password"):
                return tok_start, end
            return None
        back = re.search(r"(?<![\w/])\d(?:[ .\-]?\d){2,9}$", text[window_start:end])
        if back is None:
            return None
        s = window_start + back.start()
        if _NOT_CARD_CONTEXT.search(text[max(0, s - 40):s]) or re.search(r"(?:rp|idr|\$)\s*$", text[max(0, s - 5):s],
                                                                          re.IGNORECASE):
            return None
        span = _code_at(text, s, kind)
        return span if span and span[1] == end else None
    return None


_LETTERS = re.compile(r"[^\W\d_]+")


def _previous_word(text: str, start: int) -> str:
    words = _LETTERS.findall(text, max(0, start - 30), start)
    return words[-1].lower() if words else ""


# Cheap substring tests first: most texts (and log lines) hold no keyword at all.
_HINTS = ("otp", "kode", "code", "token", "pin", "pass", "pw", "psw", "sandi", "kunci", "cvv", "cvc", "tac",
          "time")


def _keyword_spans(text: str) -> list[tuple[int, int, str]]:
    low = text.lower()
    if not any(h in low for h in _HINTS):
        return []
    spans = []
    for m in _KEYWORDS.finditer(text):
        group = m.lastgroup if m.lastgroup != "suffix" else next(
            g for g in ("cvv", "otp", "code", "pin", "password", "weakpw") if m.group(g))
        kind = {"code": "otp", "weakpw": "password"}[group] if group in ("code", "weakpw") else group
        keyword = m.group(group)
        if group == "code":
            nxt = _WORD.match(text, _GAP.match(text, m.end()).end())
            if (nxt and nxt.group(0).lower() in _NOT_SECRET_CODE) or _previous_word(text, m.start()) in _NOT_SECRET_CODE:
                continue
        if kind == "pin" and _previous_word(text, m.start()) in _PRODUCT_CONTEXT:
            continue
        if kind == "password" and keyword == "Sandi" and not m.group("suffix") and m.start() > 0:
            nxt = _GAP.match(text, m.end()).group(0)
            if ":" not in nxt and "=" not in nxt:
                continue  # "Pak Sandi": a name
        value_kind = "code" if group == "code" else kind
        found = _after(text, m.end(), value_kind, keyword, bool(m.group("suffix")))
        if found is None:
            found = _before(text, m.start(), value_kind)
        if found is not None:
            spans.append((found[0], found[1], kind))
    return spans


def _hide(value: str, kind: str) -> str:
    if kind == "card":
        return "**** **** **** " + re.sub(r"\D", "", value)[-4:]
    if kind == "password":
        return "********"
    return re.sub(r"\d", "*", value)


def mask_secrets(text: str) -> Masked:
    """Replace OTP codes, PINs, CVVs, passwords and card numbers with asterisks (a card keeps its last 4)."""
    if not text:
        return Masked(text or "")
    spans = sorted(_card_spans(text) + _keyword_spans(text))
    out: list[str] = []
    kinds: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:
            continue  # overlaps a secret already masked
        out.append(text[pos:start])
        out.append(_hide(text[start:end], kind))
        kinds.append(kind)
        pos = end
    out.append(text[pos:])
    return Masked("".join(out), tuple(dict.fromkeys(kinds)))
