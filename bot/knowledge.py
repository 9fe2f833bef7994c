"""The shop's facts and the bot's reply texts, loaded from `knowledge/` and validated.

Everything a shop changes without touching code lives there as TOML. A mistake
in it (a missing key, a misspelt placeholder, a missing English text) is found
when the bot starts, with the file and key named, never mid-conversation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.topics import (DetailText, Fact, Topic, check_placeholders, load_detail_texts, load_facts, load_topics,
                        read_toml)

LANGS = ("id", "en")

REPLY_KEYS = (
    "greeting", "menu_pick", "hours", "hours_open_now", "hours_closed_now", "hours_holiday_today", "contact",
    "social_none", "social_intro", "thanks", "feedback", "product", "order_status", "payment",
    "account", "return_refund", "escalation", "human", "unknown",
    "unknown_handover", "empty", "media_only", "promise_whatsapp", "promise_email",
    "promise_closed", "closed_note", "ticket", "ticket_open", "secret_warning",
    "privacy", "csat_question", "csat_thanks", "csat_thanks_low", "escalated_to_supervisor",
    # the conversation (bot/dialogue/)
    "ask_details", "ask_more", "detail_noted", "case_complete", "detail_noted_no_case", "followup_status",
    "followup_answered", "promise_by", "promise_update", "ticket_added", "greeting_again", "contact_again",
    "unknown_again", "out_of_scope", "thanks_case", "human_case", "noted_again", "apology", "followup_late",
    "followup_late_closed", "menu_list", "keep_action", "withdrawn", "photo_waiting", "followup_closed",
)
PLACEHOLDERS = frozenset({
    "shop", "whatsapp", "email", "weekday_hours", "weekend_hours", "holiday_hours", "wa_min",
    "wa_max", "email_min", "email_max", "complex_days", "review_days", "menu", "when", "ref",
    "closes", "details", "social", "category", "holiday", "topic", "back",
})
# `<key>_2`, `<key>_3`...: another wording of `<key>`, used instead of repeating a reply word for word.
_VARIANT_RE = re.compile(r"^([a-z_]+?)_([2-9])$")


@dataclass(frozen=True)
class SocialAccount:
    name: str
    handle: str
    url: str = ""


@dataclass(frozen=True)
class Shop:
    name: str
    whatsapp_display: str
    whatsapp_e164: str
    phone_display: str
    email: str
    live_chat: bool
    social_media: tuple[SocialAccount, ...]
    wa_min_minutes: int
    wa_max_minutes: int
    email_min_hours: int
    email_max_hours: int
    complex_working_days: int
    review_working_days: int


@dataclass(frozen=True)
class Knowledge:
    shop: Shop
    texts: dict[str, dict[str, str]]  # lang -> key -> text
    menus: dict[str, tuple[str, ...]]  # lang -> the six category names
    topics: dict[str, Topic] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    detail_texts: dict[str, dict[str, DetailText]] = field(default_factory=dict)

    def text(self, lang: str, key: str) -> str:
        return self.texts.get(lang, self.texts["id"])[key]

    def variants(self, lang: str, key: str) -> list[str]:
        """`key` and its other wordings (`key_2`, `key_3`...), in order."""
        table = self.texts.get(lang, self.texts["id"])
        out = [key]
        n = 2
        while f"{key}_{n}" in table:
            out.append(f"{key}_{n}")
            n += 1
        return out

    def fact_for(self, topic: Topic | None) -> Fact | None:
        """The enabled fact that answers this topic, if the shop configured one."""
        if topic is None or topic.fact is None:
            return None
        fact = self.facts.get(topic.fact)
        return fact if fact is not None and fact.enabled else None

    def menu(self, lang: str) -> tuple[str, ...]:
        return self.menus.get(lang, self.menus["id"])


def _get(data: dict[str, Any], path: str, key: str, kind: type) -> Any:
    table, _, name = key.partition(".")
    value = data.get(table, {}).get(name) if isinstance(data.get(table), dict) else None
    if value is None:
        raise ConfigError(path, key, "missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(path, key, f"must be a {kind.__name__}, got {value!r}")
    if kind is int and value < 0:
        raise ConfigError(path, key, "must not be negative")
    if kind is str and not value.strip():
        raise ConfigError(path, key, "must not be empty")
    return value


def load_shop(path: Path) -> Shop:
    data = read_toml(path)
    p = str(path)
    socials = data.get("channels", {}).get("social_media", [])
    if not isinstance(socials, list):
        raise ConfigError(p, "channels.social_media", "must be a list of tables")
    accounts = []
    for i, item in enumerate(socials):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("handle"), str):
            raise ConfigError(p, f"channels.social_media[{i}]", 'needs name = "..." and handle = "..."')
        accounts.append(SocialAccount(item["name"], item["handle"], str(item.get("url", ""))))
    shop = Shop(
        name=_get(data, p, "shop.name", str),
        whatsapp_display=_get(data, p, "channels.whatsapp_display", str),
        whatsapp_e164=_get(data, p, "channels.whatsapp_e164", str),
        phone_display=_get(data, p, "channels.phone_display", str),
        email=_get(data, p, "channels.email", str),
        live_chat=_get(data, p, "channels.live_chat", bool),
        social_media=tuple(accounts),
        wa_min_minutes=_get(data, p, "promises.whatsapp_min_minutes", int),
        wa_max_minutes=_get(data, p, "promises.whatsapp_max_minutes", int),
        email_min_hours=_get(data, p, "promises.email_min_hours", int),
        email_max_hours=_get(data, p, "promises.email_max_hours", int),
        complex_working_days=_get(data, p, "promises.complex_working_days", int),
        review_working_days=_get(data, p, "escalation.review_working_days", int),
    )
    if not shop.whatsapp_e164.startswith("+") or not shop.whatsapp_e164[1:].isdigit():
        raise ConfigError(p, "channels.whatsapp_e164", "must be an E.164 number like +6282129666065")
    if "@" not in shop.email:
        raise ConfigError(p, "channels.email", "not an email address")
    if shop.wa_min_minutes > shop.wa_max_minutes:
        raise ConfigError(p, "promises.whatsapp_min_minutes", "is more than whatsapp_max_minutes")
    if shop.email_min_hours > shop.email_max_hours:
        raise ConfigError(p, "promises.email_min_hours", "is more than email_max_hours")
    return shop


def load_texts(path: Path) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, ...]]]:
    data = read_toml(path)
    p = str(path)
    texts: dict[str, dict[str, str]] = {}
    menus: dict[str, tuple[str, ...]] = {}
    for lang in LANGS:
        table = data.get(lang)
        if not isinstance(table, dict):
            raise ConfigError(p, lang, f"missing table [{lang}]")
        menu = table.get("menu")
        if not isinstance(menu, list) or len(menu) != 6 or not all(isinstance(m, str) and m.strip() for m in menu):
            raise ConfigError(p, f"{lang}.menu", "must list the six support categories, in policy order")
        menus[lang] = tuple(menu)
        texts[lang] = {}
        for key in REPLY_KEYS:
            value = table.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(p, f"{lang}.{key}", "missing or empty text")
            check_placeholders(p, f"{lang}.{key}", value, PLACEHOLDERS)
            texts[lang][key] = value
        for key, value in table.items():
            if key in REPLY_KEYS or key == "menu":
                continue
            variant = _VARIANT_RE.match(key)
            if variant is None or variant.group(1) not in REPLY_KEYS:
                raise ConfigError(p, f"{lang}.{key}", "unknown text key (a typo?)")
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(p, f"{lang}.{key}", "missing or empty text")
            check_placeholders(p, f"{lang}.{key}", value, PLACEHOLDERS)
            texts[lang][key] = value
    return texts, menus


def load_knowledge(directory: Path) -> Knowledge:
    """Load and validate `shop.toml`, `replies.toml`, `topics.toml`, `facts.toml` and
    `details.toml` from `directory`."""
    directory = Path(directory)
    shop = load_shop(directory / "shop.toml")
    texts, menus = load_texts(directory / "replies.toml")
    facts = load_facts(directory / "facts.toml")
    topics = load_topics(directory / "topics.toml", facts)
    details = load_detail_texts(directory / "details.toml")
    return Knowledge(shop=shop, texts=texts, menus=menus, topics=topics, facts=facts, detail_texts=details)
