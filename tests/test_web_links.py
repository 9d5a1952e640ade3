"""The links of the search page are the URLs `url_for` would build, whatever the request holds."""

from __future__ import annotations

import pytest
from flask import url_for

from webui.links import document_url, url_with

QUERIES = [
    "",
    "q=climate",
    "q=climate&page=3",
    "page=2&q=a+b&type=guide&type=meeting&sort=newest",
    "q=%C3%A5r+%22circular+economy%22&org=ikea&topic=product-lifespan&lang=sv",
    "q=&type=",
    "q=a%26b%3Dc%23d%2Fe%3Fx&year=2024&size=50",
    "q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&type=%22%3E%3Cb%3E",
    "org=a&org=b&org=a&q=x!$'()*,/:;?@",
    "unknown=1&q=x&page=9",
]
CHANGES = [
    {},
    {"page": 2},
    {"page": None},
    {"sort": None},
    {"sort": "newest"},
    {"q": "søk & finn"},
    {"type": []},
    {"type": ["guide"]},
    {"type": ["guide", "meeting", "a b/c"]},
    {"org": ["ikea", "skövde"], "page": 4},
    {"lang": ""},
    {"new": "value", "q": None},
]


def reference_url_with(args, **changes) -> str:
    """What the search page's links were built with before: the URL map, one link at a time."""
    params = {key: args.getlist(key) for key in args}
    if "page" not in changes:
        params.pop("page", None)
    params.update(changes)
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    return url_for("pages.search", **params)


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("script_root", ["", "/kb"])
def test_url_with_builds_what_url_for_builds(bundled_app, query, script_root):
    with bundled_app.test_request_context(
        f"{script_root}/search?{query}", base_url=f"http://localhost{script_root}"
    ) as ctx:
        for changes in CHANGES:
            assert url_with(**changes) == reference_url_with(ctx.request.args, **changes), changes


@pytest.mark.parametrize("script_root", ["", "/kb"])
def test_document_url_builds_what_url_for_builds(bundled_app, script_root):
    with bundled_app.test_request_context("/search", base_url=f"http://localhost{script_root}"):
        for doc_id in ("meetings/2024-04-24-forum-meeting", "a b/ö#?&", "x%2F..%2Fy"):
            for q in (None, "", "climate criteria", "a&b=c#d"):
                for anchor in (None, "", "weighting-of-climate-criteria-1", "p 3#x?&é"):
                    expected = url_for("pages.document", doc_id=doc_id, q=q, _anchor=anchor)
                    assert document_url(doc_id, q, anchor) == expected
                    for ref in ("0123456789ab", ""):
                        expected = url_for(
                            "pages.document", doc_id=doc_id, q=q, _anchor=anchor, **{"from": ref}
                        )
                        assert document_url(doc_id, q, anchor, ref) == expected


def test_search_links_are_the_same_after_a_new_script_root(bundled_app):
    client = bundled_app.test_client()
    plain = client.get("/search?q=climate").get_data(as_text=True)
    rooted = client.get("/search?q=climate", base_url="http://localhost/kb")
    again = client.get("/search?q=climate").get_data(as_text=True)
    assert 'href="/kb/search?' in rooted.get_data(as_text=True)
    assert 'href="/kb/static/kb.css' in rooted.get_data(as_text=True)
    assert "/kb/" not in again and again.count('href="/search?') == plain.count('href="/search?')


@pytest.mark.parametrize("script_root", ["", "/kb"])
def test_pages_link_as_with_flasks_url_for(bundled_app, script_root, monkeypatch):
    """Templates build their links from a cache (`template_url_for`): every page is the same
    as with Flask's own `url_for`."""
    client = bundled_app.test_client()
    doc = "guides/extend-lifespan-of-it-products"
    pages = ["/", "/lists", "/lists/start-here", "/search", f"/doc/{doc}", f"/cite/{doc}"]
    base = f"http://localhost{script_root}"

    def render() -> list[str]:
        answers = [client.get(page, base_url=base) for page in pages]
        assert [a.status_code for a in answers] == [200] * len(pages)
        return [a.get_data(as_text=True) for a in answers]

    cached = render()
    assert all(f'href="{script_root}/search?type=' in page for page in cached[:1])
    monkeypatch.setitem(bundled_app.jinja_env.globals, "url_for", url_for)
    assert render() == cached
