"""Assemble one reply from knowledge texts, never word for word an earlier one.

A reply is a list of parts; a part may have other wordings (`key_2`, `key_3` in
replies.toml). The builder first takes every part's first wording; when the whole
reply equals one the bot sent before in this conversation, it tries the next
wording of each varying part in turn, and as a last resort says which message of
the customer's this answers ("pesan ke-7").
"""
from __future__ import annotations

from typing import Any, Callable

from bot.responder import Responder

from .state import DialogueState

NEW_REF = "\x00REF\x00"  # the number of the ticket a plan opens, filled in when it exists
COUNTER = {"id": "(pesan ke-{n} sudah kami terima)", "en": "(your message no. {n} received)"}


class ReplyBuilder:
    def __init__(self, responder: Responder, lang: str, said: Callable[[str], bool] = lambda _: False) -> None:
        self.responder = responder
        self.lang = lang
        self._said = said
        self._parts: list[list[str]] = []
        self._varying: list[int] = []

    def add(self, key: str, **params: Any) -> None:
        self._parts.append([self.responder.render(self.lang, key, **params)])

    def prepend(self, key: str, **params: Any) -> None:
        """A part that goes before everything added so far."""
        self._parts.insert(0, [self.responder.render(self.lang, key, **params)])
        self._varying = [j + 1 for j in self._varying]

    def add_varying(self, key: str, **params: Any) -> None:
        """A part with every wording the knowledge has for it: the first one this
        conversation has not read yet comes first."""
        keys = self.responder.knowledge.variants(self.lang, key)
        texts = [self.responder.render(self.lang, k, **params) for k in keys]
        fresh = [t for t in texts if not self._said(t)]
        self._parts.append(fresh + [t for t in texts if t not in fresh])
        self._varying.append(len(self._parts) - 1)

    def add_text(self, text: str) -> None:
        if text.strip():
            self._parts.append([text])

    def add_lines(self, texts: list[str]) -> None:
        for t in texts:
            self.add_text(t)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def build(self, state: DialogueState, fill_ref: Callable[[str], str] | None = None) -> tuple[str, list[str]]:
        """The reply text, and the varying parts it used (remembered, so the next reply
        words them differently). `fill_ref` renders the text as the customer will see it
        (a new ticket's number in place of NEW_REF), for the comparison with earlier replies."""
        text, choice = self._choose(state, fill_ref)
        return text, [self._parts[j][choice[j]] for j in self._varying]

    def _choose(self, state: DialogueState, fill_ref: Callable[[str], str] | None) -> tuple[str, list[int]]:
        show = fill_ref or (lambda s: s)
        choice = [0] * len(self._parts)

        def text() -> str:
            # one line break between parts: `chat` marks the end of a reply with an empty line
            return "\n".join(p[i].strip() for p, i in zip(self._parts, choice) if p[i].strip())

        if not state.repeats(show(text())):
            return text(), choice
        for j, part in enumerate(self._parts):
            for i in range(1, len(part)):
                choice[j] = i
                if not state.repeats(show(text())):
                    return text(), choice
            choice[j] = 0
        n = state.count + 1
        return text() + "\n" + COUNTER.get(self.lang, COUNTER["id"]).format(n=n), choice
