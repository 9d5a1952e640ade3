"""Enforcement inside kb: every reader-facing answer is computed over what the reader may see.

A tiny corpus with one document at each visibility level, each with marker words of its own
(title and text), read by the anonymous visitor, a member of organisation A (ikea), a member
of organisation B (skovde-kommun), a coordinator of a third organisation (atea) and the
server's shell. Each leak path ACCESS.md lists has a test here: search totals, facets and
pages; the glossary tier; did-you-mean; suggestions; related documents; documents,
citations and originals (a hidden document answers exactly like a missing one); reading
lists; home and health counts. The access matrix over every route is tests/test_access_matrix.py.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cli import main
from indexer.build import run_index
from kb.access import Principal
from kb.accounts import AccountStore
from kb.cite import cite
from kb.didyoumean import SHOW_AT_LEAST
from kb.documents import load_document
from kb.errors import NotFound
from kb.library import Library
from kb.readinglists import open_reading_list, readable_lists
from kb.search import Searcher, SearchRequest, open_searcher
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import write
from webui import create_app
from webui.suggest import Suggester

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
PASSWORD = "a long enough test passphrase"

OPEN, MEMBERS, PRIVATE, MISSING = (
    "guides/open-lantern",
    "meetings/heron-meeting",
    "self-assessments/zephyr-assessment",
    "guides/no-such-document",
)
# Words only one document holds (title and text), and a glossary word whose translation only
# the members' document holds.
MARKERS = {OPEN: "lanternword", MEMBERS: "heronmarker", PRIVATE: "zephyrmarker"}
TITLES = {OPEN: "Lanternword guide", MEMBERS: "Heronmarker meeting", PRIVATE: "Zephyrmarker review"}

READERS = {
    "anonymous": Principal.anonymous(),
    "member A": Principal.member("ann@ikea.example", "ikea"),
    "member B": Principal.member("bo@skovde.example", "skovde-kommun"),
    "coordinator": Principal.coordinator("cay@atea.example", "atea"),
    "shell": Principal.shell(),
}
SEES = {
    "anonymous": {OPEN},
    "member A": {OPEN, MEMBERS, PRIVATE},
    "member B": {OPEN, MEMBERS},
    "coordinator": {OPEN, MEMBERS},
    "shell": {OPEN, MEMBERS, PRIVATE},
}
EMAILS = {"member A": "ann@ikea.example", "member B": "bo@skovde.example",
          "coordinator": "cay@atea.example"}  # fmt: skip


def _doc(visibility: str, doc_type: str, doc_id: str, extra: str = "") -> str:
    marker = MARKERS[doc_id]
    return (
        f"---\ntitle: {TITLES[doc_id]}\ntype: {doc_type}\ndate: 2024-0{len(doc_id) % 9 + 1}-01\n"
        f"language: en\nvisibility: {visibility}\n---\n# {TITLES[doc_id]}\n\n"
        f"Procurement of laptops and {marker} repair, with {marker} notes. {extra}\n\n"
        f"## More about {marker}\n\nProcurement criteria for {marker} suppliers.\n"
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("visibility")
    corpus = base / "corpus"
    write(
        corpus / "organisations.toml",
        "".join(
            f'[[organisation]]\nid = "{o}"\nname = "{o.title()}"\nmember = true\n\n'
            for o in ("ikea", "skovde-kommun", "atea")
        ),
    )
    write(
        corpus / "glossary.toml",
        '[[concept]]\nid = "q"\nen = ["quokkafund"]\nsv = ["kvokkafond"]\n',
    )
    write(corpus / "kb.toml", '[visibility]\ndefault = "members"\n')
    write(corpus / f"{OPEN}.md", _doc("public", "guide", OPEN))
    write(corpus / f"{MEMBERS}.md", _doc("members", "meeting", MEMBERS, "Kvokkafond budget."))
    write(corpus / f"{PRIVATE}.md", _doc("organisation:ikea", "guide", PRIVATE))
    items = "".join(f'[[item]]\nref = "{ref}"\nnote = "Read it."\n\n'
                    for ref in (MEMBERS, OPEN, PRIVATE, MISSING))  # fmt: skip
    write(corpus / "reading-lists/mixed.toml",
          f'title = "Mixed list"\naudience = "Everyone"\ndescription = "All levels."\n\n{items}')  # fmt: skip
    found = Settings.resolve(corpus, base / "index")
    found = dataclasses.replace(found, accounts=base / "accounts" / "accounts.sqlite3")
    report = run_index(found, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    store = AccountStore(found.accounts_path, hasher=FAST)
    for reader, email in EMAILS.items():
        principal = READERS[reader]
        role = "coordinator" if reader == "coordinator" else "member"
        store.add(email, str(principal.organisation), PASSWORD, role=role)
    return found


def searcher(settings: Settings, reader: str) -> Searcher:
    return open_searcher(settings, READERS[reader])


def view(settings: Settings, reader: str):
    return view_of(Library(settings).snapshot(), READERS[reader])


# ---- the API: a reader is never optional --------------------------------------------------------


def test_forgetting_the_reader_is_a_type_error(settings):
    library = Library(settings)
    with pytest.raises(TypeError):
        Searcher(library)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Searcher(library, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        open_searcher(settings)  # type: ignore[call-arg]
    snap = library.snapshot()
    with pytest.raises(TypeError):  # a bare snapshot would show everything
        load_document(snap, OPEN)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cite(snap, OPEN, None, "http://kb")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        open_reading_list(settings.corpus, "mixed", library)  # type: ignore[call-arg]


# ---- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_totals_facets_and_pages_count_visible_documents_only(settings, reader):
    s = searcher(settings, reader)
    result = s.search(SearchRequest(q="procurement", page_size=10))
    assert {h.doc.doc_id for h in result.hits} == SEES[reader]
    assert result.total == len(SEES[reader])
    assert sum(v.count for v in result.facets["type"]) == result.total
    assert result.total_passages == sum(h.matching_passages for h in result.hits)
    paged = set()
    for page in range(1, result.total + 2):
        one = s.search(SearchRequest(q="procurement", page_size=1, page=page))
        assert one.total == result.total
        paged |= {h.doc.doc_id for h in one.hits}
    assert paged == SEES[reader]
    browse = s.search(SearchRequest(q="", sort="newest", page_size=10))
    assert browse.total == len(SEES[reader])
    assert {h.doc.doc_id for h in browse.hits} == SEES[reader]
    assert [d for d, _ in s.rank("procurement")] and {d for d, _ in s.rank("procurement")} == SEES[
        reader
    ]


@pytest.mark.parametrize("reader", READERS)
def test_hidden_words_find_nothing_and_are_never_suggested(settings, reader):
    s = searcher(settings, reader)
    for doc_id, marker in MARKERS.items():
        found = s.search(SearchRequest(q=marker))
        misspelt = s.search(SearchRequest(q=marker[:-1] + "x"))  # one edit away
        if doc_id in SEES[reader]:
            assert found.total == 1
            assert misspelt.suggestion == marker
        else:
            assert found.total == 0 and found.hits == ()
            assert found.suggestion is None or marker not in found.suggestion
            assert misspelt.suggestion is None or marker not in misspelt.suggestion
            assert s.rank(marker) == []


@pytest.mark.parametrize("reader", READERS)
def test_a_hidden_word_changes_nothing_a_misspelling_shows(settings, reader):
    # A near-miss of a word only hidden documents hold answers exactly like a word no
    # document holds: same results, no suggestion, no correction shown.
    s = searcher(settings, reader)
    for doc_id, marker in MARKERS.items():
        if doc_id in SEES[reader]:
            continue
        typo = marker[:-1] + "x"
        for q in (typo, f"procurement {typo}", f"{typo} suppliers"):
            seen = s.search(SearchRequest(q=q))
            nobody = s.search(SearchRequest(q=q.replace(typo, "quxquxquxx")))
            assert seen.suggestion is None and seen.corrected is None, q
            assert (seen.total, seen.total_passages, seen.read_as.replace(typo, "quxquxquxx")) == (
                nobody.total,
                nobody.total_passages,
                nobody.read_as,
            )
            assert [h.doc.doc_id for h in seen.hits] == [h.doc.doc_id for h in nobody.hits]


@pytest.mark.parametrize("reader", READERS)
def test_a_correction_is_shown_by_the_documents_the_reader_sees(settings, reader):
    # Every document holds "suppliers": the correction of "supplirs" is offered to everyone,
    # and its results replace the query's only for readers who see SHOW_AT_LEAST documents
    # with it; hidden documents count for nothing.
    result = searcher(settings, reader).search(SearchRequest(q="supplirs"))
    assert result.suggestion == "suppliers"
    if len(SEES[reader]) >= SHOW_AT_LEAST:
        assert result.corrected == "suppliers"
        assert {h.doc.doc_id for h in result.hits} == SEES[reader]
    else:
        assert result.corrected is None and result.total == 0 and result.hits == ()


@pytest.mark.parametrize("reader", READERS)
def test_the_glossary_tier_reaches_visible_documents_only(settings, reader):
    # "quokkafund" is found through its Swedish translation, which only the members' note holds.
    result = searcher(settings, reader).search(SearchRequest(q="quokkafund"))
    expected = {MEMBERS} & SEES[reader]
    assert {h.doc.doc_id for h in result.hits} == expected
    assert result.total == len(expected)


@pytest.mark.parametrize("reader", READERS)
def test_related_documents_are_visible_ones(settings, reader):
    s = searcher(settings, reader)
    for doc_id in SEES["shell"]:
        related = {info.doc_id for info, _ in s.related(doc_id)}
        assert related <= SEES[reader] - {doc_id}
        if doc_id not in SEES[reader]:
            assert s.related(doc_id) == s.related(MISSING) == []


@pytest.mark.parametrize("reader", READERS)
def test_suggestions_offer_visible_titles_and_words_only(settings, reader):
    v = view(settings, reader)
    for doc_id, marker in MARKERS.items():
        offered = Suggester().suggest(v, marker[:5]) + Suggester().suggest(v, f"the {marker[:4]}")
        text = " ".join(f"{s.text} {s.description} {s.doc_id}" for s in offered).lower()
        assert (marker in text) == (doc_id in SEES[reader]), (marker, offered)


# ---- documents, citations, lists, counts --------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_a_hidden_document_is_not_found_like_a_missing_one(settings, reader):
    v = view(settings, reader)
    for doc_id in SEES["shell"]:
        if doc_id in SEES[reader]:
            assert load_document(v, doc_id).doc.doc_id == doc_id
            assert cite(v, doc_id, "more-about-" + MARKERS[doc_id], "http://kb").doc_id == doc_id
            continue
        for call in (lambda d: load_document(v, d), lambda d: cite(v, d, None, "http://kb")):
            with pytest.raises(NotFound) as hidden:
                call(doc_id)
            with pytest.raises(NotFound) as missing:
                call(MISSING)
            assert str(hidden.value).replace(doc_id, "X") == str(missing.value).replace(
                MISSING, "X"
            )


@pytest.mark.parametrize("reader", READERS)
def test_reading_lists_leave_hidden_items_out(settings, reader):
    found = open_reading_list(settings.corpus, "mixed", Library(settings), READERS[reader])
    visible_refs = [r.item.ref for r in found.items if r.problem is None]
    assert visible_refs == [d for d in (MEMBERS, OPEN, PRIVATE) if d in SEES[reader]]
    # The missing document stays marked missing; the items are numbered without gaps.
    assert [r.item.ref for r in found.items if r.problem] == [MISSING]
    assert [r.item.number for r in found.items] == list(range(1, len(found.items) + 1))
    (summary,), _ = readable_lists(settings.corpus, view(settings, reader))
    assert len(summary.items) == len(found.items) == len(SEES[reader]) + 1


@pytest.mark.parametrize("reader", READERS)
def test_views_count_visible_documents_and_passages(settings, reader):
    v = view(settings, reader)
    assert set(v.catalogue) == SEES[reader]
    assert v.passage_count == sum(v.catalogue[d].passages for d in SEES[reader])
    snap = Library(settings).snapshot()
    once = view_of(snap, READERS[reader])
    assert view_of(snap, dataclasses.replace(READERS[reader])) is once  # one per readable set


# ---- the web ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(settings):
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests (tests/test_auth.py)
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    return app


def client_for(app, reader: str):
    client = app.test_client()
    if reader in EMAILS:
        response = client.post("/sign-in", data={"email": EMAILS[reader], "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
    return client


def without_tokens(page: str) -> str:
    """The page without its sign-out form's CSRF token, which is stamped with the second."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)


