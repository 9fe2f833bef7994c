"""The training corpus: every phrase of `knowledge/intents/`, labelled, and its hash.

Sources (both described in knowledge/intents/README.md):
* `<label>.toml`: `phrases` (label only), plus the `lexicon` words, `[cues]`
  and `strong` cues (short examples of their label, weighted lower);
* `phrases/<label>/<group>.txt`: one message per line; inside a support category
  the group is the topic.

The hash covers every byte the model depends on (these files, slang.toml, the
feature and training settings), so a cached model is used only for exactly the
data it was trained from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bot.models import CATEGORIES

from .lexicon import Lexicon
from .phrases import PhraseGroup, load_phrase_dir
from .training import Example

PHRASE_DIR = "phrases"
# Bump when features, normalisation or training change in a way the data hash cannot see.
CODE_VERSION = "intent-model-3"
CUES_AS_EXAMPLES = 0.5  # the [cues] keywords, as short examples of their label


@dataclass(frozen=True)
class Corpus:
    examples: tuple[Example, ...]
    topic_parent: dict[str, str]  # topic -> its category
    key: str


def phrase_groups(directory: Path) -> list[PhraseGroup]:
    return load_phrase_dir(Path(directory) / PHRASE_DIR)


def build_corpus(lexicon: Lexicon, groups: list[PhraseGroup], settings: str = "") -> Corpus:
    examples: list[Example] = []
    for label, item in lexicon.intents.items():
        examples.extend(Example(p, label) for p in item.phrases)
        examples.extend(Example(w, label, weight=0.3) for w in item.lexicon)
        if CUES_AS_EXAMPLES:
            examples.extend(Example(c, label, weight=CUES_AS_EXAMPLES) for c in [*item.cues, *item.strong])
    topic_parent: dict[str, str] = {}
    for g in groups:
        topic = g.group if g.label in CATEGORIES else None
        if topic is not None:
            if topic_parent.setdefault(topic, g.label) != g.label:
                from bot.errors import ConfigError

                raise ConfigError(g.path, "(file name)", f"topic {topic!r} is already a topic of {topic_parent[topic]}")
        examples.extend(Example(line, g.label, topic) for line in g.lines)
    return Corpus(tuple(examples), topic_parent, corpus_key(lexicon.directory, settings))


def corpus_key(directory: Path, settings: str = "") -> str:
    """The key of the model trained from `directory` with these settings (the cache's name for it)."""
    return data_key(directory, settings + f";cues={CUES_AS_EXAMPLES}")


def data_key(directory: Path, settings: str = "") -> str:
    """sha256 over the code version, the settings and every data file's path and bytes."""
    directory = Path(directory)
    h = hashlib.sha256()
    h.update(CODE_VERSION.encode())
    h.update(settings.encode())
    files = sorted(directory.glob("*.toml")) + sorted((directory / PHRASE_DIR).glob("*/*.txt"))
    for path in files:
        h.update(str(path.relative_to(directory)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()
