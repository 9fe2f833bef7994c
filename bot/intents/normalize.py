"""Text normalisation for the intent matcher.

Customers write "halooo kak, pesnan sy udh dikirim blm?? 🙏". The matcher wants
`halo pesanan saya sudah kirim belum`. The steps, in order:

1. keep at most `MAX_CHARS` characters (huge input costs nothing more);
2. Unicode NFKC, accents dropped, lower case;
3. order-number shapes (INV-20261102-0042, 55821) become the token `<order>`,
   other numbers `<num>`;
4. a few meaningful emoji become words (thumbs-up -> "jempol", star ->
   "bintang"); apostrophes vanish (assalamu'alaikum), any other non-alphanumeric is a space
   (emoji, punctuation, hyphens: "di-deliver" -> "di deliver");
5. letters stretched 3+ times collapse ("lamaaa" -> "lama");
6. reduplication is split ("masuk2" -> "masuk", "barang-barang" -> "barang");
7. the slang/abbreviation map (data: knowledge/intents/slang.toml) rewrites
   tokens ("udh" -> "sudah", "gmn" -> "gimana");
8. address words ("kak", "min", "gan"...) and filler particles are dropped;
9. tokens of 4+ letters outside the known vocabulary are corrected to the
   nearest known word (Damerau/OSA distance 1, or 2 for long words, same first
   letter), cached with functools.lru_cache.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from typing import Iterable, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_CHARS = 2000
ORDER_TOKEN = "<order>"
NUM_TOKEN = "<num>"
BRAND_TOKEN = "<brand>"  # another company's name (slang.toml [brands]): one feature for them all

# INV-20261102-0042, ORD/2026/0042, #55821, 55821 (5+ digits), YSD12345
_ORDER_RE = re.compile(
    r"(?<![a-z0-9])(?:[a-z]{2,5}[-/]?\d{4,}(?:[-/]\d+)*|#?\d{5,}(?:[-/]\d+)*)(?![a-z0-9])"
)
_NUM_RE = re.compile(r"(?<![a-z0-9])\d+(?:[.,:]\d+)*(?![a-z0-9])")
_APOS_RE = re.compile(r"['\u2018\u2019`\u00b4]")
_NONWORD_RE = re.compile(r"[^a-z0-9<>]+")
_STRETCH_RE = re.compile(r"([a-z])\1{2,}")
_REDUP_RE = re.compile(r"^([a-z]{3,})2$")
_SUFFIXES = ("nya", "ku", "mu", "lah", "kah")
# the few emoji that carry meaning (praise); every other emoji is punctuation
_EMOJI_WORDS = {"\U0001f44d": " jempol ", "\u2b50": " bintang ", "\U0001f31f": " bintang ", "\U0001f44c": " jempol "}

# Indonesian / English function words for the language guess.
_ID_WORDS = frozenset(
    """yang dan di ke dari saya aku sy tidak ga gak nggak engga tdk sudah udah udh belum blm
    apa ini itu ada bisa bs mau kok ya dong sih nih gimana gmn kapan kpn berapa brp kenapa knp
    untuk utk dengan dgn sama sm tolong mohon kak min gan pesanan barang paket kah masih lagi
    juga atau tapi tp jadi jd kalau kalo kami kita anda kamu dia mereka sekarang hari bagaimana
    terima kasih makasih mksh selamat pagi siang sore malam halo permisi buka jam akun bayar
    belanja kirim sampai dimana dmn gak apakah tanya nanya""".split()
)
_EN_WORDS = frozenset(
    """the is are was were my i you your to a an of and can could would how what when where why
    do does did have has had please not it this that for with me we our be been will there
    hi hello thanks thank order account payment refund still yet any is it's im i'm dont don't
    want need get got just about from which who open close time person real agent speak talk""".split()
)


_LINK_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+", re.IGNORECASE)


def guess_lang(text: str) -> str:
    """'id' or 'en' from function-word counts; Indonesian wins ties (our main audience).
    Links and email addresses are not the customer's language and are left out."""
    text = _LINK_RE.sub(" ", text[:MAX_CHARS])
    words = re.findall(r"[a-z']+", text.lower())
    id_n = sum(1 for w in words if w in _ID_WORDS)
    en_n = sum(1 for w in words if w in _EN_WORDS)
    return "en" if en_n > id_n else "id"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text.lower()


_MARKUP_RE = re.compile(r"<[a-z/!][^<>]{0,300}>|&[a-z]{2,8};|&#\d{1,6};")