WEB_READERS = [r for r in READERS if r != "shell"]
DOC_ROUTES = ("/doc/{}", "/doc/{}?v=abc123#more", "/api/doc/{}", "/cite/{}", "/api/cite/{}",
              "/api/cite/{}?format=bibtex", "/original/{}")  # fmt: skip


@pytest.mark.parametrize("reader", WEB_READERS)
def test_web_hidden_documents_answer_exactly_like_missing_ones(app, reader):
    client = client_for(app, reader)
    for route in DOC_ROUTES:
        for doc_id in SEES["shell"]:
            response = client.get(route.format(doc_id))
            if doc_id in SEES[reader]:
                assert response.status_code == 200, route
                continue
            missing = client.get(route.format(MISSING))
            assert response.status_code == missing.status_code == 404
            body = without_tokens(response.get_data(as_text=True)).replace(doc_id, "X")
            assert body == without_tokens(missing.get_data(as_text=True)).replace(MISSING, "X")


@pytest.mark.parametrize("reader", WEB_READERS)
def test_web_pages_show_visible_documents_only(app, reader):
    client = client_for(app, reader)
    hidden = SEES["shell"] - SEES[reader]
    pages = {
        "/": None,
        "/search?q=procurement": None,
        "/search?q=procurement&type=guide": None,
        "/search?sort=newest": None,
        "/api/search?q=procurement": None,
        "/api/": None,
        "/lists/mixed": None,
        "/api/lists/mixed": None,
        "/lists": None,
        "/api/lists": None,
        f"/doc/{OPEN}": None,
        f"/api/doc/{OPEN}": None,
        "/healthz": None,
        "/opensearch.xml": None,
    }
    pages.update({f"/api/suggest?q={MARKERS[d][:5]}": None for d in SEES["shell"]})
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True).lower()
        for doc_id in hidden:
            for secret in (MARKERS[doc_id], TITLES[doc_id].lower(), doc_id):
                assert secret not in body, (path, secret)
    home = client.get("/api/").get_json()
    assert home["documents"] == len(SEES[reader])
    assert client.get("/healthz").get_json()["documents"] == len(SEES[reader])
    result = client.get("/api/search?q=procurement").get_json()
    assert result["total"] == len(SEES[reader])


