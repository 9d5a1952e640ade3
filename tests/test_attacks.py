"""Hostile requests and hostile documents against the web UI and the JSON API.

One test (or one parametrized family) per attack: path traversal on every route that takes an
id, a slug or a path, through Flask's test client and, because the test client normalises
some paths, as raw HTTP against a real `kb serve`; stored XSS from every field a document, a
sidecar, the vocabularies or a reading list can set, and reflected XSS from every parameter
that is echoed; open redirects; oversized requests; query-string abuse; wrong methods; and
error pages, none of which may show a traceback or a server path.

The corpus is built in code. A canary file with a unique token lies next to the corpus, and
two more inside it where no document may come from (the root's `_sources/` folder of
generated sources, ignored by default, and a hidden folder); no response may ever contain the token, and no request may open a file
outside the corpus, the index and kb's own code (an audit hook records every open).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
import re
import shutil
import sys
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit

import pytest

from benchmarks.soak import KbServer, http_request
from indexer.build import run_index
from kb.settings import Settings
from tests.conftest import BUNDLED_CORPUS, ROOT, make_public

# ---- payloads --------------------------------------------------------------------------------

SCRIPT = '<script>alert("kbxss")</script>'
IMG = "<img src=x onerror=alert(1)>"
BREAKOUT = '"><svg onload=alert(1)>'
SQUOTE = "' onmouseover='alert(1)' x='"
TITLE_BREAK = "</title><script>alert(2)</script>"
TEXTAREA_BREAK = "</textarea><script>alert(3)</script>"
SSTI = "kbssti{{7*7}}${7*7}"
HOSTILE = f"{SCRIPT} {IMG} {BREAKOUT} {SQUOTE} {TITLE_BREAK} {TEXTAREA_BREAK} {SSTI}"
EVIL_ORG_ID = 'x"><script>alert(9)</script>'
JS_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
           "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)"]  # fmt: skip
# The names of two documents are themselves hostile or awkward in a URL.
EVIL_NAME = "x\"'><svg onload=alert(1)>"
ODD_NAME = "odd #?%2e&name"

# The site's own inline SVG icons are allowed (an injected <svg onload> fails the on* check).
DANGEROUS_TAGS = {"iframe", "object", "embed", "math", "img", "base", "frame",
                  "frameset", "applet", "audio", "video", "source", "style", "template"}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "srcdoc",
                  "xlink:href", "background", "cite", "manifest"}  # fmt: skip
BAD_SCHEMES = ("javascript:", "data:", "vbscript:", "file:")


def q(value: str) -> str:
    return quote(value, safe="")


# ---- the hostile corpus -----------------------------------------------------------------------


def yaml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML string


def toml_str(value: str) -> str:
    return json.dumps(value)  # and a TOML basic string, escapes included


def build_corpus(corpus: Path, token: str) -> None:
    def put(rel: str, text: str) -> None:
        path = corpus / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    put("organisations.toml", f"""
[[organisation]]
id = "evilorg"
name = {toml_str(HOSTILE + " Org")}
aliases = [{toml_str(IMG)}, "Evil Org"]

[[organisation]]
id = {toml_str(EVIL_ORG_ID)}
name = {toml_str(BREAKOUT + " odd id")}
""")  # fmt: skip
    make_public(corpus)  # the hostile documents must reach anonymous readers' pages
    put("topics.toml", f"""
[[topic]]
id = "eviltopic"
name = {toml_str(HOSTILE + " Topic")}
[topic.keywords]
en = ["kbxss"]
""")  # fmt: skip
    body = f"""
# {SCRIPT} Evil heading {IMG}

Body with {SCRIPT} and {IMG} and {BREAKOUT} kbxss marker.
A [markdown link](javascript:alert(1)), ![an image](javascript:alert(1)) and
<javascript:alert(1)>, raw <a href="javascript:alert(1)">anchor</a>, <iframe src="javascript:alert(1)"></iframe>,
&lt;script&gt;alert(4)&lt;/script&gt; and {SSTI} and {TITLE_BREAK} and {TEXTAREA_BREAK}.

## Second {BREAKOUT} {SQUOTE}

- {IMG} in a list
- <form action="javascript:alert(1)"><button>go</button></form> kbxss
"""
    front = "\n".join([
        "---",
        f"title: {yaml_str(HOSTILE + ' Evil article')}",
        "type: article",
        "date: 2024-05-01",
        f"description: {yaml_str(HOSTILE + ' described')}",
        f"author: {yaml_str(SCRIPT)}",
        f"organisations: [evilorg, {yaml_str(EVIL_ORG_ID)}]",
        f"topics: [eviltopic, {yaml_str('<b>bold</b>')}]",
        f"source_url: {yaml_str('javascript:alert(1)')}",
        "---",
    ])  # fmt: skip
    put("articles/evil.md", front + body)
    put("articles/evil-source.md", "\n".join([
        "---",
        f"title: {yaml_str('Quoted source ' + BREAKOUT)}",
        f"source_url: {yaml_str('https://example.org/a?b=1&c=' + BREAKOUT + SCRIPT)}",
        "---",
        "# Quoted source", "", "The source link of this kbxss article is hostile.", "",
    ]))  # fmt: skip
    put("articles/evil-jsx.mdx", f"""---
