"""'Did you mean' on the bundled corpus: corrections stay within the query's language, are
offered only when they find clearly more, and show their results when the query as typed
finds (almost) nothing - in kb, on the search page, in the JSON API and in `kb search`."""

from __future__ import annotations

import re

import pytest

from cli import main
from kb.access import Principal
from kb.didyoumean import Suggestion
from kb.search import SearchRequest, open_searcher
from tests.test_web import page

SV_ARTICLE = "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning"
NO_ARTICLE = "articles/klimakrav-30-prosent-i-offentlige-anskaffelser"


@pytest.fixture(scope="module")
def searcher(bundled_index):
    return open_searcher(bundled_index, Principal.shell())


def search(searcher, q: str, **kwargs):
    return searcher.search(SearchRequest(q=q, **kwargs))


def ids(result) -> list[str]:
    return [h.doc.doc_id for h in result.hits]


# ---- the query's language --------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "vem leder nätverket",  # was "vem leaders nätverket" / "vem level nätverket"
        "cirkulära IT-inköp",  # was "circular IT-into"
        "inköparna",
        "gjenbruk av mobiltelefoner",
    ],
)
def test_valid_nordic_words_are_never_turned_into_english(searcher, q):
    result = search(searcher, q)
    assert result.suggestion is None and result.corrected is None, result.suggestion


def test_swedish_misspellings_correct_to_swedish_words(searcher):
    # "leder" is unknown, and its near words in the index are English: it is left as typed,
    # while the misspelt "nätvreket" becomes the Swedish "nätverket", accents and all.
    assert search(searcher, "vem leder nätvreket").suggestion == "vem leder nätverket"
    result = search(searcher, "samverkn mellan inköpare")
    assert result.suggestion == "samverkan mellan inköpare"
    assert result.corrected == "samverkan mellan inköpare"
    assert SV_ARTICLE in ids(result)
    assert search(searcher, "hållbar upphandlnig").suggestion == "hållbar upphandling"
    assert search(searcher, "Hållbar Upphandlnig").suggestion == "Hållbar Upphandling"


def test_norwegian_misspellings_correct_to_norwegian_words(searcher):
    assert search(searcher, "offentlge anskaffelser").suggestion == "offentlige anskaffelser"
    result = search(searcher, "gjenbruk av mobiltelefonr")
    assert result.suggestion == "gjenbruk av mobiltelefoner"
    corrected = search(searcher, "gjenbruk av mobiltelefoner")
    assert NO_ARTICLE in ids(corrected) or SV_ARTICLE in ids(corrected)


def test_organisation_names_are_language_neutral(searcher):
    # Electrolux occurs in English passages only, yet is the right word in a Swedish query.
    assert search(searcher, "electrolx upphandling").suggestion == "electrolux upphandling"


# ---- offered only when it finds clearly more ---------------------------------------------------


def test_thresholds():
    assert Suggestion("x", typed=0, found=1).offered
    assert not Suggestion("x", typed=0, found=2).shown  # offered, too little to show
    assert Suggestion("x", typed=0, found=3).shown
    assert Suggestion("x", typed=1, found=3).shown
    assert not Suggestion("x", typed=2, found=6).shown and Suggestion("x", 2, 6).offered
    assert not Suggestion("x", typed=1, found=2).offered  # not 2 more
    assert not Suggestion("x", typed=6, found=8).offered  # not half as many again
    assert Suggestion("x", typed=10, found=16).offered


def test_a_correction_that_finds_nothing_more_is_not_offered(searcher):
    # The stemmer reads "procurment" as "procurement"; respelled, it also finds the Nordic
    # documents through the glossary, so it is offered. "inköparna" is a valid inflection of a
    # word the index holds, with no respelling that ends alike: nothing is offered.
    assert search(searcher, "procurment").suggestion == "procurement"
    assert search(searcher, "inköparna").suggestion is None
    # Within the filters, "weighting" finds no guide either.
    filtered = search(searcher, "wieghting", filters={"lang": ("no",), "type": ("guide",)})
    assert filtered.total == 0 and filtered.suggestion is None


# ---- showing the correction's results ---------------------------------------------------------


def test_results_are_the_corrections_when_the_query_finds_nothing(searcher):
    typed = search(searcher, "procurment weigthing")
    wanted = search(searcher, "procurement weighting")
    assert typed.query == "procurment weigthing"
    assert typed.suggestion == typed.corrected == "procurement weighting"
    assert typed.total == wanted.total >= 3
    assert ids(typed) == ids(wanted) and typed.read_as == wanted.read_as
    as_typed = search(searcher, "procurment weigthing", autocorrect=False)
    assert as_typed.corrected is None and as_typed.suggestion == "procurement weighting"
    assert ids(as_typed) != ids(wanted)
    # Page two is page two of the correction's results.
    second = search(searcher, "procurment weigthing", page=2, page_size=5)
    assert ids(second) == ids(search(searcher, "procurement weighting", page=2, page_size=5))


def test_search_page_says_showing_results_for(client):
    p = page(client, "/search?q=procurment+weigthing&lang=en")
    assert re.search(
        r"Showing results for procurement weighting — search instead for procurment weigthing",
        p.text,
    )
    assert "Did you mean" not in p.text
    assert re.search(r"\d+ documents for procurement weighting", p.text)
    instead = p.find("a", href="/search?q=procurment+weigthing&lang=en&spell=off")
    assert instead, [a for _, a in p.elements if "spell" in (a.get("href") or "")]
    assert p.find("a", href="/search?q=procurement+weighting&lang=en")
    # Result links highlight the words the results were found for.
    assert any("q=procurement+weighting" in (a.get("href") or "") for a in p.find("a"))
    # "Search instead": the words as typed, with the suggestion offered.
    p = page(client, "/search?q=procurment+weigthing&lang=en&spell=off")
    assert "Showing results for" not in p.text
    assert re.search(r"Did you mean procurement weighting ?\?", p.text)
    assert p.find("a", href="/search?q=procurement+weighting&lang=en")


def test_search_api_says_which_query_was_shown(client):
    data = client.get("/api/search?q=procurment+weigthing").get_json()
    assert data["corrected"] == {
        "shown": "procurement weighting",
        "original": "procurment weigthing",
    }
    assert data["query"] == "procurment weigthing"
    assert data["suggestion"] == "procurement weighting"
    wanted = client.get("/api/search?q=procurement+weighting").get_json()
    assert data["total"] == wanted["total"]
    assert [r["doc_id"] for r in data["results"]] == [r["doc_id"] for r in wanted["results"]]
    typed = client.get("/api/search?q=procurment+weigthing&spell=off").get_json()
    assert typed["corrected"] is None and typed["suggestion"] == "procurement weighting"
    assert client.get("/api/search?q=procurement").get_json()["corrected"] is None


def test_cli_says_showing_results_for(runner, bundled_index):
    args = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
    out = runner.invoke(main, [*args, "search", "procurment", "weigthing"])
    assert out.exit_code == 0, out.output
    assert "Showing results for: procurement weighting" in out.output
    assert "Search instead for: procurment weigthing" in out.output
    typed = runner.invoke(main, [*args, "search", "procurment", "weigthing", "--as-typed"])
    assert typed.exit_code == 0, typed.output
    assert "Showing results for" not in typed.output
    assert "Did you mean: procurement weighting" in typed.output