@pytest.mark.parametrize("reader", WEB_READERS)
def test_web_anonymous_visitors_are_told_to_sign_in(app, reader):
    client = client_for(app, reader)
    hint = "Sign in to see members' documents"
    for path in ("/", "/search", "/search?q=procurement"):
        page = client.get(path).get_data(as_text=True)
        assert (hint in page) == (reader == "anonymous"), path
    response = client.get("/search?q=procurement")
    assert "Cookie" in response.headers["Vary"]  # a shared cache keys pages by the session
    if reader != "anonymous":
        assert response.headers["Cache-Control"] == "private, no-store"
        assert client.get("/api/suggest?q=proc").headers["Cache-Control"] == "private, no-store"


# ---- the CLI ------------------------------------------------------------------------------------


def kb(runner, settings, *args):
    return runner.invoke(
        main,
        ["--corpus", str(settings.corpus), "--index", str(settings.index), *args],
        env={"KB_ACCOUNTS": str(settings.accounts_path)},
    )


@pytest.mark.parametrize("reader", [*EMAILS, "shell"])
def test_cli_as_shows_what_the_member_sees(runner, settings, reader):
    extra = ["--as", EMAILS[reader]] if reader in EMAILS else []
    listed = kb(runner, settings, "search", "procurement", "--json", *extra)
    assert listed.exit_code == 0, listed.output
    assert f'"total": {len(SEES[reader])}' in listed.output
    for doc_id in SEES["shell"]:
        shown = kb(runner, settings, "show", doc_id, *extra)
        cited = kb(runner, settings, "cite", doc_id, *extra)
        if doc_id in SEES[reader]:
            assert shown.exit_code == cited.exit_code == 0
            continue
        gone = kb(runner, settings, "show", MISSING, *extra)
        assert shown.exit_code == cited.exit_code == gone.exit_code == 1
        assert shown.output.replace(doc_id, "X") == gone.output.replace(MISSING, "X")
        assert MARKERS[doc_id] not in shown.output + cited.output
    lists = kb(runner, settings, "lists", "mixed", "--json", *extra)
    assert lists.exit_code == 0, lists.output
    for doc_id in SEES["shell"] - SEES[reader]:
        assert doc_id not in lists.output


def test_cli_as_an_unknown_or_disabled_account_is_a_clear_error(runner, settings):
    unknown = kb(runner, settings, "search", "procurement", "--as", "nobody@example.org")
    assert unknown.exit_code == 2
    assert "no account 'nobody@example.org'" in unknown.output
    store = AccountStore(settings.accounts_path, hasher=FAST)
    store.add("off@ikea.example", "ikea", PASSWORD)
    store.set_disabled("off@ikea.example")
    disabled = kb(runner, settings, "show", PRIVATE, "--as", "off@ikea.example")
    assert disabled.exit_code == 2 and "disabled" in disabled.output
    assert Path(settings.accounts_path).is_file()