title: {yaml_str('MDX ' + SCRIPT)}
---
import Evil from "javascript:alert(1)"
export const x = () => alert(1)

# MDX page

<Evil onClick={{() => alert(1)}} /> text with kbxss and {IMG}.
""")  # fmt: skip
    for i, url in enumerate(JS_URLS):
        put(f"articles/source-{i}.md", "\n".join([
            "---", f"title: Source {i}", f"source_url: {yaml_str(url)}", "---",
            f"# Source {i}", "", "A kbxss document whose source is not a web page.", "",
        ]))  # fmt: skip
    put(f"articles/{EVIL_NAME}.md", f"# File name {IMG}\n\nA kbxss document with a hostile name.\n")
    put(f"articles/{ODD_NAME}.md", "# Odd name\n\nA kbxss document whose name needs escaping.\n")
    put("about/evil.html", f"""<!doctype html><html><head>
<title>{HOSTILE.replace("&", "&amp;").replace("<", "&lt;")} html page</title>
<meta name="description" content="{HOSTILE.replace('"', "&quot;").replace("<", "&lt;")}">
<meta name="author" content="&lt;script&gt;alert(5)&lt;/script&gt;">
<base href="https://evil.example/">
<script>alert(2)</script><style>body{{background:url(javascript:alert(1))}}</style>
</head><body><h1>&lt;img src=x onerror=alert(1)&gt; heading</h1>
<p>Paragraph &lt;script&gt;alert(1)&lt;/script&gt; kbxss <a href="javascript:alert(1)">js link</a>
<img src=x onerror="alert(1)"><svg onload="alert(1)"></svg><iframe srcdoc="<script>alert(1)</script>"></iframe>
<object data="javascript:alert(1)"></object><form action="javascript:alert(1)"><input formaction="javascript:alert(1)"></form></p>
</body></html>
""")  # fmt: skip
    # A redirect stub is skipped by the indexer: nothing of it may reach a page.
    put(
        "about/stub.html",
        '<html><head><meta http-equiv="refresh" content="0;url=javascript:'
        'alert(1)"><title>stub</title></head><body>kbxss</body></html>',
    )
    put(
        "about/evil-sidecar.html",
        "<html><head><title>Plain</title></head><body><p>kbxss sidecar page</p></body></html>",
    )
    put("about/evil-sidecar.html.meta.yaml", "\n".join([
        f"title: {yaml_str(HOSTILE + ' yaml sidecar')}",
        f"author: {yaml_str(IMG)}",
        f"description: {yaml_str(BREAKOUT)}",
        f"source_url: {yaml_str('JaVaScRiPt:alert(1)')}",
        "organisations: [evilorg]", "",
    ]))  # fmt: skip
    (corpus / "guides").mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED_CORPUS / "guides/extend-lifespan-of-it-products.pdf",
                corpus / "guides/evil.pdf")  # fmt: skip
    put("guides/evil.pdf.meta.toml", "\n".join([
        f"title = {toml_str(HOSTILE + ' pdf sidecar')}",
        'type = "guide"',
        "date = 2023-06-15",
        f"author = {toml_str(SCRIPT)}",
        f"description = {toml_str(IMG)}",
        f"source_url = {toml_str(' javascript:alert(1)')}",
        f"organisations = [\"evilorg\", {toml_str(EVIL_ORG_ID)}]",
        'topics = ["eviltopic"]', "",
    ]))  # fmt: skip
    put("notes/evil.txt", f"Plain {SCRIPT}\n\nkbxss text {IMG} {BREAKOUT} javascript:alert(1)\n")
    put("reading-lists/evil.toml", f"""
title = {toml_str(HOSTILE + " list")}
audience = {toml_str(IMG)}
description = {toml_str(BREAKOUT + SCRIPT)}
estimated_minutes = 5

[[item]]
ref = "articles/evil"
note = {toml_str(HOSTILE + " note")}
section = {toml_str(SCRIPT + " section")}
minutes = 3

[[item]]
ref = {toml_str("articles/evil#" + SCRIPT)}
note = "A missing passage."

[[item]]
ref = "../../secret"
note = {toml_str(IMG)}

