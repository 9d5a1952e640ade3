"""Atom feeds: /feed.atom and /search.atom, checked against RFC 4287's required structure,
with untrusted document text, the configured base URL and the reader's view."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from indexer.build import run_index
from kb.documents import permalink
from kb.feeds import Feed, FeedEntry, atom_xml, plain_snippet, xml_text
from kb.settings import Settings
from tests.conftest import make_public, write
from webui import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://kb.example.org/network"
NASTY_TITLE = 'Repair <script>alert("x")</script> ]]> & guide'
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
OLD = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
NEW = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


def _one(parent, name: str):
    found = parent.findall(ATOM + name)
    assert len(found) == 1, (name, len(found))
    return found[0]


def check_atom(xml: bytes) -> etree._Element:
    """The feed parsed, after checking what RFC 4287 requires: a well-formed document whose
    feed and every entry have exactly one id (an absolute IRI), title and updated (an RFC 3339
    date-time), an author (the feed's, or each entry's), an alternate link per entry, and
    unique entry ids; text constructs of type text."""
    root = etree.fromstring(xml)
    assert root.tag == ATOM + "feed"
    for element in (root, *root.findall(ATOM + "entry")):
        assert re.match(r"https?://", _one(element, "id").text or "")
        assert (_one(element, "title").text or "").strip()
        assert RFC3339.fullmatch(_one(element, "updated").text or "")
        for text in element.findall(ATOM + "summary"):
            assert text.get("type") in (None, "text")
    assert root.findall(ATOM + "author") or all(
        e.findall(ATOM + "author") for e in root.findall(ATOM + "entry")
    )
    for entry in root.findall(ATOM + "entry"):
        rels = [link.get("rel", "alternate") for link in entry.findall(ATOM + "link")]
        assert "alternate" in rels
        published = entry.findall(ATOM + "published")
        assert all(RFC3339.fullmatch(p.text or "") for p in published)
    ids = [_one(e, "id").text for e in root.findall(ATOM + "entry")]
    assert len(ids) == len(set(ids))
    (self_link,) = [x for x in root.findall(ATOM + "link") if x.get("rel") == "self"]
    assert self_link.get("href") == _one(root, "id").text
    return root


def entries(root) -> dict[str, etree._Element]:
    return {e.findtext(ATOM + "id"): e for e in root.findall(ATOM + "entry")}


@pytest.fixture(scope="module")
def feed_settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("feeds")
    corpus = base / "corpus"
    make_public(corpus)
    guide = write(
        corpus / "guides/repair.md",
        f"""
        ---
        title: '{NASTY_TITLE}'
        type: guide
        date: 2024-02-10
        ---
        # Repair

        Repairing laptops <b>extends</b> their lifespan & lowers emissions ]]> always.
        """,
    )
    meeting = write(
        corpus / "meetings/forum.md",
        """
        ---
        title: Forum on laptops
        type: meeting
        date: 2025-05-20
        ---
        # Forum

        The forum discussed laptops and their repair.
        """,
    )
    secret = write(
        corpus / "meetings/closed.md",
        """
        ---
        title: Closed glimmerwick meeting
        type: meeting
        visibility: members
        ---
        # Closed

        Members discussed glimmerwick laptops and repair.
        """,
    )
    for path, when in ((guide, OLD), (meeting, NEW), (secret, NEW)):
        os.utime(path, (when.timestamp(), when.timestamp()))
    settings = Settings.resolve(corpus, base / "index", BASE)
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return settings


@pytest.fixture(scope="module")
def feed_client(feed_settings):
    app = create_app(feed_settings, check_interval=0)
    app.config["TESTING"] = True
    return app.test_client()


def test_latest_feed_is_valid_newest_first_with_permalinks(feed_client):
    response = feed_client.get("/feed.atom", headers={"Host": "attacker.example"})
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    assert response.headers["Cache-Control"].startswith("public")
    body = response.get_data()
    root = check_atom(body)
    assert b"attacker.example" not in body  # ids and links come from the configured base URL
    assert _one(root, "id").text == f"{BASE}/feed.atom"
    found = entries(root)
    assert list(found) == [permalink(BASE, "meetings/forum"), permalink(BASE, "guides/repair")]
    forum = found[permalink(BASE, "meetings/forum")]
    assert forum.findtext(ATOM + "updated") == "2025-06-01T08:30:00+00:00"  # the file's time
    assert forum.findtext(ATOM + "published") == "2025-05-20T00:00:00+00:00"
    assert forum.find(ATOM + "link").get("href") == permalink(BASE, "meetings/forum")
    assert "laptops" in forum.findtext(ATOM + "summary")
    assert root.findtext(ATOM + "updated") == "2025-06-01T08:30:00+00:00"


def test_members_documents_never_reach_an_anonymous_feed(feed_client):
    for path in ("/feed.atom", "/search.atom?q=glimmerwick", "/search.atom?q=laptops",
                 "/search.atom?sort=newest"):  # fmt: skip
        body = feed_client.get(path).get_data(as_text=True).lower()
        assert "closed" not in body and "meetings/closed" not in body, path
        asked = ("q=glimmerwick", "search: glimmerwick")  # the feed names its own query
        for words in asked:
            body = body.replace(words, "")
        assert "glimmerwick" not in body, path


def test_a_hidden_document_answers_like_a_missing_one(feed_client):
    hidden = feed_client.get("/search.atom?q=glimmerwick")
    missing = feed_client.get("/search.atom?q=quobblewhit")
    assert hidden.status_code == missing.status_code == 200
    # The ETag is the body's hash, and the bodies differ by the query they name.
    assert {**hidden.headers, "ETag": ""} == {**missing.headers, "ETag": ""}
    assert hidden.get_data(as_text=True).replace("glimmerwick", "X") == missing.get_data(
        as_text=True
    ).replace("quobblewhit", "X")
    assert entries(check_atom(hidden.get_data())) == {}


def test_untrusted_text_is_escaped(feed_client):
    body = feed_client.get("/search.atom?q=repair").get_data()
    assert b"<script>" not in body and b"<b>" not in body and b"]]>" not in body
    root = check_atom(body)
    guide = entries(root)[permalink(BASE, "guides/repair")]
    assert guide.findtext(ATOM + "title") == NASTY_TITLE
    summary = guide.findtext(ATOM + "summary")
    assert "<mark>" not in summary and "&amp;" not in summary
    assert "lifespan & lowers emissions ]]> always" in summary


def test_a_search_feed_has_the_search_pages_filters(feed_client):
    body = feed_client.get("/search.atom?q=laptops&type=meeting&size=1&page=3").get_data()
    root = check_atom(body)
    assert _one(root, "id").text == f"{BASE}/search.atom?q=laptops&type=meeting"
    alternate = [x for x in root.findall(ATOM + "link") if x.get("rel") == "alternate"]
    assert alternate[0].get("href") == f"{BASE}/search?q=laptops&type=meeting"
    assert list(entries(root)) == [permalink(BASE, "meetings/forum")]
    assert root.findtext(ATOM + "subtitle") == "1 document"
    newest = check_atom(feed_client.get("/search.atom?q=laptops&sort=newest").get_data())
    assert list(entries(newest)) == [
        permalink(BASE, "meetings/forum"),
        permalink(BASE, "guides/repair"),
    ]


def test_characters_xml_cannot_hold_are_removed():
    assert xml_text("a\x00b\x0cc\x1fd\ttab\nline\ufffe") == "abcd\ttab\nline"
    assert plain_snippet("a <mark>repair</mark> &amp; &lt;b&gt;") == "a repair & <b>"
    when = datetime(2024, 1, 1, tzinfo=UTC)
    entry = FeedEntry("x", "Page\x0c break\x00", "https://kb.example.org/doc/x", when,
                      "Form\x0cfeed & <tags>", "guide")  # fmt: skip
    feed = Feed("https://kb.example.org/feed.atom", "Feed\x01", "https://kb.example.org/", when,
                (entry,))  # fmt: skip
    root = check_atom(atom_xml(feed))
    only = root.find(ATOM + "entry")
    assert only.findtext(ATOM + "title") == "Page break"
    assert only.findtext(ATOM + "summary") == "Formfeed & <tags>"


def test_pages_link_to_their_feeds(feed_client):
    search = feed_client.get("/search?q=laptops&type=meeting").get_data(as_text=True)
    link = re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"', search
    )
    assert link and link[1] == "/search.atom?q=laptops&amp;type=meeting"
    assert 'class="feed-link" href="/search.atom?q=laptops&amp;type=meeting"' in search
    home = feed_client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in home
    assert 'href="/feed.atom"' in home
    opensearch = feed_client.get("/opensearch.xml").get_data(as_text=True)
    assert 'type="application/atom+xml"' in opensearch
    assert "search.atom?q={searchTerms}" in opensearch


def test_an_empty_corpus_has_a_valid_feed(tmp_path: Path):
    corpus = tmp_path / "corpus"
    make_public(corpus)
    settings = Settings.resolve(corpus, tmp_path / "index", BASE)
    run_index(settings, workers=1)
    client = create_app(settings, check_interval=0).test_client()
    root = check_atom(client.get("/feed.atom").get_data())
    assert entries(root) == {}


def test_a_feed_reader_holding_the_latest_version_gets_304(feed_client):
    first = feed_client.get("/feed.atom")
    again = feed_client.get("/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    # No Last-Modified: a document whose file is older than the feed can still join it.
    assert "Last-Modified" not in first.headers
    since = feed_client.get(
        "/search.atom?q=laptops", headers={"If-Modified-Since": "Sun, 01 Jun 2025 08:30:00 GMT"}
    )
    assert since.status_code == 200
    changed = feed_client.get("/feed.atom", headers={"If-None-Match": '"an-older-version"'})
    assert changed.status_code == 200