def basic_tokens(text: str) -> list[str]:
    """Steps 1-6: fold, order numbers, punctuation, stretched letters, reduplication.
    Markup (HTML tags and entities) is not the customer's words and goes first."""
    if not isinstance(text, str):
        text = str(text)
    text = _fold(text)
    if "<" in text or "&" in text:
        text = _MARKUP_RE.sub(" ", text)
    if not text.isascii():
        for emo, word in _EMOJI_WORDS.items():
            if emo in text:
                text = text.replace(emo, word)
    text = _APOS_RE.sub("", text)
    text = text.replace("<", " ").replace(">", " ")
    text = _ORDER_RE.sub(" " + ORDER_TOKEN + " ", text)
    text = _NUM_RE.sub(" " + NUM_TOKEN + " ", text)
    text = _STRETCH_RE.sub(r"\1", text)
    out: list[str] = []
    for tok in _NONWORD_RE.split(text):
        if not tok:
            continue
        if "<" in tok or ">" in tok:
            if tok not in (ORDER_TOKEN, NUM_TOKEN):
                tok = tok.replace("<", "").replace(">", "")
                if not tok:
                    continue
        else:
            m = _REDUP_RE.match(tok)
            if m:
                tok = m.group(1)
        if out and out[-1] == tok:  # "barang barang" (from barang-barang), "sama sama"
            continue
        out.append(tok)
    return out


class Normalizer:
    """Turns raw customer text into canonical tokens (see the module doc)."""

    def __init__(
        self,
        slang: Mapping[str, str] | None = None,
        drop: Iterable[str] = (),
        vocabulary: Iterable[str] = (),
        protected: Iterable[str] = (),
        brands: Iterable[str] = (),
    ) -> None:
        self.slang = {k.lower(): v.lower() for k, v in (slang or {}).items()}
        for name in brands:
            self.slang[name.lower()] = BRAND_TOKEN
        self.drop = frozenset(w.lower() for w in drop)
        self.protected = frozenset(w.lower() for w in protected)
        self._by_initial: dict[str, list[str]] = {}
        self.vocabulary: frozenset[str] = frozenset()
        self.set_vocabulary(vocabulary)

    def set_vocabulary(self, words: Iterable[str], targets: Iterable[str] | None = None) -> None:
        """Known words are never corrected; typos are corrected only *to* `targets`
        (default: all known words), the commoner target winning on equal distance."""
        counts = Counter(w for w in words if w)
        self.vocabulary = frozenset(counts) | frozenset(self.slang) | self.drop | self.protected
        allowed = set(counts) if targets is None else set(targets)
        by_initial: dict[str, list[str]] = {}
        ranked = sorted(allowed, key=lambda w: (-counts.get(w, 0), w))
        for w in ranked:
            if len(w) >= 4 and w.isalpha():
                by_initial.setdefault(w[0], []).append(w)
        self._by_initial = by_initial
        self._correct = functools.lru_cache(maxsize=65536)(self._correct_uncached)

    def _correct_uncached(self, tok: str) -> str:
        cands = self._by_initial.get(tok[0])
        if not cands:
            return tok
        max_d = 1 if len(tok) < 8 else 2
        best = process.extractOne(tok, cands, scorer=OSA.distance, score_cutoff=max_d)
        if best is None:
            return tok
        word = best[0]
        if abs(len(word) - len(tok)) > max_d:
            return tok
        if len(tok) < 6 and len(word) == len(tok) and sorted(word) != sorted(tok):
            return tok  # short words: a substituted letter is as likely another word ("bakar"/"bayar")
        return word

    def _strip_suffix(self, tok: str) -> str:
        """paketnya -> paket, akunku -> akun, kirimin -> kirim (only onto a known word)."""
        for suf in _SUFFIXES:
            if tok.endswith(suf) and len(tok) - len(suf) >= 3:
                stem = tok[: -len(suf)]
                if stem in self.vocabulary and stem not in self.protected:
                    return stem
                rep = self.slang.get(stem)
                if rep is not None:
                    return rep
        return tok

    def _rewrite(self, tok: str) -> list[str]:
        rep = self.slang.get(tok)
        if rep is not None:
            return rep.split()
        return [tok]

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for raw in basic_tokens(text):
            for tok in self._rewrite(raw):
                if tok in self.drop:
                    continue
                if len(tok) >= 5 and not tok.startswith("<"):
                    tok = self._strip_suffix(tok)
                    if self.slang.get(tok) == BRAND_TOKEN:
                        tok = BRAND_TOKEN
                if (
                    tok not in self.vocabulary
                    and len(tok) >= 4
                    and tok.isascii()
                    and tok.isalpha()
                ):
                    fixed = self._correct(tok)
                    if fixed != tok:
                        # a corrected typo may itself be slang ("mkasih" -> "makasih")
                        sub = self._rewrite(fixed)
                        out.extend(t for t in sub if t not in self.drop)
                        continue
                if out and out[-1] == tok:
                    continue
                out.append(tok)
        return out

    def normalize(self, text: str) -> str:
        return " ".join(self.tokens(text))
