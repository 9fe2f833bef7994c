"""Load and validate the intent data in knowledge/intents/.

Two kinds of file (the format is described in knowledge/intents/README.md):

* `slang.toml`: `[slang]` token -> replacement, `[drop] address = [...]`,
  `[drop] particles = [...]`.
* `<intent>.toml`, one per label of bot.models.INTENTS:
  `intent = "<label>"` (optional, must match the file name), `phrases = [...]`
  (training examples), `[cues]` phrase -> weight (keyword cues, optional) and
  `strong = [...]` (cues that trigger the priority rules; optional),
  `lexicon = [...]` (a broad list of topic words, e.g. product nouns and
  attributes: each adds a small weight and is never treated as unseen; optional).

Anything wrong raises ConfigError(path, key, problem).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError
from bot.models import INTENTS

SLANG_FILE = "slang.toml"
MAX_CUE_WEIGHT = 10.0


@dataclass
class IntentData:
    intent: str
    path: str
    phrases: list[str] = field(default_factory=list)
    cues: dict[str, float] = field(default_factory=dict)
    strong: list[str] = field(default_factory=list)
    lexicon: list[str] = field(default_factory=list)


@dataclass
class SlangData:
    path: str
    slang: dict[str, str] = field(default_factory=dict)
    address: list[str] = field(default_factory=list)
    particles: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)  # other companies' names: one token "<brand>"


@dataclass
class Lexicon:
    directory: Path
    slang: SlangData
    intents: dict[str, IntentData]


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None


def _string_list(path: Path, key: str, value: object, *, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list):
        raise ConfigError(str(path), key, f"must be a list of strings, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ConfigError(str(path), key, "is an empty list")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(str(path), f"{key}[{i}]", f"must be a string, got {type(item).__name__} {item!r}")
        if not item.strip():
            raise ConfigError(str(path), f"{key}[{i}]", "is an empty string")
        out.append(item)
    return out


def load_slang(path: Path) -> SlangData:
    data = _read_toml(path)
    known = {"slang", "drop", "known", "brands"}
    for key in data:
        if key not in known:
            raise ConfigError(str(path), key, f"unknown key (expected one of {sorted(known)})")
    out = SlangData(path=str(path))
    slang = data.get("slang", {})
    if not isinstance(slang, dict):
        raise ConfigError(str(path), "slang", "must be a table of token = \"replacement\"")
    for k, v in slang.items():
        if not isinstance(v, str):
            raise ConfigError(str(path), f"slang.{k}", f"replacement must be a string, got {type(v).__name__}")
        if not k.strip() or " " in k.strip():
            raise ConfigError(str(path), f"slang.{k}", "the slang key must be a single word")
        out.slang[k.strip().lower()] = v.strip().lower()
    drop = data.get("drop", {})
    if not isinstance(drop, dict):
        raise ConfigError(str(path), "drop", "must be a table with lists `address` and `particles`")
    for key in drop:
        if key not in ("address", "particles"):
            raise ConfigError(str(path), f"drop.{key}", "unknown key (expected address or particles)")
    out.address = _string_list(path, "drop.address", drop.get("address", []), allow_empty=True)
    out.particles = _string_list(path, "drop.particles", drop.get("particles", []), allow_empty=True)
    known_tbl = data.get("known", {})
    if not isinstance(known_tbl, dict):
        raise ConfigError(str(path), "known", "must be a table with a list `words`")
    for key in known_tbl:
        if key != "words":
            raise ConfigError(str(path), f"known.{key}", "unknown key (expected words)")
    out.known = [w.strip().lower() for w in _string_list(path, "known.words", known_tbl.get("words", []), allow_empty=True)]
    brands = data.get("brands", {})
    if not isinstance(brands, dict) or set(brands) - {"other"}:
        raise ConfigError(str(path), "brands", "must be a table with a list `other`")
    out.brands = [w.strip().lower() for w in _string_list(path, "brands.other", brands.get("other", []), allow_empty=True)]
    for i, w in enumerate(out.brands):
        if " " in w:
            raise ConfigError(str(path), f"brands.other[{i}]", "one word per name (write \"lionair\" or \"lion\")")
    return out


def load_intent_file(path: Path) -> IntentData:
    data = _read_toml(path)
    label = path.stem
    if label not in INTENTS:
        raise ConfigError(str(path), "intent", f"unknown intent label {label!r} (file name); expected one of {', '.join(INTENTS)}")
    known = {"intent", "description", "phrases", "cues", "strong", "lexicon"}
    for key in data:
        if key not in known:
            raise ConfigError(str(path), key, f"unknown key (expected one of {sorted(known)})")
    declared = data.get("intent", label)
    if not isinstance(declared, str) or declared not in INTENTS:
        raise ConfigError(str(path), "intent", f"unknown intent label {declared!r}; expected one of {', '.join(INTENTS)}")
    if declared != label:
        raise ConfigError(str(path), "intent", f"label {declared!r} does not match the file name {label!r}")
    if "phrases" not in data:
        raise ConfigError(str(path), "phrases", "missing: every intent needs training phrases")
    out = IntentData(intent=label, path=str(path))
    out.phrases = _string_list(path, "phrases", data["phrases"])
    cues = data.get("cues", {})
    if not isinstance(cues, dict):
        raise ConfigError(str(path), "cues", "must be a table of \"phrase\" = weight")
    for cue, w in cues.items():
        key = f"cues.{cue!r}" if " " in cue else f"cues.{cue}"
        if isinstance(w, bool) or not isinstance(w, (int, float)):
            raise ConfigError(str(path), key, f"weight must be a number, got {type(w).__name__} {w!r}")
        if not math.isfinite(w) or w <= 0 or w > MAX_CUE_WEIGHT:
            raise ConfigError(str(path), key, f"weight must be > 0 and <= {MAX_CUE_WEIGHT}, got {w}")
        if not cue.strip():
            raise ConfigError(str(path), key, "empty cue")
        out.cues[cue] = float(w)
    out.strong = _string_list(path, "strong", data.get("strong", []), allow_empty=True)
    out.lexicon = _string_list(path, "lexicon", data.get("lexicon", []), allow_empty=True)
    return out


def load_lexicon(directory: Path) -> Lexicon:
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "(directory)", "intent data directory not found")
    slang_path = directory / SLANG_FILE
    slang = load_slang(slang_path) if slang_path.exists() else SlangData(path=str(slang_path))
    intents: dict[str, IntentData] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == SLANG_FILE:
            continue
        item = load_intent_file(path)
        intents[item.intent] = item
    missing = [label for label in INTENTS if label not in intents]
    if missing:
        raise ConfigError(str(directory), "(files)", f"no data file for intent(s): {', '.join(missing)}")
    return Lexicon(directory=directory, slang=slang, intents=intents)
