"""The data in knowledge/intents/ validates, covers every label and topic, and never holds a
held-out message (bench/check_data.py also checks it against ../shared/eval/ when present)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.intents import IntentMatcher, load_lexicon
from bot.intents.corpus import build_corpus, phrase_groups
from bot.intents.evaluate import read_tsv
from bot.intents.phrases import load_phrase_dir
from bot.knowledge import load_knowledge
from bot.models import CATEGORIES, INTENTS

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "knowledge" / "intents"
OWN_HOLDOUT = REPO / "tests" / "data" / "intents_own_holdout.tsv"
HOLDOUTS = sorted((REPO / "tests" / "data").glob("intents_*holdout*.tsv"))


@pytest.fixture(scope="module")
def lex():
    return load_lexicon(DATA)


@pytest.fixture(scope="module")
def m():
    return IntentMatcher.load(DATA)


def test_data_validates(lex):
    assert set(lex.intents) == set(INTENTS)


def test_every_label_has_phrases(lex):
    corpus = build_corpus(lex, phrase_groups(DATA))
    for label in INTENTS:
        n = sum(1 for e in corpus.examples if e.label == label)
        minimum = 600 if label in CATEGORIES else 200
        assert n >= minimum, f"{label}: only {n} phrases"


def test_every_topic_has_phrases_and_an_answer():
    """topics.toml and the phrase files name the same topics, each in the same category,
    each with enough examples to learn from."""
    knowledge = load_knowledge(REPO / "knowledge")
    corpus = build_corpus(load_lexicon(DATA), phrase_groups(DATA))
    assert set(corpus.topic_parent) == set(knowledge.topics)
    for tid, topic in knowledge.topics.items():
        assert corpus.topic_parent[tid] == topic.category, tid
        n = sum(1 for e in corpus.examples if e.topic == tid)
        assert n >= 150, f"{tid}: only {n} phrases"
    assert {t.category for t in knowledge.topics.values()} == set(CATEGORIES)


def test_unknown_covers_what_a_virtual_assistant_is_asked():
    """The in-domain gate learns from out-of-scope messages of many kinds."""
    groups = {g.group for g in load_phrase_dir(DATA / "phrases") if g.label == "unknown"}
    assert {"assistant_alarm_reminder", "assistant_media", "assistant_weather_time", "assistant_booking",
            "chitchat_trivia", "promo_spam_ads", "seller_ads", "other_services", "other_companies"} <= groups


def test_no_phrase_teaches_two_labels(lex, m):
    seen: dict[str, str] = {}
    clashes = []
    for e in _messages(lex):
        key = m.normalize(e.text)
        if key and seen.setdefault(key, e.label) != e.label:
            clashes.append((e.text, e.label, seen[key]))
    assert not clashes, clashes


def _messages(lex):
    """The training messages (keyword cues and lexicon words are not messages)."""
    return [e for e in build_corpus(lex, phrase_groups(DATA)).examples if e.weight == 1.0]


def _training_set(lex, m):
    return {m.normalize(e.text) for e in _messages(lex)}


@pytest.mark.parametrize("path", HOLDOUTS, ids=lambda p: p.name)
def test_no_holdout_message_in_training(lex, m, path):
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


def _phrase_dir(tmp_path: Path) -> Path:
    d = _copy_data(tmp_path)
    (d / "phrases" / "order_status").mkdir(parents=True)
    return d


def test_phrase_file_with_a_tab_names_the_line(tmp_path):
    d = _phrase_dir(tmp_path)
    (d / "phrases" / "order_status" / "cancel_order.txt").write_text("# header\nbatalin\tdong\n", encoding="utf-8")
    _expect(d, "cancel_order.txt", "line 2")


def test_phrase_folder_must_be_a_label(tmp_path):
    d = _phrase_dir(tmp_path)
    (d / "phrases" / "shipping").mkdir()
    (d / "phrases" / "shipping" / "x.txt").write_text("kirim\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        IntentMatcher.load(d)
    assert "shipping" in str(exc.value) and "unknown intent label" in exc.value.problem


def test_phrase_file_not_utf8(tmp_path):
    d = _phrase_dir(tmp_path)
    (d / "phrases" / "order_status" / "cancel_order.txt").write_bytes(b"batal\xff\n")
    _expect(d, "cancel_order.txt", "(file)")


def test_one_topic_in_two_categories_is_refused(tmp_path):
    d = _phrase_dir(tmp_path)
    (d / "phrases" / "order_status" / "refund_status.txt").write_text("refund kapan\n", encoding="utf-8")
    (d / "phrases" / "return_refund").mkdir()
    (d / "phrases" / "return_refund" / "refund_status.txt").write_text("refund kapan masuk\n", encoding="utf-8")
    _expect(d, "refund_status.txt", "(file name)")
