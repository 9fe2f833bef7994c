"""The matcher on customer messages written by people who never saw its training data.

tests/data/intents_holdout{,2,3}.tsv were each written independently of the matcher;
holdout 3 has never been used for tuning. The issue's target is 95 % on new messages.
Short common messages ("pagi kak") sometimes equal a training phrase once normalised,
written by chance by both sides; they are left out here so the figure measures new
wording only.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.intents import load_lexicon
from bot.intents.evaluate import evaluate_rows, read_tsv

DATA = Path(__file__).resolve().parent / "data"
KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge" / "intents"


def unseen_rows(matcher, name):
    lex = load_lexicon(KNOWLEDGE)
    training = {matcher.normalize(p) for item in lex.intents.values() for p in item.phrases}
    return [row for row in read_tsv(DATA / name) if matcher.normalize(row[1]) not in training]


@pytest.mark.parametrize("name", ["intents_holdout.tsv", "intents_holdout2.tsv", "intents_holdout3.tsv"])
def test_independent_holdout_accuracy(matcher, name):
    report = evaluate_rows(matcher, unseen_rows(matcher, name))
    assert report.total >= 380
    assert report.accuracy >= 0.95, f"{name}: {report.accuracy:.3f}"


def test_unknown_is_rarely_a_wrong_category(matcher):
    """Out-of-scope messages must not be answered as a support category (and vice versa
    a support question should seldom be dropped as unknown)."""
    report = evaluate_rows(matcher, unseen_rows(matcher, "intents_holdout3.tsv"))
    assert report.per_intent["unknown"]["precision"] >= 0.85
    assert report.per_intent["unknown"]["recall"] >= 0.85
