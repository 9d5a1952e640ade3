"""The web UI and JSON API through Flask's test client: every route, its JSON twin, and what a
member sees, on the bundled corpus (fixtures `client` / `bundled_app` in conftest.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest

from kb.insights import query_ref

GUIDE_PDF = "guides/extend-lifespan-of-it-products"
GUIDE_MD = "guides/strategy-for-sustainable-it"
MEETING_HTML = "meetings/2024-10-24-learning-academy"


class Page(HTMLParser):
    """Just enough of an HTML page to assert on: elements with attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_text: list[str] = []
        self._in_script = False
        self.text_parts: list[str] = []
        self.headings: list[int] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)
        else:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str | None = None, **attrs) -> list[dict[str, str | None]]:
        out = []
        for t, a in self.elements:
            if tag and t != tag:
                continue
            if all(
                (a.get(k.rstrip("_")) or "").split().__contains__(v)
                if k.rstrip("_") == "class"
                else a.get(k.rstrip("_")) == v
                for k, v in attrs.items()
            ):
                out.append(a)
        return out

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.elements if a.get("id")]


def page(client, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def assert_clean_markup(p: Page) -> None:
    """No inline script, no inline style, no event-handler attribute: what the CSP promises."""
    assert p.scripts, "every page loads kb.js"
    for script in p.scripts:
        assert script.get("src", "").startswith("/static/"), script
    assert not "".join(p.script_text).strip()
    for tag, attrs in p.elements:
        assert tag != "style"
        assert "style" not in attrs, (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")


def assert_headings_in_order(p: Page) -> None:
    assert p.headings and p.headings[0] == 1
    assert p.headings.count(1) == 1
    for before, after in zip(p.headings, p.headings[1:], strict=False):
        assert after <= before + 1, p.headings


# ---- home -------------------------------------------------------------------------------------


def test_home_has_search_counts_latest_and_lists(client):
    p = page(client, "/")
    assert_clean_markup(p)
    assert_headings_in_order(p)
    box = p.find("input", id="kb_q")[0]
    assert box["name"] == "q" and box["type"] == "search"
    assert p.find("label", for_="kb_q")
    form = p.find("form", role="search")[0]
    assert form["action"] == "/search" and form["method"] == "get"
    assert "Browse by type" in p.text and "Latest documents" in p.text
    assert "Meeting reports" in p.text and "Best-practice guides" in p.text
    assert p.find("a", href="/search?type=meeting")
    assert p.find("a", href="/lists/start-here")
    assert p.find("a", href="/lists/procurement-weighting")
    assert any((a.get("href") or "").startswith("/doc/") for a in p.find("a"))
    for landmark in ("header", "main", "footer", "nav"):
        assert p.find(landmark), landmark
    assert p.find("a", class_="skip", href="#kb_main")


def test_every_page_links_opensearch_and_passes_markup_rules(client):
    for url in ("/", "/search", "/search?q=weighting", f"/doc/{GUIDE_MD}", "/lists",
                "/lists/start-here", f"/cite/{GUIDE_PDF}?anchor=p2", "/no/such/page"):  # fmt: skip
        response = client.get(url)
        p = Page(response.get_data(as_text=True))
        links = p.find("link", rel="search")
        assert links and links[0]["href"] == "/opensearch.xml", url
        assert links[0]["type"] == "application/opensearchdescription+xml"
        assert_clean_markup(p)
        assert_headings_in_order(p)


# ---- security headers and limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/search?q=repair", f"/doc/{GUIDE_MD}", "/api/search?q=repair", "/nope", "/healthz"],
)
def test_security_headers(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_static_files_are_versioned_and_cacheable(client):
    p = page(client, "/")
    css = p.find("link", rel="stylesheet")[0]["href"]
    assert re.fullmatch(r"/static/kb\.css\?v=[0-9a-f]{10}", css)
    response = client.get(css)
    assert response.status_code == 200 and "max-age" in response.headers["Cache-Control"]
    assert client.get("/static/kb.js").status_code == 200
    assert client.get("/static/print.css").status_code == 200


def test_wrong_method_is_405_in_the_sites_style(client):
    response = client.post("/search", data={"q": "x"})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Method not allowed" in response.get_data(as_text=True)
    response = client.post("/api/search")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert client.delete(f"/doc/{GUIDE_MD}").status_code == 405


def test_oversized_request_is_413(client):
    response = client.post("/api/search", data="x" * 70_000)
    assert response.status_code == 413
    assert response.get_json() == {"error": {"status": 413, "message": "The request is too large."}}
    response = client.post("/", data="x" * 70_000)
    assert response.status_code == 413
    assert "Request too large" in response.get_data(as_text=True)


def test_query_string_abuse(client):
    many = "&".join(f"type=t{i}" for i in range(500))
    response = client.get(f"/search?q=repair&{many}")
    assert response.status_code == 400
    assert "Too many parameters" in response.get_data(as_text=True)
    response = client.get("/api/search?q=" + "a" * 40_000)
    assert response.status_code == 414
    assert response.get_json()["error"]["status"] == 414
    for value in ("-5", "0", "abc", "1e9", "99999999999999999999999999999", "", "٣"):
        response = client.get(f"/api/search?q=repair&page={value}")
        assert response.status_code == 200, value
        assert 1 <= response.get_json()["page"] <= 1000
    assert client.get("/search?q=repair&page=-3").status_code == 200
    assert client.get("/api/search?q=repair&size=100000").get_json()["page_size"] == 50
    assert client.get("/api/search?q=repair&type=x&type=y&year=abc").status_code == 200


def test_long_query_and_control_characters_explained(client):
    response = client.get("/search?q=weighting%20" + "z" * 9990)
    assert response.status_code == 200
    assert "only the first 1,000 were used" in response.get_data(as_text=True)
    response = client.get("/search?q=weight%00ing%07%1b")
    assert response.status_code == 200
    assert "Removed control characters" in response.get_data(as_text=True)


# ---- search -------------------------------------------------------------------------------------


def test_empty_search_page_helps(client):
    p = page(client, "/search")
    assert "Search the knowledge base" in p.text
    assert "Search tips" in p.text and '"circular economy"' in p.text
    assert p.find("a", href="/search?type=guide")
    assert p.find("a", href="/search?sort=newest")


def test_search_results_collapsed_to_documents(client):
    p = page(client, "/search?q=weighting+climate")
    assert re.search(r"\d+ documents for weighting climate", p.text)
    assert re.search(r"\d+ matching passages · \d+ ms", p.text)
    hits = p.find("li", class_="hit")
    assert 1 < len(hits) <= 10
    data = client.get("/api/search?q=weighting+climate").get_json()
    assert len({r["doc_id"] for r in data["results"]}) == len(data["results"]) == len(hits)
    html = client.get("/search?q=weighting+climate").get_data(as_text=True)
    first = data["results"][0]
    # `from` tells the document page which search the reader came from (search insights).
    ref = query_ref("weighting climate")
    link = f"/doc/{first['doc_id']}?q=weighting+climate&amp;from={ref}#{first['anchor']}"
    assert f'href="{link}"' in html
    assert "<mark>" in html
    assert "more passages in this document" in html
    assert 'class="badge type-' in html
    assert first["title"] in html
    for name in ("type", "year", "org", "topic", "lang"):
        assert p.find("h3", id=f"facet-{name}-h"), name


def test_search_shows_heading_path_and_page(client):
    html = client.get("/search?q=spare+parts+warranty").get_data(as_text=True)
    assert re.search(r'<span class="page">Page \d+</span>', html)
    assert " › " in html


def test_facet_narrows_and_can_be_removed(client):
    everything = client.get("/api/search?q=procurement").get_json()
    types = {f["value"]: f["count"] for f in everything["facets"]["type"]}
    assert len(types) > 1
    chosen = "guide"
    p = page(client, "/search?q=procurement")
    facet_links = [a["href"] for a in p.find("a", class_="facet-value")]
    link = next(h for h in facet_links if "type=guide" in h)
    assert parse_qs(urlsplit(link).query) == {"q": ["procurement"], "type": [chosen]}

    narrowed = client.get("/api/search" + link[len("/search") :]).get_json()
    assert narrowed["total"] == types[chosen] < everything["total"]
    assert {r["type"] for r in narrowed["results"]} == {chosen}
    assert narrowed["selected"] == {"type": [chosen]}

    p = page(client, link)
    selected = p.find("a", class_="selected")
    assert selected and all("type=" not in a["href"] for a in selected)
    removable = p.find("a", class_="removable")
    assert len(removable) == 1 and removable[0]["href"] == "/search?q=procurement"
    assert "Filtered by" in p.text and "Remove filter Type: Best-practice guide" in p.text
    # The header's search box keeps the filter when the query is refined.
    assert p.find("input", type="hidden", name="type", value="guide")


def test_a_second_value_of_a_chosen_facet_can_be_added(client):
    """After choosing one type, the other types stay on offer with their own counts; adding
    one shows the documents of either type (OR within a facet)."""
    everything = client.get("/api/search?q=procurement").get_json()
    types = {f["value"]: f["count"] for f in everything["facets"]["type"]}
    p = page(client, "/search?q=procurement&type=guide")
    links = {a["href"] for a in p.find("a", class_="facet-value")}
    add = next(h for h in links if parse_qs(urlsplit(h).query).get("type") == ["guide", "meeting"])
    both = client.get("/api/search" + add[len("/search") :]).get_json()
    assert both["total"] == types["guide"] + types["meeting"]
    assert {r["type"] for r in both["results"]} == {"guide", "meeting"}
    assert both["selected"] == {"type": ["guide", "meeting"]}


def test_filters_combine_and_keep_the_query(client):
    p = page(client, "/search?q=procurement&type=meeting&year=2024")
    data = client.get("/api/search?q=procurement&type=meeting&year=2024").get_json()
    assert all(r["type"] == "meeting" and r["year"] == 2024 for r in data["results"])
    hrefs = [a["href"] for a in p.find("a", class_="removable")]
    assert sorted(hrefs) == sorted(
        ["/search?q=procurement&year=2024", "/search?q=procurement&type=meeting"]
    )
    assert p.find("a", class_="clear", href="/search?q=procurement")


def test_filters_without_a_query_browse_documents(client):
    data = client.get("/api/search?type=guide").get_json()
    p = page(client, "/search?type=guide")
    assert len(p.find("li", class_="hit")) == data["total"] == 3
    p = page(client, "/search?sort=newest")
    assert len(p.find("li", class_="hit")) == 10
    assert "16 documents" in p.text


def test_sort_newest(client):
    data = client.get("/api/search?q=procurement&sort=newest").get_json()
    dates = [r["date"] or "" for r in data["results"]]
    assert dates == sorted(dates, reverse=True)
    p = page(client, "/search?q=procurement&sort=newest")
    current = p.find("a", **{"aria-current": "true"})
    assert any(a["href"].endswith("sort=newest") for a in current)
    data = client.get("/api/search?q=procurement&sort=bogus").get_json()
    assert data["sort"] == "relevance"
    assert any("Unknown sort" in m for m in data["messages"])


def test_pagination(client):
    first = client.get("/api/search?q=procurement&size=2").get_json()
    assert first["pages"] > 2
    second = client.get("/api/search?q=procurement&size=2&page=2").get_json()
    assert {r["doc_id"] for r in first["results"]}.isdisjoint(
        r["doc_id"] for r in second["results"]
    )
    p = page(client, "/search?q=procurement&size=2&page=2")
    nav = p.find("nav", class_="pagination")
    assert nav and nav[0]["aria-label"] == "Pages of results"
    assert p.find("a", rel="next", href="/search?q=procurement&size=2&page=3")
    assert p.find("a", rel="prev", href="/search?q=procurement&size=2")
    current = [a["href"] for a in p.find("a", **{"aria-current": "page"}) if "q=" in a["href"]]
    assert current == ["/search?q=procurement&size=2&page=2"]
    assert p.find("ol", class_="hits")[0]["start"] == "3"
    p = page(client, "/search?q=procurement&page=999")
    assert re.search(r"There (is|are) only \d+ pages? of results", p.text)
    assert p.find("a", href="/search?q=procurement")


def test_did_you_mean(client):
    # As typed (spell=off): "wieghting" itself finds nothing, and the correction is offered.
    p = page(client, "/search?q=wieghting&spell=off")
    assert "No documents" in p.text
    assert re.search(r"Did you mean weighting ?\?", p.text)
    assert p.find("a", href="/search?q=weighting")
    assert client.get("/api/search?q=wieghting").get_json()["suggestion"] == "weighting"


def test_read_as_shown_when_the_query_was_adjusted(client):
    p = page(client, '/search?q="circular+economy')
    notice = p.find("div", class_="read-as")
    assert notice and notice[0]["role"] == "status"
    assert "Searched for" in p.text and "Added the missing closing quote." in p.text
    p = page(client, "/search?q=repair+year:abc")
    assert "year: expects a year" in p.text
    assert not page(client, "/search?q=repair").find("div", class_="read-as")


def test_no_results_state_helps(client):
    p = page(client, "/search?q=xylophonequartz")
    assert "No documents" in p.text and "Nothing matched" in p.text
    assert "Check the spelling" in p.text
    assert p.find("a", href="/search?q=upphandling")
    p = page(client, "/search?q=xylophonequartz&type=guide")
    assert p.find("a", href="/search?q=xylophonequartz")  # search without filters


def test_search_api_shape(client):
    data = client.get("/api/search?q=lifespan&type=guide").get_json()
    for key in ("query", "read_as", "messages", "total", "total_passages", "page", "page_size",
                "pages", "sort", "elapsed_ms", "suggestion", "generation", "selected", "facets",
                "results"):  # fmt: skip
        assert key in data, key
    assert set(data["facets"]) == {"type", "year", "lang", "org", "topic"}
    facet = data["facets"]["type"][0]
    assert set(facet) == {"value", "label", "count", "selected"}
    hit = data["results"][0]
    for key in ("doc_id", "title", "type", "date", "organisations", "topics", "anchor", "page",
                "heading_path", "snippet", "more_passages", "permalink", "passages"):  # fmt: skip
        assert key in hit, key


# ---- documents ----------------------------------------------------------------------------------


def test_document_passages_have_their_anchors_as_ids(client):
    data = client.get(f"/api/doc/{GUIDE_MD}").get_json()
    p = page(client, f"/doc/{GUIDE_MD}")
    sections = p.find("section", class_="passage")
    assert [s["id"] for s in sections] == [x["anchor"] for x in data["passages"]]
    assert [s["data-hash"] for s in sections] == [x["text_hash"] for x in data["passages"]]
    assert len(set(p.ids())) == len(p.ids()), "ids are unique"
    assert_headings_in_order(p)
    assert data["title"] in p.text and "Best-practice guide" in p.text
    assert "Reading time" in p.text and "Contents" in p.text and "Related documents" in p.text
    for x in data["passages"]:
        link = f"/doc/{GUIDE_MD}?v={x['text_hash']}#{x['anchor']}"
        assert p.find("a", class_="permalink", href=link)


def test_document_highlights_query_terms(client):
    html = client.get(f"/doc/{GUIDE_MD}?q=weighting").get_data(as_text=True)
    assert re.search(r"<mark>weighting</mark>", html, re.IGNORECASE)
    p = Page(html)
    assert re.search(r"\d+ matches for weighting highlighted", p.text)
    assert p.find("a", href="/search?q=weighting")
    assert p.find("a", href=f"/doc/{GUIDE_MD}")  # clear highlighting
    assert "<mark>" not in client.get(f"/doc/{GUIDE_MD}").get_data(as_text=True)


def test_pdf_document_has_page_labels_and_original(client):
    p = page(client, f"/doc/{GUIDE_PDF}")
    labels = [a for a in p.find("h2", class_="page-label")]
    assert len(labels) == 5
    assert "Page 1" in p.text and "Page 5" in p.text
    original = p.find("a", href=f"/original/{GUIDE_PDF}")
    assert original
    response = client.get(f"/original/{GUIDE_PDF}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_original_markdown_is_plain_text_and_html_a_download(client):
    response = client.get(f"/original/{GUIDE_MD}")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response = client.get(f"/original/{MEETING_HTML}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert (
        disposition.startswith("attachment;") and "2024-10-24-learning-academy.html" in disposition
    )
    assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "url",
    [
        "/original/../../../../etc/passwd",
        "/original/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/original/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/original//etc/passwd",
        "/original/etc/passwd",
        "/original/guides/extend-lifespan-of-it-products.pdf",
        "/original/guides/extend-lifespan-of-it-products%00.pdf",
        "/original/..%5c..%5cwindows%5cwin.ini",
        "/original/organisations",
        "/original/reading-lists/start-here",
        "/original/",
        "/doc/../../etc/passwd",
        "/doc/%2e%2e%2fcorpus%2forganisations",
    ],
)
def test_traversal_is_404_and_reads_nothing(client, url):
    response = client.get(url)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "root:" not in body and "[[organisation]]" not in body


def test_original_file_stays_inside_the_corpus(tmp_path, bundled_index):
    from kb.library import DocInfo
    from kb.models import DocumentMetadata
    from kb.settings import Settings
    from webui.originals import original_file, safe_download_name

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.md").write_text("hello")
    (tmp_path / "secret.txt").write_text("secret")
    (corpus / "link.md").symlink_to(tmp_path / "secret.txt")
    settings = Settings.resolve(corpus, tmp_path / "index")

    def info(path: str, fmt: str = "markdown") -> DocInfo:
        return DocInfo("x", path, fmt, DocumentMetadata(title="x"), "", None, 1)

    assert original_file(settings, info("ok.md")).path == (corpus / "ok.md").resolve()
    for bad in ("../secret.txt", str(tmp_path / "secret.txt"), "link.md", "missing.md", "",
                "ok.md\x00.txt", "."):  # fmt: skip
        assert original_file(settings, info(bad)) is None, bad
    assert safe_download_name('a "b"\r\n;c.pdf') == "a-b-c.pdf"
    assert safe_download_name("../../x") == "x"


def test_document_changed_passage_notice(client):
    data = client.get(f"/api/doc/{GUIDE_MD}").get_json()
    passage = data["passages"][3]
    p = page(client, f"/doc/{GUIDE_MD}?v={passage['text_hash']}")
    assert "has changed since it was cited" not in p.text
    assert p.find("section", id=passage["anchor"])[0]["class"] == "passage cited"
    p = page(client, f"/doc/{GUIDE_MD}?v=0123456789ab")
    assert "This passage has changed since it was cited." in p.text
    for junk in ("<script>", "zzz", "1" * 200):
        assert "has changed" not in page(client, f"/doc/{GUIDE_MD}?v={junk}").text
    # A missing anchor (the fragment never reaches the server) is noticed by kb.js.
    notice = p.find("p", id="kb_missing_anchor")[0]
    assert "hidden" in notice


def test_document_cite_controls_work_without_javascript(client):
    p = page(client, f"/doc/{GUIDE_PDF}")
    details = p.find("details", class_="cite")
    assert len(details) == 1 + 10  # the document, and each passage
    passage_cite = details[4]
    assert passage_cite["data-cite"] == f"/api/cite/{GUIDE_PDF}"
    assert passage_cite["data-anchor"] == "p2-2"
    downloads = [a["href"] for a in p.find("a") if "download" in a and "anchor=p2-2" in a["href"]]
    assert len(downloads) == 5
    assert f"/api/cite/{GUIDE_PDF}?anchor=p2-2&format=bibtex&download=1" in downloads
    assert p.find("a", href=f"/cite/{GUIDE_PDF}?anchor=p2-2")
    assert p.find("a", href=f"/cite/{GUIDE_PDF}")


def test_document_404(client):
    p = page(client, "/doc/no/such/document", status=404)
    assert "Page not found" in p.text and "no document with id" in p.text
    response = client.get("/api/doc/no/such/document")
    assert response.status_code == 404
    assert "no document" in response.get_json()["error"]["message"]


def test_document_api_shape(client):
    data = client.get(f"/api/doc/{GUIDE_PDF}").get_json()
    assert data["doc_id"] == GUIDE_PDF and data["page_count"] == 5
    assert {"anchor", "page", "text", "text_hash", "heading_path", "permalink"} <= set(
        data["passages"][0]
    )
    related = data["related"]
    assert related and len({r["doc_id"] for r in related}) == len(related)
    assert GUIDE_PDF not in {r["doc_id"] for r in related}


# ---- citations ----------------------------------------------------------------------------------


def test_cite_api_all_formats(client):
    response = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3")
    assert response.status_code == 200
    data = response.get_json()
    citation = data["citation"]
    assert citation["doc_id"] == GUIDE_PDF and citation["anchor"] == "p3" and citation["page"] == 3
    assert citation["permalink"].endswith(f"/doc/{GUIDE_PDF}?v={citation['text_hash']}#p3")
    assert [f["format"] for f in data["formats"]] == [
        "text",
        "markdown",
        "bibtex",
        "ris",
        "csl-json",
    ]
    assert data["style"] == "apa"
    assert [s["style"] for s in data["styles"]] == [
        "apa",
        "harvard-cite-them-right",
        "chicago-author-date",
        "ieee",
        "vancouver",
    ]
    for f in data["formats"]:
        assert f["text"] and f["file_name"] and f["media_type"]
        # The text and Markdown downloads keep the style they were shown in.
        style = "&style=apa" if f["format"] in ("text", "markdown") else ""
        assert f["styled"] == bool(style)
        assert f["download"] == (
            f"/api/cite/{GUIDE_PDF}?anchor=p3&format={f['format']}{style}&download=1"
        )


def test_cite_api_style(client):
    data = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&style=ieee").get_json()
    assert data["style"] == "ieee"
    text = {f["format"]: f for f in data["formats"]}["text"]
    assert text["text"].startswith("[1] ASF Leadership for Change, “Extend the lifespan")
    assert text["text"].endswith("\nIn text: [1, p. 3]")
    assert text["download"].endswith("&format=text&style=ieee&download=1")
    response = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&format=text&style=Vancouver")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("1. ASF Leadership for Change. Extend")


def test_cite_api_writes_the_styles_words_in_the_asked_language(client):
    english = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&format=text").get_data(as_text=True)
    data = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&lang=sv").get_json()
    assert data["lang"] == "sv"
    text = {f["format"]: f for f in data["formats"]}["text"]
    assert "s. 3" in text["text"] and "p. 3" in english
    assert text["download"].endswith("&format=text&style=apa&lang=sv&download=1")
    swedish = client.get(text["download"]).get_data(as_text=True)
    assert swedish.rstrip("\n") == text["text"]
    # the title stays as written; BibTeX, RIS and CSL-JSON do not change with the language
    assert "Extend the lifespan" in text["text"]
    bibtex = {f["format"]: f for f in data["formats"]}["bibtex"]
    assert "lang=" not in bibtex["download"]
    assert client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&lang=xx").get_json()["lang"] == "en"


def test_the_cite_page_writes_the_styles_words_in_the_pages_language(client):
    swedish = client.get(f"/cite/{GUIDE_PDF}?anchor=p3", headers={"Accept-Language": "sv"})
    english = client.get(f"/cite/{GUIDE_PDF}?anchor=p3", headers={"Accept-Language": "en"})
    assert "s. 3" in swedish.get_data(as_text=True)
    assert "p. 3" in english.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fmt", "media", "start"),
    [
        ("text", "text/plain", "ASF Leadership for Change. (2023)."),
        ("markdown", "text/markdown", "ASF Leadership for Change. (2023)."),
        ("bibtex", "application/x-bibtex", "@techreport{"),
        ("ris", "application/x-research-info-systems", "TY  - RPRT"),
        ("csl-json", "application/vnd.citationstyles.csl+json", "["),
    ],
)
def test_cite_api_one_format(client, fmt, media, start):
    response = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&format={fmt}")
    assert response.status_code == 200
    assert response.mimetype == media and response.mimetype_params["charset"] == "utf-8"
    assert response.get_data(as_text=True).startswith(start)
    assert response.headers["Content-Disposition"].startswith("inline")
    response = client.get(f"/api/cite/{GUIDE_PDF}?anchor=p3&format={fmt}&download=1")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert re.search(r"filename=[\w.-]+\.(txt|md|bib|ris|json)$", disposition)


def test_cite_api_errors(client):
    response = client.get(f"/api/cite/{GUIDE_PDF}?format=docx")
    assert response.status_code == 400
    assert "Unknown citation format" in response.get_json()["error"]["message"]
    response = client.get(f"/api/cite/{GUIDE_PDF}?anchor=nope")
    assert response.status_code == 404 and response.is_json
    assert client.get("/api/cite/no/such/doc").status_code == 404
    assert client.get(f"/cite/{GUIDE_PDF}?anchor=nope").status_code == 404


def test_unknown_style_is_a_400_listing_the_styles(client):
    styles = ["apa", "harvard-cite-them-right", "chicago-author-date", "ieee", "vancouver"]
    response = client.get(f"/api/cite/{GUIDE_PDF}?style=mla&format=text")
    assert response.status_code == 400 and response.is_json
    error = response.get_json()["error"]
    assert error["styles"] == styles
    assert error["message"] == f"Unknown citation style 'mla'; choose one of {', '.join(styles)}."
    p = page(client, f"/cite/{GUIDE_PDF}?style=<b>mla</b>", status=400)
    assert f"Unknown citation style '<b>mla</b>'; choose one of {', '.join(styles)}." in p.text
    assert not p.find("b")  # the name is shown as text, never as markup


def test_cite_page_shows_every_format(client):
    p = page(client, f"/cite/{GUIDE_MD}?anchor=step-2-establish-a-baseline")
    assert_headings_in_order(p)
    assert [h for h in ("Plain text", "Markdown", "BibTeX", "RIS", "CSL-JSON") if h in p.text]
    assert len(p.find("pre")) == 5
    assert len(p.find("button", class_="copy")) == 5
    assert all("hidden" in b for b in p.find("button", class_="copy"))  # shown by kb.js
    assert "Step 2: Establish a baseline" in p.text
    assert p.find("a", href=f"/doc/{GUIDE_MD}#step-2-establish-a-baseline")
    whole = page(client, f"/cite/{GUIDE_MD}")
    assert "The whole document" in whole.text
    # The style menu: the chosen style marked, each other one a link that keeps the passage.
    menu = "Style: APA 7th edition · Harvard (Cite Them Right) · Chicago author-date · IEEE · "
    assert menu + "Vancouver" in p.text
    assert len(p.find("strong", **{"aria-current": "true"})) == 1
    here = f"/cite/{GUIDE_MD}?anchor=step-2-establish-a-baseline"
    assert not p.find("a", href=f"{here}&style=apa")
    for style in ("harvard-cite-them-right", "chicago-author-date", "ieee", "vancouver"):
        assert p.find("a", href=f"{here}&style={style}"), style
    ieee = page(client, f"{here}&style=ieee")
    assert "Plain text (IEEE)" in ieee.text and "In text: [1, Sec. Step 2: Establish" in ieee.text
    assert ieee.find(
        "a",
        href=f"/api/cite/{GUIDE_MD}?anchor=step-2-establish-a-baseline"
        "&format=text&style=ieee&download=1",
    )


# ---- reading lists ------------------------------------------------------------------------------


def test_lists_page(client):
    p = page(client, "/lists")
    assert_headings_in_order(p)
    assert "Start here" in p.text and "Weighting sustainability in procurement" in p.text
    assert p.find("li", class_="list-card", **{"data-list": "start-here"})
    assert "8 items" in p.text and "about 55 min" in p.text


def test_reading_list_page(client):
    p = page(client, "/lists/start-here")
    assert_headings_in_order(p)
    items = p.find("li", class_="reading-item")
    assert len(items) == 8
    assert p.find("a", href="/doc/about/statement-of-commitment")
    assert "The principles your organisation has signed." in p.text
    assert "5 min read" in p.text and "Best-practice guide" in p.text
    assert "The commitment" in p.text  # a section heading
    boxes = p.find("input", type="checkbox")
    assert len(boxes) == 8 and all(b["data-ref"] for b in boxes)
    assert all("hidden" in d for d in p.find("div", class_="done-box"))  # kb.js shows them
    progress = p.find("progress")
    assert progress and progress[0]["max"] == "8"
    assert "hidden" in p.find("div", class_="progress-box")[0]


def test_reading_list_404_and_api(client):
    page(client, "/lists/no-such-list", status=404)
    page(client, "/lists/..%2f..%2fetc", status=404)
    response = client.get("/api/lists/no-such-list")
    assert response.status_code == 404 and response.is_json
    data = client.get("/api/lists").get_json()
    assert [rl["slug"] for rl in data["lists"]] == ["procurement-weighting", "start-here"]
    assert data["problems"] == []
    data = client.get("/api/lists/start-here").get_json()
    assert data["slug"] == "start-here" and data["missing"] == 0
    assert len(data["items"]) == 8 and data["items"][0]["title"]
    assert data["sections"][0]["title"] == "The commitment"


# ---- browser integration and health -------------------------------------------------------------


def test_opensearch_description(client):
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ElementTree.fromstring(response.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert root.find("os:ShortName", ns).text
    urls = {u.get("type"): u.get("template") for u in root.findall("os:Url", ns)}
    # The configured public address, not the Host header the request came with (localhost).
    base = client.application.config["KB_SETTINGS"].base_url
    assert urls["text/html"] == f"{base}/search?q={{searchTerms}}"
    assert urls["application/x-suggestions+json"] == f"{base}/api/suggest?q={{searchTerms}}"


def test_suggestions_in_opensearch_format(client):
    response = client.get("/api/suggest?q=proc")
    assert response.status_code == 200
    assert response.mimetype == "application/x-suggestions+json"
    query, completions, descriptions, urls = response.get_json()
    assert query == "proc"
    assert 0 < len(completions) <= 8
    assert len(completions) == len(descriptions) == len(urls)
    assert "procurement" in completions
    assert all(c.lower().startswith("proc") or " proc" in c.lower() for c in completions)
    assert all(u.startswith("http://localhost/") for u in urls)
    assert all(not c.startswith("b'") for c in completions)


def test_suggestions_from_titles_and_vocabulary(client):
    _, completions, descriptions, urls = client.get("/api/suggest?q=extend+the").get_json()
    assert "Extend the lifespan of your company's IT products" in completions
    i = completions.index("Extend the lifespan of your company's IT products")
    assert urls[i] == f"http://localhost/doc/{GUIDE_PDF}"
    _, completions, descriptions, _ = client.get("/api/suggest?q=skovde").get_json()
    assert completions[0] == "Skövde kommun" and descriptions[0] == "Member organisation"
    assert client.get("/api/suggest?q=").get_json() == ["", [], [], []]
    assert client.get("/api/suggest").get_json() == ["", [], [], []]
    long = client.get("/api/suggest?q=" + "x" * 5000).get_json()
    assert long[1] == [] and len(long[0]) == 100
    assert client.get("/api/suggest?q=%00%01*").status_code == 200


def test_healthz(client, bundled_index):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "ok"
    assert data["generation"].startswith("gen-")
    assert data["documents"] == 16 and data["passages"] > 16
    assert sum(data["by_type"].values()) == 16


def test_api_index_is_the_home_pages_twin(client):
    data = client.get("/api/").get_json()
    assert data["documents"] == 16
    assert data["by_type"]["meeting"] == 6
    assert len(data["latest"]) == 6 and data["latest"][0]["doc_id"]
    assert {rl["slug"] for rl in data["lists"]} == {"start-here", "procurement-weighting"}
    assert client.get("/api").status_code == 200  # no redirect
    assert client.get("/api/nothing-here").get_json()["error"]["status"] == 404


def test_head_requests(client):
    assert client.head("/").status_code == 200
    assert client.head("/api/search?q=repair").status_code == 200


# ---- errors ------------------------------------------------------------------------------------


def test_404_page_in_the_sites_style(client):
    p = page(client, "/this/does/not/exist", status=404)
    assert "Error 404" in p.text and "Page not found" in p.text
    assert p.find("input", id="kb_q")  # the search box is there to recover
    assert p.find("a", href="/")


def test_500_never_leaks_a_traceback(bundled_index):
    from webui import create_app

    app = create_app(bundled_index, check_interval=0)

    @app.get("/boom")
    def boom():
        raise RuntimeError(f"secret detail in {bundled_index.corpus}")

    @app.get("/api/boom")
    def api_boom():
        raise KeyError("secret")

    client = app.test_client()
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert (
        "Traceback" not in body and "secret" not in body and str(bundled_index.corpus) not in body
    )
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert response.get_json()["error"]["message"].startswith("Something went wrong")


def test_not_found_messages_hide_server_paths(bundled_index):
    from kb.errors import NotFound
    from webui import create_app

    app = create_app(bundled_index, check_interval=0)

    @app.get("/lost")
    def lost():
        raise NotFound(f"nothing at {bundled_index.corpus}/reading-lists/x.toml")

    body = app.test_client().get("/lost").get_data(as_text=True)
    assert str(bundled_index.corpus) not in body and "reading-lists/x.toml" in body


def test_503_when_there_is_no_index(tmp_path):
    from kb.settings import Settings
    from webui import create_app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    app = create_app(Settings.resolve(corpus, tmp_path / "no-index"), check_interval=0)
    client = app.test_client()
    for url in ("/", "/search?q=x", "/doc/a", "/lists/start-here"):
        response = client.get(url)
        assert response.status_code == 503, url
        body = response.get_data(as_text=True)
        assert "kb index" in body and "Traceback" not in body and str(tmp_path) not in body
    for url in ("/api/search?q=x", "/api/doc/a", "/healthz", "/api/suggest?q=ab"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "kb index" in response.get_json()["error"]["message"]
        assert response.headers["Retry-After"]
    assert client.get("/static/kb.css").status_code == 200
    assert client.get("/opensearch.xml").status_code == 200


# ---- hostile document text ------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EVIL_MD = f"""---
title: "{SCRIPT} Evil title {IMG}"
type: article
date: 2024-05-01
description: "{IMG} described"
author: "{SCRIPT}"
source_url: "javascript:alert(1)"
topics: ["<b>bold</b>"]
---
# {SCRIPT} Evil heading

Body with {SCRIPT} and {IMG} and [click me](javascript:alert(1)) xssmarker.

## Second {IMG}

More text <a href="javascript:alert(1)">link</a> javascript:alert(1) xssmarker.
"""
EVIL_HTML = """<!doctype html><html><head><title>&lt;script&gt;alert(1)&lt;/script&gt; html page</title>
<script>alert(2)</script></head><body><h1>&lt;img src=x onerror=alert(1)&gt; heading</h1>
<p>Paragraph &lt;script&gt;alert(1)&lt;/script&gt; xssmarker <a href="javascript:alert(1)">js link</a>
<img src=x onerror="alert(1)"></p></body></html>
"""
EVIL_LIST = f"""title = "{SCRIPT} list"
audience = "{IMG}"
description = "Read {SCRIPT} this"

[[item]]
ref = "articles/evil"
note = "{IMG} note"
section = "{SCRIPT} section"
minutes = 3

[[item]]
ref = "articles/gone-missing"
note = "This one is missing."

[[item]]
ref = "articles/evil#no-such-anchor"
note = "So is this passage."
"""


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory):
    """A tiny corpus whose titles, metadata and text try to run script."""
    from indexer.build import run_index
    from kb.settings import Settings
    from tests.conftest import make_public
    from webui import create_app

    base = tmp_path_factory.mktemp("evil")
    corpus = base / "corpus"
    (corpus / "articles").mkdir(parents=True)
    (corpus / "about").mkdir()
    (corpus / "reading-lists").mkdir()
    (corpus / "articles" / "evil.md").write_text(EVIL_MD, encoding="utf-8")
    (corpus / "about" / "evil.html").write_text(EVIL_HTML, encoding="utf-8")
    (corpus / "reading-lists" / "evil.toml").write_text(EVIL_LIST, encoding="utf-8")
    make_public(corpus)  # anonymous pages must show the hostile documents to prove them inert
    settings = Settings.resolve(corpus, base / "index")
    run_index(settings, workers=1)
    app = create_app(settings, check_interval=0)
    return app.test_client()


EVIL_PAGES = [
    "/",
    "/search?q=xssmarker",
    "/search?q=evil",
    "/search?sort=newest",
    "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
    "/search?q=evil&type=%3Cscript%3Ealert(1)%3C/script%3E&topic=%3Cimg+src=x+onerror=alert(1)%3E",
    "/doc/articles/evil",
    "/doc/articles/evil?q=%3Cscript%3E+xssmarker",
    "/doc/about/evil",
    "/cite/articles/evil",
    "/cite/articles/evil?anchor=second-img-src-x-onerror-alert-1",
    "/lists",
    "/lists/evil",
    "/doc/%3Cscript%3Ealert(1)%3C/script%3E",
    "/lists/%3Cscript%3E",
]


@pytest.mark.parametrize("url", EVIL_PAGES)
def test_hostile_text_is_shown_as_text_and_runs_nothing(evil_client, url):
    response = evil_client.get(url)
    assert response.status_code in (200, 404), url
    html = response.get_data(as_text=True)
    assert SCRIPT not in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert 'href="javascript:' not in html.lower()
    p = Page(html)
    assert_clean_markup(p)
    # No element of the page came from the document: only our own tags are there.
    assert not p.find("img") and not p.find("b")


def test_hostile_text_is_visible_as_text(evil_client):
    html = evil_client.get("/doc/articles/evil").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil title" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    p = Page(html)
    assert f"{SCRIPT} Evil title" in p.text
    assert "javascript:alert(1)" in p.text  # the link target stays plain text
    # The metadata's `javascript:` source URL is not made a link either.
    assert not [a for a in p.find("a") if "alert" in (a.get("href") or "")]
    html = evil_client.get("/doc/about/evil").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; html page" in html


def test_hostile_text_in_json_and_downloads_is_inert(evil_client):
    response = evil_client.get("/api/doc/articles/evil")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert SCRIPT in response.get_json()["title"]
    for fmt in ("text", "markdown", "bibtex", "ris", "csl-json"):
        response = evil_client.get(f"/api/cite/articles/evil?format={fmt}")
        assert response.mimetype != "text/html"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    response = evil_client.get("/original/about/evil")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    _, completions, _, _ = evil_client.get("/api/suggest?q=%3Cscript").get_json()
    assert evil_client.get("/api/suggest?q=%3Cscript").mimetype == "application/x-suggestions+json"
    assert isinstance(completions, list)


def test_reading_list_with_missing_items_is_not_a_500(evil_client):
    p = page(evil_client, "/lists/evil")
    items = p.find("li", class_="reading-item")
    assert len(items) == 3
    assert [i["class"] for i in items] == [
        "reading-item",
        "reading-item missing",
        "reading-item missing",
    ]
    assert "Missing articles/gone-missing" in p.text
    assert "2 items are missing from the knowledge base" in p.text
    assert len(p.find("input", type="checkbox")) == 1
    assert p.find("progress")[0]["max"] == "1"
    data = evil_client.get("/api/lists/evil").get_json()
    assert data["missing"] == 2
    assert [i["missing"] is None for i in data["items"]] == [True, False, False]


@pytest.mark.parametrize(
    "url", ["/api", "/lists/", "//evil.example/", "/doc//evil.example", "/search/"]
)
def test_nothing_redirects(client, url):
    response = client.get(url, headers={"Host": "evil.example"})
    assert not 300 <= response.status_code < 400, (url, response.headers.get("Location"))
