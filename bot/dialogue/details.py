"""The details a customer gives: order number, recipient's name, email, phone, product,
size or colour, payment method, photos, a new address. And whether a message is
*only* a detail ("atas nama Sri Wahyuni", "rina@example.com", a link), which fills
the open case instead of being read as a question about the shop.

Pure functions over text; `asked` (the details the bot is waiting for) lets a bare
answer count: after "nama penerimanya siapa?" a reply "Sri Wahyuni" is a name, and
after "nomor pesanannya?" a reply "2611XYZ771" is an order number in a format the
shop's patterns do not know.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.extract import EMAIL_RE, PHONE_RE, extract, to_e164

URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{3,300}", re.IGNORECASE)
_NAME_WORD = r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'.-]{0,30}"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}"
RECIPIENT_RE = re.compile(
    rf"(?:\batas\s+nama|\ba\.?\s?n\.?(?=\s)|\bnama\s+penerima(?:nya)?(?:\s+(?:adalah|yaitu))?|\bpenerima(?:nya)?"
    rf"(?:\s+(?:adalah|yaitu|atas\s+nama))?|\brecipient(?:'s)?(?:\s+name)?(?:\s+is)?|\bunder\s+the\s+name(?:\s+of)?"
    rf"|\bin\s+the\s+name\s+of|\bnamanya|\bnama\s+saya|\bmy\s+name\s+is)\s*[:=\-]?\s*({_NAME})",
    re.IGNORECASE,
)
# words that end a name ("atas nama Sri Wahyuni ya kak, alamat ...")
_NAME_STOP = frozenset("""ya yaa kak kakak min gan sis mbak mas bang dan and atau or dengan di ke dari yang yg untuk
    buat alamat nomor no hp wa email order pesanan tolong mohon terima makasih thanks thank please pls sudah udah
    belum blm bisa itu ini nya dong deh sih nih aja saja juga is the at with""".split())
_SIZES = r"\d{1,3}(?:[.,]5)?|xxs|xs|s|m|l|xl|xxl|xxxl|[2-6]xl|all\s*size|jumbo|big\s*size|small|medium|large"
_COLOURS = (r"hitam|putih|merah|biru|hijau|kuning|abu(?:-abu)?|coklat|cokelat|navy|maroon|marun|pink|ungu|orange|oranye|"
            r"jingga|krem|cream|silver|gold|emas|tosca|mint|army|olive|khaki|nude|beige|salem|mocca|lilac|"
            r"black|white|red|blue|green|yellow|gr[ae]y|brown|purple|rose\s*gold")
VARIANT_RE = re.compile(
    rf"\b(?:ukuran|size|uk|nomor\s+sepatu|no\.?\s*sepatu)\s*[:=]?\s*(?:{_SIZES})(?![\w])"
    rf"|\b(?:warna|colou?r)\s*[:=]?\s*(?:{_COLOURS})(?:\s+(?:muda|tua|gelap|terang|dark|light))?\b"
    rf"|\b(?:{_COLOURS})\s+(?:ukuran|size|uk)\s*(?:{_SIZES})(?![\w])",
    re.IGNORECASE,
)
_PAYMENT_METHODS = {
    "bca": "BCA", "mandiri": "Mandiri", "bri": "BRI", "bni": "BNI", "bsi": "BSI", "cimb": "CIMB", "permata": "Permata",
    "gopay": "GoPay", "ovo": "OVO", "shopeepay": "ShopeePay", "linkaja": "LinkAja", "qris": "QRIS",
    "kredivo": "Kredivo", "akulaku": "Akulaku", "indomaret": "Indomaret", "alfamart": "Alfamart", "cod": "COD",
    "paypal": "PayPal", "kartu kredit": "kartu kredit", "credit card": "kartu kredit", "virtual account": "virtual account",
    "transfer bank": "transfer bank", "bank transfer": "transfer bank", "dana": "DANA",
}
PAYMENT_RE = re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in _PAYMENT_METHODS), key=len, reverse=True))
                        + r")\b", re.IGNORECASE)
# "dana" is also the plain word for funds ("dana sudah terpotong"): the wallet only after a payment verb
_DANA_WALLET = re.compile(r"\b(?:pakai|pake|via|lewat|dengan|dgn|bayar|transfer|tf|e-?wallet|with|using)\s+dana\b",
                          re.IGNORECASE)
ADDRESS_RE = re.compile(
    r"\b(?:jl\.?|jln\.?|jalan|gg\.?|gang|komplek|perum(?:ahan)?|rt\.?\s*\d|rw\.?\s*\d|kel(?:urahan)?\.?|"
    r"kec(?:amatan)?\.?|kab(?:upaten)?\.?|kota|kode\s*pos|blok|no\.?\s*\d)",
    re.IGNORECASE,
)
_NEW_ADDRESS_RE = re.compile(r"\balamat\s*(?:baru|barunya|pengiriman|yang\s+benar|nya)?\s*[:=\-]\s*(.{10,300})",
                             re.IGNORECASE)
# A token that may be an order number in a format we do not know: letters and digits, 5+ long, 3+ digits.
_CODE_RE = re.compile(r"(?<![\w@./])#?([A-Za-z0-9][A-Za-z0-9\-/]{3,28}[A-Za-z0-9])(?![\w@])")
# Words that may surround a detail without making the message a question.
_FILLER = frozenset("""email e-mail mail surel saya aku sy gw gue my is it's its the a an here this that these
    nomor no nmr number num order pesanan pesenan invoice inv resi transaksi id kode hp wa whatsapp telp telepon
    tlp phone handphone atas nama an penerima penerimanya recipient name namanya nama link produk product barang
    item alamat address baru new ukuran size warna colour color variant ini itu nya ya yaa yah kak kakak min
    admin gan sis mbak mas bang dan and atau or dengan dgn pakai pake via lewat bayar payment method metode
    pembayaran transfer tf berikut following ok oke okay sip siap baik udah sudah sdh ini kak foto photo gambar
    picture terlampir attached silakan please pls tolong mohon dicek cek check thanks thank makasih terima kasih
    dong deh sih nih aja saja juga mine under of in to for untuk buat di ke dari yg yang adalah yaitu it s t
    yes yep nope sudah""".split())
# Short replies that are never a name or a product, whatever the bot asked for.
_NOT_AN_ANSWER = frozenset("""halo hallo hai hi hello hey p ping tes test woy oi pagi siang sore malam ok oke okay okey
    sip siap makasih thanks thx ya iya yes no tidak gak ga belum udah sudah nanti bentar wait gimana kapan apa
    masih lama ditunggu tunggu cepat cepetan dicepetin buruan tolong mohon dong kak min admin update""".split())


@dataclass(frozen=True)
class Details:
    """What one message gives, by kind (each a tuple of values, in order of appearance)."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, kind: str) -> tuple[str, ...]:
        return self.values.get(kind, ())

    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.values.items() if v)

    def __bool__(self) -> bool:
        return any(self.values.values())


