"""No input makes a page answer 5xx: every route of the app, walked with broken values of
every kind, anonymously, as a member and as a coordinator, with broken files in the corpus.

Reading lists that cannot be read answer 404 exactly like a missing list; only a
coordinator is told what is wrong with the file.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from kb.accounts import AccountStore
from kb.settings import Settings
from tests.test_auth import FAST, sign_in
from webui import create_app

MEMBER, MEMBER_PASSWORD = "ann@ikea.example", "correct horse battery staple"
COORDINATOR, COORDINATOR_PASSWORD = "cay@atea.example", "violet kettle under the bridge"

# Broken reading-list files, by what is wrong with them.
BROKEN_LISTS = {
    "broken-toml": 'title = "Unclosed\n[[items]\nref = ',
    "no-items": 'title = "A list without items"\n',
    "wrong-types": 'title = 7\ndescription = ["x"]\n[[items]]\nref = 3\nnote = {a = 1}\n',
    "not-utf8": b'title = "\xff\xfe"\n',
    "unknown-keys": 'title = "x"\nsurprise = true\n[[items]]\nref = "guides/x"\nwhat = 1\n',
    "bad-item": 'title = "x"\n[[item]]\nref = 3\n[[item]]\nnote = "no ref"\n',
    "empty": "",
}
# Those that cannot be read as a list at all (the others load, their problems marked).
UNREADABLE = ["broken-toml", "wrong-types", "not-utf8", "empty"]

# Values for a route's path argument.
PATH_VALUES = [
    "",
    "x" * 5000,
    "%00",
    "a%00b",
    "..%2F..%2Fetc%2Fpasswd",
    "../../etc/passwd",
    "%ff%fe",
    "%",
    "%zz",
    "guides/strategy-for-sustainable-it%23intro",
    "guides/strategy-for-sustainable-it/../../kb.toml",
    "ödla/å ä ö ø",
    "-1",
    "99999999999999999999999",
    "<script>alert(1)</script>",
    "\u202e\u0000",
    *BROKEN_LISTS,
]

# Query strings, each added to every route.
QUERIES = [
    "q=%22unbalanced",
    "q=((((((((((x",
    "q=" + "a%20OR%20" * 300 + "b",
    "q=%00%01%02",
    "q=%ff",
    "q=type:nonsense%20year:abcd%20org:%22%22",
    "q=x&type=nonsense&year=abcd&year=99999999999&org=%00&topic=" + "t" * 3000,
    "q=x&page=999999999999999999999&sort=bogus&lang=xx-%ff",
    "q=x&page=-1&per_page=0",
    "q=x&page=abc&format=nonsense&style=nope",
    "v=zzz&from=%00",
    "q=*&q=?&q=:",
    "next=%2F%2Fevil.example&code=x&state=y&error=access_denied",
    "days=abc&limit=-5",
]

HIDDEN = "self-assessments/2025-skovde-kommun"
METHODS = ["POST", "PUT", "DELETE", "PATCH"]
BODIES = [
    ("application/json", b'{"q": '),
    ("application/x-www-form-urlencoded", b"csrf_token=%ff&email=%00&password=" + b"x" * 5000),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
    ("text/plain", b"\xff\xfe\x00"),
]


@pytest.fixture(scope="module")
def app(bundled_index: Settings, tmp_path_factory):
    base = tmp_path_factory.mktemp("broken")
    corpus = base / "corpus"
    shutil.copytree(bundled_index.corpus, corpus)
    for slug, text in BROKEN_LISTS.items():
        path = corpus / "reading-lists" / f"{slug}.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    # A problem in an item that names a document only Skövde kommun may read.
    (corpus / "reading-lists" / "hidden-problem.toml").write_text(
        f'title = "Self-assessments"\n[[item]]\nref = "{HIDDEN}"\nminutes = "ten"\n'
        '[[item]]\nref = "guides/strategy-for-sustainable-it"\nminutes = "five"\n'
    )
    settings = dataclasses.replace(bundled_index, corpus=corpus, accounts=base / "accounts.sqlite3")
    app = create_app(settings, check_interval=0)
    app.config.update(TESTING=True, RATELIMIT_ENABLED=False)
    store = AccountStore(settings.accounts_path, hasher=FAST)
    app.extensions["kb_accounts"] = store
    store.add(MEMBER, "ikea", MEMBER_PASSWORD)
    store.add(COORDINATOR, "atea", COORDINATOR_PASSWORD, role="coordinator")
    return app


def client_as(app, who: str):
    client = app.test_client()
    if who == "member":
        assert sign_in(client, MEMBER, MEMBER_PASSWORD).status_code == 303
    elif who == "coordinator":
        assert sign_in(client, COORDINATOR, COORDINATOR_PASSWORD).status_code == 303
    return client


def urls(app) -> list[tuple[str, set[str]]]:
    """Every route as URLs: its path values filled in, each with each broken query."""
    found = []
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        paths = [rule.rule]
        for arg in rule.arguments:
            paths = [
                p.replace(f"<{conv}>", value)
                for p in paths
                for value in PATH_VALUES
                for conv in [c for c in _placeholders(rule.rule) if c.endswith(arg)]
            ]
        for path in paths:
            found.append((path, methods))
    return found


def _placeholders(rule: str) -> list[str]:
    out, rest = [], rule
    while "<" in rest:
        start = rest.index("<") + 1
        end = rest.index(">", start)
        out.append(rest[start:end])
        rest = rest[end + 1 :]
    return out


@pytest.mark.parametrize("who", ["anonymous", "member", "coordinator"])
def test_no_route_answers_5xx_to_broken_input(app, who: str) -> None:
    client = client_as(app, who)
    failures = []
    queries = itertools.cycle(QUERIES)
    for path, _methods in urls(app):
        if path.startswith("/sign-out"):
            continue  # it would end the session the walk runs in (tested in test_auth)
        for query in [next(queries), next(queries)]:
            response = client.get(f"{path}?{query}")
            if response.status_code >= 500:
                failures.append(f"GET {path}?{query} -> {response.status_code}")
        for method in METHODS:
            content_type, body = BODIES[len(failures) % len(BODIES)]
            response = client.open(path, method=method, data=body, content_type=content_type)
            if response.status_code >= 500:
                failures.append(f"{method} {path} -> {response.status_code}")
    for query in QUERIES:  # every query on every fixed route
        for path, _methods in urls(app):
            if "<" in path or "%" in path or path.startswith("/sign-out"):
                continue
            response = client.get(f"{path}?{query}")
            if response.status_code >= 500:
                failures.append(f"GET {path}?{query} -> {response.status_code}")
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize("slug", UNREADABLE)
@pytest.mark.parametrize("prefix", ["/lists/", "/api/lists/"])
def test_a_broken_reading_list_answers_like_a_missing_one(app, slug: str, prefix: str) -> None:
    for who in ("anonymous", "member"):
        client = client_as(app, who)
        broken = client.get(prefix + quote(slug))
        missing = client.get(prefix + "no-such-list")
        assert broken.status_code == missing.status_code == 404, who
        text = broken.get_data(as_text=True).replace(slug, "no-such-list")
        assert text == missing.get_data(as_text=True), who
        assert "coordinator" not in broken.get_data(as_text=True).lower() or who != "anonymous"
        assert "For coordinators" not in broken.get_data(as_text=True)
        assert "coordinator_note" not in broken.get_data(as_text=True)


@pytest.mark.parametrize("slug", ["broken-toml", "wrong-types", "not-utf8"])
def test_a_coordinator_is_told_what_is_wrong_with_the_list(app, slug: str) -> None:
    client = client_as(app, "coordinator")
    page = client.get(f"/lists/{slug}")
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert "For coordinators:" in body and f"{slug}.toml" in body
    assert str(Path(app.config["KB_SETTINGS"].corpus)) not in body, "no server paths"
    api = client.get(f"/api/lists/{slug}")
    assert api.status_code == 404
    assert f"{slug}.toml" in api.get_json()["error"]["coordinator_note"]
    # The list of lists still works, and says problems exist.
    assert client.get("/lists").status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "member", "coordinator"])
def test_every_broken_query_on_every_route_with_its_values(app, who: str) -> None:
    """The walk above pairs each filled-in path with two queries; here every query meets
    every filled-in path, among them the reading-list slugs whose files are broken."""
    client = client_as(app, who)
    failures = []
    for path, _methods in urls(app):
        if path.startswith("/sign-out"):
            continue  # it would end the session the walk runs in (tested in test_auth)
        for query in QUERIES:
            response = client.get(f"{path}?{query}")
            if response.status_code >= 500:
                failures.append(f"GET {path}?{query} -> {response.status_code}")
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize("who", ["anonymous", "member", "coordinator"])
def test_odd_headers_are_no_server_error(app, who: str) -> None:
    client = client_as(app, who)
    failures = []
    for headers in (
        {"Accept": "\x00"},
        {"Accept-Language": "x" * 4000},
        {"Host": "evil.example:99999"},
        {"X-Forwarded-For": "not an address"},
        {"X-Forwarded-Proto": "gopher"},
        {"X-Forwarded-Host": "%ff%fe"},
        {"Cookie": "session=%ff%fe; kb_session=" + "x" * 3000},
        {"If-None-Match": '"' + "x" * 3000},
        {"If-Modified-Since": "yesterday"},
        {"Range": "bytes=99999999-1"},
        {"Authorization": "Bearer %ff\x00"},
    ):
        for path in ("/", "/search?q=lifespan", "/lists", "/feed.atom", "/api/search?q=x"):
            response = client.get(path, headers=headers)
            if response.status_code >= 500:
                failures.append(f"GET {path} {headers} -> {response.status_code}")
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize("who", ["anonymous", "member", "coordinator"])
def test_list_problems_never_name_a_document_the_reader_may_not_read(app, who: str) -> None:
    client = client_as(app, who)
    problems = client.get("/api/lists").get_json()["problems"]
    refs = [p["ref"] for p in problems if p["file"].endswith("hidden-problem.toml")]
    assert refs == ["guides/strategy-for-sustainable-it"], "the readable item's problem stays"
    assert HIDDEN not in client.get("/api/lists").get_data(as_text=True)
    assert HIDDEN not in client.get("/lists").get_data(as_text=True)
