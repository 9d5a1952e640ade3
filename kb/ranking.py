"""Ranking choices in one place: BM25F parameters and field weights.

How each choice moved nDCG@10 on the relevance benchmark is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import math

from whoosh import scoring

from kb import schema as f
from kb.analysis import STEMMED_LANGUAGES

# Weights relative to a passage's stemmed text field. The title and heading are already part
# of that field (kb/writer.py), so their own fields only add a bonus on top: at 0.8 the title
# counted almost twice and cost 0.02 nDCG@10 on SciFact; 0.2-0.4 is best (docs/benchmarks.md).
WEIGHT_TEXT = 1.0
WEIGHT_EXACT = 0.3  # unstemmed, accent-folded: exact spelling ranks above a stem-only match
WEIGHT_TITLE = 0.3
WEIGHT_HEADING = 0.5
WEIGHT_GLOSSARY = 0.35  # other languages' words for a concept rank below the typed word
COORDINATION = 0.9  # bonus for passages matching more of the query's words

# k1=0.9, b=0.4 (Anserini's defaults) suit short passages; titles are length-normalised less.
# nDCG@10 on SciFact barely moves for k1 0.7-1.2 and b 0.4-0.75, so the defaults stay.
K1 = 0.9
B = 0.4
FIELD_B = {f.TITLE: 0.2, f.HEADING: 0.3}


class PassageBM25F(scoring.BM25F):
    """whoosh's per-field BM25 with Lucene's idf, and statistics counted over passages.

    whoosh's own BM25F takes N and the average field length over `doc_count_all()`, which
    here also counts the metadata record of every document (it has no text) and, for
    `text_<lang>`, every passage in another language. That halves the average length, so a
    passage of average length is normalised as if twice as long. Its idf, `log(N / (n + 1)) +
    1`, also narrows the gap between rare and common words (the `+ 1` is added to every
    term). Here idf is Lucene's `log(1 + (N - n + 0.5) / (n + 0.5))` with N = all passages,
    and the average length of a field is over the passages written to it. On SciFact this
    is worth +0.02 nDCG@10 (docs/benchmarks.md).

    N is deliberately every passage, not only those in the field's language: a word that
    few passages of the whole library contain is a strong clue whatever the language, and a
    language with a handful of passages would otherwise give all its words a tiny idf.
    """

    def __init__(self, B: float = B, K1: float = K1, **field_b: float) -> None:
        super().__init__(B=B, K1=K1, **field_b)
        # Counts per (searcher, field); a searcher's statistics never change.
        self._counts: dict[tuple[int, str], int] = {}

    def _count(self, searcher, key: str, compute) -> int:
        cache_key = (id(searcher), key)
        if cache_key not in self._counts:
            count = compute()
            self._counts[cache_key] = count if count > 0 else searcher.doc_count_all()
        return self._counts[cache_key]

    def passages(self, searcher) -> int:
        return self._count(searcher, "", lambda: searcher.doc_frequency(f.KIND, f.KIND_PASSAGE))

    def field_passages(self, searcher, fieldname: str) -> int:
        """How many passages the field is written for: those in its language for text_<lang>."""
        lang = fieldname.removeprefix("text_")
        if fieldname == f.UNSTEMMED_TEXT:
            return self._count(
                searcher,
                fieldname,
                lambda: (
                    self.passages(searcher)
                    - sum(searcher.doc_frequency(f.LANG, code) for code in STEMMED_LANGUAGES)
                ),
            )
        if fieldname.startswith("text_") and lang in STEMMED_LANGUAGES:
            return self._count(searcher, fieldname, lambda: searcher.doc_frequency(f.LANG, lang))
        return self.passages(searcher)

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        total = max(self.passages(parent), n)
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        parent = searcher.get_parent()
        avgfl = parent.field_length(fieldname) / self.field_passages(parent, fieldname)
        b = self._field_B.get(fieldname, self.B)
        return _PassageScorer(searcher, fieldname, text, b, self.K1, avgfl or 1, qf)


class _PassageScorer(scoring.BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, avgfl, qf=1) -> None:
        self.idf = searcher.get_parent().idf(fieldname, text)
        self.avgfl = avgfl
        self.B = B
        self.K1 = K1
        self.qf = qf
        self.setup(searcher, fieldname, text)


def scoring_model() -> scoring.WeightingModel:
    return PassageBM25F(B=B, K1=K1, **{f"{name}_B": b for name, b in FIELD_B.items()})
