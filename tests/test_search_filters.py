"""Structured filters (the CLI's --org, the web's ?org=) are values, never query text: a value
holding quotes or operators cannot change what the query searches for."""

from __future__ import annotations

from urllib.parse import quote

from cli import main
from kb.access import Principal
from kb.search import SearchRequest, open_searcher

HOSTILE = 'x" -repair "'
NO_MATCH = f"No organisation matches '{HOSTILE}'. The filter was ignored."


def _ranked(result):
    return [(h.doc.doc_id, h.score) for h in result.hits]


def test_a_filter_value_is_not_read_as_query_text(bundled_index):
    searcher = open_searcher(bundled_index, Principal.shell())
    plain = searcher.search(SearchRequest(q="repair"))
    filtered = searcher.search(SearchRequest(q="repair", filters={"org": (HOSTILE,)}))
    assert plain.total > 0
    assert _ranked(filtered) == _ranked(plain)
    assert filtered.total == plain.total
    assert filtered.read_as == plain.read_as == "repair"
    assert filtered.messages == (*plain.messages, NO_MATCH)


def test_known_filter_values_still_apply(bundled_index):
    searcher = open_searcher(bundled_index, Principal.shell())
    guides = searcher.search(SearchRequest(q="repair", filters={"type": ("guide",)}))
    assert guides.total and all(h.doc.meta.type == "guide" for h in guides.hits)
    assert guides.read_as == "repair type:guide"
    assert guides.selected == {"type": ("guide",)}


def test_cli_org_option_is_a_value(runner, bundled_index):
    args = ["--corpus", str(bundled_index.corpus), "--index", str(bundled_index.index)]
    plain = runner.invoke(main, [*args, "search", "repair"])
    hostile = runner.invoke(main, [*args, "search", "repair", "--org", HOSTILE])
    assert hostile.exit_code == 0, hostile.output
    assert f"note: {NO_MATCH}" in hostile.output
    count = next(line for line in plain.output.splitlines() if " documents (" in line)
    assert count.split(",")[0] in hostile.output
    assert not hostile.output.startswith("0 documents")
    assert "\n0 documents" not in hostile.output


def test_web_org_parameter_is_a_value(client):
    plain = client.get("/api/search?q=repair").get_json()
    hostile = client.get(f"/api/search?q=repair&org={quote(HOSTILE)}").get_json()
    assert plain["total"] > 0
    assert hostile["total"] == plain["total"]
    assert [h["doc_id"] for h in hostile["results"]] == [h["doc_id"] for h in plain["results"]]
    assert NO_MATCH in hostile["messages"]