[[item]]
ref = {toml_str("articles/" + EVIL_NAME)}
note = "A document with a hostile name."
""")  # fmt: skip
    put("reading-lists/broken.toml", 'title = "unterminated\n[[item]\n')
    # Canaries where no document may come from.
    put("_sources/secret.md", f"# Private\n\n{token} kbxss\n")
    put(".hidden/secret.md", f"# Hidden\n\n{token} kbxss\n")


@dataclass
class Site:
    base: Path
    corpus: Path
    index: Path
    secret: Path
    token: str
    settings: Settings
    client: object
    port: int


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from webui import create_app

    base = tmp_path_factory.mktemp("attacks")
    token = f"KBCANARY{uuid.uuid4().hex}"
    secret = base / "secret.txt"
    secret.write_text(f"{token}\nroot:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    corpus = base / "corpus"
    build_corpus(corpus, token)
    settings = Settings.resolve(corpus, base / "index")
    report = run_index(settings, workers=1)
    indexed = {f.doc_id for f in report.files if f.status == "indexed"}
    assert {"articles/evil", "about/evil", "guides/evil", "notes/evil",
            f"articles/{EVIL_NAME}", f"articles/{ODD_NAME}"} <= indexed, report.to_dict()  # fmt: skip
    app = create_app(settings, check_interval=0)
    with KbServer(corpus, settings.index, threads=4) as server:
        yield Site(base, corpus, settings.index, secret, token, settings, app.test_client(),
                   server.port)  # fmt: skip


# ---- what every response must (not) contain ----------------------------------------------------


def assert_no_leak(body: str | bytes, site: Site, request: str | bytes = "") -> None:
    """No traceback, no server path, no canary: unless the request itself carried it (an
    echoed query is not a leak)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    sent = unquote(request.decode("latin-1") if isinstance(request, bytes) else request)
    for needle in ("Traceback", 'File "', "site-packages", str(ROOT.parent) + "/", str(ROOT), str(site.base),
                   str(site.corpus), str(site.index), site.token, "root:x:0:0"):  # fmt: skip
        if needle not in sent:
            assert needle not in text, (request, needle, text[:400])


