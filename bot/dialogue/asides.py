"""Messages about the case rather than a new question: a request taken back ("ga jadi",
"never mind"), an action the customer does NOT want ("jangan dibatalkan"), photos
promised, "menu". Part of the decision (bot/dialogue/decide.py), as a mixin.
"""
from __future__ import annotations

import re
from typing import Any

from bot.models import CATEGORIES

from .case import CATEGORY_NEEDS, missing
from .patterns import PHOTO_WORD_RE

# topics that are an action the customer may refuse
ACTIONS = frozenset({"cancel_order", "return_request", "exchange", "refund_status", "delete_account"})
MENU_RE = re.compile(r"^\W*(menu|daftar menu|lihat menu|help|bantuan|pilihan|options)\W*$", re.IGNORECASE)
WORDS_RE = re.compile(r"[^\W\d_]+")
# "help" / "bantuan" alone is a plea as often as a request for the menu: while a person's
# case is open it asks how that case stands.
PLEA_RE = re.compile(r"^\W*(help|bantuan)\W*$", re.IGNORECASE)


class Asides:
    """Handlers for asides; they answer True when they took the message."""

    t: Any
    k: Any
    lang: str
    ticket: Any
    out: Any
    key: str
    menu_shown: bool

    def aside(self) -> bool:
        t = self.t
        flags = t.match.flags
        if MENU_RE.match(t.text):
            if self.open_ticket_case():  # type: ignore[attr-defined]
                return self.on_menu_with_case()
            return self.on_menu()
        if "negated" in flags and t.match.topic in ACTIONS:
            return self.on_refused_action()
        if "withdrawn" in flags and self.open_ticket_case():  # type: ignore[attr-defined]
            return self.on_withdrawn()
        if self.promises_photos():
            self.key = "photo_waiting"
            self.out.add("photo_waiting")
            return True
        return False

    def on_menu(self) -> bool:
        self.key = "menu"
        self.out.add("menu_list")
        self.menu_shown = True
        return True

    def on_menu_with_case(self) -> bool:
        """A ticket waits for a person (also right after an agent released it): "help" gets
        where the case stands and its next-reply promise, never the menu alone; an explicit
        "menu" gets the menu and that same status."""
        if PLEA_RE.match(self.t.text):
            self.key = "followup"
        else:
            self.on_menu()
        self.status()  # type: ignore[attr-defined]
        return True

    def on_refused_action(self) -> bool:
        """"Tolong jangan dibatalkan": noted for the people, never queued as the action."""
        self.key = "refused_action"
        topic = self.k.topics[self.t.match.topic]
        note = f"{'tidak ingin' if self.lang == 'id' else 'does not want'}: {topic.name(self.lang)}"
        if self.open_ticket_case() and self.case.topic == topic.id:  # type: ignore[attr-defined]
            return self.on_withdrawn()  # the case itself is taken back
        if self.open_ticket_case():  # type: ignore[attr-defined]
            self.take_details()  # type: ignore[attr-defined]
            self.out.add("keep_action", topic=topic.name(self.lang))
            self.notes.append(note)  # type: ignore[attr-defined]
            self.status()  # type: ignore[attr-defined]
            return True
        intent = topic.category if topic.category in CATEGORIES else "order_status"
        self.new_case(intent, None)  # type: ignore[attr-defined]
        self.out.prepend("keep_action", topic=topic.name(self.lang))
        self.notes.append(note)  # type: ignore[attr-defined]
        return True

    def on_withdrawn(self) -> bool:
        """"Ga jadi", "never mind, it arrived": the person closes the case after checking."""
        self.key = "withdrawn"
        case = self.case  # type: ignore[attr-defined]
        self.take_details()  # type: ignore[attr-defined]
        self.out.add("withdrawn", ref=case.ticket_ref, topic=self.topic_name(case))  # type: ignore[attr-defined]
        self.notes.append("tidak jadi / sudah beres" if self.lang == "id" else "no longer needed / sorted")  # type: ignore[attr-defined]
        self.events.append(("case.withdrawn", {"topic": case.topic}))  # type: ignore[attr-defined]
        return True

    def promises_photos(self) -> bool:
        """"Fotonya nyusul ya", "I'll send the photos later": no new question, we wait for them."""
        case, t = self.case, self.t  # type: ignore[attr-defined]
        if case is None or t.attachments or not PHOTO_WORD_RE.search(t.text) or len(WORDS_RE.findall(t.text)) > 12:
            return False
        if t.match.intent in CATEGORIES and t.match.topic not in (None, case.topic):
            return False
        needs = self.needs_of(case) or CATEGORY_NEEDS.get(case.category or "", ())  # type: ignore[attr-defined]
        return bool({"photo", "proof"} & set(missing(case, needs)))
