"""Query evaluation over postings arrays (kb.postings) against whoosh's own matchers.

The arrays must give exactly the passages and scores that `searcher.search` gives for the same
query tree, on an index of one segment and on one with several segments and deletions (after
incremental runs); and ranking documents from them must order documents as collapsing a whoosh
result list would.
"""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as wq

from indexer.build import run_index
from kb import schema as f
from kb.library import Library
from kb.postings import PostingsIndex
from kb.query import QueryParser
from kb.search import _Compiler, _Or, _tables, _top_documents
from tests.conftest import write

QUERIES = [
    "climate",
    "climate criteria",
    "procurement criteria for climate and environment",
    '"climate criteria"',
    '"public procurement" laptops',
    "klimat",
    "återbruk",
    "okad hallbarhet",
    "reparation",
    "repair OR refurbish",
    "laptop AND energy",
    "energy -laptop",
    "crit*",
    "sust* reporting",
    "title:guide",
    "title:weighting climate",
    "30 %",
    "e-waste",
    "lifespan smartphones",
    "circular economy",
    "the and of",
    "Atea Samsung",
    "NOT climate",
    "(climate OR energy) AND (criteria OR weighting)",
    "criteria -(climate OR energy)",
]


def _compile(snap, text: str):
    parsed = QueryParser(snap.vocabulary).parse(text)
    if parsed.node is None:
        return None
    return _Compiler(snap, []).compile(parsed.node)


def _whoosh_scores(snap, q) -> dict[int, float]:
    """Scores from whoosh's own matchers, on the query as searches used to hand it to whoosh:
    pruned of terms that occur nowhere. whoosh's coordination bonus is not the same with and
    without them; kb's evaluation gives the pruned query's scores either way."""
    q = _prune(q, snap.searcher().reader())
    return dict(snap.searcher().search(q, limit=None, terms=False).items())


def _prune(q: wq.Query, reader) -> wq.Query:
    """The query without the alternatives that occur nowhere in the index (a word's stem in
    the other languages' fields, mostly): they match nothing and add nothing to a score, but
    whoosh builds and walks a matcher for each. An alternative keeps at least two parts (a
    single one would lose the coordination bonus)."""
    if isinstance(q, wq.Or) and len(q.subqueries) > 1:
        subs = [_prune(sub, reader) for sub in q.subqueries]
        kept = [
            sub for sub in subs
            if not (isinstance(sub, wq.Term) and reader.doc_frequency(sub.fieldname, sub.text) == 0)
        ]  # fmt: skip
        if len(kept) < 2:
            kept = (kept + [sub for sub in subs if sub not in kept])[:2]
        out = q.copy()
        out.subqueries = kept
        return out
    if isinstance(q, wq.CompoundQuery):
        out = q.copy()
        out.subqueries = [_prune(sub, reader) for sub in q.subqueries]
        return out
    if isinstance(q, wq.AndNot):
        out = q.copy()
        out.a, out.b = _prune(q.a, reader), _prune(q.b, reader)
        return out
    return q


def _evaluated(snap, q) -> dict[int, float]:
    ev = PostingsIndex(snap.searcher, snap.searcher().doc_count_all()).evaluate(q)
    return {int(d): float(ev.score[d]) for d in ev.docnums()}


def test_matches_and_scores_equal_whoosh(bundled_index):
    snap = Library(bundled_index).snapshot()
    compared = 0
    for text in QUERIES:
        q = _compile(snap, text)
        if q is None:
            continue
        expected = _whoosh_scores(snap, q)
        got = _evaluated(snap, q)
        assert set(got) == set(expected), text
        for docnum, score in expected.items():
            assert got[docnum] == pytest.approx(score, rel=1e-9, abs=1e-12), (text, docnum)
        compared += bool(expected)
    assert compared >= 18  # most queries match something in the bundled corpus


def test_cached_postings_give_the_same_answer_twice(bundled_index):
    snap = Library(bundled_index).snapshot()
    index = PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    q = _compile(snap, "climate criteria weighting")
    first = index.evaluate(q)
    second = index.evaluate(q)
    assert np.array_equal(first.mask, second.mask)
    assert np.array_equal(first.score, second.score)
    assert first.mask.any()


def test_several_segments_with_deletions(small_settings):
    """After incremental runs the index has several segments and deleted passages: none of
    the deleted passages may match, and scores still equal whoosh's."""
    run_index(small_settings)
    corpus = small_settings.corpus
    for i in range(3):
        write(
            corpus / f"notes/extra-{i}.md",
            f"# Extra note {i}\n\nClimate criteria and repair of laptops, note {i}.\n",
        )
        guide = corpus / "guides/lifespan.md"
        guide.write_text(
            guide.read_text(encoding="utf-8") + f"\nRepair cafés, round {i}.\n", encoding="utf-8"
        )
        run_index(small_settings)
    snap = Library(small_settings).snapshot()
    searcher = snap.searcher()
    assert len(searcher.leaf_searchers()) > 1 or searcher.reader().has_deletions()
    deleted = set()
    for sub, offset in searcher.leaf_searchers():
        deleted |= {d + offset for d in (sub.reader().deleted_docs_set or ())}
    for text in ["repair", "climate", "laptops", "cafés", "lifespan repair", '"climate criteria"']:
        q = _compile(snap, text)
        expected = _whoosh_scores(snap, q)
        got = _evaluated(snap, q)
        assert set(got) == set(expected), text
        assert not set(got) & deleted
        if len(searcher.leaf_searchers()) == 1 or " " not in text:
            # whoosh counts the terms of the coordination bonus per segment; one word has none
            for docnum, score in expected.items():
                assert got[docnum] == pytest.approx(score, rel=1e-9), (text, docnum)


def test_filters_as_masks_equal_whoosh(bundled_index):
    snap = Library(bundled_index).snapshot()
    index = PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    for name, values in [(f.TYPE, ["guide"]), (f.LANG, ["sv", "no"]), (f.YEAR, ["2024"])]:
        q = _Or([wq.Term(name, v) for v in values])
        expected = set(q.docs(snap.searcher()))
        assert set(index.evaluate(q).docnums().tolist()) == expected
        assert expected


def _reference_ranking(document_of, doc_ids, score, mask, wanted):
    passages = sorted(np.flatnonzero(mask).tolist(), key=lambda d: (-score[d], d))
    seen, out = set(), []
    for d in passages:
        owner = document_of[d]
        if owner >= 0 and owner not in seen:
            seen.add(owner)
            out.append((doc_ids[owner], float(score[d])))
    return out[:wanted]


@pytest.mark.parametrize("seed", range(12))
def test_top_documents_orders_as_whoosh_collapses(bundled_index, seed):
    """Random scores with many ties: the documents and their order are those of sorting every
    passage by (score descending, number) and keeping each document's first."""
    snap = Library(bundled_index).snapshot()
    tables = _tables(snap)
    rng = np.random.default_rng(seed)
    size = len(tables.every)
    score = rng.integers(0, 4 if seed % 2 else 50, size).astype(np.float64) / 3
    mask = tables.every & (rng.random(size) < (0.3 + seed / 20))
    for wanted in (1, 3, 10, 40):
        assert _top_documents(tables, score, mask, wanted) == _reference_ranking(
            tables.document_of, tables.doc_ids, score, mask, wanted
        )
