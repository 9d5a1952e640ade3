"""Compiled queries kept per snapshot and readable set (kb.plancache): a query asked again by
readers of the same readable set reuses its plan, and readers of another readable set never
see a plan compiled from a view that is not theirs (a prefix expanded to a hidden word would
find it, or tell that it exists)."""

from __future__ import annotations

import pytest

from kb.access import Principal
from kb.library import Library
from kb.plancache import plan_cache
from kb.query import QueryParser
from kb.search import Searcher, SearchRequest
from kb.view import view_of
from tests import test_visibility_search as visibility
from tests.test_visibility_search import MARKERS, PRIVATE, READERS

# The corpus of one document per visibility level, and its readers.
settings = visibility.settings

HIDDEN = MARKERS[PRIVATE]  # only ikea's private document holds it
PREFIX_OF_HIDDEN = HIDDEN[:6] + "*"


def _terms(plan) -> set[str]:
    if plan is None:
        return set()
    if hasattr(plan, "clauses"):
        return set().union(*(_terms(c) for c in plan.clauses))
    if hasattr(plan, "excluded"):
        return _terms(plan.plan) | _terms(plan.excluded)
    return {getattr(plan, "text", "")} | set(getattr(plan, "words", ()))


def _search(library: Library, reader: str, q: str):
    return Searcher(library, READERS[reader]).search(SearchRequest(q=q))


@pytest.mark.parametrize("first, second", [("member A", "member B"), ("member B", "member A"),
                                           ("shell", "anonymous"), ("member A", "coordinator")])  # fmt: skip
def test_a_plan_is_never_shared_with_another_readable_set(settings, first, second):
    library = Library(settings)  # a fresh snapshot: no plan kept yet
    sees_hidden = {"member A": True, "shell": True}
    for q in (PREFIX_OF_HIDDEN, HIDDEN, f"{HIDDEN} laptops"):
        answers = {reader: _search(library, reader, q) for reader in (first, second)}
        for reader, result in answers.items():
            found = {hit.doc.doc_id for hit in result.hits}
            assert (PRIVATE in found) == sees_hidden.get(reader, False), (q, reader)
            # The same answer as a reader whose plans were all compiled for them alone.
            alone = _search(Library(settings), reader, q)
            assert [(h.doc.doc_id, h.score, h.passages) for h in result.hits] == [
                (h.doc.doc_id, h.score, h.passages) for h in alone.hits
            ]
            assert (result.total, result.facets, result.messages, result.suggestion) == (
                alone.total, alone.facets, alone.messages, alone.suggestion
            )  # fmt: skip
    snap = library.snapshot()
    kept = {reader: plan_cache(view_of(snap, READERS[reader])) for reader in (first, second)}
    assert kept[first] is not kept[second]
    node = QueryParser(snap.vocabulary).parse(PREFIX_OF_HIDDEN).node
    for reader, plans in kept.items():
        entry = plans.get(node)
        assert entry is not None
        assert (HIDDEN in _terms(entry[0].plan)) == sees_hidden.get(reader, False), reader


def test_readers_of_one_readable_set_share_their_plans(settings):
    library = Library(settings)
    ann = Principal.member("ann@ikea.example", "ikea")
    ada = Principal.member("ada@ikea.example", "ikea")
    for principal in (ann, ada):
        Searcher(library, principal).search(SearchRequest(q="procurement laptops"))
    snap = library.snapshot()
    plans = plan_cache(view_of(snap, ann))
    assert plans is plan_cache(view_of(snap, ada))
    assert len(plans) == 1


def test_a_kept_plan_answers_as_when_it_was_compiled(settings):
    """A kept plan gives the same notes (compiling's are replayed) and the same passages,
    highlighted afresh."""
    library = Library(settings)
    searcher = Searcher(library, READERS["member B"])
    first = searcher.search(SearchRequest(q="lant*"))
    again = searcher.search(SearchRequest(q="lant*"))
    assert first.messages == again.messages
    assert [h.passages for h in first.hits] == [h.passages for h in again.hits]
