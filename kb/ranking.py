"""Ranking choices in one place: BM25 parameters and field weights (the formula is
`kb.engine.bm25`).

How each choice moved nDCG@10 on the relevance benchmark is recorded in docs/benchmarks.md.
"""

from __future__ import annotations

from kb import schema as f

# Weights relative to a passage's stemmed text field. The title and heading are already part
# of that field (kb/writer.py), so their own fields only add a bonus on top: at 0.8 the title
# counted almost twice and cost 0.02 nDCG@10 on SciFact. 0.15 with B 0.5 was best on the
# development halves of all five collections together (docs/benchmarks.md).
WEIGHT_TEXT = 1.0
WEIGHT_EXACT = 0.3  # unstemmed, accent-folded: exact spelling ranks above a stem-only match
WEIGHT_TITLE = 0.15
WEIGHT_HEADING = 0.5
# A query's words in the fields of languages it is not written in (kb.querylang): 0.5 keeps
# documents whose language was guessed wrong findable (1.0 and 0.25 both did worse).
WEIGHT_OTHER_LANGUAGE = 0.5
WEIGHT_GLOSSARY = 0.35  # other languages' words for a concept rank below the typed word
# All parts of a compound (`klimat` + `krav` for `klimatkrav`), below the whole word.
# 0.5 was best on the development halves of the Nordic collections (0.3 and 1.0 did worse).
WEIGHT_COMPOUND_PARTS = 0.5
COORDINATION = 0.9  # bonus for passages matching more of the query's words

# k1=0.9 (Anserini's default) suits short passages; titles are length-normalised less.
# b=0.5 rather than Anserini's 0.4: with the title weight 0.15, the best on the development
# halves of SciFact and the four Nordic collections together.
K1 = 0.9
B = 0.5
FIELD_B = {f.TITLE: 0.2, f.HEADING: 0.3}
