"""No input answers 5xx: every route of the app's url_map, asked anonymously and signed in,
with broken input of every kind and with broken corpus files (ISSUE 18 item 5).

An invalid reading list answers 404 like a missing one; only a signed-in coordinator is shown
why (the list file's problem), members and anonymous visitors see "not found" and nothing more.
"""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest
from argon2 import PasswordHasher

from kb.accounts import AccountStore
from kb.settings import Settings
from tests.conftest import write
from webui import create_app

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
PASSWORD = "a long enough walking passphrase"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
READERS = {
    "member": ("mia@ikea.example", "ikea", "member"),
    "coordinator": ("cay@atea.example", "atea", "coordinator"),
}
DOC = "guides/lifespan"  # a document of the bundled corpus

# Reading lists that cannot be read as one, each with what the coordinator is told.
BROKEN_LISTS = {
    "broken-toml": ('title = "Unclosed\n[[item]]\nref = "x"\n', "invalid TOML"),
    "no-title": ('[[item]]\nref = "guides/lifespan"\n', "needs a `title`"),
    "items-wrong-type": ('title = "Items"\nitem = "guides/lifespan"\n', "[[item]] tables"),
    "title-wrong-type": ("title = 5\n", "needs a `title`"),
    "not-utf8": (b'title = "\xff\xfe"\n', "cannot be read"),
}


@pytest.fixture(scope="module")
def settings(bundled_index: Settings, tmp_path_factory) -> Settings:
    """The bundled index with a copy of its corpus that holds broken reading lists."""
    base = tmp_path_factory.mktemp("walk")
    corpus = base / "corpus"
    shutil.copytree(bundled_index.corpus, corpus)
    for slug, (text, _) in BROKEN_LISTS.items():
        path = corpus / "reading-lists" / f"{slug}.toml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            write(path, text)
    found = dataclasses.replace(
        bundled_index, corpus=corpus, accounts=base / "accounts" / "accounts.sqlite3"
    )
    store = AccountStore(found.accounts_path, hasher=FAST)
    for email, organisation, role in READERS.values():
        store.add(email, organisation, PASSWORD, role=role)
    return found


@pytest.fixture(scope="module")
def app(settings: Settings):
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.config["RATELIMIT_ENABLED"] = False  # the walk asks far more than a person would
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    return app


