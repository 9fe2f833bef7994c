"""Train the linear intent model from the phrase data (scikit-learn, at build time only).

Method (chosen on evidence; the figures are in the commit that introduced it and
in bench/bench_external.py): tf-idf word and letter n-grams (features.py) and a
linear support-vector classifier per head (intents; topics inside the six
categories), one-vs-rest, classes weighted by their size so `unknown`'s many
examples do not drown the small labels. Scores become probabilities through a
softmax whose temperature is fitted on held-out folds (5-fold cross-validation,
minimum log-loss), so a confidence of 0.8 means what it says on phrases the
model did not see.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .features import BLOCK_WEIGHT, block_of, feature_counts
from .model import Head, LinearModel

CHAR_MIN_DF = 2
C = 0.5
FOLDS = 5
SEED = 7
# Out-of-scope examples count this much more: sending an alarm or an ad to a support
# category costs more than asking a customer to rephrase.
UNKNOWN_WEIGHT = 1.0


def settings_key() -> str:
    """The training settings, part of the model's cache key."""
    return (f"C={C};folds={FOLDS};seed={SEED};char_min_df={CHAR_MIN_DF};unknown={UNKNOWN_WEIGHT};"
            f"blocks={BLOCK_WEIGHT}")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    topic: str | None = None
    weight: float = 1.0


def _vocabulary(docs: list[Counter[str]]) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    names = sorted(f for f, n in df.items() if block_of(f) == 0 or n >= CHAR_MIN_DF)
    n_docs = len(docs)
    idf = np.array([math.log((1 + n_docs) / (1 + df[f])) + 1.0 for f in names], dtype=np.float32)
    return names, idf


def _matrix(docs: list[Counter[str]], vocab: dict[str, int], idf: np.ndarray, blocks: np.ndarray):
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for d in docs:
        row_idx = [vocab[f] for f in d if f in vocab]
        row_val = [(1.0 + math.log(d[f])) for f in d if f in vocab]
        if row_idx:
            ix = np.array(row_idx)
            val = np.array(row_val, dtype=np.float32) * idf[ix]
            blk = blocks[ix]
            for b in (0, 1):
                sel = blk == b
                norm = float(np.sqrt(np.dot(val[sel], val[sel])))
                if norm > 0:
                    val[sel] *= BLOCK_WEIGHT[b] / norm
            indices.extend(row_idx)
            data.extend(val.tolist())
        indptr.append(len(indices))
    return csr_matrix((np.array(data, dtype=np.float32), np.array(indices), np.array(indptr)),
                      shape=(len(docs), len(vocab)))


def _fit(X, y: np.ndarray, n_classes: int, sample_weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=C, class_weight="balanced", random_state=SEED)
    clf.fit(X, y, sample_weight=sample_weight)
    W = np.zeros((X.shape[1], n_classes), dtype=np.float32)
    b = np.full(n_classes, -10.0)
    present = clf.classes_
    coef = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_[0], clf.coef_[0]])
    icpt = clf.intercept_ if len(present) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]])
    for j, c in enumerate(present):
        W[:, c] = coef[j]
        b[c] = icpt[j]
    return W, b


def _temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature with the least log-loss on held-out scores."""
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.02), math.log(2.0), 60)):
        z = scores / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float(np.mean(logp[np.arange(len(y)), y]))
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t


def _head(X, labels: Sequence[str], classes: tuple[str, ...], weights: np.ndarray) -> Head:
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[label] for label in labels])
    W, b = _fit(X, y, len(classes), weights)
    # held-out scores for the temperature
    rng = np.random.default_rng(SEED)
    fold = rng.integers(0, FOLDS, size=len(y))
    oof = np.zeros((len(y), len(classes)))
    for k in range(FOLDS):
        tr, te = fold != k, fold == k
        Wk, bk = _fit(X[tr], y[tr], len(classes), weights[tr])
        oof[te] = X[te] @ Wk + bk
    return Head(classes=classes, weights=W, bias=b, temperature=_temperature(oof, y))


def train(examples: Sequence[Example], tokenize, key: str, intent_classes: tuple[str, ...],
          topic_parent: dict[str, str], norm_vocab: tuple[str, ...], norm_targets: tuple[str, ...]) -> LinearModel:
    """`tokenize(text) -> tokens` is the matcher's normaliser; `topic_parent` maps each
    topic to its category (the topic head learns only from examples that name a topic)."""
    docs = [feature_counts(tokenize(e.text)) for e in examples]
    names, idf = _vocabulary(docs)
    vocab = {n: i for i, n in enumerate(names)}
    blocks = np.fromiter((block_of(n) for n in names), np.int8, len(names))
    X = _matrix(docs, vocab, idf, blocks)
    weights = np.array([e.weight * (UNKNOWN_WEIGHT if e.label == "unknown" else 1.0) for e in examples],
                       dtype=np.float64)
    intent = _head(X, [e.label for e in examples], intent_classes, weights)
    topic_classes = tuple(topic_parent)
    rows = [i for i, e in enumerate(examples) if e.topic in topic_parent]
    topic = _head(X[rows], [examples[i].topic for i in rows], topic_classes, weights[rows])  # type: ignore[misc]
    return LinearModel(
        key=key, vocab=vocab, idf=idf, blocks=blocks, intent=intent, topic=topic,
        topic_parent=tuple(topic_parent[t] for t in topic_classes),
        norm_vocab=norm_vocab, norm_targets=norm_targets,
    )
