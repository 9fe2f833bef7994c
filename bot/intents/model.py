"""A trained linear intent model: vocabulary, idf weights and one weight column per class.

Answering needs only NumPy (no scikit-learn import, no training): the model is a
file of plain arrays (`.npz`, loaded with `allow_pickle=False`, so a cache file can
never run code). `bot/intents/training.py` makes one from the phrase data.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .features import BLOCK_WEIGHT, CHAR, MAX_TOKENS, WORD, block_of, char_features

FORMAT = 3  # bump when the file layout or the features change
PIECE_CACHE = 50_000  # words whose letter pieces are kept, looked up in the vocabulary


@dataclass
class Head:
    """One classifier over the shared features: intents, or topics."""

    classes: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_classes) float32
    bias: np.ndarray  # (n_classes,) float32
    temperature: float  # softmax temperature fitted on held-out folds


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

    # ------------------------------------------------------------------ features
    def vectorize(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """(feature indexes, tf-idf values, count of distinct words the vocabulary lacks).

        The same features as `features.feature_counts` (training uses that), computed
        without building the strings of letter pieces again for words seen before."""
        tokens = tokens[:MAX_TOKENS]
        get = self.vocab.get
        counts: dict[int, int] = {}
        unseen: set[str] = set()
        for tok in tokens:
            i = get("w " + tok)
            if i is None:
                unseen.add(tok)
            else:
                counts[i] = counts.get(i, 0) + 1
        for a, b in zip(tokens, tokens[1:]):
            i = get("w " + a + " " + b)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
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
            for i in pieces:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), len(unseen)
        ix = np.fromiter(counts.keys(), np.int64, len(counts))
        tf = np.fromiter(counts.values(), np.float32, len(counts))
        val = (1.0 + np.log(tf)) * self.idf[ix]
        blk = self.blocks[ix]
        for b in (WORD, CHAR):
            sel = blk == b
            norm = float(np.sqrt(np.dot(val[sel], val[sel])))
            if norm > 0:
                val[sel] *= BLOCK_WEIGHT[b] / norm
        return ix, val, len(unseen)

    @staticmethod
    def scores(head: Head, ix: np.ndarray, val: np.ndarray) -> np.ndarray:
        if len(ix) == 0:
            return head.bias.astype(np.float64)
        return (val @ head.weights[ix]).astype(np.float64) + head.bias

    @staticmethod
    def probabilities(head: Head, scores: np.ndarray) -> np.ndarray:
        z = scores / head.temperature
        z = np.exp(z - z.max())
        return z / z.sum()

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
