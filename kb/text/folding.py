"""Accent folding: one definition, so the index, the query and the vocabulary agree.

`fold` is what the `exact` field, vocabulary look-ups and anchors compare by; `strip_accents`
is the same mapping with case kept, for matching where capitals matter (`SEB`, `DFØ`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# ø, æ, ß and a few others have no combining form, so NFKD alone leaves them in place.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
    }
)
# The combining-mark blocks Latin-script accents decompose into; a regular expression
# removes them from a long text much faster than a per-character check.
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def strip_accents(text: str) -> str:
    """Remove accents but keep case: `Skövde` -> `Skovde`, `DFØ` -> `DFO`, `straße` -> `strasse`."""
    text = text.translate(_SPECIAL_LETTERS)
    if text.isascii():
        return text
    return _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case and strip accents, so `Skövde`, `skovde` and `SKÖVDE` compare equal.

    Cached: the analyser folds every token, and a corpus repeats its words.
    """
    return strip_accents(text.lower())
