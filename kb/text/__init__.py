"""Text conventions every layer shares: accent folding, dates, and language codes.

One module per concept (`folding`, `dates`, `languages`); the names below are the ones the
rest of kb, the indexer and the web interface use.
"""

from kb.text.dates import infer_date, parse_date
from kb.text.folding import fold, strip_accents
from kb.text.languages import LANGUAGE_ALIASES, LANGUAGE_NAMES, LANGUAGES, normalise_language

__all__ = [
    "LANGUAGES",
    "LANGUAGE_ALIASES",
    "LANGUAGE_NAMES",
    "fold",
    "infer_date",
    "normalise_language",
    "parse_date",
    "strip_accents",
]
