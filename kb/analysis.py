"""Text analysis: per-language stemming, accent folding, and the tokeniser they share.

Every passage is indexed into the stemmed field of its own language, plus one accent-folded,
unstemmed field (`exact`) shared by all languages. A query is analysed once per field, so an
English query word is stemmed as English in `text_en` and as Swedish in `text_sv`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache

from whoosh.analysis import (
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.lang import stemmer_for_language, stopwords_for_language

from kb import compounds
from kb.text import fold

# Languages with their own stemmed field. Anything else is indexed in `text_xx` (unstemmed).
STEMMED_LANGUAGES = ("en", "sv", "no", "da", "fi", "fr", "de", "nl")

# Words are letters/digits, optionally joined by apostrophes, dots, hyphens or ampersands
# inside the word ("H&M", "§7-9" keeps 7-9 as tokens 7 and 9 via the hyphen rule below).
TOKEN_PATTERN = r"\w+(?:[&'’]\w+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN, re.UNICODE)


class FoldFilter(Filter):
    """Strips accents after lower-casing (`Skövde` -> `skovde`, `bærekraft` -> `baerekraft`)."""

    def __call__(self, tokens: Iterator) -> Iterator:
        for t in tokens:
            t.text = fold(t.text)
            yield t


def language_field(language: str) -> str:
    return f"text_{language}" if language in STEMMED_LANGUAGES else "text_xx"


class CompoundFilter(Filter):
    """After each stemmed compound, its parts' stems at the same position (`klimatkrav` ->
    `klimatkrav`, `klimat`, `krav`: kb.compounds), so a passage holding the compound is found
    by its parts too. Holds only the language: the schema, analysers included, is pickled
    into the index, and the dictionaries are read when first needed."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompoundFilter) and other.language == self.language

    def __hash__(self) -> int:
        return hash(("CompoundFilter", self.language))

    def __call__(self, tokens: Iterator) -> Iterator:
        language = self.language
        for t in tokens:
            yield t
            parts = compounds.split(t.text, language)
            if parts:
                for part in parts:
                    extra = t.copy()
                    extra.text = stem(part, language)
                    yield extra


@cache
def stemmed_analyzer(language: str, split_compounds: bool = True):
    """Tokenise, lower-case, drop the language's stop words, stem with its Snowball stemmer;
    for the index, add the parts of compound words (queries split them themselves, to rank
    the whole word above its parts: kb.compile)."""
    stemfn = stemmer_for_language(language)
    stoplist = frozenset(stopwords_for_language(language))
    analyzer = (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=stoplist, minsize=1)
        | StemFilter(stemfn=stemfn, lang=None, cachesize=50000)
    )
    if split_compounds and language in compounds.DICTIONARIES:
        analyzer = analyzer | CompoundFilter(language)
    return analyzer


@cache
def folded_analyzer():
    """Unstemmed and accent-folded: exact words, `skovde` finds `Skövde`, prefixes, spelling."""
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | FoldFilter()


@cache
def plain_analyzer():
    return RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter()


def words(text: str) -> list[str]:
    """The tokens of `text` as the analysers see them (before lower-casing)."""
    return _TOKEN_RE.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """Stem one lower-cased word the way the language's field does."""
    if language not in STEMMED_LANGUAGES:
        return word
    return stemmer_for_language(language)(word)


@cache
def stopwords(language: str) -> frozenset[str]:
    if language not in STEMMED_LANGUAGES:
        return frozenset()
    return frozenset(stopwords_for_language(language))
