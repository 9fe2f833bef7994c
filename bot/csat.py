"""The satisfaction question's answer: a 1-5 rating in a short reply, or nothing."""
from __future__ import annotations

import re
from datetime import timedelta

# A satisfaction rating answers the question the desk sends after a resolution
# (bot/desk.py): valid this long after it was asked.
CSAT_WINDOW = timedelta(days=3)
_STARS = "\u2b50\u2605\U0001f31f"  # ⭐ ★ 🌟
_OUT_OF_FIVE = re.compile(r"(?<=\d)\s*(/|dari|of|out\s+of)\s*5(?!\d)")
_NUMBER_WORDS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# Words that may surround a rating ("5 mantap kak", "nilai 4", "4 of 5, thanks").
_RATING_WORDS = frozenset("""
    nilai nilainya skor score rating rate rated bintang star stars dari of out aja saja ya yaa yah iya kak kakak
    min admin gan sis mantap mantab mantul puas sangat banget bgt sekali oke ok okay okey sip siap top keren
    bagus baik cukup lumayan kurang kecewa jelek buruk terima kasih makasih trims thanks thank you thx good great
    excellent very satisfied happy bad poor not tidak gak nggak ga memuaskan pelayanan pelayanannya layanan
    service respon responnya cepat lambat lama and dan so nice perfect sempurna deh dong lah sih nih hehe
""".split())


def parse_rating(text: str) -> int | None:
    """The 1-5 satisfaction score in a short reply, or None when the message is more than
    a rating. Strict on purpose: "5", "5 mantap", "4/5", "nilai 3", "⭐⭐⭐⭐" are ratings;
    "1 barang rusak lagi" is not (a new problem, handled as one)."""
    t = text.strip().lower().replace("\ufe0f", "")
    if not t or len(t) > 60:
        return None
    t = _OUT_OF_FIVE.sub("", t)
    numbers = re.findall(r"\d+", t)
    stars = sum(t.count(c) for c in _STARS)
    words = re.findall(r"[^\W\d_]+", t)
    if len(numbers) > 1:
        return None
    unknown_allowed = 1
    if numbers:
        if len(numbers[0]) != 1 or not 1 <= int(numbers[0]) <= 5:
            return None
        score = int(numbers[0])
    elif stars:
        if stars > 5:
            return None
        score = stars
    else:
        named = [w for w in words if w in _NUMBER_WORDS]
        if len(named) != 1:
            return None
        score = _NUMBER_WORDS[named[0]]
        words = [w for w in words if w not in _NUMBER_WORDS]
        unknown_allowed = 0  # "satu lagi" is not a rating
    unknown = [w for w in words if w not in _RATING_WORDS]
    if len(unknown) > unknown_allowed:
        return None
    return score