class Elements(HTMLParser):
    """Every start tag with its attributes, the text of scripts, and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.script_text: list[str] = []
        self.text_parts: list[str] = []
        self._script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._script = tag == "script"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        (self.script_text if self._script else self.text_parts).append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def attrs(self, tag: str, **match: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in match.items())
        ]


def _scheme(value: str) -> str:
    return re.sub(r"[\x00-\x20]", "", value).lower()


def assert_inert(html: str, where: str) -> Elements:
    """Nothing in the page can run: every tag and attribute is one of ours."""
    page = Elements(html)
    assert not "".join(page.script_text).strip(), (where, "inline script")
    for tag, attrs in page.tags:
        assert tag not in DANGEROUS_TAGS, (where, tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), (where, attrs)
        if tag == "meta":
            assert "http-equiv" not in attrs, (where, attrs)
        if tag == "link":
            assert attrs.get("href", "").startswith("/"), (where, attrs)
        assert "style" not in attrs, (where, tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, attrs)
            if name in URL_ATTRIBUTES:
                assert not _scheme(value).startswith(BAD_SCHEMES), (where, tag, attrs)
    # Belt and braces on the raw markup: no tag the parser might have read differently.
    lowered = html.lower()
    for needle in ("<script>", "<img", "<svg onload", "<iframe", "<object", "<base", "<style"):
        assert needle not in lowered, (where, needle)
    return page


# ---- path traversal -----------------------------------------------------------------------------

ID_ROUTES = ["/doc/", "/original/", "/cite/", "/lists/", "/api/doc/", "/api/cite/",
             "/api/lists/", "/static/"]  # fmt: skip


def traversals(site: Site) -> list[str]:
    """Request targets after the route prefix, as they go on the wire."""
    absolute = str(site.secret)
    return [
        "../secret.txt",
        "../../secret.txt",
        "../../../../../../../../etc/passwd",
        "..%2fsecret.txt",
        "..%2f..%2fsecret.txt",
        "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fsecret.txt",
        "%2e%2e/%2e%2e/secret.txt",
        "%2E%2E%2F%2E%2E%2Fsecret.txt",
        "%252e%252e%252fsecret.txt",
        "..%5csecret.txt",
        "..\\..\\secret.txt",
        "%2e%2e%5c%2e%2e%5csecret.txt",
        "..%c0%af..%c0%afsecret.txt",
        "....//....//secret.txt",
        "..;/secret.txt",
        "./../secret.txt",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        absolute,
        quote(absolute, safe=""),
        "..%00/secret.txt",
        "secret.txt%00.md",
        "%00../../secret.txt",
        "_sources/secret",
        "_sources/secret.md",
        ".hidden/secret",
        "..%2fcorpus%2f_sources%2fsecret",
        "organisations",
        "organisations.toml",
        "reading-lists/evil",
        "reading-lists/evil.toml",
        "..%2findex%2fCURRENT",
        "../index/CURRENT",
        "..%2f__init__.py",
        "..%2ftemplates%2fbase.html",
        "file:%2f%2f%2fetc%2fpasswd",
    ]


class OpenRecorder:
    """Every file or folder this process opens while `recording` (a sys audit hook)."""

    def __init__(self) -> None:
        self.paths: list[str] | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if self.paths is not None and event in ("open", "os.listdir", "os.scandir"):
            path = args[0] if args else None
            if isinstance(path, str | bytes | os.PathLike):
                self.paths.append(os.path.abspath(os.fsdecode(path)))

    @contextlib.contextmanager
    def recording(self):
        self.paths = []
        try:
            yield self.paths
        finally:
            self.paths = None


@pytest.fixture(scope="module")
def opens() -> OpenRecorder:
    return OpenRecorder()


def outside(path: str, site: Site) -> bool:
    """A file a request has no business opening."""
    import webui

    real = os.path.realpath(path)
    if real in mimetypes.knownfiles:  # the standard library's media types, read once
        return False
    if real.startswith((str(site.corpus / "_sources"), str(site.corpus / ".hidden"))):
        return True
    allowed = [site.corpus, site.index, Path(webui.__file__).parent, ROOT / "kb",
               Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]  # fmt: skip
    return not any(real == str(a) or real.startswith(str(a) + os.sep) for a in allowed)


def test_the_open_recorder_sees_what_a_request_reads(site, opens):
    with opens.recording() as opened:
        assert site.client.get("/original/articles/evil").status_code == 200
    assert str((site.corpus / "articles/evil.md").resolve()) in opened
    assert not [p for p in opened if outside(p, site)]
    assert outside(str(site.secret), site) and outside("/etc/passwd", site)


@pytest.mark.parametrize("route", ID_ROUTES)
def test_traversal_through_the_test_client_is_404_and_opens_nothing_outside(site, opens, route):
    for attack in traversals(site):
        url = route + attack.replace("\\", "%5c")
        with opens.recording() as opened:
            response = site.client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        assert_no_leak(response.get_data(), site, url)
        assert not [p for p in opened if outside(p, site)], (url, opened)


@pytest.mark.parametrize("route", ID_ROUTES)
def test_traversal_as_raw_http_is_404_and_reads_nothing(site, route):
    """The request line goes to waitress byte for byte: no client-side normalisation."""
    for attack in traversals(site):
        target = route + attack
        reply = http_request(site.port, target)
        assert reply.status == 404, (target, reply.status, reply.body[:200])
        assert_no_leak(reply.body, site, target)
    # Bytes no client would send: a raw NUL, raw non-UTF-8. Refused (400) or not found.
    for target in (route.encode() + b"..\x00/secret.txt", route.encode() + b"\xff\xfe/../x",
                   route.encode() + b"\xc0\xae\xc0\xae/secret.txt"):  # fmt: skip
        reply = http_request(site.port, target)
        assert reply.status in (400, 404), (target, reply.status)
        assert_no_leak(reply.body, site, repr(target))


def test_parameters_that_name_things_read_nothing_outside(site, opens):
    for url in (
        "/cite/articles/evil?anchor=../../secret.txt",
        f"/api/cite/articles/evil?anchor={q(str(site.secret))}",
        "/api/cite/articles/evil?format=../../../etc/passwd",
        "/doc/articles/evil?v=../../secret.txt",
        f"/search?q={q(str(site.secret))}",
        "/api/search?q=../../../etc/passwd&type=../../secret",
        "/api/suggest?q=../../secret",
        "/static/kb.css?filename=../../secret.txt",
    ):
        with opens.recording() as opened:
            response = site.client.get(url)
        assert response.status_code in (200, 400, 404), url
        assert_no_leak(response.get_data(), site, url)
        assert not [p for p in opened if outside(p, site)], (url, opened)


def test_canaries_inside_the_corpus_are_never_indexed_nor_served(site):
    data = site.client.get(f"/api/search?q={site.token}").get_json()
    assert data["total"] == 0 and not data["results"]
    _, completions, _, links = site.client.get(f"/api/suggest?q={site.token[:20]}").get_json()
    assert not completions and not links
    for url in ("/api/search?q=kbxss&size=50", "/search?q=kbxss&size=50",
                "/search?sort=newest&size=50", "/doc/_sources/secret", "/original/_sources/secret",
                "/doc/.hidden/secret", "/api/doc/.hidden/secret", "/original/.hidden/secret"):  # fmt: skip
        response = site.client.get(url)
        assert site.token not in response.get_data(as_text=True), url
    ids = [
        h["doc_id"] for h in site.client.get("/api/search?q=kbxss&size=50").get_json()["results"]
    ]
    assert ids and not [i for i in ids if i.startswith(("_sources", ".hidden"))]


def test_symlink_in_the_corpus_to_a_file_outside_is_not_served(tmp_path):
    """A corpus kept in a shared folder or a repository members push to may hold links."""
    from webui import create_app

    token = f"KBCANARY{uuid.uuid4().hex}"
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.md").write_text(f"# Secret\n\n{token} keys\n")
    corpus = tmp_path / "corpus"
    (corpus / "articles").mkdir(parents=True)
    make_public(corpus)  # so a secret could only be missing because the link was refused
    (corpus / "articles" / "ok.md").write_text("# Fine\n\nA kingfisher, nothing to hide.\n")
    (corpus / "articles" / "alias.md").symlink_to(corpus / "articles" / "ok.md")
    (corpus / "articles" / "leak.md").symlink_to(tmp_path / "outside" / "secret.md")
    (corpus / "articles" / "up.md").symlink_to(Path("../../outside/secret.md"))
    (corpus / "linked-folder").symlink_to(tmp_path / "outside", target_is_directory=True)
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    files = {f.path: (f.status, f.reason) for f in report.files}
    for link in ("articles/leak.md", "articles/up.md"):
        assert files[link][0] == "failed" and "outside the corpus" in files[link][1], files
    assert files["articles/alias.md"][0] == "indexed"  # a link inside the corpus is fine
    client = create_app(settings, check_interval=0).test_client()
    assert client.get(f"/api/search?q={token}").get_json()["total"] == 0
    assert client.get("/api/search?q=keys").get_json()["total"] == 0
    for url in ("/doc/articles/leak", "/api/doc/articles/up", "/doc/linked-folder/secret",
                "/original/articles/leak", "/cite/articles/leak"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404, url
        assert token not in response.get_data(as_text=True), url


# ---- stored and reflected XSS -----------------------------------------------------------------


def html_pages(site: Site) -> list[str]:
    h = q(HOSTILE)
    every_param = "&".join(f"{name}={h}" for name in
                           ("type", "year", "org", "topic", "lang", "sort", "page", "size", "q"))  # fmt: skip
    return [
        "/",
        "/search?q=kbxss",
        "/search?q=kbxss&size=50",
        "/search?sort=newest&size=50",
        "/search?q=evil",
        "/search?q=kbxss&org=evilorg",
        f"/search?org={q(EVIL_ORG_ID)}",
        "/search?topic=eviltopic",
        f"/search?q={h}",
        f"/search?{every_param}",
        f"/search?q=kbxss&type={h}&year={h}&org={h}&topic={h}&lang={h}",
        "/search?q=script+alert+onerror+svg+onload+img+lt+gt+amp+quot+title+textarea",
        f"/search?q={q('kbxsz')}",  # did-you-mean from a hostile vocabulary
        "/doc/articles/evil",
        f"/doc/articles/evil?q={h}&v={h}",
        "/doc/articles/evil?q=script+alert+onerror+lt+gt+quot+amp+svg+title",
        "/doc/articles/evil-source",
        "/doc/articles/evil-jsx",
        "/doc/about/evil",
        "/doc/about/evil-sidecar",
        "/doc/guides/evil",
        "/doc/notes/evil",
        f"/doc/articles/{q(EVIL_NAME)}",
        f"/doc/articles/{q(ODD_NAME)}",
        "/cite/articles/evil",
        f"/cite/articles/evil?anchor={h}",
        "/cite/guides/evil",
        f"/cite/articles/{q(EVIL_NAME)}",
        "/lists",
        "/lists/evil",
        f"/doc/{h}",
        f"/lists/{q(SCRIPT)}",
        f"/cite/{h}",
        f"/nowhere/{h}",
    ]


def test_every_page_with_hostile_content_runs_nothing(site):
    for url in html_pages(site):
        response = site.client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert response.mimetype == "text/html", url
        html = response.get_data(as_text=True)
        assert_inert(html, url)
        assert_no_leak(html, site, url)
        assert "kbssti49" not in html, url  # no template evaluated document text


def test_every_document_linked_from_the_pages_opens_and_is_inert(site):
    """Hostile and awkward doc ids survive the round trip through links, and their pages too."""
    page = Elements(site.client.get("/search?sort=newest&size=50").get_data(as_text=True))
    links = {a["href"] for a in page.attrs("a") if a.get("href", "").startswith("/doc/")}
    paths = {urlsplit(link).path for link in links}
    assert len(paths) == 9 + len(JS_URLS), paths  # every indexed document
    for path in sorted(paths):
        response = site.client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path)


def test_hostile_text_is_shown_as_text(site):
    page = Elements(site.client.get("/doc/articles/evil").get_data(as_text=True))
    assert f"{SCRIPT} {IMG}" in page.text and BREAKOUT in page.text
    assert "javascript:alert(1)" in page.text  # the links of the text stay text
    title = Elements(site.client.get("/doc/guides/evil").get_data(as_text=True))
    assert f"{HOSTILE} pdf sidecar" in title.text
    listing = Elements(site.client.get("/lists/evil").get_data(as_text=True))
    assert f"{HOSTILE} note" in listing.text and f"{SCRIPT} section" in listing.text


def test_query_is_echoed_only_as_text_and_attribute_values(site):
    response = site.client.get(f"/search?q={q(HOSTILE)}")
    page = assert_inert(response.get_data(as_text=True), "query echo")
    boxes = page.attrs("input", id="kb_q")
    assert boxes and boxes[0]["value"] == HOSTILE  # intact inside the attribute, not out of it
    for url in (f"/api/suggest?q={q(HOSTILE)}", f"/api/suggest?q={q(SCRIPT)}",
                f"/api/suggest?q={q('<img')}", "/api/suggest?q=evil"):  # fmt: skip
        response = site.client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "application/x-suggestions+json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        data = response.get_json()
        assert isinstance(data, list) and len(data) == 4
        for link in data[3]:
            assert urlsplit(link).scheme == "http" and urlsplit(link).path.startswith(
                ("/doc/", "/search")
            )


def test_source_urls_become_links_only_when_they_are_http(site):
    sources = [f"/doc/articles/source-{i}" for i in range(len(JS_URLS))]
    for url in ("/doc/articles/evil", "/doc/about/evil-sidecar", "/doc/guides/evil", *sources):
        response = site.client.get(url)
        assert response.status_code == 200, url
        page = Elements(response.get_data(as_text=True))
        hrefs = [a.get("href", "") for a in page.attrs("a")]
        assert all(h.startswith(("/", "#")) for h in hrefs), (url, hrefs)
        assert not [h for h in hrefs if re.search(r"[\s\"<>]", h)], url
    page = Elements(site.client.get("/doc/articles/evil-source").get_data(as_text=True))
    source = [a for a in page.attrs("a") if a.get("href", "").startswith("https://example.org/")]
    assert source and source[0]["href"].endswith(BREAKOUT + SCRIPT)  # one attribute, intact
    assert "noopener" in source[0]["rel"]


def test_json_and_downloads_are_never_html(site):
    h = q(HOSTILE)
    for url in ("/api/", "/api/search?q=kbxss", f"/api/search?q={h}", f"/api/search?org={h}",
                "/api/doc/articles/evil", "/api/doc/guides/evil", "/api/cite/articles/evil",
                "/api/lists", "/api/lists/evil", f"/api/doc/{h}", f"/api/lists/{q(SCRIPT)}",
                "/healthz"):  # fmt: skip
        response = site.client.get(url)
        assert response.status_code in (200, 404), url
        assert response.mimetype == "application/json", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        response.get_json()
    for fmt in ("text", "markdown", "bibtex", "ris", "csl-json"):
        for download in ("", "&download=1"):
            response = site.client.get(f"/api/cite/articles/evil?format={fmt}{download}")
            assert response.status_code == 200
            assert response.mimetype not in ("text/html", "application/xhtml+xml", "image/svg+xml")
            assert "sandbox" in response.headers["Content-Security-Policy"]
    for doc, attachment in (("about/evil", True), ("articles/evil", False), ("guides/evil", False),
                            ("notes/evil", False), ("articles/evil-jsx", False)):  # fmt: skip
        response = site.client.get(f"/original/{doc}")
        assert response.status_code == 200, doc
        assert response.mimetype != "text/html" or attachment, doc
        disposition = response.headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment") == attachment, doc
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_page_carries_the_script_policy(site):
    for url in ("/", "/search?q=kbxss", "/doc/articles/evil", "/lists/evil", "/nowhere"):
        csp = site.client.get(url).headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp
        )


# ---- open redirects ---------------------------------------------------------------------------

REDIRECT_PARAMS = ["next", "url", "redirect", "redirect_uri", "return", "return_to", "returnTo",
                   "continue", "dest", "destination", "goto", "target", "to", "r"]  # fmt: skip
REDIRECT_VALUES = ["//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
                   "https:evil.example", "javascript:alert(1)", "/%2f%2fevil.example"]  # fmt: skip
PAGES = ["/", "/search", "/search?q=repair", "/doc/articles/evil", "/cite/articles/evil",
         "/lists", "/lists/evil", "/original/articles/evil", "/opensearch.xml", "/healthz",
         "/api/", "/api/search?q=x", "/api/doc/articles/evil", "/api/cite/articles/evil",
         "/api/lists", "/api/suggest?q=ev", "/static/kb.css", "/favicon.ico"]  # fmt: skip
SLASH_TRICKS = ["//evil.example", "//evil.example/", "//evil.example/%2e%2e", "///evil.example",
                "/%2f%2fevil.example", "/%5cevil.example", "/\\evil.example", "/.//evil.example",
                "/api", "/api//", "/lists/", "/search/", "/doc/articles/evil/", "/doc//evil.example",
                "/static/kb.css/", "/static", "/static/", "/cite/articles/evil/",
                "/doc/articles/../articles/evil", "http://evil.example/", "https://evil.example/x"]  # fmt: skip


def assert_not_redirected(status: int, headers, where: str) -> None:
    location = headers.get("Location") or headers.get("location")
    if 300 <= status < 400:
        host = urlsplit(location or "").netloc
        assert location and not host and not location.startswith(("//", "/\\")), (where, location)
    assert not location or not urlsplit(location).netloc, (where, location)


def test_no_parameter_redirects_anywhere(site):
    for page in PAGES:
        for value in REDIRECT_VALUES:
            sep = "&" if "?" in page else "?"
            url = page + sep + "&".join(f"{p}={q(value)}" for p in REDIRECT_PARAMS)
            response = site.client.get(url)
            assert response.status_code < 500, url
            assert_not_redirected(response.status_code, response.headers, url)
            if response.mimetype == "text/html":
                html = Elements(response.get_data(as_text=True))
                assert not [m for m in html.attrs("meta") if "http-equiv" in m], url
                for a in html.attrs("a") + html.attrs("form"):
                    link = a.get("href") or a.get("action") or ""
                    host = urlsplit(link).netloc  # only permalinks name a host: kb's own
                    assert host in ("", urlsplit(site.settings.base_url).netloc), (url, link)
                    assert not link.startswith(("/\\", "//")), (url, link)


def test_no_path_redirects_to_another_host_raw(site):
    for target in SLASH_TRICKS:
        for host in (f"127.0.0.1:{site.port}", "evil.example"):
            reply = http_request(site.port, target, headers={"Host": host})
            assert reply.status < 500, (target, reply.status)
            assert_not_redirected(reply.status, reply.headers, f"{target} Host: {host}")
            assert_no_leak(reply.body, site, target)


# ---- oversized requests, query-string abuse ------------------------------------------------------


def is_json_error(response, status: int) -> bool:
    data = response.get_json(silent=True)
    return isinstance(data, dict) and data.get("error", {}).get("status") == status


@pytest.mark.parametrize("method", ["POST", "PUT", "GET"])
def test_oversized_body_is_413_on_every_route(site, method):
    body = b"x" * (64 * 1024 + 1)
    for page in PAGES:
        response = site.client.open(page, method=method, data=body,
                                    content_type="application/x-www-form-urlencoded")  # fmt: skip
        assert response.status_code == 413, (method, page, response.status_code)
        assert_no_leak(response.get_data(), site, page)
        if page.startswith("/api/") or page == "/healthz":
            assert is_json_error(response, 413), page
        elif not page.startswith(("/static", "/favicon", "/opensearch", "/original")):
            assert "Request too large" in response.get_data(as_text=True), page


def refused(port: int, target: str, **kwargs) -> tuple[int | str, bytes]:
    """The status of a request whose body the server stops reading: 413, or "reset" when the
    server's close (with our unread bytes pending) reset the connection before we read it."""
    try:
        reply = http_request(port, target, **kwargs)
    except ConnectionResetError:
        return "reset", b""
    return reply.status, reply.body


