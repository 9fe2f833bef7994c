"""Topics inside the six support categories and the shop facts the bot may quote.

`knowledge/topics.toml`: per topic its category, the details an agent needs to act
(`needs`), whether it is a question asked before buying (`presale`: such a
customer is never asked for an order number or a receipt), the case's priority,
the fact that answers it (`fact`), and its answer in Indonesian and English.

`knowledge/facts.toml`: answers the shop has configured (COD, couriers, payment
methods...). The bot quotes a fact only when it is `enabled`; otherwise it says
honestly that the team will answer, and opens a ticket. It never invents one.

Everything is validated at start-up; a mistake names the file and the key.
"""
from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.models import CATEGORIES

LANGS = ("id", "en")
# The details a topic may ask for (bot/dialogue/details.py finds them in messages).
DETAIL_KINDS = ("order_number", "recipient_name", "account_id", "email", "phone", "product", "variant",
                "payment_method", "photo", "proof", "address", "tracking_number", "voucher", "refund_to")
PRIORITIES = ("normal", "complex")
TOPIC_PLACEHOLDERS = frozenset({"shop", "whatsapp", "email", "complex_days", "review_days", "wa_min", "wa_max",
                                "email_min", "email_max", "when"})


@dataclass(frozen=True)
class Topic:
    id: str
    category: str
    needs: tuple[str, ...]
    presale: bool
    priority: str
    fact: str | None
    texts: dict[str, str]  # lang -> answer
    names: dict[str, str]  # lang -> short name shown to customers ("pembatalan pesanan")

    def text(self, lang: str) -> str:
        return self.texts.get(lang, self.texts["id"])

    def name(self, lang: str) -> str:
        return self.names.get(lang, self.names["id"])


@dataclass(frozen=True)
class Fact:
    id: str
    enabled: bool
    texts: dict[str, str]

    def text(self, lang: str) -> str:
        return self.texts.get(lang, self.texts["id"])


def read_toml(path: Path) -> dict[str, Any]:
    """A knowledge file, or ConfigError naming it (knowledge.py reads its files with this too)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "-", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML ({exc})") from None


def _texts(path: str, key: str, table: dict[str, Any], allowed: frozenset[str]) -> dict[str, str]:
    out = {}
    for lang in LANGS:
        value = table.get(lang)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(path, f"{key}.{lang}", "missing or empty text")
        check_placeholders(path, f"{key}.{lang}", value, allowed)
        out[lang] = value.strip()
    return out


def check_placeholders(path: str, key: str, text: str, allowed: frozenset[str]) -> None:
    """Every `{name}` in `text` is one the bot fills; a broken brace is named, never a crash later."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ConfigError(path, key, f"broken placeholder ({exc}); write {{{{ and }}}} for a literal brace") from None
    for name in fields:
        if name not in allowed:
            raise ConfigError(path, key, f"unknown placeholder {{{name}}} (known: {', '.join(sorted(allowed))})")


def load_facts(path: Path) -> dict[str, Fact]:
    data = read_toml(path)
    p = str(path)
    facts: dict[str, Fact] = {}
    for fid, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(p, fid, "must be a table with enabled, id and en")
        unknown = set(table) - {"enabled", "id", "en", "note"}
        if unknown:
            raise ConfigError(p, f"{fid}.{sorted(unknown)[0]}", "unknown key (expected enabled, id, en, note)")
        enabled = table.get("enabled")
        if not isinstance(enabled, bool):
            raise ConfigError(p, f"{fid}.enabled", "must be true or false")
        facts[fid] = Fact(fid, enabled, _texts(p, fid, table, TOPIC_PLACEHOLDERS))
    return facts


def load_topics(path: Path, facts: dict[str, Fact]) -> dict[str, Topic]:
    data = read_toml(path)
    p = str(path)
    topics: dict[str, Topic] = {}
    for tid, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(p, tid, "must be a table")
        unknown = set(table) - {"category", "needs", "presale", "priority", "fact", "id", "en", "name_id", "name_en"}
        if unknown:
            raise ConfigError(p, f"{tid}.{sorted(unknown)[0]}", "unknown key")
        category = table.get("category")
        if category not in CATEGORIES:
            raise ConfigError(p, f"{tid}.category", f"must be one of {', '.join(CATEGORIES)}")
        needs = table.get("needs", [])
        if not isinstance(needs, list) or any(n not in DETAIL_KINDS for n in needs):
            raise ConfigError(p, f"{tid}.needs", f"must list detail kinds among {', '.join(DETAIL_KINDS)}")
        presale = table.get("presale", False)
        if not isinstance(presale, bool):
            raise ConfigError(p, f"{tid}.presale", "must be true or false")
        if presale and {"order_number", "proof"} & set(needs):
            raise ConfigError(p, f"{tid}.needs", "a pre-sale question never asks for an order number or a receipt")
        priority = table.get("priority", "normal")
        if priority not in PRIORITIES:
            raise ConfigError(p, f"{tid}.priority", f"must be one of {', '.join(PRIORITIES)}")
        fact = table.get("fact")
        if fact is not None and fact not in facts:
            raise ConfigError(p, f"{tid}.fact", f"no fact {fact!r} in facts.toml")
        names = {}
        for lang in LANGS:
            name = table.get(f"name_{lang}")
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(p, f"{tid}.name_{lang}", "missing or empty")
            names[lang] = name.strip()
        topics[tid] = Topic(tid, category, tuple(needs), presale, priority, fact,
                            _texts(p, tid, table, TOPIC_PLACEHOLDERS), names)
    return topics


@dataclass(frozen=True)
class DetailText:
    ask: str  # "nomor pesanan"
    noted: str  # "Nomor pesanan {value}"


def load_detail_texts(path: Path) -> dict[str, dict[str, DetailText]]:
    """lang -> detail kind -> how to ask for it and acknowledge it."""
    data = read_toml(path)
    p = str(path)
    out: dict[str, dict[str, DetailText]] = {}
    for lang in LANGS:
        table = data.get(lang)
        if not isinstance(table, dict):
            raise ConfigError(p, lang, f"missing table [{lang}]")
        out[lang] = {}
        for kind in DETAIL_KINDS:
            item = table.get(kind)
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k].strip()
                                                     for k in ("ask", "noted")):
                raise ConfigError(p, f"{lang}.{kind}", 'needs { ask = "...", noted = "..." }')
            if set(item) - {"ask", "noted"}:
                raise ConfigError(p, f"{lang}.{kind}", "unknown key (expected ask and noted)")
            out[lang][kind] = DetailText(item["ask"].strip(), item["noted"].strip())
        for kind in table:
            if kind not in DETAIL_KINDS:
                raise ConfigError(p, f"{lang}.{kind}", f"unknown detail kind (known: {', '.join(DETAIL_KINDS)})")
    return out
