"""Training phrase files: `knowledge/intents/phrases/<label>/<group>.txt`.

One customer message per line (UTF-8); blank lines and lines starting with `#`
are skipped. `<label>` is an intent label (INTERFACE.md); inside the six support
categories `<group>` is a topic of `knowledge/topics.toml`, elsewhere it only
sorts the lines for people (`unknown/assistant_media.txt`). A file named
`<group>.<anything>.txt` adds to the group (`refund_status.tweets.txt`), so a
new batch of phrases needs no edit of an old file. The format is
described in knowledge/intents/README.md.

Anything wrong raises ConfigError(path, line, problem).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError
from bot.models import INTENTS

MAX_LINE_CHARS = 2000
_GROUP_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PhraseGroup:
    label: str
    group: str  # the topic inside a support category; a free name elsewhere
    path: str
    lines: tuple[str, ...]


def read_phrase_file(path: Path, label: str) -> PhraseGroup:
    group = path.stem.split(".", 1)[0]
    if not _GROUP_RE.match(group):
        raise ConfigError(str(path), "(file name)", "must be lower-case letters, digits and _ (e.g. cancel_order.txt)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not UTF-8 text (byte {exc.start})") from None
    lines: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "\t" in line:
            raise ConfigError(str(path), f"line {n}", "contains a tab (one message per line, no tabs)")
        if len(line) > MAX_LINE_CHARS:
            raise ConfigError(str(path), f"line {n}", f"longer than {MAX_LINE_CHARS} characters")
        key = line.casefold()
        if key in seen:
            continue  # a repeated line teaches nothing more
        seen.add(key)
        lines.append(line)
    if not lines:
        raise ConfigError(str(path), "(file)", "holds no phrases")
    return PhraseGroup(label=label, group=group, path=str(path), lines=tuple(lines))


def load_phrase_dir(directory: Path) -> list[PhraseGroup]:
    """Every `<label>/<group>.txt` below `directory` (missing directory: none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    groups: list[PhraseGroup] = []
    for sub in sorted(p for p in directory.iterdir() if not p.name.startswith(".")):
        if not sub.is_dir():
            if sub.suffix == ".txt":
                raise ConfigError(str(sub), "(file)", "phrase files go in a folder named after their label")
            continue
        if sub.name not in INTENTS:
            raise ConfigError(str(sub), "(folder)", f"unknown intent label {sub.name!r}; expected one of {', '.join(INTENTS)}")
        for path in sorted(sub.glob("*.txt")):
            groups.append(read_phrase_file(path, sub.name))
    return groups
