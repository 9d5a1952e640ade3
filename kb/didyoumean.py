"""'Did you mean': which words of a query are corrected, into what, and whether the correction
is offered or its results shown instead of the query's.

The rules, all computed over what the reader may see (a word only hidden documents hold is
unknown, never offered, and changes nothing a reader can observe):

- A word is *known*, and never corrected, when the index holds its spelling (the folded
  `exact` field) or its stem in the stemmed field of one of the query's languages
  (kb.querylang): Swedish `inköp` is known because `inköpare` stems to it, `cirkulära` because
  `cirkulär` is there.
- An unknown word is corrected only into a word of the query's languages, or into a
  language-neutral name (`_belongs`): a word that occurs in visible passages written in one of
  the query's languages, a topic keyword or glossary term given for one of them, a word of an
  organisation's name or alias, or a word that visible passages of at least
  NEUTRAL_LANGUAGES languages hold (names and acronyms). So `leder` in a Swedish query is never
  turned into the English `leaders`.
- A known word the index holds only in other inflections may be written as the index spells
  the same stem (`procurment` stems to the stem of `procurement`) when the two are one edit
  apart and end alike (the same last three letters), so one inflection (`cirkulära`) is never
  swapped for another (`cirkulär`). Such a change alone finds nothing more, so it is never
  offered on its own; it rides along with a correction of an unknown word.
- The correction is spelled as the reader's passages spell it (`nätverket`, not the folded
  `natverket`).
- Both the query as typed and the correction are measured as the documents, within the
  filters, that the query finds and in which every one of its words or phrases matches (stop
  words, and unknown words nothing corrects, which match nothing either way, are left out of
  "every": in `vem leder nätvreket` only the correction of `nätvreket` is measured). A
  correction is *offered* when it finds clearly more: at least OFFER_RATIO times as many
  (half as many again) and at least OFFER_MARGIN more, or, when the query as typed finds
  nothing, at least one. Its results are *shown* instead of the query's when the query as
  typed finds at most SHOW_AT_MOST such documents and the correction at least SHOW_AT_LEAST.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from kb import schema as f
from kb.analysis import language_field, stem, stopwords, words
from kb.compile import compile_query
from kb.engine import plan as p
from kb.facets import tables
from kb.query import Any, Node, Not, QueryParser, Word, searched_words
from kb.querylang import query_languages, vocabulary_words
from kb.spelling import Speller
from kb.text import fold
from kb.view import View

__all__ = [
    "NEUTRAL_LANGUAGES",
    "OFFER_MARGIN",
    "OFFER_RATIO",
    "SHOW_AT_LEAST",
    "SHOW_AT_MOST",
    "Suggestion",
    "every_word_documents",
    "replace_word",
    "suggest",
    "surface",
]

OFFER_RATIO = 1.5
OFFER_MARGIN = 2
SHOW_AT_MOST = 1
SHOW_AT_LEAST = 3
NEUTRAL_LANGUAGES = 3
MIN_CHARS, MAX_CHARS = 4, 30  # shorter words are too often abbreviations; longer, not words
SAME_ENDING = 3  # letters a same-stem respelling keeps at the end of the word
SURFACE_PASSAGES = 5  # visible passages read to find how a corrected word is spelled


@dataclass(frozen=True)
class Suggestion:
    """A corrected query, and the documents it and the query as typed find with every word."""

    text: str
    typed: int
    found: int

    @property
    def offered(self) -> bool:
        """Whether the correction finds clearly more than the query as typed."""
        if self.typed == 0:
            return self.found >= 1
        return self.found >= OFFER_RATIO * self.typed and self.found >= self.typed + OFFER_MARGIN

    @property
    def shown(self) -> bool:
        """Whether the correction's results are shown in place of the query's."""
        return self.offered and self.typed <= SHOW_AT_MOST and self.found >= SHOW_AT_LEAST


def suggest(view: View, raw: str, node: Node, allowed: np.ndarray) -> Suggestion | None:
    """The correction of the query `raw` (parsed as `node`), when one is offered; `allowed`:
    the visible passages its filters allow."""
    typed = searched_words(node)
    languages = query_languages(view, typed)
    replacements: dict[str, str] = {}
    unknown: set[str] = set()  # words neither known nor corrected: they match nothing either way
    for word in dict.fromkeys(typed):
        known, better = _correct_word(view, word, languages)
        if better is not None and better != word.lower():
            replacements[word] = _cased_like(word, better)
        elif not known:
            unknown.add(word.lower())
    if not replacements:
        return None
    text = raw
    for word, better in replacements.items():
        text = replace_word(text, word, better)
    if text == raw:
        return None
    corrected = QueryParser(view.vocabulary).parse(text).node
    if corrected is None:
        return None
    found = every_word_documents(view, corrected, allowed, languages, unknown)
    if found == 0:
        return None
    typed_found = every_word_documents(view, node, allowed, languages, unknown)
    suggestion = Suggestion(text, typed_found, found)
    return suggestion if suggestion.offered else None


def replace_word(text: str, word: str, better: str) -> str:
    """`text` with its first occurrence of the whole word `word` (any case) replaced."""
    pattern = rf"(?<!\w){re.escape(word)}(?!\w)"
    return re.sub(pattern, lambda _: better, text, count=1, flags=re.IGNORECASE)


def _cased_like(typed: str, better: str) -> str:
    """`better` in capitals, or with a capital initial, when the reader typed the word so."""
    if len(typed) > 1 and typed.isupper():
        return better.upper()
    return better[:1].upper() + better[1:] if typed[:1].isupper() else better


def every_word_documents(
    view: View,
    node: Node,
    allowed: np.ndarray,
    languages: Iterable[str],
    leave_out: Iterable[str] = (),
) -> int:
    """How many documents among the `allowed` passages the query `node` finds with every one
    of its words or phrases (each compiled as the search compiles it: stems, parts, glossary),
    its stop words and the (lower-cased) words `leave_out` left out of "every"."""
    compiled = compile_query(view, node, [])
    if compiled.plan is None:
        return 0
    table = tables(view.snap)
    evaluator = view.evaluator
    present = table.passages_per_document(evaluator.evaluate(compiled.plan).mask & allowed) > 0
    units = node.nodes if isinstance(node, Any) and not node.explicit else ()
    skipped = frozenset(leave_out).union(*(stopwords(lang) for lang in languages))
    for unit in dict.fromkeys(units):
        if not present.any():
            break
        if isinstance(unit, Not) or (isinstance(unit, Word) and unit.text.lower() in skipped):
            continue
        plan = compile_query(view, unit, []).plan
        if plan is None:
            continue
        present &= table.passages_per_document(evaluator.evaluate(plan).mask & allowed) > 0
    return int(np.count_nonzero(present))


# ---- one word ---------------------------------------------------------------------------------


def _correct_word(view: View, word: str, languages: tuple[str, ...]) -> tuple[bool, str | None]:
    """Whether `word` is known (or too short or long to correct), and the word it is corrected
    into, as the reader's passages spell it, or None."""
    low = word.lower()
    folded = fold(low)
    if not MIN_CHARS <= len(folded) <= MAX_CHARS or view.doc_frequency(f.EXACT, folded) > 0:
        return True, None
    snap = view.snap
    reader = snap.searcher().reader()
    speller: Speller = snap.stable(("speller",), lambda: Speller(reader, f.EXACT))
    stemmed_in = [
        lang for lang in languages if view.doc_frequency(language_field(lang), stem(low, lang)) > 0
    ]
    if stemmed_in:
        return True, _respelled(view, speller, low, stemmed_in)
    visible = None if view.everything else (lambda t: view.doc_frequency(f.EXACT, t))
    better = speller.correct(folded, reader, visible, lambda t: _belongs(view, t, languages))
    return False, surface(view, better) if better is not None else None


