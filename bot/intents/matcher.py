"""The intent matcher: normalise, score with the trained linear model, apply a few rules.

The model (bot/intents/model.py, trained by training.py from knowledge/intents/)
gives calibrated probabilities over the 13 labels, and over the topics inside the
six support categories. On top of it, in order:

1. nothing left after normalisation -> `unknown`;
2. greeting or thanks in front of a real question: the question wins;
3. praise words about an unhappy fact ("mantap, 2 minggu belum sampai 👏") are
   flagged `sarcasm` and never answered as praise or thanks;
4. the in-domain gate: below `UNKNOWN_THRESHOLD`, or contested by `unknown`, or
   made of words the model has never seen, the answer is `unknown`, never a guess
   at a support category.

An email reply keeps its old subject ("Re: Refund pesanan"); the body decides
when it says something on its own ("terima kasih, sudah beres"), the subject only
helps a body that says too little.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bot.models import CATEGORIES, IntentMatch

from . import cache
from .corpus import build_corpus, corpus_key, phrase_groups
from .lexicon import Lexicon, load_lexicon
from .model import LinearModel
from .normalize import MAX_CHARS, Normalizer, basic_tokens, guess_lang

def _default_dir() -> Path:
    from bot.config import DEFAULT_KNOWLEDGE_DIR

    return DEFAULT_KNOWLEDGE_DIR / "intents"

TARGET_MIN_COUNT = 3
KNOWN_MIN_COUNT = 2
UNKNOWN_THRESHOLD = 0.5
# When most of the words are new to the model, only a confident answer stands: letter
# pieces alone ("zxcvb poiuy") must not make a support question.
COVERAGE_CONFIDENCE = 0.9
# A support answer that `unknown` seriously contests (p >= UNKNOWN_RIVAL) must be sure of
# itself: an assistant command or an ad that shares a few shop words stays out of scope.
UNKNOWN_RIVAL = 0.3
RIVAL_CONFIDENCE = 0.85
TOPIC_THRESHOLD = 0.35
SOCIAL = ("greeting", "thanks")
# a question after a greeting or thanks ("makasih, btw ongkir ke jogja brp?")
_QUESTION = re.compile(
    r"\?|\b(btw|oh iya|o iya|oiya|by the way|also|apa|apakah|berapa|brp|gimana|gmn|bagaimana|kapan|kpn|"
    r"dimana|dmn|kenapa|knp|how|what|when|where|why)\b", re.IGNORECASE)
_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|balas|fwd?|tr)\s*(\[\d+\])?\s*:", re.IGNORECASE)
# Sarcasm: praise next to a complaint ("mantap, udah 2 minggu belum sampai 👏").
_PRAISE = re.compile(
    r"\b(mantap\w*|hebat|keren|bagus|luar biasa|top|terbaik|makasih banget|terima kasih banyak|great|awesome|"
    r"amazing|wonderful|fantastic|brilliant|excellent|thanks a lot|thank you so much|nice|love it)\b|👏|🙃|🤡",
    re.IGNORECASE,
)
_COMPLAINT_FACT = re.compile(
    r"\b(belum|blm|gak|ga|nggak|tidak|tdk|gk|engga|ngga|masih|udah \d+|sudah \d+|\d+ (hari|minggu|bulan|jam)|"
    r"lama|lambat|telat|nunggu|menunggu|dicuekin|dikacangin|still|never|not|no reply|waiting|weeks?|days?|hours?|"
    r"late|slow|ignored)\b",
    re.IGNORECASE,
)


# An action the customer does NOT want ("jangan dibatalkan", "please don't cancel it").
_NEGATED = re.compile(
    r"\b(?:jangan|jgn|tidak\s+usah|ga\s+usah|gak\s+usah|nggak\s+usah|gausah|gak\s+perlu|ga\s+perlu|tidak\s+perlu|"
    r"don'?t(?:\s+want\s+to)?|do\s+not(?:\s+want\s+to)?|no\s+need\s+to|not\s+to)\s+(?:di|me|ter)?"
    r"(?:batal\w*|cancel\w*|retur\w*|return\w*|refund\w*|kembali\w*|tukar\w*|tuker\w*|exchange\w*)",
    re.IGNORECASE)
# The customer takes a request back or says the problem is gone ("ga jadi", "never mind").
_WITHDRAWN = re.compile(r"\b(?:ga|gak|nggak|ngga|tidak|gk|enggak)\s+jadi\b|\bgajadi\b|\bnever\s?mind\b|\bnvm\b|"
                        r"\bno\s+longer\s+need\b|\bsudah\s+beres\b|\budah\s+beres\b|\budh\s+beres\b|"
                        r"\bproblem\s+solved\b|\b(?:sudah|udah|udh|dah)\s+(?:sampai|sampe|nyampe|datang|dateng|diterima)\b",
                        re.IGNORECASE)


# what is left after the refused action asks something ("I just want to know if it is original")
_QUESTION_REST = re.compile(r"\?|\b(want\s+to\s+know|wanted\s+to\s+ask|mau\s+tanya|mau\s+nanya|cuma\s+tanya|"
                            r"ingin\s+tahu|pengen\s+tau|apakah|gimana|bagaimana|how|what|is\s+it|are\s+they)\b",
                            re.IGNORECASE)


def _clause_end(text: str, start: int) -> int:
    """Where the clause that starts at `start` ends (punctuation, "but", "tapi", "cuma")."""
    m = re.compile(r"[,.;!?]|\b(?:tapi|cuma|hanya|but|just|only|i\s+just|saya\s+cuma)\b", re.IGNORECASE).search(text, start)
    return m.start() if m else len(text)


# praise that is meant: "belum pernah secepat ini", "gak nyangka", "no complaints"
_SINCERE = re.compile(r"\b(belum pernah|gak nyangka|ga nyangka|tidak menyangka|no complaints?|nggak nyesel|gak nyesel|"
                      r"ga nyesel|never (had|been)|not bad)\b", re.IGNORECASE)


class IntentMatcher:
    def __init__(self, lexicon: Lexicon, *, cache_directory: Path | None = None,
                 model: LinearModel | None = None) -> None:
        self.lexicon = lexicon
        sl = lexicon.slang
        drop = {w.lower() for w in sl.address} | {w.lower() for w in sl.particles}
        self.normalizer = Normalizer(slang=sl.slang, drop=drop, protected=sl.known, brands=sl.brands)
        if model is None:
            from .training import settings_key

            # the phrase files are read (and checked) only to train: a cached model's key
            # already covers their bytes
            model = cache.load_or_train(
                corpus_key(lexicon.directory, settings_key()),
                lambda: self._train(build_corpus(lexicon, phrase_groups(lexicon.directory), settings_key())),
                cache_directory)
        self.model = model
        self.normalizer.set_vocabulary(model.norm_vocab, model.norm_targets)
        self.labels = model.intent.classes
        self._index = {label: i for i, label in enumerate(self.labels)}
        self.topic_parent = dict(zip(model.topic.classes, model.topic_parent))
        self.social_words: frozenset[str] = frozenset(
            t for label in SOCIAL for cue in lexicon.intents[label].cues for t in self.normalizer.tokens(cue)
        ) | frozenset(("semua", "apa", "kabar", "selamat", "banyak", "ya", "sekali", "kasih", "terima", "mau",
                       "tanya", "boleh", "you", "btw", "juga", "also", "and", "dan"))

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, directory: Path | str | None = None, *, cache_directory: Path | None = None) -> "IntentMatcher":
        return cls(load_lexicon(Path(directory) if directory is not None else _default_dir()),
                   cache_directory=cache_directory)

    def _vocabulary(self, texts: list[str], cue_texts: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The words typos may be corrected to: cue words and words seen 3+ times."""
        nz = self.normalizer
        vocab: list[str] = []
        cue_words: set[str] = set()

        def raw_tokens(text: str) -> list[str]:
            out: list[str] = []
            for raw in basic_tokens(text):
                rep = nz.slang.get(raw)
                for tok in rep.split() if rep is not None else (raw,):
                    if tok not in nz.drop and not (out and out[-1] == tok):
                        out.append(tok)
            return out

        for t in texts:
            vocab.extend(raw_tokens(t))
        for t in cue_texts:
            toks = raw_tokens(t)
            vocab.extend(toks)
            cue_words.update(toks)
        vocab.extend(t for v in nz.slang.values() for t in v.split())
        freq = Counter(vocab)
        targets = {w for w, c in freq.items() if c >= TARGET_MIN_COUNT} | cue_words
        # a word written once in the data may be one of its deliberate typos ("pesnan"):
        # it stays correctable towards the common spelling
        known = {w for w, c in freq.items() if c >= KNOWN_MIN_COUNT} | cue_words
        return tuple(sorted(known)), tuple(sorted(targets))

    def _train(self, corpus) -> LinearModel:
        from .training import train

        cue_texts = [c for item in self.lexicon.intents.values()
                     for c in list(item.cues) + list(item.strong) + list(item.lexicon)]
        norm_vocab, norm_targets = self._vocabulary([e.text for e in corpus.examples], cue_texts)
        self.normalizer.set_vocabulary(norm_vocab, norm_targets)
        return train(corpus.examples, self.normalizer.tokens, corpus.key, self._intent_classes(),
                     corpus.topic_parent, norm_vocab, norm_targets)

    @staticmethod
    def _intent_classes() -> tuple[str, ...]:
        from bot.models import INTENTS

        return INTENTS

    def normalize(self, text: str) -> str:
        return self.normalizer.normalize(text)

    def tokens(self, text: str) -> list[str]:
        return self.normalizer.tokens(text)

    # ------------------------------------------------------------------ scoring
    def probabilities(self, tokens: list[str]) -> tuple[list[float], list[float], int]:
        """(intent probabilities, topic probabilities, words the model has never seen)."""
        m = self.model
        ix, val, unseen = m.features(tokens)
        probs, tprobs = m.probabilities_of(ix, val)
        return probs, tprobs, unseen

    def _topic(self, intent: str, tprobs: list[float]) -> str | None:
        if intent not in CATEGORIES:
            return None
        classes = self.model.topic.classes
        parent = self.model.topic_parent
        mine = [i for i in range(len(classes)) if parent[i] == intent]
        if not mine:
            return None
        total = float(sum(tprobs[i] for i in mine))
        best = max(mine, key=lambda i: tprobs[i])
        if total <= 0 or tprobs[best] / total < TOPIC_THRESHOLD:
            return None
        return classes[best]

    def match(self, text: str, subject: str | None = None) -> IntentMatch:
        try:
            if subject and _REPLY_SUBJECT.match(subject):
                body = self._match(text)
                if body.intent != "unknown" or not text.strip():
                    return body
            return self._match(f"{str(subject)[:200]} . {text}" if subject else text)
        except Exception:  # never raise on customer input
            return IntentMatch("unknown", 0.0, "id", ())

    def _match(self, text) -> IntentMatch:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_CHARS]
        lang = guess_lang(text)
        tokens = self.normalizer.tokens(text)[:300]
        if not tokens:
            return IntentMatch("unknown", 1.0, lang, (("unknown", 1.0),))
        probs, tprobs, unseen = self.probabilities(tokens)
        labels = self.labels
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)  # ties: the lower index first
        cands = tuple((labels[i], round(float(probs[i]), 4)) for i in order[:3])
        chosen = labels[order[0]]
        conf = float(probs[order[0]])
        flags: tuple[str, ...] = ()
        if chosen in SOCIAL and _QUESTION.search(text):
            # "makasih kak, btw kapan restock?": the question after the thanks decides
            rest = [t for t in tokens if t not in self.social_words]
            if rest and rest != tokens:
                rprobs, rt, _ = self.probabilities(rest)
                ri = max((i for i in range(len(labels)) if labels[i] not in SOCIAL), key=lambda i: rprobs[i])
                if labels[ri] not in ("unknown", "feedback") and rprobs[ri] >= 0.6:
                    chosen, conf, tprobs = labels[ri], float(rprobs[ri]), rt
        if _PRAISE.search(text) and _COMPLAINT_FACT.search(text) and chosen not in ("unknown", "human", "escalation") \
                and not _SINCERE.search(text):
            flags = ("sarcasm",)
            if chosen in ("thanks", "greeting"):
                chosen, conf = "feedback", min(conf, 0.7)
        negated = _NEGATED.search(text)
        if negated:
            # "jangan dibatalkan", "I don't want to return it, I just want to know if it's original":
            # the action is refused; what else the message asks decides
            flags += ("negated",)
            rest_text = (text[:negated.start()] + " " + text[_clause_end(text, negated.end()):]).strip()
            rest = self.normalizer.tokens(rest_text)[:300] if rest_text else []
            if rest and _QUESTION_REST.search(rest_text):
                rprobs, rt, _ = self.probabilities(rest)
                ri = max(range(len(rprobs)), key=rprobs.__getitem__)
                if labels[ri] not in ("unknown", "greeting", "thanks") and rprobs[ri] >= 0.8 \
                        and self._topic(labels[ri], rt) != self._topic(chosen, tprobs):
                    chosen, conf, tprobs, probs = labels[ri], float(rprobs[ri]), rt, rprobs
        if _WITHDRAWN.search(text):
            flags += ("withdrawn",)
        words = sum(1 for t in tokens if not t.startswith("<"))
        mostly_new = bool(words) and unseen * 2 >= words
        rival = float(probs[self._index["unknown"]])
        if chosen != "unknown" and (conf < UNKNOWN_THRESHOLD or (mostly_new and conf < COVERAGE_CONFIDENCE)
                                    or (rival >= UNKNOWN_RIVAL and conf < RIVAL_CONFIDENCE)):
            unk = float(probs[self._index["unknown"]])
            chosen, conf = "unknown", max(unk, 1.0 - conf)
        if chosen == "unknown" and mostly_new:
            flags += ("unclear",)  # mostly words nobody wrote before: typing noise, not a topic
        topic = self._topic(chosen, tprobs)
        if "sarcasm" in flags and chosen == "feedback":
            topic = "complaint" if "complaint" in self.topic_parent else topic
        return IntentMatch(chosen, round(min(max(conf, 0.0), 1.0), 4), lang, cands, topic, flags)
