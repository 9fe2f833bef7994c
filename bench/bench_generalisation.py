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

from bot.intents import IntentMatcher, evaluate_file  # noqa: E402

SETS = [
    ("dev (shared/eval/intents_dev.tsv)", REPO.parent / "shared" / "eval" / "intents_dev.tsv"),
    ("holdout 1 (used as feedback in round 2)", REPO / "tests" / "data" / "intents_holdout.tsv"),
    ("holdout 2 (used as feedback in round 3)", REPO / "tests" / "data" / "intents_holdout2.tsv"),
    ("holdout 3 (never used for tuning)", REPO / "tests" / "data" / "intents_holdout3.tsv"),
]


def main() -> None:
    matcher = IntentMatcher.load()
    for name, path in SETS:
        if not path.is_file():
            print(f"{name}: missing ({path})")
            continue
        r = evaluate_file(matcher, path)
        worst = sorted(r.per_intent.items(), key=lambda kv: kv[1]["recall"])[:3]
        weak = ", ".join(f"{label} recall {st['recall']:.0%}" for label, st in worst)
        print(f"{name}: {r.accuracy:.1%} ({r.correct}/{r.total}); weakest: {weak}")


if __name__ == "__main__":
    main()
