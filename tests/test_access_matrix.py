"""The access matrix: every reader-facing web route and CLI command, for every kind of reader
and every visibility level (ISSUE 14, docs/security.md).

A corpus built here holds one document at each level (public, members, organisation A), each
with marker words of its own in its title and text. Four readers ask every route about each
document: on the web the anonymous visitor, a member of organisation A (ikea), a member of
organisation B (skovde-kommun) and a coordinator of a third organisation (atea); in the CLI the
server's shell takes the anonymous visitor's place (the other three use `--as EMAIL`).

For each case:
- a document the reader may see answers 200 (exit 0) and shows it;
- a document the reader may not see answers exactly like one that does not exist: the same
  status, headers and body, byte for byte once the asked-for id or word is swapped for the
  missing one's;
- no title, marker word or id of a document the reader may not see appears anywhere in the
  answer (except where the reader typed it into the request).

The routes come from the app's url_map and the commands from the CLI's command tree: a new
route or reader command that is neither in the matrix nor listed as reader-independent fails
`test_every_route_is_in_the_matrix` / `test_every_reader_command_is_in_the_matrix`.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from cli import main
from indexer.build import run_index
from kb.access import Principal
from kb.accounts import AccountStore
from kb.analysis import STEMMED_LANGUAGES, stem
from kb.citeformats import CITE_FORMAT_IDS
from kb.citestyles import CITE_STYLE_IDS
from kb.documents import load_document
from kb.library import Library
from kb.settings import Settings
from kb.tokens import TokenStore
from kb.view import view_of
from tests.conftest import write
from webui import create_app

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
PASSWORD = "a long enough matrix passphrase"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


@dataclass(frozen=True)
class Doc:
    """A document of the fixture corpus, or the missing one (`visibility` None) that a hidden
    document must answer like."""

    level: str
    doc_id: str
    title: str
    word: str  # in the title and the text, nowhere else
    body: str  # in the text only
    gloss: str  # an English glossary term whose Swedish translation only this document holds
    gloss_sv: str
    doc_type: str
    date: str
    visibility: str | None
    extra: tuple[str, ...] = ()  # more words only this document leads to (org, topic)

    @property
    def typo(self) -> str:
        return self.word[:-1] + "x"  # one edit away: did-you-mean material

    @property
    def prefix(self) -> str:
        return self.word[:6]

    def secrets(self) -> tuple[str, ...]:
        """What must never reach a reader who may not see this document."""
        return (self.title.lower(), self.word, self.body, self.doc_id, *self.extra)

    def values(self) -> dict[str, str]:
        """The request's variable parts, longest first where one holds another."""
        return {"upper": self.doc_id.upper(), "id": self.doc_id, "typo": self.typo, "word": self.word, "body": self.body,
                "gloss_sv": self.gloss_sv, "gloss": self.gloss, "prefix": self.prefix}  # fmt: skip


PUBLIC = Doc("public", "guides/lantern-guide", "Lanternquill procurement guide", "lanternquill",
             "brightfennel", "quokkalantern", "kvokkalantern", "guide", "2023-03-01", "public")  # fmt: skip
MEMBERS = Doc("members", "meetings/heron-meeting", "Heronvault members meeting", "heronvault",
              "mossgarnet", "quokkaheron", "kvokkaheron", "meeting", "2024-05-01", "members")  # fmt: skip
ORG_A = Doc("organisation-A", "self-assessments/zephyr-assessment", "Zephyrcask self-assessment",
            "zephyrcask", "quartzbramble", "quokkazephyr", "kvokkazephyr", "other", "2025-07-01",
            "organisation:ikea", extra=("nordviksjukhuset", "staff wellbeing", "its details"))  # fmt: skip
MISSING = Doc("missing", "guides/no-such-document", "", "voidquarry", "voidpebble", "quokkavoid",
              "kvokkavoid", "", "", None)  # fmt: skip
DOCS = (PUBLIC, MEMBERS, ORG_A)

READERS = ("anonymous", "member A", "member B", "coordinator")
CLI_READERS = ("shell", "member A", "member B", "coordinator")
ACCOUNTS = {  # email, organisation, role
    "member A": ("ann@ikea.example", "ikea", "member"),
    "member B": ("bo@skovde.example", "skovde-kommun", "member"),
    "coordinator": ("cay@atea.example", "atea", "coordinator"),
}
SEES = {
    "anonymous": {PUBLIC},
    "member A": {PUBLIC, MEMBERS, ORG_A},
    "member B": {PUBLIC, MEMBERS},
    "coordinator": {PUBLIC, MEMBERS},  # a coordinator is not a super-reader
    "shell": {PUBLIC, MEMBERS, ORG_A},
}


