"""Query evaluation over postings arrays (kb.engine) against whoosh's own matchers.

The arrays must give exactly the passages and scores that whoosh's matchers give for the same
plan (`tests/whoosh_reference.py`), queries as compiled, with every alternative kept (the
terms that occur nowhere included): on an index of one segment and on one with several
segments and deletions (after incremental runs), with a cache too small to keep anything;
and ranking documents from them must order documents as collapsing a whoosh result list
would.
"""

from __future__ import annotations

import numpy as np
import pytest

from indexer.build import run_index
from kb import schema as f
from kb.access import Principal
from kb.compile import Compiler
from kb.engine import codec
from kb.engine import postings as engine_postings
from kb.engine.evaluate import Evaluator
from kb.engine.plan import Filter, Phrase, Term, any_of
from kb.engine.postings import PostingsIndex
from kb.facets import tables
from kb.library import Library
from kb.query import QueryParser
from kb.rank import top_documents
from kb.view import view_of
from tests import whoosh_reference
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
    return Compiler(view_of(snap, Principal.shell()), []).compile(parsed.node)[0]


def _evaluated(snap, plan) -> dict[int, float]:
    index = PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    ev = Evaluator(index).evaluate(plan)
    return {int(d): float(ev.score[d]) for d in ev.docnums()}


def _assert_same(snap, texts, minimum: int) -> None:
    compared = 0
    for text in texts:
        plan = _compile(snap, text)
        if plan is None:
            continue
        expected = whoosh_reference.scores(snap, plan)
        got = _evaluated(snap, plan)
        assert set(got) == set(expected), text
        for docnum, score in expected.items():
            assert got[docnum] == pytest.approx(score, rel=1e-9, abs=1e-12), (text, docnum)
        compared += bool(expected)
    assert compared >= minimum  # most queries match something


def test_matches_and_scores_equal_whoosh(bundled_index):
    _assert_same(Library(bundled_index).snapshot(), QUERIES, 18)


def test_scores_equal_whoosh_when_nothing_stays_cached(bundled_index, monkeypatch):
    """With a cache of 40 entries, most postings are too large to keep and the rest are
    evicted as it fills: the answers stay the same."""
    monkeypatch.setattr(engine_postings, "CACHE_ENTRIES", 40)
    snap = Library(bundled_index).snapshot()
    _assert_same(snap, QUERIES, 18)
    index = PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    stored: set[tuple] = set()
    store = index._store
    monkeypatch.setattr(index, "_store", lambda key, found: (stored.add(key), store(key, found)))
    evaluator = Evaluator(index)
    first = [evaluator.evaluate(_compile(snap, text)) for text in QUERIES]
    assert index._entries <= 40 and len(stored) > len(index._cache)  # some were evicted
    again = [evaluator.evaluate(_compile(snap, text)) for text in QUERIES]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.mask, b.mask) and np.array_equal(a.score, b.score)


def test_cached_postings_give_the_same_answer_twice(bundled_index):
    snap = Library(bundled_index).snapshot()
    evaluator = Evaluator(PostingsIndex(snap.searcher, snap.searcher().doc_count_all()))
    plan = _compile(snap, "climate criteria weighting")
    first = evaluator.evaluate(plan)
    second = evaluator.evaluate(plan)
    assert np.array_equal(first.mask, second.mask)
    assert np.array_equal(first.score, second.score)
    assert first.mask.any()


def test_several_segments_with_deletions(small_settings):
    """After incremental runs the index has several segments and deleted passages: none of
    the deleted passages may match, and scores still equal whoosh's, for one word and many."""
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
    assert len(searcher.leaf_searchers()) > 1 and searcher.reader().has_deletions()
    deleted = set()
    for sub, offset in searcher.leaf_searchers():
        deleted |= {d + offset for d in (sub.reader().deleted_docs_set or ())}
    texts = [
        "repair", "climate", "laptops", "cafés", "lifespan repair", '"climate criteria"',
        "repair cafés round", "climate criteria laptops note", "extra note -climate",
        '"repair of laptops" lifespan', "title:forum qqqzzz", *QUERIES,
    ]  # fmt: skip
    _assert_same(snap, texts, 8)
    for text in texts:
        plan = _compile(snap, text)
        assert plan is None or not set(_evaluated(snap, plan)) & deleted


