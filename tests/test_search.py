"""Search behaviour on the bundled corpus: languages, query language, facets, suggestions."""

from __future__ import annotations

import pytest

from kb.access import Principal
from kb.search import SearchRequest, open_searcher
from kb.view import view_of

SV_ARTICLE = "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning"
NO_ARTICLE = "articles/klimakrav-30-prosent-i-offentlige-anskaffelser"
DIRECTIVE = "directives/no-climate-environment-weighting-30-percent"


@pytest.fixture(scope="module")
def searcher(bundled_index):
    return open_searcher(bundled_index, Principal.shell())


def search(searcher, q="", **kwargs):
    return searcher.search(SearchRequest(q=q, **kwargs))


def ids(result):
    return [h.doc.doc_id for h in result.hits]


def test_swedish_inflection(searcher):
    assert SV_ARTICLE in ids(search(searcher, "upphandlingar"))
    assert SV_ARTICLE in ids(search(searcher, "livslängden"))


def test_accent_folding_and_exact_spelling_ranks_higher(searcher):
    folded = search(searcher, "okad")
    exact = search(searcher, "ökad")
    assert ids(folded)[:1] == [SV_ARTICLE]
    assert ids(exact)[:1] == [SV_ARTICLE]
    assert exact.hits[0].score > folded.hits[0].score
    assert "skovde-kommun" in {
        o for h in search(searcher, "skovde").hits for o in h.doc.meta.organisations
    }


def test_glossary_finds_other_languages_below_direct_matches(searcher, bundled_index):
    from kb.documents import load_document
    from kb.library import Library

    result = search(searcher, "procurement", page_size=50)
    found = ids(result)
    assert SV_ARTICLE in found and NO_ARTICLE in found
    snap = Library(bundled_index).snapshot()

    def says_procurement(doc_id):
        view = load_document(view_of(snap, Principal.shell()), doc_id)
        text = " ".join([view.doc.title, *(p.text for p in view.passages)]).lower()
        return "procurement" in text

    direct = [d for d in found if says_procurement(d)]
    # Every document containing "procurement" as typed ranks above those found by translation.
    assert found[: len(direct)] == direct
    assert SV_ARTICLE not in direct and NO_ARTICLE not in direct
    assert "upphandling" in result.hits[found.index(SV_ARTICLE)].best.snippet.lower()


def test_norwegian_query_finds_english_and_norwegian(searcher):
    found = ids(search(searcher, "bærekraft"))
    assert NO_ARTICLE in found
    assert any(d.startswith("guides/") for d in found)


def test_filters_narrow(searcher):
    result = search(searcher, "type:directive year:2024")
    assert ids(result) == [DIRECTIVE]
    assert all(
        h.doc.meta.type == "meeting" for h in search(searcher, "weighting type:meeting").hits
    )
    assert ids(search(searcher, "org:skövde")) == ids(search(searcher, "org:skovde"))
    assert all(
        "skovde-kommun" in h.doc.meta.organisations for h in search(searcher, "org:skövde").hits
    )
    years = {h.doc.meta.year for h in search(searcher, "year:2023..2024", page_size=50).hits}
    assert years <= {2023, 2024}


def test_request_filters_combine_with_query_filters(searcher):
    result = search(searcher, "lifespan", filters={"type": ("guide",), "lang": ("en",)})
    assert ids(result) and all(h.doc.meta.type == "guide" for h in result.hits)


def test_phrase_and_exclusion(searcher):
    with_phrase = search(searcher, '"circular economy"', page_size=50)
    excluded = search(searcher, '"circular economy" -lifespan', page_size=50)
    assert with_phrase.total > excluded.total > 0
    for hit in excluded.hits:
        assert "lifespan" not in hit.best.snippet.lower()


def test_prefix_search_is_bounded(searcher):
    result = search(searcher, "procure*")
    assert result.total > 0
    assert "<mark>procurement</mark>" in result.hits[0].best.snippet.lower()
    short = search(searcher, "a*")
    assert any("too short" in m for m in short.messages)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "((",
        "AND",
        "title:",
        "year:abc",
        "x" * 10_000,
        "\x00\x01\x1b[31m",
        "*",
        ")))(((",
        "NOT NOT",
        "-",
    ],
)
def test_malformed_queries_return_promptly_with_a_message(searcher, query):
    result = search(searcher, query)  # how long it takes: benchmarks/bounds.py
    assert result.messages or result.total == 0


def test_unsearchable_words_find_nothing(searcher):
    result = search(searcher, "zzz*")
    assert result.total == 0