def test_huge_bodies_are_refused_before_they_are_buffered(site):
    """A server that must run for years cannot buffer gigabytes for a route that takes none."""
    big = b"x" * (4 * 1024 * 1024)
    for target, method in (
        ("/", "POST"),
        ("/api/search?q=x", "GET"),
        ("/doc/articles/evil", "PUT"),
    ):
        status, body = refused(site.port, target, method=method, body=big)
        assert status in (413, "reset"), (target, status)
        assert_no_leak(body, site, target)
    chunk = b"x" * (1024 * 1024)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    head = (b"POST /api/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    assert refused(site.port, "", raw_head=head, body=chunked)[0] in (413, "reset")
    # A body larger than any request may have is refused on its announcement, before it is
    # read or buffered (waitress would otherwise take up to 1 GB per request into memory or
    # temporary files, and wait for it). No body is sent: an answer at all shows the server
    # did not wait for one. How long it takes: benchmarks/bounds.py.
    for length in (2 * 1024 * 1024, 999_999_999_999):
        head = f"POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
        reply = http_request(site.port, "", raw_head=head.encode(), timeout=10)
        assert reply.status == 413, length
    reply = http_request(site.port, "/", headers={"X-Big": "a" * 300_000})
    assert reply.status in (400, 413, 431)
    assert_no_leak(reply.body, site, "big header")


def test_thousands_of_parameters_are_refused_clearly(site):
    many = "&".join(["a=1"] * 5000)
    for url, is_api in ((f"/search?q=repair&{many}", False), (f"/api/search?q=repair&{many}", True),
                        (f"/doc/articles/evil?{many}", False)):  # fmt: skip
        response = site.client.get(url)  # how long it takes: benchmarks/bounds.py
        assert response.status_code == 400, url[:40]
        assert "Too many parameters" in response.get_data(as_text=True)
        assert is_json_error(response, 400) == is_api
        assert_no_leak(response.get_data(), site, url[:40])
    # Under the limit, every value a filter may take is still bounded.
    many = "&".join(f"org=o{i}" for i in range(190))
    assert site.client.get(f"/api/search?q=repair&{many}").status_code == 200


@pytest.mark.parametrize(
    "params, page, size",
    [
        ({"page": str(10**12)}, None, None),
        ({"page": "-5"}, 1, None),
        ({"page": "0"}, 1, None),
        ({"page": "1e9"}, 1, None),
        ({"page": "9" * 400}, None, None),
        ({"size": str(10**9)}, None, 50),
        ({"size": "-1"}, None, 1),
        ({"size": "0"}, None, 1),
        ({"page": "NaN", "size": "inf"}, 1, 10),
        ({"page": "٣"}, None, None),
    ],
)
def test_page_and_size_abuse_is_clamped(site, params, page, size):
    for path in ("/api/search", "/search"):
        response = site.client.get(f"{path}?{urlencode({'q': 'kbxss', **params})}")
        assert response.status_code == 200, (path, params)  # time: benchmarks/bounds.py
        if path.startswith("/api/"):
            data = response.get_json()
            assert 1 <= data["page"] <= 1000
            assert 1 <= data["page_size"] <= 50
            if page is not None:
                assert data["page"] == page
            if size is not None:
                assert data["page_size"] == size


def test_overlong_and_odd_queries_get_a_clear_answer_quickly(site):
    """How quickly: benchmarks/bounds.py."""
    response = site.client.get("/search?q=" + "a" * 100_000)
    assert response.status_code == 414
    assert "The address is too long" in response.get_data(as_text=True)
    response = site.client.get("/api/search?q=" + "a" * 100_000)
    assert response.status_code == 414 and is_json_error(response, 414)
    response = site.client.get("/api/search?q=" + "kbxss%20" + "z" * 20_000)
    assert response.status_code == 200
    assert any("1,000" in m for m in response.get_json()["messages"])
    for query in ("(" * 3000, ")" * 3000, '"' * 3001, "*", "a*", "?*", "NOT " * 500,
                  "title:" * 500, "\x00\x01\x1b[31m", "%ff%fe", "org:" + "x" * 5000):  # fmt: skip
        for path in ("/search", "/api/search"):
            response = site.client.get(f"{path}?q={q(query)}")
            assert response.status_code == 200, (path, query[:20], response.status_code)
            assert_no_leak(response.get_data(), site, query[:20])
    assert site.client.get("/search?q=%ff%fe%ed%a0%80").status_code == 200


# ---- methods --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE"])
def test_wrong_method_is_405_in_the_sites_style(site, method):
    for page in PAGES:
        response = site.client.open(page, method=method)
        assert response.status_code == 405, (method, page, response.status_code)
        assert "GET" in response.headers["Allow"], page
        assert_no_leak(response.get_data(), site, page)
        if page.startswith("/api/") or page == "/healthz":
            assert is_json_error(response, 405), page
        else:
            assert response.mimetype == "text/html"
            assert "Method not allowed" in response.get_data(as_text=True), page


def test_unknown_and_odd_methods_raw(site):
    for method, target in (("FOO", "/"), ("TRACE", "/api/search"), ("PROPFIND", "/doc/articles/evil"),
                           ("CONNECT", "evil.example:443"), ("OPTIONS", "*"), ("DELETE", "/static/kb.css")):  # fmt: skip
        reply = http_request(site.port, target, method=method)
        assert reply.status in (400, 404, 405, 200 if method == "OPTIONS" else 405), (
            method,
            reply.status,
        )
        assert reply.status < 500
        assert_no_leak(reply.body, site, method)
    assert http_request(site.port, "/", method="HEAD").status == 200


# ---- error pages ----------------------------------------------------------------------------------


def test_error_pages_show_no_traceback_nor_path(site):
    """Every kind of error the site can give, through the real server."""
    cases = [
        ("/nowhere", 404), ("/doc/no/such/doc", 404), ("/api/doc/no/such", 404),
        ("/lists/no-such-list", 404), ("/api/lists/no-such", 404), ("/cite/articles/evil?anchor=nope", 404),
        ("/api/cite/articles/evil?format=docx", 400), ("/lists/broken", 404), ("/api/lists/broken", 404),
        ("/search?q=" + "a" * 40_000, 414), ("/api/search?" + "&".join(["a=1"] * 300), 400),
    ]  # fmt: skip
    for target, status in cases:
        reply = http_request(site.port, target)
        assert reply.status == status, (target[:60], reply.status)
        assert_no_leak(reply.body, site, target[:60])
        if target.startswith("/api/"):
            assert reply.json()["error"]["status"] == status
        else:
            assert_inert(reply.text, target[:60])
    # The broken list is mentioned on the lists page, without its path.
    reply = http_request(site.port, "/lists")
    assert reply.status == 200 and "1 problem in the reading-list files" in reply.text
    assert_no_leak(reply.body, site, "/lists")
