"""Accuracy, per-intent precision/recall, scope errors, topics and calibration on a labelled TSV.

File format: `labels<TAB>message` per line; `a|b` in labels means either label is
accepted; a label may name a topic inside its category (`order_status/cancel_order`:
the intent is right when it is order_status, the topic is scored on its own). `#`
lines and blank lines are skipped.

Figures beyond accuracy:
* in scope (rows whose answer is not only `unknown`): accuracy, and the share
  answered with a *wrong support category* (the worst mistake: the customer gets
  the wrong form);
* out of scope (rows whose only answer is `unknown`): the share sent to one of the
  six support categories;
* the reliability table: per confidence bucket, how many answers and how many right.
  A calibrated matcher is right about as often as it says.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError
from bot.models import CATEGORIES

BUCKETS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)

Row = tuple[tuple[str, ...], str]


@dataclass
class EvalReport:
    total: int = 0
    correct: int = 0
    accuracy: float = 0.0
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[tuple[str, str, str]] = field(default_factory=list)
    in_scope: int = 0
    in_scope_correct: int = 0
    wrong_category: int = 0
    out_of_scope: int = 0
    out_of_scope_to_category: int = 0
    topic_total: int = 0
    topic_correct: int = 0
    topic_confusions: list[tuple[str, str, str]] = field(default_factory=list)
    reliability: list[dict[str, float]] = field(default_factory=list)

    def __getitem__(self, key: str):  # dict-style access for scripts
        return getattr(self, key)

    @property
    def in_scope_accuracy(self) -> float:
        return self.in_scope_correct / self.in_scope if self.in_scope else 0.0

    @property
    def wrong_category_rate(self) -> float:
        return self.wrong_category / self.in_scope if self.in_scope else 0.0

    @property
    def out_of_scope_to_category_rate(self) -> float:
        return self.out_of_scope_to_category / self.out_of_scope if self.out_of_scope else 0.0

    @property
    def topic_accuracy(self) -> float:
        return self.topic_correct / self.topic_total if self.topic_total else 0.0

    def confident(self, threshold: float = 0.8) -> tuple[int, float]:
        """(answers given with confidence >= threshold, the share of them right)."""
        n = ok = 0
        for b in self.reliability:
            if b["low"] >= threshold:
                n += int(b["count"])
                ok += int(b["correct"])
        return n, (ok / n if n else 0.0)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "in_scope": self.in_scope,
            "in_scope_accuracy": self.in_scope_accuracy,
            "wrong_category_rate": self.wrong_category_rate,
            "out_of_scope": self.out_of_scope,
            "out_of_scope_to_category_rate": self.out_of_scope_to_category_rate,
            "topic_total": self.topic_total,
            "topic_accuracy": self.topic_accuracy,
            "reliability": self.reliability,
            "per_intent": self.per_intent,
            "confusions": [list(c) for c in self.confusions],
        }


def read_tsv(path: Path) -> list[Row]:
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" not in line:
                raise ConfigError(str(path), f"line {n}", "expected `labels<TAB>message`")
            labels, message = line.split("\t", 1)
            rows.append((tuple(x.strip() for x in labels.split("|") if x.strip()), message))
    return rows


def intents_of(labels: tuple[str, ...]) -> tuple[str, ...]:
    """The intent part of each accepted label (`order_status/cancel_order` -> order_status)."""
    return tuple(dict.fromkeys(label.split("/", 1)[0] for label in labels))


def evaluate_rows(matcher, rows: list[Row]) -> EvalReport:
    rep = EvalReport()
    tp: dict[str, int] = {}
    pred_n: dict[str, int] = {}
    gold_n: dict[str, int] = {}
    buckets = [[0, 0] for _ in BUCKETS[:-1]]
    for labels, message in rows:
        expected = intents_of(labels)
        m = matcher.match(message)
        got = m.intent
        ok = got in expected
        gold = got if ok else expected[0]
        rep.total += 1
        gold_n[gold] = gold_n.get(gold, 0) + 1
        pred_n[got] = pred_n.get(got, 0) + 1
        if ok:
            rep.correct += 1
            tp[got] = tp.get(got, 0) + 1
        else:
            rep.confusions.append(("|".join(labels), got, message))
        if set(expected) == {"unknown"}:
            rep.out_of_scope += 1
            rep.out_of_scope_to_category += got in CATEGORIES
        else:
            rep.in_scope += 1
            rep.in_scope_correct += ok
            rep.wrong_category += (got in CATEGORIES and not ok)
        topics = {label.split("/", 1)[1] for label in labels if "/" in label and label.split("/", 1)[0] == got}
        if ok and topics:
            rep.topic_total += 1
            if m.topic in topics:
                rep.topic_correct += 1
            else:
                rep.topic_confusions.append(("|".join(sorted(topics)), str(m.topic), message))
        for i, (lo, hi) in enumerate(zip(BUCKETS, BUCKETS[1:])):
            if lo <= m.confidence < hi:
                buckets[i][0] += 1
                buckets[i][1] += ok
                break
    rep.accuracy = rep.correct / rep.total if rep.total else 0.0
    for label in sorted(set(gold_n) | set(pred_n)):
        t = tp.get(label, 0)
        rep.per_intent[label] = {
            "precision": t / pred_n[label] if pred_n.get(label) else 0.0,
            "recall": t / gold_n[label] if gold_n.get(label) else 0.0,
            "support": gold_n.get(label, 0),
        }
    rep.reliability = [
        {"low": lo, "high": min(hi, 1.0), "count": n, "correct": k, "accuracy": k / n if n else 0.0}
        for (lo, hi), (n, k) in zip(zip(BUCKETS, BUCKETS[1:]), buckets)
    ]
    return rep


def evaluate_file(matcher, path: Path) -> EvalReport:
    return evaluate_rows(matcher, read_tsv(Path(path)))


def format_reliability(report: EvalReport) -> list[str]:
    lines = [f"{'confidence':<12} {'count':>6} {'accuracy':>9}"]
    for b in report.reliability:
        if b["count"]:
            lines.append(f"{b['low']:.2f}-{b['high']:.2f}    {int(b['count']):>6} {b['accuracy']:>9.3f}")
    n, acc = report.confident(0.8)
    lines.append(f"confidence >= 0.80: {n} answers, {acc:.3f} right")
    return lines


def format_report(report: EvalReport) -> str:
    lines = [f"accuracy: {report.accuracy:.3f} ({report.correct}/{report.total})"]
    if report.in_scope:
        lines.append(f"in scope: accuracy {report.in_scope_accuracy:.3f} ({report.in_scope_correct}/{report.in_scope}), "
                     f"wrong support category {report.wrong_category_rate:.3f} ({report.wrong_category})")
    if report.out_of_scope:
        lines.append(f"out of scope: sent to a support category {report.out_of_scope_to_category_rate:.3f} "
                     f"({report.out_of_scope_to_category}/{report.out_of_scope})")
    if report.topic_total:
        lines.append(f"topics: {report.topic_accuracy:.3f} ({report.topic_correct}/{report.topic_total} "
                     "rows with a topic and the right intent)")
    lines += ["", "reliability:"] + format_reliability(report)
    lines += ["", f"{'intent':<14} {'precision':>9} {'recall':>7} {'support':>8}"]
    for label, st in report.per_intent.items():
        lines.append(f"{label:<14} {st['precision']:>9.3f} {st['recall']:>7.3f} {st['support']:>8d}")
    if report.confusions:
        lines += ["", "confusions (expected -> got: message):"]
        for exp, got, msg in report.confusions:
            short = msg if len(msg) <= 100 else msg[:97] + "..."
            lines.append(f"  {exp} -> {got}: {short}")
    if report.topic_confusions:
        lines += ["", "topic confusions (expected -> got: message):"]
        for exp, got, msg in report.topic_confusions:
            short = msg if len(msg) <= 100 else msg[:97] + "..."
            lines.append(f"  {exp} -> {got}: {short}")
    return "\n".join(lines)