def test_filters_as_masks_equal_whoosh(bundled_index):
    snap = Library(bundled_index).snapshot()
    evaluator = Evaluator(PostingsIndex(snap.searcher, snap.searcher().doc_count_all()))
    every = np.ones(evaluator.postings.size, dtype=bool)
    for name, values in [(f.TYPE, ["guide"]), (f.LANG, ["sv", "no"]), (f.YEAR, ["2024"])]:
        expected = set(whoosh_reference.scores(snap, any_of(Term(name, v) for v in values)))
        allowed = evaluator.restrict(every, [Filter(name, frozenset(values))])
        assert set(np.flatnonzero(allowed).tolist()) == expected
        excluded = evaluator.restrict(every, [Filter(name, frozenset(values), exclude=True)])
        assert not set(np.flatnonzero(excluded).tolist()) & expected
        assert expected


def test_lengths_of_a_field_a_segment_does_not_have(bundled_index):
    """A segment without a field has no lengths column for it: every length is 0."""
    reader = Library(bundled_index).snapshot().searcher().reader()
    segment = reader.leaf_readers()[0][0] if reader.is_atomic() is False else reader
    lengths = codec.length_bytes(segment, "text_no_such_field")
    assert lengths.shape == (segment.doc_count_all(),) and not lengths.any()
    assert codec.length_bytes(segment, f.EXACT).any()


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
    table = tables(snap)
    rng = np.random.default_rng(seed)
    size = len(table.every)
    score = rng.integers(0, 4 if seed % 2 else 50, size).astype(np.float64) / 3
    mask = table.every & (rng.random(size) < (0.3 + seed / 20))
    for wanted in (1, 3, 10, 40):
        assert top_documents(table, score, mask, wanted) == _reference_ranking(
            table.document_of, table.doc_ids, score, mask, wanted
        )


def test_terms_the_index_cannot_hold_match_nothing(bundled_index):
    """A field the schema lacks, or a phrase with a word the index lacks, matches nothing and
    counts no terms (so it takes no part in coordination)."""
    snap = Library(bundled_index).snapshot()
    evaluator = Evaluator(PostingsIndex(snap.searcher, snap.searcher().doc_count_all()))
    for plan in [
        Term("no_such_field", "climate"),
        Phrase(f.EXACT, ("climate", "qqqzzz")),
        Phrase(f.EXACT, ("qqqzzz", "climate")),
    ]:
        found = evaluator.evaluate(plan)
        assert not found.mask.any() and found.terms == 0, plan
    absent = evaluator.evaluate(Phrase(f.EXACT, ("criteria", "climate", "lifespan")))
    assert not absent.mask.any() and absent.terms == 3  # every word is there, not in a row


def test_a_readers_evaluator_scores_from_visible_passages_only(bundled_index):
    """Through a mask of visible passages, a term scores with the idf of the visible
    passages; a word or phrase found only outside them matches nothing and counts no terms;
    with every passage visible the scores are the index's own."""
    from kb.engine.bm25 import lucene_idf
    from kb.facets import tables

    snap = Library(bundled_index).snapshot()
    index = PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    everyone = Evaluator(index)
    every = tables(snap).every
    term = Term(f.EXACT, "procurement")
    whole = everyone.evaluate(term)
    assert np.array_equal(everyone.for_readers(every).evaluate(term).score, whole.score)

    holding = whole.docnums()
    visible = every.copy()
    visible[holding[: len(holding) // 2]] = False  # half of the passages holding the word
    seen = everyone.for_readers(visible).evaluate(term)
    kept = holding[len(holding) // 2 :]
    assert {int(d) for d in seen.docnums() if visible[d]} == {int(d) for d in kept}
    postings = index.term(f.EXACT, "procurement")
    factor = lucene_idf(int(visible.sum()), len(kept)) / postings.idf
    assert seen.score[kept] == pytest.approx(whole.score[kept] * factor)
    assert seen.terms == 1

    hidden_only = every.copy()
    hidden_only[holding] = False
    none = everyone.for_readers(hidden_only)
    assert none.evaluate(term).terms == 0 and not none.evaluate(term).mask.any()
    phrase = _compile(snap, '"climate criteria"')
    assert everyone.evaluate(phrase).mask.any()
    climate = everyone.evaluate(Term(f.EXACT, "climate")).docnums()
    no_climate = every.copy()
    no_climate[climate] = False
    blind = everyone.for_readers(no_climate).evaluate(phrase)
    assert not blind.mask[climate].any()
