"""Accuracy, per-intent precision/recall and confusions on a labelled TSV file.

File format (shared/eval/intents_dev.tsv): `labels<TAB>message` per line,
`a|b` in labels means either label is accepted; `#` lines and blank lines are
skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError


@dataclass
class EvalReport:
    total: int = 0
    correct: int = 0
    accuracy: float = 0.0
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[tuple[str, str, str]] = field(default_factory=list)

    def __getitem__(self, key: str):  # dict-style access for scripts
        return getattr(self, key)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "per_intent": self.per_intent,
            "confusions": [list(c) for c in self.confusions],
        }


def read_tsv(path: Path) -> list[tuple[tuple[str, ...], str]]:
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


def evaluate_rows(matcher, rows) -> EvalReport:
    rep = EvalReport()
    tp: dict[str, int] = {}
    pred_n: dict[str, int] = {}
    gold_n: dict[str, int] = {}
    for expected, message in rows:
        got = matcher.match(message).intent
        ok = got in expected
        gold = got if ok else expected[0]
        rep.total += 1
        gold_n[gold] = gold_n.get(gold, 0) + 1
        pred_n[got] = pred_n.get(got, 0) + 1
        if ok:
            rep.correct += 1
            tp[got] = tp.get(got, 0) + 1
        else:
            rep.confusions.append(("|".join(expected), got, message))
    rep.accuracy = rep.correct / rep.total if rep.total else 0.0
    for label in sorted(set(gold_n) | set(pred_n)):
        t = tp.get(label, 0)
        rep.per_intent[label] = {
            "precision": t / pred_n[label] if pred_n.get(label) else 0.0,
            "recall": t / gold_n[label] if gold_n.get(label) else 0.0,
            "support": gold_n.get(label, 0),
        }
    return rep


def evaluate_file(matcher, path: Path) -> EvalReport:
    return evaluate_rows(matcher, read_tsv(Path(path)))


def format_report(report: EvalReport) -> str:
    lines = [f"accuracy: {report.accuracy:.3f} ({report.correct}/{report.total})", ""]
    lines.append(f"{'intent':<14} {'precision':>9} {'recall':>7} {'support':>8}")
    for label, st in report.per_intent.items():
        lines.append(f"{label:<14} {st['precision']:>9.3f} {st['recall']:>7.3f} {st['support']:>8d}")
    if report.confusions:
        lines += ["", "confusions (expected -> got: message):"]
        for exp, got, msg in report.confusions:
            short = msg if len(msg) <= 100 else msg[:97] + "..."
            lines.append(f"  {exp} -> {got}: {short}")
    return "\n".join(lines)
