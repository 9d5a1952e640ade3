"""The language(s) a query is written in, read from what the reader's passages hold.

A query of two or three words is too short for a word-list guess, but the index knows which
words each language's passages use: `klimatkrav` is Swedish because Swedish passages hold it
(or its parts), `mobiltelefoner` Norwegian because Norwegian ones do. Each language present
scores one point per query word found in its own stemmed field, one per word that is one of
its function words, and one per word the glossary or a topic's keywords give for it
(`gjenbruk` is Norwegian even where no passage uses it); the languages with the most points are the query's. When no word is
known anywhere (a misspelling, a name), every language is searched.

A query is then analysed only in its own languages' fields, with their stop words. Other
languages' documents are still found through the shared exact field and the glossary, so a
Swedish word that is not Norwegian no longer matches by chance what the Norwegian stemmer
makes of it.

Counts come from the reader's view: which fields a query is searched in never depends on
what hidden documents hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from kb.analysis import STEMMED_LANGUAGES, stem, stopwords, words
from kb.text import fold
from kb.view import View


def query_languages(view: View, words: Iterable[str]) -> tuple[str, ...]:
    """The languages of the index the query's `words` are most likely written in (in the
    snapshot's order); all of them when nothing decides."""
    languages = view.languages or ("en",)
    stemmed = [lang for lang in languages if lang in STEMMED_LANGUAGES]
    typed = list(dict.fromkeys(w.lower() for w in words if w))
    if len(stemmed) <= 1 or not typed:
        return languages
    points = {lang: language_points(view, lang, typed) for lang in stemmed}
    best = max(points.values())
    if best <= 0:
        return languages
    chosen = tuple(lang for lang in stemmed if points[lang] >= best)
    # Unstemmed languages (text_xx) have no stems to compare: they stay searched.
    return chosen + tuple(lang for lang in languages if lang not in STEMMED_LANGUAGES)


def language_points(view: View, language: str, words: Iterable[str]) -> int:
    """How many of `words` (lower-cased) are function words of `language`, the glossary's or
    topics' words for it, or occur in the reader's passages of that language."""
    field = f"text_{language}"
    stops = stopwords(language)
    named = vocabulary_words(view).get(language, frozenset())
    found = 0
    for word in words:
        folded = fold(word)
        known = word in stops or folded in stops or folded in named
        if known or view.doc_frequency(field, stem(word, language)) > 0:
            found += 1
    return found


def vocabulary_words(view: View) -> dict[str, frozenset[str]]:
    """The folded words of the topics' keywords and the glossary's terms, by language: the
    corpus's own, public vocabulary (kept with the snapshot; did-you-mean reads it too)."""

    def collect() -> dict[str, frozenset[str]]:
        vocabulary = view.snap.vocabulary
        pairs = [(lang, k) for topic in vocabulary.topics for lang, ks in topic.keywords.items()
                 for k in ks]  # fmt: skip
        pairs += [pair for concept in vocabulary.concepts for pair in concept.terms_by_language()]
        found: dict[str, set[str]] = {}
        for lang, text in pairs:
            found.setdefault(lang, set()).update(fold(w.lower()) for w in words(text))
        return {lang: frozenset(ws) for lang, ws in found.items()}

    return view.snap.stable(("vocabulary-words",), collect)