@pytest.fixture(scope="module")
def clients(app) -> dict:
    """One client per reader, signed in through the real form."""
    out = {"anonymous": app.test_client()}
    for reader, (email, _, _) in READERS.items():
        client = app.test_client()
        token = TOKEN_RE.search(client.get("/sign-in").get_data(as_text=True))
        assert token
        signed = client.post(
            "/sign-in", data={"csrf_token": token[1], "email": email, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.get_data(as_text=True)
        out[reader] = client
    return out


# ---- invalid reading lists ---------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["anonymous", "member", "coordinator"])
@pytest.mark.parametrize("slug", sorted(BROKEN_LISTS))
@pytest.mark.parametrize("prefix", ["/lists/", "/api/lists/"])
def test_an_invalid_list_is_not_found(clients, reader: str, slug: str, prefix: str) -> None:
    broken = clients[reader].get(prefix + slug)
    missing = clients[reader].get(prefix + "no-such-list")
    assert broken.status_code == 404 == missing.status_code
    body = broken.get_data(as_text=True)
    problem = BROKEN_LISTS[slug][1]
    if reader == "coordinator":
        assert problem in body.replace("\\u0060", "`")
        assert f"reading-lists/{slug}.toml" in body
    else:
        # Like a missing list, the asked-for name aside: nothing about the file.
        assert body.replace(slug, "no-such-list") == missing.get_data(as_text=True)
        assert problem not in body and ".toml" not in body


def test_the_coordinator_is_never_shown_server_paths(clients, settings: Settings) -> None:
    body = clients["coordinator"].get("/lists/broken-toml").get_data(as_text=True)
    assert str(settings.corpus) not in body and str(settings.index) not in body


# ---- every route, broken input ------------------------------------------------------------------

BAD_SEGMENTS = [
    "x" * 5000,
    "a%00b",
    "%ff%fe",
    "%c3%28",
    "..%2f..%2fetc%2fpasswd",
    "../../etc/passwd",
    "%2e%2e/%2e%2e/kb.toml",
    "a\\b",
    "%0a%0d",
    "guides/lifespan%23x%3fy",
    "-1",
    "99999999999999999999999",
    "%25",
    "",
]
BAD_QUERIES = [
    "q=" + "a" * 5000,
    "q=%00",
    "q=%ff%fe",
    "q=%c3%28",
    'q="unclosed',
    "q=((((a",
    "q=a)))))",
    "q=type:",
    "q=type:nosuch",
    "q=year:abc",
    "q=date:2024-13-45..x",
    "q=-",
    "q=*",
    "q=~",
    "q=a+OR+OR+AND+NOT",
    "q=title:%22",
    "q=a&page=-1",
    "q=a&page=0",
    "q=a&page=abc",
    "q=a&page=99999999999999999999999",
    "q=a&page=1e9",
    "q=a&type=nosuch",
    "q=a&year=abc&year=-5",
    "q=a&year=99999999999",
    "q=a&from=2024-99-99&to=yesterday",
    "q=a&lang=%00",
    "q=a&sort=nosuch",
    "q=a&org=%ff",
    "q=a&topic=../../x",
    "q=a&nosuchfacet=1",
    "q[]=a&q=b",
    "v=%ff",
    "v=-1",
    "v=99999999999999999999",
    "format=nosuch",
    "format=%00",
    "style=nosuch",
    "next=//evil.example",
    "limit=-5",
    "limit=99999999999",
    "x=" + "%ff" * 2000,
]


def _paths(app) -> list[str]:
    """Every GET route with each bad segment in place of its variables, plus the plain ones."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if not rule.arguments:
            paths.add(rule.rule)
            continue
        for segment in [DOC, *BAD_SEGMENTS]:
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(r"<(?:[a-z]+:)?" + name + ">", segment, path)
            paths.add(path)
    return sorted(paths)


def _no_server_error(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data()[:500])


@pytest.mark.parametrize("reader", ["anonymous", "member", "coordinator"])
def test_every_route_with_bad_paths_and_queries(app, clients, reader: str) -> None:
    client = clients[reader]
    for path in _paths(app):
        _no_server_error(client.get(path), path)
        for query in BAD_QUERIES:
            url = f"{path}?{query}"
            _no_server_error(client.get(url), url)


@pytest.mark.parametrize("reader", ["anonymous", "member", "coordinator"])
def test_every_route_with_wrong_methods_and_bodies(app, clients, reader: str) -> None:
    client = clients[reader]
    bodies = [
        {"data": "{not json", "content_type": "application/json"},
        {"data": b"\xff\xfe\x00", "content_type": "application/json"},
        {"data": "[]" * 1000, "content_type": "application/json"},
        {"data": {"email": "\x00", "password": "x" * 10000, "csrf_token": "%ff"}},
        {"data": "a=%ff&b=%00", "content_type": "application/x-www-form-urlencoded"},
        {"data": "--x\r\nbroken", "content_type": "multipart/form-data; boundary=x"},
    ]
    for path in _paths(app):
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
            for body in bodies:
                _no_server_error(client.open(path, method=method, **body), f"{method} {path}")


@pytest.mark.parametrize("reader", ["anonymous", "member", "coordinator"])
def test_odd_headers_are_no_server_error(clients, reader: str) -> None:
    client = clients[reader]
    for headers in (
        {"Accept": "\x00"},
        {"Accept-Language": "x" * 4000},
        {"Host": "evil.example:99999"},
        {"X-Forwarded-For": "not an address"},
        {"X-Forwarded-Proto": "gopher"},
        {"Cookie": "session=%ff%fe; kb_session=" + "x" * 3000},
        {"If-Modified-Since": "yesterday"},
        {"Range": "bytes=99999999-1"},
    ):
        for path in ("/", "/search?q=lifespan", f"/doc/{DOC}", f"/original/{DOC}", "/lists"):
            _no_server_error(client.get(path, headers=headers), f"{path} {headers}")
