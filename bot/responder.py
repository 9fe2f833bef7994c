"""Turn knowledge texts into finished answers: placeholders filled, menu numbered,
times written the way a customer reads them. Knows nothing of storage."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.business_hours import BusinessCalendar
from bot.knowledge import Knowledge
from bot.timefmt import format_soon, format_time, format_when, format_window, zone_label


class Responder:
    def __init__(self, knowledge: Knowledge, calendar: BusinessCalendar) -> None:
        self.knowledge = knowledge
        self.calendar = calendar
        self.tz = calendar.settings.timezone
        shop = knowledge.shop
        hours = calendar.settings
        self._base: dict[str, dict[str, Any]] = {}
        for lang in ("id", "en"):
            menu = "\n".join(f"{i}. {name}" for i, name in enumerate(knowledge.menu(lang), 1))
            self._base[lang] = {
                "shop": shop.name,
                "whatsapp": shop.whatsapp_display,
                "email": shop.email,
                "weekday_hours": format_window(*hours.weekday, lang, self.tz),
                "weekend_hours": format_window(*hours.weekend, lang, self.tz),
                "holiday_hours": format_window(*hours.holiday, lang, self.tz),
                "wa_min": shop.wa_min_minutes,
                "wa_max": shop.wa_max_minutes,
                "email_min": shop.email_min_hours,
                "email_max": shop.email_max_hours,
                "complex_days": shop.complex_working_days,
                "review_days": shop.review_working_days,
                "menu": menu,
                "social": self._social(lang),
            }

    def _social(self, lang: str) -> str:
        accounts = self.knowledge.shop.social_media
        if not accounts:
            return self.knowledge.text(lang, "social_none").format(shop=self.knowledge.shop.name)
        lines = [self.knowledge.text(lang, "social_intro")]
        lines += [f"  – {a.name}: {a.handle}" + (f" ({a.url})" if a.url else "") for a in accounts]
        return "\n".join(lines)

    def render(self, lang: str, key: str, **extra: Any) -> str:
        return self.render_text(lang, self.knowledge.text(lang, key), **extra)

    def render_text(self, lang: str, text: str, **extra: Any) -> str:
        """A text with the shop's placeholders filled (a reply key's, a topic's answer, a fact).
        A placeholder this call did not fill stays visible: never a crash."""
        values = _Keep(self._base.get(lang) or self._base["id"])  # the shop's values hold no datetime
        for name, value in extra.items():
            values[name] = format_when(value, lang, self.tz) if isinstance(value, datetime) else value
        return text.format_map(values)

    def soon(self, t: datetime, now: datetime, lang: str) -> str:
        """A deadline as a chat reads it ("hari ini pukul 10.15 WIB")."""
        return format_soon(t, now, lang, self.tz)

    def when(self, t: datetime, lang: str) -> str:
        return format_when(t, lang, self.tz)

    def closes(self, t: datetime, lang: str) -> str:
        local = self.calendar.localize(t)
        return f"{format_time(local.time(), lang)} {zone_label(self.tz, local, lang)}"

    def category_name(self, lang: str, category_index: int) -> str:
        return self.knowledge.menu(lang)[category_index]


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