def _respelled(view: View, speller: Speller, low: str, languages: list[str]) -> str | None:
    """How the index spells the stem of `low` (known by its stem in `languages` only), one
    edit away and ending alike; None when no such spelling is found."""
    folded = fold(low)
    best: tuple[int, str] | None = None
    for distance, term in speller.candidates(folded):
        if distance != 1 or term[-SAME_ENDING:] != folded[-SAME_ENDING:]:
            continue
        count = view.doc_frequency(f.EXACT, term)
        if count == 0 or (best is not None and count <= best[0]):
            continue
        form = surface(view, term)
        if any(stem(form, lang) == stem(low, lang) for lang in languages):
            best = (count, form)
    return best[1] if best is not None else None


def surface(view: View, term: str) -> str:
    """The folded `term` spelled as a visible passage spells it (lower-cased, with its
    accents), or `term` itself when none shows it as one word."""
    docs = view.snap.postings().term(f.EXACT, term).docs
    if not len(docs):
        return term
    for number in docs[view.mask[docs]][:SURFACE_PASSAGES]:
        body = view.snap.stored(int(number)).get(f.BODY) or ""
        for token in words(body):
            low = token.lower()
            if fold(low) == term:
                return low
    return term


# ---- which language a word belongs to ---------------------------------------------------------


def _belongs(view: View, term: str, languages: tuple[str, ...]) -> bool:
    """Whether the folded `term` (held by visible passages) is a word of one of `languages`
    or a language-neutral name; never a stop word (a correction into one searches nothing)."""
    if any(term in stopwords(lang) for lang in view.languages):
        return False
    names, by_language = view.snap.stable(("didyoumean-words",), lambda: _vocabulary_words(view))
    if term in names or any(term in by_language.get(lang, ()) for lang in languages):
        return True
    docs = view.snap.postings().term(f.EXACT, term).docs
    if not len(docs):
        return False
    holding = [lang for lang, mask in _language_masks(view).items() if mask[docs].any()]
    return bool(set(holding) & set(languages)) or len(holding) >= NEUTRAL_LANGUAGES


def _language_masks(view: View) -> dict[str, np.ndarray]:
    """The reader's visible passages of each language of the index."""

    def compute() -> dict[str, np.ndarray]:
        restrict: Callable = view.evaluator.restrict
        return {
            lang: restrict(view.mask, p.filters_from({f.LANG: (lang,)})) for lang in view.languages
        }

    return view.derived(("language-masks",), compute)


def _vocabulary_words(view: View) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Name words (the same in every language), and the folded words of topic keywords and
    glossary terms by language: the corpus's own, public vocabulary. A name word is the first
    word of an organisation's name or alias (`Electrolux`, `Skövde` kommun, `Adda`
    Inköpscentral), or one written in capitals (`DFØ`, `ASSA ABLOY`): the other words of
    "Adda central purchasing body" are words of a language, not names."""
    vocabulary = view.vocabulary
    names = set()
    for org in vocabulary.organisations:
        for name in org.names:
            found = words(name)
            capitals = [w for w in found if len(w) > 1 and w.isupper()]
            names.update(fold(w.lower()) for w in [*found[:1], *capitals])
    return frozenset(names), vocabulary_words(view)
