"""A trained linear intent model: vocabulary, idf weights and one weight column per class.

Answering needs only NumPy (no scikit-learn import, no training): the model is a
file of plain arrays (`.npz`, loaded with `allow_pickle=False`, so a cache file can
never run code). `bot/intents/training.py` makes one from the phrase data.
"""
from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from math import exp, log, sqrt
from pathlib import Path

import numpy as np

from .features import BLOCK_WEIGHT, CHAR, MAX_TOKENS, WORD, block_of, char_features

FORMAT = 3  # bump when the file layout or the features change
if (WORD, CHAR) != (0, 1):  # `features` indexes its per-block sums by these values
    raise ImportError("feature blocks must be WORD = 0, CHAR = 1")
PIECE_CACHE = 50_000  # words whose letter pieces are kept, looked up in the vocabulary


@dataclass
class Head:
    """One classifier over the shared features: intents, or topics."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_classes) float32
    bias: np.ndarray  # (n_classes,) float32
    temperature: float  # softmax temperature fitted on held-out folds


@dataclass(frozen=True)
class _Lookup:
    """What scoring one message reads, as plain Python where it is read item by item."""

    idf: list[float]
    blocks: bytes  # WORD or CHAR per feature
    weights: np.ndarray  # (n_features, n_intent + n_topic) float32: both heads side by side
    n_intent: int
    intent_bias: list[float]
    topic_bias: list[float]


def _softmax(scores: list[float], temperature: float) -> list[float]:
    z = [s / temperature for s in scores]
    top = max(z)
    e = [exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


@dataclass
class LinearModel:
    key: str  # the hash of the data and settings it was trained from
    vocab: dict[str, int]
    idf: np.ndarray  # (n_features,) float32
    blocks: np.ndarray  # (n_features,) int8: WORD or CHAR
    intent: Head
    topic: Head
    topic_parent: tuple[str, ...]  # the intent label of each topic class
    # the normaliser's typo-correction vocabulary, so loading need not re-tokenise the data
    norm_vocab: tuple[str, ...]
    norm_targets: tuple[str, ...]
    _pieces: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    _lookup: _Lookup = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """What scoring reads, made once with the model (at start-up, not in the first
        request): both heads' weights side by side in one array, which the heads' own
        weights then view, so memory is not doubled."""
        n = self.intent.weights.shape[1]
        both = np.ascontiguousarray(np.hstack([self.intent.weights, self.topic.weights]), dtype=np.float32)
        self.intent.weights, self.topic.weights = both[:, :n], both[:, n:]
        self._lookup = _Lookup(idf=self.idf.tolist(), blocks=bytes(self.blocks.astype(np.uint8)), weights=both,
                               n_intent=n, intent_bias=self.intent.bias.tolist(), topic_bias=self.topic.bias.tolist())

    # ------------------------------------------------------------------ features
    def features(self, tokens: list[str]) -> tuple[list[int], list[float], int]:
        """(feature indexes, tf-idf values, count of distinct words the vocabulary lacks), as
        Python lists.

        The same features as `features.feature_counts` (training uses that), computed
        without building the strings of letter pieces again for words seen before, and in
        plain Python: for one message's few dozen features, each NumPy call costs more than
        the arithmetic it does (measured in the server, where the calls run cold)."""
        tokens = tokens[:MAX_TOKENS]
        get = self.vocab.get
        ids: list[int] = []
        unseen: set[str] = set()
        for tok in tokens:
            i = get("w " + tok)
            if i is None:
                unseen.add(tok)
            else:
                ids.append(i)
        for a, b in zip(tokens, tokens[1:]):
            i = get("w " + a + " " + b)
            if i is not None:
                ids.append(i)
        cache = self._pieces
        for tok in tokens:
            if tok.startswith("<"):
                continue
            pieces = cache.get(tok)
            if pieces is None:
                pieces = tuple(j for j in (get(f) for f in char_features(tok)) if j is not None)
                if len(cache) >= PIECE_CACHE:
                    cache.clear()
                cache[tok] = pieces
            ids += pieces
        if not ids:
            return [], [], len(unseen)
        idf, blocks = self._lookup.idf, self._lookup.blocks
        counts = Counter(ids)
        ix = list(counts)
        val = [(1.0 + log(c)) * idf[i] if c > 1 else idf[i] for i, c in counts.items()]
        squares = [0.0, 0.0]  # per block, indexed by its value: WORD (0), CHAR (1)
        for i, v in zip(ix, val):
            squares[blocks[i]] += v * v
        scale = [BLOCK_WEIGHT[b] / sqrt(q) if q > 0 else 1.0 for b, q in enumerate(squares)]
        return ix, [v * scale[blocks[i]] for i, v in zip(ix, val)], len(unseen)

    def probabilities_of(self, ix: list[int], val: list[float]) -> tuple[list[float], list[float]]:
        """(intent probabilities, topic probabilities) of one message's features: both heads'
        weight rows gathered and multiplied at once."""
        look = self._lookup
        if ix:
            both = (np.array(val, np.float32) @ look.weights[ix]).tolist()
        else:
            both = [0.0] * look.weights.shape[1]
        n = look.n_intent
        return (_softmax([a + b for a, b in zip(both[:n], look.intent_bias)], self.intent.temperature),
                _softmax([a + b for a, b in zip(both[n:], look.topic_bias)], self.topic.temperature))

    # ------------------------------------------------------------------ files
    def save(self, path: Path) -> None:
        """Write atomically, readable by the owner only."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        names = sorted(self.vocab, key=self.vocab.__getitem__)
        arrays = {
            "format": np.array([FORMAT]),
            "key": np.array([self.key]),
            "vocab": np.array(names, dtype=np.str_),
            "idf": self.idf.astype(np.float32),
            "blocks": self.blocks.astype(np.int8),
            "topic_parent": np.array(self.topic_parent, dtype=np.str_),
            "norm_vocab": np.array(self.norm_vocab, dtype=np.str_),
            "norm_targets": np.array(self.norm_targets, dtype=np.str_),
        }
        for name, head in (("intent", self.intent), ("topic", self.topic)):
            arrays[f"{name}_classes"] = np.array(head.classes, dtype=np.str_)
            arrays[f"{name}_weights"] = head.weights.astype(np.float32)
            arrays[f"{name}_bias"] = head.bias.astype(np.float32)
            arrays[f"{name}_temperature"] = np.array([head.temperature])
        fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, key: str) -> "LinearModel | None":
        """The model in `path` if it is one of ours trained from `key`, else None."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if int(data["format"][0]) != FORMAT or str(data["key"][0]) != key:
                    return None
                names = data["vocab"].tolist()
                heads = {}
                for name in ("intent", "topic"):
                    heads[name] = Head(
                        classes=tuple(data[f"{name}_classes"].tolist()),
                        weights=np.ascontiguousarray(data[f"{name}_weights"]),
                        bias=data[f"{name}_bias"].astype(np.float64),
                        temperature=float(data[f"{name}_temperature"][0]),
                    )
                return cls(
                    key=key,
                    vocab={n: i for i, n in enumerate(names)},
                    idf=data["idf"],
                    blocks=data["blocks"],
                    intent=heads["intent"],
                    topic=heads["topic"],
                    topic_parent=tuple(data["topic_parent"].tolist()),
                    norm_vocab=tuple(data["norm_vocab"].tolist()),
                    norm_targets=tuple(data["norm_targets"].tolist()),
                )
        except (OSError, KeyError, ValueError, IndexError):
            return None


def blocks_for(names: list[str]) -> np.ndarray:
    return np.fromiter((block_of(n) for n in names), np.int8, len(names))
