"""Intent matching: which of the INTERFACE.md labels a customer message is about."""
from .evaluate import EvalReport, evaluate_file, format_report
from .lexicon import load_lexicon
from .matcher import IntentMatcher
from .normalize import Normalizer, guess_lang

__all__ = [
    "IntentMatcher",
    "evaluate_file",
    "format_report",
    "EvalReport",
    "load_lexicon",
    "Normalizer",
    "guess_lang",
]
