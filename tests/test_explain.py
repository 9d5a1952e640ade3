"""`kb search --explain` and the search page's "How was my search read?"."""

from __future__ import annotations

import json
import re

from kb.access import Principal
from kb.search import SearchRequest, open_searcher
from tests.prerequisites import needs
from tests.test_cli import kb


def explained(settings, q: str, principal: Principal | None = None, **filters):
    searcher = open_searcher(settings, principal or Principal.shell())
    request = SearchRequest(q=q, filters={k: (v,) for k, v in filters.items()})
    return searcher.explain(request)


def test_function_words_and_languages(bundled_index):
    e = explained(bundled_index, "gjenbruk av mobiltelefoner")
    assert e.languages == ("no",)
    by_word = {w.typed: w for w in e.words}
    assert by_word["av"].dropped and not by_word["gjenbruk"].dropped
    assert ("no", "mobiltelefon") in by_word["mobiltelefoner"].stems
    assert e.others  # English and Swedish passages count half
    assert "  av: left out (a function word)" in e.lines()


@needs("hunspell")
def test_compound_parts_and_their_glossary_words(bundled_index):
    (word,) = explained(bundled_index, "klimatkrav").words
    assert word.parts == ("klimat", "krav")
    assert "klimat → no: klima" in word.translations


def test_glossary_terms_prefixes_and_filters(bundled_index):
    e = explained(bundled_index, "cirkulär ekonomi lifesp* -laptop", type="guide")
    assert e.concepts == ("cirkular ekonomi",)
    assert e.prefixes and e.prefixes[0][0] == "lifesp" and e.prefixes[0][1] >= 1
    assert ("", "type", "guide") in e.filters
    assert "laptop" not in [w.typed for w in e.words]  # excluded words are not searched
    translations = {w.typed: w.translations for w in e.words}
    assert translations["ekonomi"] == () or all(":" in t for t in translations["ekonomi"])


def test_the_readers_own_filter_is_named(bundled_index):
    assert explained(bundled_index, "climate", Principal.anonymous()).visibility == (
        "public documents"
    )
    member = Principal.member("bo@skovde.example", "skovde-kommun")
    assert explained(bundled_index, "climate", member).visibility == (
        "public documents, members-only documents, documents private to Skövde kommun"
    )


def test_kb_search_explain(runner, bundled_index):
    result = kb(runner, bundled_index, "search", "--explain", "gjenbruk av mobiltelefoner")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Read as: gjenbruk av mobiltelefoner"
    assert lines[1].startswith("Languages: Norwegian")
    assert "  av: left out (a function word)" in lines
    assert "Searched in: every document (the server's shell)" in lines
    assert any(re.match(r"\d+ documents", line) for line in lines)  # then the results

    as_json = kb(runner, bundled_index, "search", "--explain", "--json", "gjenbruk av")
    data = json.loads(as_json.stdout)
    assert data["explanation"]["languages"] == ["no"]
    assert [w["typed"] for w in data["explanation"]["words"]] == ["gjenbruk", "av"]
    assert "explanation" not in json.loads(
        kb(runner, bundled_index, "search", "--json", "x").stdout
    )


def test_the_search_page_says_how_it_read_the_query(client):
    page = client.get("/search?q=gjenbruk+av+mobiltelefoner").get_data(as_text=True)
    box = re.search(r'<details class="explain">(.*?)</details>', page, re.S)
    assert box, "no 'How was my search read?' disclosure"
    text = box.group(1)
    assert "How was my search read?" in text
    assert "left out (a function word)" in text
    assert "Norwegian" in text
    assert "public documents" in text  # an anonymous visitor's results
    # nothing to explain without a query
    assert 'class="explain"' not in client.get("/search?type=guide").get_data(as_text=True)


def test_the_explanation_escapes_what_was_typed(client):
    page = client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E+climate").get_data(as_text=True)
    box = re.search(r'<details class="explain">(.*?)</details>', page, re.S).group(1)
    assert ("<script>" not in box and "&lt;script&gt;" not in box) or "<script>" not in box
