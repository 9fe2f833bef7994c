"""The shapes of the details customers write, and the words around them (bot/dialogue/details.py)."""
from __future__ import annotations

import re

URL_RE = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{3,300}", re.IGNORECASE)
# An order number typed with spaces or without its dashes ("inv 20261125 0088", "INV20261120 0077"):
# one number, written back in the shop's form INV-20261125-0088.
SPACED_ORDER_RE = re.compile(r"\b(INV|ORD|ORDER|TRX|SO|PO)[\s\-/#:.]*(\d{6,8})[\s\-/.]+(\d{3,6})\b", re.IGNORECASE)
TRACKING_RE = re.compile(
    r"\b(?:no\.?\s*resi|nomor\s+resi|resi(?:nya)?|awb|tracking(?:\s+(?:number|no\.?|code))?)\s*[:#=]?\s*"
    r"([A-Z0-9]{8,22})\b"
    r"|\b((?:JP|JD|JX|JT|JNE|TLJ|CGK|SPXID|SCP|LP|NV|IDS|IDE|NLIDAP|TKP|POS)\d{8,16})\b",
    re.IGNORECASE,
)
VOUCHER_RE = re.compile(r"\b(?:kode\s+(?:voucher|promo|kupon|diskon)|voucher(?:nya)?|promo\s*code|coupon(?:\s+code)?"
                        r"|kupon|kode)\s*[:\"'=]?\s*([A-Z][A-Z0-9]{3,15})\b")  # codes are written in capitals
INTL_PHONE_RE = re.compile(r"\+(?!62)\d{1,3}[\s\-]?\d[\d\s\-]{6,14}\d")
TICKET_RE = re.compile(r"\bYS-\d{6}\b", re.IGNORECASE)

_NAME_WORD = r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'.-]{0,30}"
NAME_WORD_RE = re.compile(_NAME_WORD)
_NAME = rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}"  # a name never runs on to the next line
RECIPIENT_RE = re.compile(
    rf"(?:\batas\s+nama|\ba\s?/\s?n\b|\ba\.?\s?n\.?(?=\s)|\bnama\s+penerima(?:nya)?(?:\s+(?:adalah|yaitu))?"
    rf"|\bpenerima(?:nya)?(?:\s+(?:adalah|yaitu|atas\s+nama))?|\brecipient(?:'s)?(?:\s+name)?(?:\s+is)?"
    rf"|\bunder\s+the\s+name(?:\s+of)?|\bin\s+the\s+name\s+of|\bnamanya|\bnama\s+saya|\bmy\s+name\s+is)"
    rf"[ \t]*[:=\-]?[ \t]*({_NAME})",
    re.IGNORECASE,
)
# Words that end a name ("atas nama Sri Wahyuni ya kak, alamat ..."), or are no name at all
# ("penerimanya saya sendiri": the customer).
NAME_STOP = frozenset("""ya yaa kak kakak min gan sis mbak mas bang dan and atau or dengan di ke dari yang yg untuk
    buat alamat nomor no hp wa email order pesanan tolong mohon terima makasih thanks thank please pls sudah udah
    belum blm bisa itu ini nya dong deh sih nih aja saja juga is the at with saya aku sendiri gue gw myself me
    self dia beliau suami istri ibu bapak mama papa adik kakak anak sampai sampe foto terlampir paket barang
    kiriman sekarang""".split())

SIZES = r"\d{1,3}(?:[.,]5)?|xxs|xs|s|m|l|xl|xxl|xxxl|[2-6]xl|all\s*size|jumbo|big\s*size|small|medium|large"
COLOURS = (r"hitam|putih|merah|biru|hijau|kuning|abu(?:-abu)?|coklat|cokelat|navy|maroon|marun|pink|ungu|orange|"
           r"oranye|jingga|krem|cream|silver|gold|emas|tosca|mint|army|olive|khaki|nude|beige|salem|mocca|lilac|"
           r"black|white|red|blue|green|yellow|gr[ae]y|brown|purple|rose\s*gold")