def _clean_name(raw: str) -> str | None:
    words = []
    for w in raw.split():
        if w.lower().strip(".,") in _NAME_STOP:
            break
        words.append(w.strip(".,"))
    name = " ".join(words).strip()
    if len(name) < 2 or not any(c.isalpha() for c in name):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in name.split())


def _bare_name(text: str) -> str | None:
    """A reply that is only a person's name (1-4 words, letters only, not ordinary words)."""
    words = text.strip().strip(".!").split()
    if not 1 <= len(words) <= 4 or all(len(w) < 3 for w in words):
        return None
    if any(not re.fullmatch(_NAME_WORD, w) for w in words):
        return None
    if any(w.lower() in _FILLER or w.lower() in _NAME_STOP for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def find_details(text: str, *, photos: int = 0, asked: tuple[str, ...] = (), intent: str = "unknown") -> Details:
    """Every detail in the message. `photos`: images or videos attached to it. A bare
    name or product counts only when the bot asked for it and the matcher found no
    other meaning (`intent`) in the message ("halo" is not a name)."""
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        value = value.strip()
        if value and value not in found.setdefault(kind, []):
            found[kind].append(value)

    basic = extract(text)
    for v in basic.order_numbers:
        add("order_number", v)
    for v in basic.emails:
        add("email", v)
    for v in basic.phones:
        add("phone", v)
    for m in RECIPIENT_RE.finditer(text):
        name = _clean_name(m.group(1))
        if name and "@" not in name:
            add("recipient_name", name)
    for m in URL_RE.finditer(text):
        add("product", m.group(0).rstrip(".,)"))
    for m in VARIANT_RE.finditer(text):
        add("variant", m.group(0).strip())
    for m in PAYMENT_RE.finditer(text):
        key = m.group(1).lower()
        if key == "dana" and not _DANA_WALLET.search(text):
            continue
        add("payment_method", _PAYMENT_METHODS[key])
    m = _NEW_ADDRESS_RE.search(text)
    if m:
        add("address", m.group(1).strip())
    elif "address" in asked and len(ADDRESS_RE.findall(text)) >= 2:
        add("address", text.strip()[:300])
    if photos:
        add("photo", f"{photos} file")
    # bare answers to what the bot asked
    stripped = text.strip()
    if "order_number" in asked and "order_number" not in found:
        codes = [c for c in _CODE_RE.findall(stripped) if sum(ch.isdigit() for ch in c) >= 3
                 and not to_e164(c) and "@" not in c]
        if len(codes) == 1 and len(stripped.split()) <= 6:
            add("order_number", codes[0].upper())
    plain_words = re.findall(r"[^\W_]+", stripped.lower())
    if any(w in _NOT_AN_ANSWER for w in plain_words) or not plain_words:
        return Details({k: tuple(v) for k, v in found.items()})
    if "recipient_name" in asked and "recipient_name" not in found and not found and intent == "unknown":
        name = _bare_name(stripped)
        if name:
            add("recipient_name", name)
    if "product" in asked and "product" not in found and not found and intent in ("unknown", "product") \
            and 1 <= len(stripped.split()) <= 8 and "?" not in stripped:
        add("product", stripped[:200])
    return Details({k: tuple(v) for k, v in found.items()})


def is_detail_only(text: str, details: Details, intent: str = "unknown") -> bool:
    """True when the message holds details and nothing else: no question to answer. One
    word more is allowed when the matcher found no question in it either ("ini kak
    INV-...", "penerima: Sri Wahyuni, makasih")."""
    if not details:
        return False
    rest = text
    for rx in (URL_RE, EMAIL_RE, PHONE_RE, RECIPIENT_RE, VARIANT_RE, _NEW_ADDRESS_RE):
        rest = rx.sub(" ", rest)
    for kind in ("order_number", "product", "address", "recipient_name", "payment_method"):
        for v in details.get(kind):
            rest = re.sub(re.escape(v), " ", rest, flags=re.IGNORECASE)
    words = [w for w in (_stem(w) for w in re.findall(r"[^\W_]+", rest.lower())) if w not in _FILLER and not w.isdigit()]
    if not words:
        return True
    return len(words) == 1 and "?" not in rest and intent in ("unknown", "greeting", "thanks", "contact")


def _stem(word: str) -> str:
    for suffix in ("nya", "ku", "mu"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
