"""The features the intent model reads from a normalised message.

Two blocks, each weighted tf-idf (sublinear tf) and scaled to unit length on its
own, so a long message counts as much as a short one:

* words: normalised tokens and pairs of neighbours ("belum sampai", "kirim pesan");
  the pairs tell "pesan meja" (a restaurant) from "pesan barang" (an order);
* letters: 3-5 letter pieces of each word, with its edges (" kiri", "rim ");
  they carry what a word shares with its family (kirim, dikirim, pengiriman,
  kiriman) and survive typos the normaliser did not fix.

Pure Python over strings: the same function serves training and answering, so the
two can never disagree about what a feature is.
"""
from __future__ import annotations

from collections import Counter

WORD, CHAR = 0, 1
# Each block has unit length, then this weight: how much the letter pieces count
# against the words (part of the model's cache key).
BLOCK_WEIGHT = {WORD: 1.0, CHAR: 1.0}
CHAR_MIN, CHAR_MAX = 3, 5
MAX_TOKENS = 300


def feature_counts(tokens: list[str]) -> Counter[str]:
    """Feature name -> count. Word features start with "w ", letter pieces with "c "."""
    tokens = tokens[:MAX_TOKENS]
    out: Counter[str] = Counter()
    for tok in tokens:
        out["w " + tok] += 1
    for a, b in zip(tokens, tokens[1:]):
        out["w " + a + " " + b] += 1
    for tok in tokens:
        if tok.startswith("<"):
            continue  # <order>, <num>: the word feature says it all
        out.update(char_features(tok))
    return out


def char_features(tok: str) -> list[str]:
    """The 3-5 letter pieces of one word, its edges marked by spaces (repeats kept)."""
    padded = " " + tok + " "
    n = len(padded)
    return ["c " + padded[i:i + size] for size in range(CHAR_MIN, CHAR_MAX + 1) for i in range(n - size + 1)]


def block_of(feature: str) -> int:
    return WORD if feature[0] == "w" else CHAR
