"""Check that no training message copies a message of the external test sets.

    .venv/bin/python bench/check_data.py

The project is judged on messages written by others (../shared/eval/); copying them into
knowledge/intents/ would only flatter the figures (and their licences do not allow it).
This reads those sets when they are beside the repository (tests never read them) and
lists every training message that equals one of their messages (ignoring case,
punctuation and spacing), and every long run of words (10+) a training message shares
with one of them. Short everyday messages ("halo selamat siang", "hapus semua alarm")
are written by anyone; they are listed apart, as chance matches, and do not fail. Exit 1 when
anything is found; says so when ../shared/eval/ is absent.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.intents import load_lexicon  # noqa: E402
from bot.intents.corpus import build_corpus, phrase_groups  # noqa: E402
from bot.intents.evaluate import read_tsv  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
RUN = 10
SHORT = 4  # words: an equal message this short is a chance match


def plain(text: str) -> list[str]:
    import re

    return re.findall(r"[^\W_]+", text.lower())


def main() -> int:
    if not EVAL.is_dir():
        print(f"{EVAL} is absent: nothing to check against")
        return 0
    lex = load_lexicon(REPO / "knowledge" / "intents")
    corpus = build_corpus(lex, phrase_groups(REPO / "knowledge" / "intents"))
    training = {}
    runs: dict[tuple[str, ...], str] = {}
    for e in corpus.examples:
        toks = plain(e.text)
        training[" ".join(toks)] = e.text
        for i in range(len(toks) - RUN + 1):
            runs[tuple(toks[i:i + RUN])] = e.text
    sets = sorted(EVAL.glob("*.tsv")) + sorted(p for p in (EVAL / "external").glob("*.tsv")
                                               if not p.name.endswith(".sources.tsv"))
    found = chance = 0
    for path in sets:
        for _, msg in read_tsv(path):
            toks = plain(msg)
            key = " ".join(toks)
            if key and key in training:
                if len(toks) <= SHORT:
                    chance += 1
                    print(f"{path.name}: chance match (short): {msg[:80]!r}")
                else:
                    found += 1
                    print(f"{path.name}: equal: {msg[:80]!r} ~ training {training[key][:80]!r}")
                continue
            for i in range(len(toks) - RUN + 1):
                hit = runs.get(tuple(toks[i:i + RUN]))
                if hit:
                    found += 1
                    print(f"{path.name}: shares {RUN}+ words: {msg[:80]!r} ~ training {hit[:80]!r}")
                    break
    print(f"{len(corpus.examples)} training messages checked against {len(sets)} sets: {found} copied or "
          f"sharing {RUN}+ words, {chance} short chance matches")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