def test_facet_counts_equal_matching_documents(searcher):
    result = search(searcher, "sustainability", page_size=100)
    assert result.total == len(result.hits)
    for name in ("type", "lang"):
        assert sum(v.count for v in result.facets[name]) == result.total
    for value in result.facets["type"]:
        narrowed = search(
            searcher, "sustainability", filters={"type": (value.value,)}, page_size=100
        )
        assert narrowed.total == value.count
        # The type facet still offers every type, counted as if added (OR within a facet).
        assert [(v.value, v.count) for v in narrowed.facets["type"]] == [
            (v.value, v.count) for v in result.facets["type"]
        ]
        assert [v.value for v in narrowed.facets["type"] if v.selected] == [value.value]
    for value in result.facets["org"][:5]:
        narrowed = search(searcher, "sustainability", filters={"org": (value.value,)})
        assert narrowed.total == value.count


def test_several_values_of_one_facet_are_alternatives(searcher):
    """OR inside a facet, AND between facets: in the request, in the query language, and in
    the counts each facet offers."""
    everything = search(searcher, "sustainability", page_size=100)
    counts = {v.value: v.count for v in everything.facets["type"]}
    two = sorted(counts)[:2]
    both = search(searcher, "sustainability", filters={"type": tuple(two)}, page_size=100)
    assert both.total == counts[two[0]] + counts[two[1]]  # a document has one type
    typed = search(searcher, f"sustainability type:{two[0]} type:{two[1]}", page_size=100)
    assert {h.doc.doc_id for h in typed.hits} == {h.doc.doc_id for h in both.hits}
    year = both.facets["year"][0]
    narrowed = search(
        searcher,
        "sustainability",
        filters={"type": tuple(two), "year": (year.value,)},
        page_size=100,
    )
    assert narrowed.total == year.count  # the year's count was within the two types
    assert all(h.doc.meta.type in two and str(h.doc.meta.year) == year.value for h in narrowed.hits)
    # Each chosen facet still counts its other values as alternatives to add.
    assert {v.value for v in narrowed.facets["year"]} == {v.value for v in both.facets["year"]}


def test_did_you_mean(searcher):
    assert search(searcher, "procurment").suggestion == "procurement"
    assert search(searcher, "upphandlnig").suggestion == "upphandling"
    assert search(searcher, "procurement").suggestion is None


def test_sort_newest_and_pagination(searcher):
    newest = search(searcher, "sustainability", sort="newest", page_size=50)
    dates = [h.doc.meta.date or "" for h in newest.hits]
    assert dates == sorted(dates, reverse=True)
    page1 = search(searcher, "sustainability", page_size=3)
    page2 = search(searcher, "sustainability", page_size=3, page=2)
    assert page1.pages > 1 and page2.page == 2
    assert not set(ids(page1)) & set(ids(page2))
    beyond = search(searcher, "sustainability", page=10_000)
    assert beyond.hits == () and beyond.page == 1000


def test_results_collapse_to_documents_with_best_passages(searcher):
    result = search(searcher, "human rights due diligence")
    found = ids(result)
    assert len(found) == len(set(found))
    top = result.hits[0]
    assert top.doc.doc_id == "meetings/2024-09-03-forum-meeting"
    assert top.matching_passages >= 1 and top.more_passages == top.matching_passages - 1
    assert top.best.heading_path and "<mark>" in top.best.snippet


def test_pdf_passages_carry_pages(searcher):
    result = search(searcher, "refurbished take-back")
    pdf_hits = [h for h in result.hits if h.doc.format == "pdf"]
    assert pdf_hits and pdf_hits[0].best.page is not None
    assert pdf_hits[0].best.anchor.startswith("p")


def test_related_documents(searcher):
    related = searcher.related("meetings/2024-04-24-forum-meeting")
    assert related
    assert "meetings/2024-04-24-forum-meeting" not in [d.doc_id for d, _ in related]
    assert DIRECTIVE in [d.doc_id for d, _ in related]
    assert searcher.related("no/such-doc") == []


def test_rank_agrees_with_search(searcher):
    assert [d for d, _ in searcher.rank("weighting climate", limit=5)] == ids(
        search(searcher, "weighting climate", page_size=5)
    )


def test_related_documents_are_distinct(searcher):
    related = searcher.related("guides/strategy-for-sustainable-it", limit=5)
    names = [d.doc_id for d, _ in related]
    assert len(names) == len(set(names)) == 5


def test_one_existing_term_among_unknown_words_scores_as_itself(searcher):
    """Coordination rewards matching more of the query's terms; with a single term in the
    index there is nothing to reward, and the term keeps its own score and order."""
    alone = search(searcher, "title:forum")
    with_unknown = search(searcher, "title:forum qqqzzz")
    assert alone.total == with_unknown.total > 1
    assert [(h.doc.doc_id, h.score) for h in with_unknown.hits] == [
        (h.doc.doc_id, h.score) for h in alone.hits
    ]
    assert all(h.score > 0 for h in with_unknown.hits)
