"""The one definition of a passage's score for a term: per-field BM25 with Lucene's idf and
statistics counted over passages.

whoosh's own BM25F takes N and the average field length over `doc_count_all()`, which here
also counts the metadata record of every document (it has no text) and, for `text_<lang>`,
every passage in another language. That halves the average length, so a passage of average
length is normalised as if twice as long. Its idf, `log(N / (n + 1)) + 1`, also narrows the
gap between rare and common words. Here idf is Lucene's `log(1 + (N - n + 0.5) / (n + 0.5))`
with N = all passages, and the average length of a field is over the passages written to it.
On SciFact this is worth +0.02 nDCG@10 (docs/benchmarks.md).

N is deliberately every passage, not only those in the field's language: a word that few
passages of the whole library contain is a strong clue whatever the language, and a language
with a handful of passages would otherwise give all its words a tiny idf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from kb import schema as f
from kb.analysis import STEMMED_LANGUAGES
from kb.ranking import FIELD_B, K1, B


class IndexStatistics(Protocol):
    """What scoring reads from an index (a whoosh searcher provides it)."""

    def doc_frequency(self, fieldname: str, text: str) -> int: ...
    def doc_count_all(self) -> int: ...
    def field_length(self, fieldname: str) -> int: ...


def bm25(
    idf: float,
    weights: np.ndarray | float,
    lengths: np.ndarray | float,
    avgfl: float,
    b: float,
    k1: float,
) -> np.ndarray | float:
    """BM25 of a term in each passage (or one): `weights` are its frequencies, `lengths` the
    field lengths of the passages (as the index stores them), `avgfl` the average length."""
    return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))


def lucene_idf(passages: int, frequency: int) -> float:
    """Lucene's idf of a term found in `frequency` of `passages` passages."""
    total = max(passages, frequency)
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))


def field_b(fieldname: str) -> float:
    """The length normalisation of a field: titles and headings are normalised less."""
    return FIELD_B.get(fieldname, B)


class Statistics:
    """The collection statistics of one snapshot that scores depend on, counted once.

    Read through the calling thread's searcher (`index_of_thread`): each thread has its own
    file handles."""

    def __init__(self, index_of_thread: Callable[[], IndexStatistics]) -> None:
        self._index_of_thread = index_of_thread
        self._counts: dict[str, int] = {}

    @property
    def _index(self) -> IndexStatistics:
        return self._index_of_thread()

    def _count(self, key: str, compute) -> int:
        found = self._counts.get(key)
        if found is None:
            count = compute()
            found = self._counts[key] = count if count > 0 else self._index.doc_count_all()
        return found

    def passages(self) -> int:
        return self._count("", lambda: self._index.doc_frequency(f.KIND, f.KIND_PASSAGE))

    def field_passages(self, fieldname: str) -> int:
        """How many passages the field is written for: those in its language for text_<lang>."""
        index = self._index
        lang = fieldname.removeprefix("text_")
        if fieldname == f.UNSTEMMED_TEXT:
            return self._count(
                fieldname,
                lambda: (
                    self.passages()
                    - sum(index.doc_frequency(f.LANG, code) for code in STEMMED_LANGUAGES)
                ),
            )
        if fieldname.startswith("text_") and lang in STEMMED_LANGUAGES:
            return self._count(fieldname, lambda: index.doc_frequency(f.LANG, lang))
        return self.passages()

    def idf(self, fieldname: str, text: str) -> float:
        return self.idf_of(self._index.doc_frequency(fieldname, text))

    def idf_of(self, frequency: int) -> float:
        """The idf of a term found in `frequency` passages (deleted ones included, as the
        index counts them)."""
        return lucene_idf(self.passages(), frequency)

    def average_length(self, fieldname: str) -> float:
        return self._index.field_length(fieldname) / self.field_passages(fieldname) or 1

    def scores(
        self, fieldname: str, text: str, weights: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """The term's BM25 in passages with these frequencies and field lengths."""
        return self.scores_with_idf(fieldname, self.idf(fieldname, text), weights, lengths)

    def scores_with_idf(
        self, fieldname: str, idf: float, weights: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """BM25 with the term's idf already known."""
        return bm25(
            idf,
            weights,
            lengths,
            self.average_length(fieldname),
            field_b(fieldname),
            K1,
        )