VARIANT_RE = re.compile(
    rf"\b(?:ukuran|size|uk|nomor\s+sepatu|no\.?\s*sepatu)\s*[:=]?\s*(?:{SIZES})(?![\w])"
    rf"|\b(?:warna|colou?r)\s*[:=]?\s*(?:{COLOURS})(?:\s+(?:muda|tua|gelap|terang|dark|light))?\b"
    rf"|\b(?:{COLOURS})\s+(?:ukuran|size|uk)\s*(?:{SIZES})(?![\w])",
    re.IGNORECASE,
)
# "tukar ukuran 40 ke 41", "change it to size 44": the size or colour wanted, not the one returned
EXCHANGE_TARGET_RE = re.compile(
    rf"\b(?:tukar|tuker|ganti|swap|exchange|change|replace)\w*\b[^.?!\n]{{0,40}}?"
    rf"\b(?:ke|jadi|dengan|dgn|to|for|into|with)\s+(?:(?:ukuran|size|uk|nomor|no\.?|warna|colou?r)\s*)?"
    rf"((?:{SIZES}|{COLOURS}))(?![\w])",
    re.IGNORECASE,
)
PAYMENT_METHODS = {
    "bca": "BCA", "mandiri": "Mandiri", "bri": "BRI", "bni": "BNI", "bsi": "BSI", "cimb": "CIMB", "permata": "Permata",
    "gopay": "GoPay", "ovo": "OVO", "shopeepay": "ShopeePay", "linkaja": "LinkAja", "qris": "QRIS",
    "kredivo": "Kredivo", "akulaku": "Akulaku", "indomaret": "Indomaret", "alfamart": "Alfamart", "cod": "COD",
    "paypal": "PayPal", "kartu kredit": "kartu kredit", "credit card": "kartu kredit", "virtual account": "virtual account",
    "transfer bank": "transfer bank", "bank transfer": "transfer bank", "dana": "DANA",
}
PAYMENT_RE = re.compile(r"\b(" + "|".join(sorted((re.escape(k) for k in PAYMENT_METHODS), key=len, reverse=True))
                        + r")\b", re.IGNORECASE)
# "dana" is also the plain word for funds ("dana sudah terpotong"): the wallet only after a payment verb
DANA_WALLET_RE = re.compile(r"\b(?:pakai|pake|via|lewat|dengan|dgn|bayar|transfer|tf|e-?wallet|with|using|ke)\s+dana\b",
                            re.IGNORECASE)
# A bank or wallet named where the money should go back: the refund's destination, not how one paid.
REFUND_TO_RE = re.compile(r"\b(refund\w*|dikembali\w*|dibalikin|balikin|kembalikan|pengembalian|reimburs\w*|"
                          r"money\s+back|send\s+it\s+back)\b", re.IGNORECASE)
ADDRESS_RE = re.compile(
    r"\b(?:jl\.?|jln\.?|jalan|gg\.?|gang|komplek|perum(?:ahan)?|rt\.?\s*\d|rw\.?\s*\d|kel(?:urahan)?\.?|"
    r"kec(?:amatan)?\.?|kab(?:upaten)?\.?|kota|kode\s*pos|blok|no\.?\s*\d)",
    re.IGNORECASE,
)
NEW_ADDRESS_RE = re.compile(r"\balamat\s*(?:baru|barunya|pengiriman|yang\s+benar|nya)?\s*[:=\-]\s*(.{10,300})",
                            re.IGNORECASE)
# A token that may be an order number in a format we do not know: letters and digits, 5+ long, 3+ digits.
CODE_RE = re.compile(r"(?<![\w@./])#?([A-Za-z0-9][A-Za-z0-9\-/]{3,28}[A-Za-z0-9])(?![\w@])")
# "salah ketik, yang benar INV-...": the new value replaces the old one
CORRECTION_RE = re.compile(r"\b(salah\s+ketik|salah\s+tulis|typo|yang\s+benar|yg\s+bener|yg\s+benar|koreksi|ralat|"
                           r"maksud\s+saya|maksudnya|i\s+meant|correction|wrong\s+number)\b", re.IGNORECASE)
PHOTO_WORD_RE = re.compile(r"\b(foto\w*|photo\w*|gambar\w*|video\w*|pics?|pictures?|screenshot\w*|ss)\b", re.IGNORECASE)

# Words that may surround a detail without making the message a question.
FILLER = frozenset("""email e-mail mail surel saya aku sy gw gue my is it's its the a an here this that these
    nomor no nmr number num order pesanan pesenan invoice inv resi transaksi id kode hp wa whatsapp telp telepon
    tlp phone handphone atas nama an penerima penerimanya recipient name namanya nama link produk product barang
    item alamat address baru new ukuran size warna colour color variant ini itu nya ya yaa yah kak kakak min
    admin gan sis mbak mas bang dan and atau or dengan dgn pakai pake via lewat bayar payment method metode
    pembayaran transfer tf berikut following ok oke okay sip siap baik udah sudah sdh ini kak foto photo gambar
    picture terlampir attached silakan please pls tolong mohon dicek cek check thanks thank makasih terima kasih
    dong deh sih nih aja saja juga mine under of in to for untuk buat di ke dari yg yang adalah yaitu it s t
    yes yep nope sudah voucher promo kupon coupon awb tracking salah ketik benar koreksi ralat typo sorry maaf
    td tadi meant correction bener""".split())
# Short replies that are never a name or a product, whatever the bot asked for.
NOT_AN_ANSWER = frozenset("""halo hallo hai hi hello hey p ping tes test woy oi pagi siang sore malam ok oke okay okey
    sip siap makasih thanks thx ya iya yes no tidak gak ga belum udah sudah nanti bentar wait gimana kapan apa
    masih lama ditunggu tunggu cepat cepetan dicepetin buruan tolong mohon dong kak min admin update is are this
    that it taking take forever will why how what ini itu jam lho loh kok sih deh udh dah sdh blm lagi lg nih""".split())
