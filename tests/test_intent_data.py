"""The data in knowledge/intents/ validates, covers every label, and never holds dev-set messages."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.intents import IntentMatcher, load_lexicon
from bot.intents.evaluate import read_tsv
from bot.models import CATEGORIES, INTENTS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "knowledge" / "intents"
DEV_SET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "intents_dev.tsv"
OWN_HOLDOUT = REPO / "tests" / "data" / "intents_own_holdout.tsv"
OWN_HOLDOUTS = sorted((REPO / "tests" / "data").glob("intents_own_holdout*.tsv"))


@pytest.fixture(scope="module")
def lex():
    return load_lexicon(DATA)


@pytest.fixture(scope="module")
def m():
    return IntentMatcher.load(DATA)


def test_data_validates(lex):
    assert set(lex.intents) == set(INTENTS)


def test_every_label_has_phrases(lex):
    for label in INTENTS:
        n = len(lex.intents[label].phrases)
        minimum = 120 if label in CATEGORIES else 40
        assert n >= minimum, f"{label}: only {n} phrases"


def test_no_duplicate_phrases(lex, m):
    seen = {}
    for label, item in lex.intents.items():
        for p in item.phrases:
            key = m.normalize(p)
            assert seen.get(key, label) == label, f"{p!r} is in {label} and {seen[key]}"
            seen[key] = label


def _training_set(lex, m):
    return {m.normalize(p) for item in lex.intents.values() for p in item.phrases}


def test_no_dev_message_in_training(lex, m):
    training = _training_set(lex, m)
    leaked = [msg for _, msg in read_tsv(DEV_SET) if m.normalize(msg) and m.normalize(msg) in training]
    assert not leaked, leaked


@pytest.mark.parametrize("path", OWN_HOLDOUTS, ids=lambda p: p.name)
def test_no_own_holdout_message_in_training(lex, m, path):
    training = _training_set(lex, m)
    leaked = [msg for _, msg in read_tsv(path) if m.normalize(msg) and m.normalize(msg) in training]
    assert not leaked, leaked


def test_lexicon_key_validates(tmp_path):
    d = _copy_data(tmp_path)
    (d / "thanks.toml").write_text('intent = "thanks"\nphrases = ["makasih"]\nlexicon = [3]\n', encoding="utf-8")
    _expect(d, "thanks.toml", "lexicon[0]")


def _copy_data(tmp_path: Path) -> Path:
    d = tmp_path / "intents"
    d.mkdir()
    for p in DATA.glob("*.toml"):
        (d / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    return d


def _expect(d: Path, filename: str, key_part: str):
    with pytest.raises(ConfigError) as exc:
        IntentMatcher.load(d)
    assert exc.value.source.endswith(filename), exc.value
    assert key_part in exc.value.key, exc.value
    assert filename in str(exc.value)


def test_unknown_intent_label(tmp_path):
    d = _copy_data(tmp_path)
    (d / "shipping.toml").write_text('phrases = ["kirim"]\n', encoding="utf-8")
    _expect(d, "shipping.toml", "intent")


def test_declared_label_mismatch(tmp_path):
    d = _copy_data(tmp_path)
    text = (d / "hours.toml").read_text(encoding="utf-8").replace('intent = "hours"', 'intent = "jam"')
    (d / "hours.toml").write_text(text, encoding="utf-8")
    _expect(d, "hours.toml", "intent")


def test_non_string_phrase(tmp_path):
    d = _copy_data(tmp_path)
    (d / "thanks.toml").write_text('intent = "thanks"\nphrases = ["makasih", 42]\n', encoding="utf-8")
    _expect(d, "thanks.toml", "phrases[1]")


def test_empty_phrase_list(tmp_path):
    d = _copy_data(tmp_path)
    (d / "greeting.toml").write_text('intent = "greeting"\nphrases = []\n', encoding="utf-8")
    _expect(d, "greeting.toml", "phrases")


def test_bad_cue_weight(tmp_path):
    d = _copy_data(tmp_path)
    (d / "contact.toml").write_text(
        'intent = "contact"\nphrases = ["nomor wa"]\n[cues]\n"nomor wa" = "tinggi"\n', encoding="utf-8"
    )
    _expect(d, "contact.toml", "cues")


def test_broken_toml_syntax(tmp_path):
    d = _copy_data(tmp_path)
    (d / "product.toml").write_text('phrases = ["stok ada?"\n', encoding="utf-8")
    _expect(d, "product.toml", "(file)")


def test_bad_slang(tmp_path):
    d = _copy_data(tmp_path)
    (d / "slang.toml").write_text('[slang]\nudh = 3\n', encoding="utf-8")
    _expect(d, "slang.toml", "slang.udh")


def test_missing_intent_file(tmp_path):
    d = _copy_data(tmp_path)
    (d / "human.toml").unlink()
    with pytest.raises(ConfigError) as exc:
        IntentMatcher.load(d)
    assert "human" in exc.value.problem