def sees(reader: str, doc: Doc) -> bool:
    return doc in SEES[reader]


# ---- the corpus ----------------------------------------------------------------------------------

NAMES = {"ikea": "IKEA", "skovde-kommun": "Skövde kommun", "atea": "Atea",
         "nordvik": "Nordviksjukhuset"}  # fmt: skip
ORGANISATIONS = "".join(
    f'[[organisation]]\nid = "{oid}"\nname = "{name}"\nmember = true\n\n'
    for oid, name in NAMES.items()
)
TOPICS = """
[[topic]]
id = "repair"
name = "Repair and reuse"
[topic.keywords]
en = ["repair"]

[[topic]]
id = "wellbeing"
name = "Staff wellbeing"
[topic.keywords]
en = ["wellbeing"]
"""


def _document(doc: Doc) -> str:
    # The organisation-A document alone mentions Nordviksjukhuset and wellbeing: the facet value
    # and the topic they make must not show to readers who cannot see it.
    extra = " Nordviksjukhuset reported on staff wellbeing." if doc is ORG_A else ""
    language = "sv" if doc is ORG_A else "en"  # a language value only it has, too
    # Two words the public document holds alike; the second also occurs in the organisation's
    # document, three times (test_scores_do_not_tell_what_hidden_documents_hold).
    extra += {PUBLIC: " Ambertoken, cobaltoken.", ORG_A: " Cobaltoken cobaltoken cobaltoken."}.get(
        doc, ""
    )
    return (
        f"---\ntitle: {doc.title}\ntype: {doc.doc_type}\ndate: {doc.date}\nlanguage: {language}\n"
        f"visibility: {doc.visibility}\n---\n# {doc.title}\n\n## Background\n\n"
        f"Procurement of laptops by the {doc.word} group, and repair of phones.{extra}\n\n"
        f"## Details\n\nThe {doc.body} notes describe {doc.body} suppliers and the "
        f"{doc.gloss_sv} budget for procurement.\n"
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("matrix")
    corpus = base / "corpus"
    write(corpus / "organisations.toml", ORGANISATIONS)
    write(corpus / "topics.toml", TOPICS)
    write(corpus / "glossary.toml", "".join(
        f'[[concept]]\nid = "{d.gloss}"\nen = ["{d.gloss}"]\nsv = ["{d.gloss_sv}"]\n\n'
        for d in (*DOCS, MISSING)))  # fmt: skip
    # No folder default: a document without a value would be members-only; every one says.
    write(corpus / "kb.toml", '[visibility]\ndefault = "members"\n')
    for doc in DOCS:
        write(corpus / f"{doc.doc_id}.md", _document(doc))
    items = "".join(f'[[item]]\nref = "{d.doc_id}"\nnote = "Read it."\n\n'
                    for d in (MEMBERS, PUBLIC, ORG_A, MISSING))  # fmt: skip
    items += f'[[item]]\nref = "{ORG_A.doc_id}#details"\nnote = "Its details."\n\n'
    write(corpus / "reading-lists/mixed.toml",
          f'title = "Mixed list"\naudience = "Everyone"\ndescription = "All levels."\n\n{items}')  # fmt: skip
    found = dataclasses.replace(
        Settings.resolve(corpus, base / "index"), accounts=base / "accounts" / "accounts.sqlite3"
    )
    report = run_index(found, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    store = AccountStore(found.accounts_path, hasher=FAST)
    for email, organisation, role in ACCOUNTS.values():
        store.add(email, organisation, PASSWORD, role=role)
    return found


@pytest.fixture(scope="module")
def passages(settings) -> dict[str, tuple[str, str]]:
    """Each document's "Details" passage: (anchor, text hash), as the shell reads them."""
    view = view_of(Library(settings).snapshot(), Principal.shell())
    out = {}
    for doc in DOCS:
        (details,) = [p for p in load_document(view, doc.doc_id).passages
                      if "Details" in p.heading_path]  # fmt: skip
        out[doc.doc_id] = (details.anchor, details.text_hash)
    return out


# ---- answers compared ----------------------------------------------------------------------------

VOLATILE = [
    (re.compile(r'(name="csrf_token"[^>]*?value=")[^"]*'), r"\1"),  # a fresh token each page
    (re.compile(r'"elapsed_ms":\s*[0-9.eE+-]+'), '"elapsed_ms": 0'),
    (re.compile(r"\b\d+ ms\b"), "0 ms"),
]


def normalised(text: str, doc: Doc) -> str:
    """The answer with what the request named (id, words) swapped for placeholders, and with
    what changes on every request (timings, CSRF tokens) blanked. The stems of the request's
    words, which "How was my search read?" shows, are the words' own (the stemmer's work on
    the typed text, whatever the index holds): they become the same placeholders."""
    for key, value in doc.values().items():
        for lang in STEMMED_LANGUAGES:
            stemmed = stem(value.lower(), lang)
            if stemmed != value.lower():
                text = text.replace(f"<code>{stemmed}</code>", "<code>{" + key + "}</code>")
    for key, value in doc.values().items():
        for form in (quote(value, safe=""), quote(value), value):
            text = text.replace(form, "{" + key + "}")
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def leaked(text: str, reader: str, request: str) -> list[str]:
    """Secrets of documents `reader` may not see found in `text`, except words the request
    itself carries (a search page shows the query it was asked)."""
    asked = unquote(request).lower()
    text = text.lower()
    return [s for d in DOCS if not sees(reader, d) for s in d.secrets()
            if s not in asked and s in text]  # fmt: skip


def assert_like_missing(hidden: tuple[int, dict, str], missing: tuple[int, dict, str], doc: Doc):
    """`hidden` (status, headers, body) answers exactly like `missing`, but for what was asked."""
    assert hidden[0] == missing[0], (hidden[0], missing[0])
    for name in set(hidden[1]) | set(missing[1]):
        assert normalised(hidden[1].get(name, ""), doc) == normalised(
            missing[1].get(name, ""), MISSING
        ), name
    assert normalised(hidden[2], doc) == normalised(missing[2], MISSING)


# ---- the web -------------------------------------------------------------------------------------

# Routes about one document or its words: {id}, {word}, ... are the document's (Doc.values).
# Each with the status it answers a reader who may see the document, and whether the answer
# then shows the document's title word.
SHOWN = (200, True)
DOC_ROUTES = {
    "/doc/{id}": SHOWN,
    "/doc/{id}?q={word}": SHOWN,
    "/doc/{id}?q={prefix}*": SHOWN,
    "/doc/{id}?v={v}#{anchor}": SHOWN,
    "/doc/{id}?v=0123456789ab#{anchor}": SHOWN,
    "/api/doc/{id}": SHOWN,
    "/original/{id}": SHOWN,
    "/cite/{id}": SHOWN,
    "/cite/{id}?anchor={anchor}": SHOWN,
    "/api/cite/{id}": SHOWN,
    "/api/cite/{id}?anchor={anchor}": SHOWN,
    **{f"/api/cite/{{id}}?format={f}": SHOWN for f in CITE_FORMAT_IDS},
    "/api/cite/{id}?anchor={anchor}&format=bibtex&download=1": SHOWN,
    "/api/cite/{id}?format=no-such-format": (400, False),
    **{f"/api/cite/{{id}}?format=text&style={s}": SHOWN for s in CITE_STYLE_IDS},
    "/api/cite/{id}?anchor={anchor}&style=ieee": SHOWN,
    "/cite/{id}?anchor={anchor}&style=vancouver": SHOWN,
    "/api/cite/{id}?style=no-such-style": (400, False),
    "/cite/{id}?style=no-such-style": (400, False),
    "/api/cite/{id}?anchor=no-such-anchor": (404, False),
    "/search?q={word}": SHOWN,
    "/api/search?q={word}": SHOWN,
    "/search?q={body}": SHOWN,
    "/api/search?q=title:{word}": SHOWN,
    "/search?q={prefix}*": SHOWN,
    "/api/search?q={prefix}*": SHOWN,
    "/api/search?q=%22{word}+group%22": SHOWN,
    "/search?q={typo}": SHOWN,
    "/api/search?q={typo}": SHOWN,
    "/api/search?q=procurement+{typo}": (200, False),
    "/api/search?q=title:{typo}": (200, False),
    "/api/search?q={typo}+AND+%28": (200, False),  # a query kb repairs
    "/search?q=%22{typo}+group": (200, False),
    "/search?q={gloss}": SHOWN,
    "/api/search?q={gloss}": SHOWN,
    "/api/suggest?q={prefix}": SHOWN,
    "/api/suggest?q=the+{prefix}": SHOWN,
    # The address spelt otherwise: never a way round the reader's view.
    "/doc/{id}.md": (404, False),
    "/doc/{id}/": (404, False),
    "/doc/{upper}": (404, False),
    "/doc/./{id}": (404, False),
    "/original/{id}.md": (404, False),
    "/api/doc/{id}%2F": (404, False),
    "/cite/{upper}": (404, False),
    "/doc/guides/../{id}": (404, False),
    "/original/guides/../{id}": (404, False),
    # The public document's page, highlighting another document's words.
    "/doc/guides/lantern-guide?q={typo}": (200, False),
    "/doc/guides/lantern-guide?q={prefix}*+{body}": (200, False),
}
# Routes about no document in particular: every document's secrets are looked for in them, and
# those marked True must show every document the reader may see.
GENERAL_ROUTES = {
    "/": False,
    "/api/": True,
    "/search": False,
    "/search?sort=newest": True,
    "/api/search?sort=newest&size=50": True,
    "/search?q=procurement": True,
    "/api/search?q=procurement": True,
    "/api/search?q=procurement&size=1&page=3": False,
    "/search?q=procurement&size=1&page=2": False,
    "/search?q=procurement&type=other": False,
    "/search?q=repair": False,  # the topic facet
    "/api/search?q=laptops&org=nordvik": False,
    "/api/search?q=laptops&year=2025": False,
    "/api/search?q=laptops&lang=sv": False,
    "/api/suggest?q=proc": False,
    "/lists": False,
    "/api/lists": False,
    "/lists/mixed": True,
    "/api/lists/mixed": True,
    "/doc/guides/lantern-guide": False,  # related documents
    "/api/doc/guides/lantern-guide": False,
    "/healthz": False,
    "/opensearch.xml": False,
    "/no-such-page": False,
    "/api/no-such": False,
    "/lists/no-such-list": False,
}
NOT_FOUND_GENERAL = {"/no-such-page", "/api/no-such", "/lists/no-such-list"}
# Feeds read no session cookie (a feed reader has none, and a feed URL answers the same in
# any browser): every reader's browser gets the anonymous visitor's feed.
FEED_ROUTES = {
    "/search.atom?q={word}": SHOWN,
    "/search.atom?q={body}": SHOWN,
    "/search.atom?q={prefix}*&sort=newest": SHOWN,
    "/search.atom?q={gloss}": SHOWN,
    "/search.atom?q=title:{word}&year=2023&year=2024&year=2025": SHOWN,
    "/search.atom?q={typo}": (200, False),
}
FEED_GENERAL_ROUTES = (
    "/feed.atom",
    "/search.atom?q=procurement",
    "/search.atom?sort=newest",
    "/search.atom?q=laptops&lang=sv",
    "/search.atom?q=laptops&org=nordvik",
    "/search.atom?q=repair&topic=wellbeing",
)
# Pages for coordinators only: anyone else gets the answer of a page that does not exist.
COORDINATOR_ROUTES = {"/insights": "/no-such-page", "/insights?days=7": "/no-such-page",
                      "/api/insights": "/api/no-such"}  # fmt: skip
# Endpoints whose answer cannot depend on who reads, each with the reason.
READER_INDEPENDENT = {
    "static": "the site's own CSS, JavaScript and icons",
    "pages.favicon": "the site's icon",
    "auth.sign_in": "the sign-in form (tests/test_auth.py); the matrix signs in through it",
    "auth.sign_out": "POST only: ends the session (tests/test_auth.py)",
    "oidc.start": "sends the browser to the identity provider, or 404 without one "
    "(tests/test_oidc.py)",
    "oidc.callback": "signs in from the identity provider's answer (tests/test_oidc.py)",
    "tokens.tokens_page": "the signed-in member's own API tokens, no documents "
    "(tests/test_tokens.py)",
    "tokens.revoke": "POST only: revokes one's own API token (tests/test_tokens.py)",
    "i18n.choose": "keeps the interface language in a cookie and goes back to a local path, "
    "no documents (tests/test_i18n.py)",
}


def fill(route: str, doc: Doc, passages: dict[str, tuple[str, str]], like: Doc = PUBLIC) -> str:
    """`route` for `doc`; the missing document borrows the passage of the one it stands in for."""
    anchor, version = passages.get(doc.doc_id, passages[like.doc_id])
    return route.format(anchor=anchor, v=version, **doc.values())


@pytest.fixture(scope="module")
def app(settings):
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    return app


@pytest.fixture(scope="module")
def clients(app) -> dict:
    """One browser-like client per reader, signed in through the real form (CSRF and all)."""
    out = {"anonymous": app.test_client()}
    for reader, (email, _, _) in ACCOUNTS.items():
        client = app.test_client()
        form = client.get("/sign-in").get_data(as_text=True)
        token = TOKEN_RE.search(form)
        assert token, form
        signed = client.post(
            "/sign-in", data={"csrf_token": token[1], "email": email, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.get_data(as_text=True)
        assert f"Signed in as <strong>{email}</strong>" in client.get("/").get_data(as_text=True)
        out[reader] = client
    return out


def get(client, path: str) -> tuple[int, dict, str]:
    response = client.get(path)
    headers = {k: response.headers.get(k, "") for k in
               ("Content-Type", "Cache-Control", "Vary", "Content-Disposition")}  # fmt: skip
    return response.status_code, headers, response.get_data(as_text=True)


def check_web(clients, reader: str, path: str) -> tuple[int, dict, str]:
    """GET `path` as `reader`: no secret leaks, and a signed-in answer is never cached."""
    answer = get(clients[reader], path)
    assert leaked(answer[2], reader, path) == [], (path, answer[2][:3000])
    assert "Cookie" in answer[1]["Vary"], path
    if reader != "anonymous":
        assert answer[1]["Cache-Control"] == "private, no-store", path
    return answer


def cases(where: str, asks, readers: tuple[str, ...]) -> list:
    """One case per question x reader x document, each with an id that says all three."""
    return [
        pytest.param(r, d, ask, id=f"{where}|{r}|{d.level}|{ask}")
        for ask, r, d in itertools.product(asks, readers, DOCS)
    ]


WEB_DOC_CASES = cases("web", DOC_ROUTES, READERS)
WEB_GENERAL_CASES = cases("web", GENERAL_ROUTES, READERS)


def check_document_route(clients, passages, reader: str, doc: Doc, route: str, table: dict,
                         visible: bool) -> tuple[int, dict, str]:  # fmt: skip
    """GET `route` about `doc` as `reader`: when `visible`, the status (and the document) that
    `table` says; otherwise exactly the answer about the missing document."""
    path = fill(route, doc, passages)
    answer = check_web(clients, reader, path)
    status, _, body = answer
    if visible:
        expected, shown = table[route]
        assert status == expected, (path, body[:2000])
        assert not shown or doc.word in body.lower(), path
    else:
        missing = check_web(clients, reader, fill(route, MISSING, passages, like=doc))
        assert_like_missing(answer, missing, doc)
    return answer


@pytest.mark.parametrize(("reader", "doc", "route"), WEB_DOC_CASES)
def test_web_document_routes(clients, passages, reader, doc, route):
    check_document_route(clients, passages, reader, doc, route, DOC_ROUTES, sees(reader, doc))


@pytest.mark.parametrize("doc", [MEMBERS, ORG_A], ids=lambda d: d.level)
def test_no_answer_is_kept_for_another_reader(clients, passages, doc):
    """Member A asks first, and the server's caches then hold A's answers: the anonymous
    visitor asking the same still gets the answer for a missing document."""
    for route in (*DOC_ROUTES, *GENERAL_ROUTES):
        path = fill(route, doc, passages)
        check_web(clients, "member A", path)
        hidden = check_web(clients, "anonymous", path)
        if route in DOC_ROUTES:
            missing = check_web(clients, "anonymous", fill(route, MISSING, passages, like=doc))
            assert_like_missing(hidden, missing, doc)


@pytest.mark.parametrize(("reader", "doc", "route"), cases("feed", FEED_ROUTES, READERS))
def test_feeds_show_what_the_anonymous_visitor_sees(clients, passages, reader, doc, route):
    """A signed-in browser's cookie does not open a feed to members' documents; a document the
    anonymous visitor may not see answers like a missing one, in every reader's feed."""
    visible = sees("anonymous", doc)
    _, headers, body = check_document_route(
        clients, passages, reader, doc, route, FEED_ROUTES, visible
    )
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert leaked(body, "anonymous", fill(route, doc, passages)) == [], body[:3000]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("route", FEED_GENERAL_ROUTES)
def test_general_feeds_hold_public_documents_only(clients, reader, route):
    status, _, body = check_web(clients, reader, route)
    assert status == 200, (route, body[:2000])
    assert leaked(body, "anonymous", route) == [], (route, body[:3000])
    if route in ("/feed.atom", "/search.atom?q=procurement", "/search.atom?sort=newest"):
        assert PUBLIC.word in body.lower(), route


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("route", COORDINATOR_ROUTES)
def test_insights_are_for_coordinators_only(clients, reader, route):
    """Search insights show what readers typed: the coordinator reads them; anyone else gets
    exactly the answer of a missing page."""
    answer = get(clients[reader], route)
    assert "Cookie" in answer[1]["Vary"], route
    if reader == "coordinator":
        assert answer[0] == 200, (route, answer[2][:2000])
        assert answer[1]["Cache-Control"] == "private, no-store", route
        assert "Most frequent queries" in answer[2] or '"frequent"' in answer[2]
    else:
        missing = get(clients[reader], COORDINATOR_ROUTES[route])
        assert answer[0] == missing[0] == 404
        assert answer[1] == missing[1], route
        asked = re.compile(r'next=[^"]*"')  # the sign-in link leads back to the address asked
        assert asked.sub("next=", answer[2]) == asked.sub("next=", missing[2]), route


HIDDEN = [pytest.param(r, d, id=f"{r}|{d.level}") for r in READERS for d in DOCS if not sees(r, d)]


@pytest.mark.parametrize(("reader", "doc"), HIDDEN)
def test_a_hidden_passages_version_on_a_visible_page_is_unknown(clients, passages, reader, doc):
    """A permalink's `?v=` names a passage's text: a hidden passage's version, asked on a
    page the reader may see, reads like a version no passage has."""
    anchor, version = passages[doc.doc_id]
    page = "/doc/guides/lantern-guide?v={}#" + anchor
    hidden = check_web(clients, reader, page.format(version))
    unknown = check_web(clients, reader, page.format("0123456789ab"))
    assert hidden[0] == unknown[0] == 200
    assert normalised(hidden[2].replace(version, "{v}"), doc) == normalised(
        unknown[2].replace("0123456789ab", "{v}"), MISSING
    )


@pytest.mark.parametrize(("reader", "doc", "route"), WEB_GENERAL_CASES)
def test_web_general_routes(clients, reader, doc, route):
    status, _, body = check_web(clients, reader, route)
    assert status == (404 if route in NOT_FOUND_GENERAL else 200), (route, body[:2000])
    if GENERAL_ROUTES[route] and sees(reader, doc):
        assert doc.word in body.lower(), route


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "query", ["procurement", "", "laptops repair", "type:other", "year:2024", "wellbeing"]
)
def test_totals_and_facet_counts_agree_with_visible_results(clients, reader, query):
    """Every facet value counts exactly the visible results that have it; no value of a hidden
    document is offered at all. A facet the query chooses from counts its values as
    alternatives: as the results of the same query without that choice count them."""
    path = f"/api/search?q={quote(query)}&size=50&sort=newest"
    data = clients[reader].get(path).get_json()
    for name in data["selected"]:  # here the query is only the choice: count over everything
        unchosen = clients[reader].get("/api/search?q=&size=50&sort=newest").get_json()
        assert data["facets"][name] == [
            {**v, "selected": v["value"] in data["selected"][name]}
            for v in unchosen["facets"][name]
        ]
        data["facets"].pop(name)
    hits = data["results"]
    visible = {d.doc_id for d in SEES[reader]}
    assert {h["doc_id"] for h in hits} <= visible
    assert data["total"] == len(hits) and data["pages"] <= 1
    assert data["total_passages"] == sum(h["matching_passages"] for h in hits)
    fields = {"type": "type", "year": "year", "org": "organisations", "topic": "topics",
              "lang": "language"}  # fmt: skip
    for name, values in data["facets"].items():
        for value in values:
            having = [h for h in hits if _has(h[fields[name]], value["value"])]
            assert value["count"] == len(having) > 0, (name, value)
    if query in ("procurement", ""):
        assert {h["doc_id"] for h in hits} == visible
        assert sum(v["count"] for v in data["facets"]["type"]) == data["total"]
    html = clients[reader].get(f"/search?q={quote(query)}&sort=newest").get_data(as_text=True)
    if data["total"]:
        assert re.search(rf"<h1[^>]*>\s*{data['total']} document", html), html[:3000]


@pytest.mark.parametrize("reader", READERS)
def test_home_and_health_counts_are_the_visible_documents(clients, reader):
    visible = clients[reader].get("/api/search?sort=newest&size=50").get_json()["results"]
    types = Counter(h["type"] for h in visible)
    home = clients[reader].get("/api/").get_json()
    assert home["documents"] == len(visible) == len(SEES[reader])
    assert home["passages"] == sum(h["passage_count"] for h in visible)
    assert home["by_type"] == dict(types)
    assert {d["doc_id"] for d in home["latest"]} <= {h["doc_id"] for h in visible}
    for topic in home["topics"]:
        assert topic["documents"] == sum(topic["topic"] in h["topics"] for h in visible) > 0
    health = clients[reader].get("/healthz").get_json()
    assert (health["documents"], health["passages"]) == (home["documents"], home["passages"])
    assert health["by_type"] == dict(types)
    assert sum(health["by_language"].values()) == len(visible)
    # Reading lists leave out what the reader may not see (the missing document stays marked).
    refs = [d.doc_id for d in (MEMBERS, PUBLIC, ORG_A, MISSING) if d is MISSING or sees(reader, d)]
    refs += [f"{ORG_A.doc_id}#details"] if sees(reader, ORG_A) else []
    listed = clients[reader].get("/api/lists/mixed").get_json()
    assert [i["ref"] for i in listed["items"]] == refs
    assert (
        listed["item_count"]
        == len(refs)
        == clients[reader].get("/api/lists").get_json()["lists"][0]["item_count"]
    )


def _has(field, value: str) -> bool:
    if isinstance(field, list):
        return value in field
    return str(field) == value or (isinstance(field, int) and value == str(field))


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.level)
def test_did_you_mean_and_suggestions_never_offer_a_hidden_word(clients, reader, doc):
    client = clients[reader]
    for typo in (doc.typo, doc.word[1:], doc.body[:-1] + "x", f"procurement {doc.typo}"):
        data = client.get(f"/api/search?q={quote(typo)}").get_json()
        shown = (data["corrected"] or {}).get("shown") or ""
        suggestion = f"{data['suggestion'] or ''} {shown}".lower()
        offered = doc.word in suggestion or doc.body in suggestion
        if not sees(reader, doc):
            assert not offered, (typo, suggestion)
        elif typo == doc.typo:
            assert doc.word in suggestion, (typo, data)
    for prefix in (doc.prefix, doc.body[:5], f"the {doc.prefix}"):
        body = client.get(f"/api/suggest?q={quote(prefix)}").get_data(as_text=True).lower()
        if not sees(reader, doc):
            assert doc.word not in body and doc.body not in body, (prefix, body)
        elif prefix == doc.prefix:
            assert doc.word in body, (prefix, body)


@pytest.mark.parametrize("reader", ["anonymous", "member B", "coordinator"])
def test_scores_do_not_tell_what_hidden_documents_hold(clients, reader):
    """The public document holds `ambertoken` and `cobaltoken` alike; only a hidden document
    holds `cobaltoken` besides. If the public document's score differed between the two
    words, any reader would learn which words hidden documents hold, one guess at a time.
    The same for a hidden-only word beside a visible one: it must count like a word that
    occurs nowhere (the coordination bonus counts the query's words found)."""

    def score(query: str) -> float:
        (hit,) = clients[reader].get(f"/api/search?q={query}").get_json()["results"]
        assert hit["doc_id"] == PUBLIC.doc_id
        return hit["score"]

    assert score("ambertoken") == pytest.approx(score("cobaltoken"))
    hidden_only = ORG_A.word
    assert score(f"lanternquill {hidden_only}") == pytest.approx(score("lanternquill qqqzzzx"))


def test_every_route_is_in_the_matrix(app, passages):
    """A route is asked by the matrix or listed, with its reason, as reader-independent."""
    adapter = app.url_map.bind("kb.test")
    asked = set()
    for route in (*DOC_ROUTES, *GENERAL_ROUTES, *FEED_ROUTES, *FEED_GENERAL_ROUTES,
                  *COORDINATOR_ROUTES):  # fmt: skip
        path = fill(route, PUBLIC, passages).split("#")[0]
        try:
            endpoint, _ = adapter.match(path.split("?")[0], method="GET")
        except Exception:  # an error page: asked, but of no endpoint
            continue
        asked.add(endpoint)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    forgotten = endpoints - asked - set(READER_INDEPENDENT)
    assert forgotten == set(), f"add these to the access matrix: {sorted(forgotten)}"
    assert set(READER_INDEPENDENT) <= endpoints  # no stale entries


API_ROUTES = [r for r in (*DOC_ROUTES, *GENERAL_ROUTES) if r.startswith("/api/")]
TOKEN_CASES = [
    pytest.param(r, d, route, id=f"token|{r}|{d.level}|{route}")
    for route, r, d in itertools.product(API_ROUTES, READERS[1:], DOCS)
]


@pytest.fixture(scope="module")
def api_tokens(settings) -> dict[str, str]:
    """An API token of each signed-in reader's account."""
    store = TokenStore(AccountStore(settings.accounts_path, hasher=FAST))
    return {reader: store.create(email, "matrix").token for reader, (email, _, _) in
            ACCOUNTS.items()}  # fmt: skip


@pytest.mark.parametrize(("reader", "doc", "route"), TOKEN_CASES)
def test_api_tokens_read_exactly_as_their_owner(app, clients, passages, api_tokens, reader, doc,
                                                route):  # fmt: skip
    """Every /api/ answer to a reader's token, sent without a session, is the answer that
    reader gets signed in: same status and body, never cached for anyone else."""
    path = fill(route, doc, passages)
    headers = {"Authorization": f"Bearer {api_tokens[reader]}"}
    with_token = app.test_client().get(path, headers=headers)
    body = with_token.get_data(as_text=True)
    assert leaked(body, reader, path) == [], (path, body[:2000])
    status, _, signed_in = get(clients[reader], path)
    assert with_token.status_code == status, path
    assert normalised(body, doc) == normalised(signed_in, doc), path
    assert "Authorization" in with_token.headers["Vary"]
    if status == 200 and not path.startswith("/api/suggest"):
        assert with_token.headers["Cache-Control"] == "private, no-store", path


# ---- the CLI -------------------------------------------------------------------------------------

CLI_DOC_COMMANDS = (
    "search {word}",
    "search {word} --json",
    "search {body}",
    "search {typo}",
    "search {typo} --json",
    "search {prefix}* --json",
    "search {gloss} --json",
    "show {id}",
    "show {id} --json",
    "show {id}#{anchor}",
    "cite {id}",
    "cite {id}#{anchor}",
    "cite {id} --all",
    *(f"cite {{id}} --format {f}" for f in CITE_FORMAT_IDS if f != "text"),
    *(f"cite {{id}}#{{anchor}} --style {s}" for s in CITE_STYLE_IDS),
)
CLI_GENERAL_COMMANDS = {
    "search procurement": True,
    "search procurement --json": True,
    "search --sort newest --limit 50 --json": True,
    "search procurement --type other --json": False,
    "search laptops --org nordvik --json": False,
    "lists": False,
    "lists --json": False,
    "lists mixed": True,
    "lists mixed --format markdown": True,
    "lists mixed --json": True,
}
# Commands that do not read documents for someone, each with the reason.
ADMIN_COMMANDS = {
    "index": "builds the index from the corpus on the server",
    "add": "adds files to the corpus on the server",
    "check": "checks the corpus on the server",
    "status": "the index's health for the server's administrator",
    "serve": "starts the web server (whose routes the web matrix covers)",
    "users": "manages accounts",
    "insights": "reports the aggregated search log to the server's administrator (no documents)",
    "tokens": "manages accounts' API tokens",
    "backup": "copies the server's own files for its administrator (no search, no reader)",
    "restore": "puts a backup back for the server's administrator (no search, no reader)",
}


@pytest.fixture(scope="module")
def kb(settings):
    runner = CliRunner()

    def run(reader: str, command: str):
        extra = [] if reader == "shell" else ["--as", ACCOUNTS[reader][0]]
        where = ["--corpus", str(settings.corpus), "--index", str(settings.index)]
        result = runner.invoke(
            main,
            [*where, *shlex.split(command), *extra],
            env={"KB_ACCOUNTS": str(settings.accounts_path)},
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command,
            result.output,
        )
        assert leaked(result.output, reader, command) == [], (command, result.output)
        return result.exit_code, result.output

    return run


CLI_DOC_CASES = cases("cli", CLI_DOC_COMMANDS, CLI_READERS)
CLI_GENERAL_CASES = cases("cli", CLI_GENERAL_COMMANDS, CLI_READERS)


@pytest.mark.parametrize(("reader", "doc", "command"), CLI_DOC_CASES)
def test_cli_document_commands(kb, passages, reader, doc, command):
    code, output = kb(reader, fill(command, doc, passages))
    if sees(reader, doc):
        assert code == 0, output
        assert doc.word in output.lower()
    else:
        missing = kb(reader, fill(command, MISSING, passages, like=doc))
        assert code == missing[0]
        assert normalised(output, doc) == normalised(missing[1], MISSING)


@pytest.mark.parametrize(("reader", "doc", "command"), CLI_GENERAL_CASES)
def test_cli_general_commands(kb, reader, doc, command):
    code, output = kb(reader, command)
    assert code == 0, output
    if CLI_GENERAL_COMMANDS[command] and sees(reader, doc):
        assert doc.word in output.lower()


def test_every_reader_command_is_in_the_matrix():
    """A command that takes `--as` is in the CLI matrix; any other is listed as an
    administrator's command with its reason."""
    readers = {name for name, cmd in main.commands.items()
               if any(p.name == "as_email" for p in cmd.params)}  # fmt: skip
    asked = {c.split()[0] for c in (*CLI_DOC_COMMANDS, *CLI_GENERAL_COMMANDS)}
    assert readers == asked, f"reader commands outside the matrix: {sorted(readers - asked)}"
    assert set(main.commands) - readers == set(ADMIN_COMMANDS)


def test_the_matrix_has_at_least_300_cases():
    cases = [*WEB_DOC_CASES, *WEB_GENERAL_CASES, *CLI_DOC_CASES, *CLI_GENERAL_CASES]
    assert len(cases) >= 300
    assert len({c.id for c in cases}) == len(cases)


def test_the_fixture_corpus_has_every_level(settings):
    """Each level is really in the index (a typo in the fixture would make the matrix vacuous)."""
    snapshot = Library(settings).snapshot()
    for reader, principal in (("anonymous", Principal.anonymous()), ("shell", Principal.shell())):
        view = view_of(snapshot, principal)
        assert set(view.catalogue) == {d.doc_id for d in SEES[reader]}
    assert Path(settings.corpus / "kb.toml").is_file()
