"""Intent accuracy on the dev set and on the independent held-out sets.

The held-out sets (tests/data/intents_holdout*.tsv) were written by people who never
saw the matcher or its training phrases. Sets 1 and 2 were later used as category-level
feedback for tuning (their figures flatter); set 3 has never been looked at by anyone
tuning: it is the honest estimate for new customer messages.
    .venv/bin/python bench/bench_generalisation.py
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.intents import IntentMatcher, load_lexicon  # noqa: E402
from bot.intents.evaluate import evaluate_rows, read_tsv  # noqa: E402

SETS = [
    ("dev (shared/eval/intents_dev.tsv)", REPO.parent / "shared" / "eval" / "intents_dev.tsv"),
    ("holdout 1 (used as feedback in round 2)", REPO / "tests" / "data" / "intents_holdout.tsv"),
    ("holdout 2 (used as feedback in round 3)", REPO / "tests" / "data" / "intents_holdout2.tsv"),
    ("holdout 3 (never used for tuning)", REPO / "tests" / "data" / "intents_holdout3.tsv"),
]


def main() -> None:
    matcher = IntentMatcher.load()
    lex = load_lexicon(REPO / "knowledge" / "intents")
    training = {matcher.normalize(p) for item in lex.intents.values() for p in item.phrases}
    for name, path in SETS:
        if not path.is_file():
            print(f"{name}: missing ({path})")
            continue
        rows = read_tsv(path)
        r = evaluate_rows(matcher, rows)
        # Messages that equal a training phrase once normalised (common short ones, written
        # by chance on both sides) left out: accuracy on new wording only.
        unseen = evaluate_rows(matcher, [row for row in rows if matcher.normalize(row[1]) not in training])
        worst = sorted(r.per_intent.items(), key=lambda kv: kv[1]["recall"])[:3]
        weak = ", ".join(f"{label} recall {st['recall']:.0%}" for label, st in worst)
        print(f"{name}: {r.accuracy:.1%} ({r.correct}/{r.total}); unseen wording only "
              f"{unseen.accuracy:.1%} ({unseen.correct}/{unseen.total}); weakest: {weak}")


if __name__ == "__main__":
    main()
