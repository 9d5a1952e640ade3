"""Ranking choices in one place: BM25F parameters and field weights.

How each choice moved nDCG@10 on the relevance benchmark is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

from whoosh import scoring

# Weights relative to a passage's stemmed text field.
WEIGHT_TEXT = 1.0
WEIGHT_EXACT = 0.3  # unstemmed, accent-folded: exact spelling ranks above a stem-only match
WEIGHT_TITLE = 0.8
WEIGHT_HEADING = 0.5
WEIGHT_GLOSSARY = 0.35  # other languages' words for a concept rank below the typed word
COORDINATION = 0.9  # bonus for passages matching more of the query's words


def scoring_model() -> scoring.WeightingModel:
    # k1=0.9, b=0.4 (Anserini's defaults) suit short passages; titles are length-normalised less.
    return scoring.BM25F(B=0.4, K1=0.9, title_B=0.2, heading_B=0.3)
