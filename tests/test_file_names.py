"""Awkward file names: every name kb indexes round-trips through `kb show`, `kb cite`, the
web's links, permalinks, citations and the API; a name that cannot (a control character,
bytes that are not UTF-8) is skipped with its reason by `kb index` and `kb check`."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from cli import main
from kb.accounts import AccountStore
from kb.settings import Settings
from tests.conftest import SMALL_ORGS, write

# Names kb indexes, each with the id it gets: the path without its extension.
ACCEPTED = {
    "hash#tag.md": "hash#tag",
    "query?x=1&y=2.md": "query?x=1&y=2",
    "100%.md": "100%",
    "fifty%20off.md": "fifty%20off",
    "slash%2Fin.md": "slash%2Fin",
    "with space.md": "with space",
    "trailing .md": "trailing ",
    "folder with space/notes #1.md": "folder with space/notes #1",
    "Försäljning ÅÄÖ.md": "Försäljning ÅÄÖ",
    "nfd-A\u0308.md": "nfd-A\u0308",
    "emoji😀.md": "emoji😀",
    "-leading-dash.md": "-leading-dash",
    "back\\slash.md": "back\\slash",
    "quote'single.md": "quote'single",
    'quote"double.md': 'quote"double',
    "angle<b>.md": "angle<b>",
    "semi;colon:plus+.md": "semi;colon:plus+",
    "dots..md": "dots.",
}
# Names kb refuses, each with the reason `kb index --json` gives.
REFUSED = {
    "new\nline.md": "the file name holds a newline (U+000A): rename it to index it",
    "tab\there.md": "the file name holds a tab (U+0009): rename it to index it",
    "bell\x07.md": "the file name holds a control character (U+0007): rename it to index it",
    "folder\nname/inside.md": "the file name holds a newline (U+000A): rename it to index it",
}
NOT_UTF8 = b"latin1-\xe9.md"  # a name written by a Latin-1 system
HIDDEN = "secret#plans.md"  # one organisation's: other readers must not tell it from missing


def _body(word: str) -> str:
    return f"# Notes {word}\n\nThe {word} body text is here.\n"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("names")
    corpus = base / "corpus"
    write(corpus / "kb.toml", '[visibility]\ndefault = "public"\n')
    write(corpus / "organisations.toml", SMALL_ORGS)
    for i, name in enumerate([*ACCEPTED, *REFUSED]):
        write(corpus / name, _body(f"uniqueword{i}"))
    Path(os.fsdecode(os.fsencode(corpus) + b"/" + NOT_UTF8)).write_text(_body("latin"))
    write(
        corpus / HIDDEN, "---\nvisibility: organisation:skovde-kommun\n---\n" + _body("hiddenword")
    )
    found = dataclasses.replace(
        Settings.resolve(corpus, base / "index"), accounts=base / "accounts.sqlite3"
    )
    store = AccountStore(
        found.accounts_path, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    store.add("ann@ikea.example", "ikea", "a long enough test passphrase")
    return found


def _kb(settings: Settings, *args: str):
    return CliRunner().invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


@pytest.fixture(scope="module")
def indexed(settings: Settings) -> dict[str, dict]:
    result = _kb(settings, "index", "--json")
    assert result.exit_code == 0, result.output
    return {f["path"]: f for f in json.loads(result.output)["files"]}


@pytest.fixture(scope="module")
def client(settings: Settings, indexed):
    from webui import create_app

    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.mark.parametrize("command", ["index", "check"])
def test_names_that_cannot_be_ids_are_skipped_with_their_reason(settings, indexed, command):
    result = _kb(settings, command, "--json")
    files = {f["path"]: f for f in json.loads(result.output)["files"]}
    for name, reason in REFUSED.items():
        assert files[name]["status"] == "skipped", name
        assert files[name]["reason"] == reason
    latin = "latin1-\\xe9.md"  # the bytes that are not UTF-8, as they can be printed
    assert files[latin]["status"] == "skipped"
    assert files[latin]["reason"] == "the file name is not valid UTF-8: rename it to index it"
    for name in ACCEPTED:
        assert files[name]["status"] in ("indexed", "unchanged"), files[name]


@pytest.mark.parametrize("name", ACCEPTED)
def test_every_accepted_name_round_trips_through_the_cli(settings, indexed, name):
    doc_id = ACCEPTED[name]
    assert indexed[name]["doc_id"] == doc_id
    word = f"uniqueword{list(ACCEPTED).index(name)}"
    # `--` ends the options, so an id starting with a dash is not taken for one.
    shown = _kb(settings, "show", "--json", "--", doc_id)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["doc_id"] == doc_id and word in json.dumps(data)
    cited = _kb(settings, "cite", "--format", "csl-json", "--", doc_id)
    assert cited.exit_code == 0, cited.output
    # The citation's link, pasted back, names the same document; so does DOC_ID#ANCHOR.
    (url,) = {u for u in re.findall(r"https?://[^\s\"]+", cited.output) if "/doc/" in u}
    again = _kb(settings, "show", "--json", url)
    assert json.loads(again.output)["doc_id"] == doc_id
    anchor = data["passages"][0]["anchor"]
    passage = _kb(settings, "cite", "--", f"{doc_id}#{anchor}")
    assert passage.exit_code == 0 and f"#{anchor}" in passage.output


@pytest.mark.parametrize("name", ACCEPTED)
def test_every_accepted_name_round_trips_through_the_web(settings, client, name):
    doc_id = ACCEPTED[name]
    word = f"uniqueword{list(ACCEPTED).index(name)}"
    page = client.get("/search", query_string={"q": word}).get_data(as_text=True)
    links = [html.unescape(h) for h in re.findall(r'href="(/doc/[^"]*)"', page)]
    assert links, f"no result link for {name!r}"
    document = client.get(links[0])
    assert document.status_code == 200 and word in document.get_data(as_text=True)
    body = document.get_data(as_text=True)
    # The passage permalink and the cite page, as the document page links them.
    permalink = next(
        html.unescape(h) for h in re.findall(r'class="permalink" href="([^"]+)"', body)
    )
    parts = urlsplit(permalink)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200
    cite_links = [html.unescape(h) for h in re.findall(r'href="(/cite/[^"]*)"', body)]
    assert cite_links, "no cite link"
    cite_page = client.get(cite_links[0])
    assert cite_page.status_code == 200
    # The permalink the citation gives (to the configured base URL) leads to the document.
    full = re.search(
        r"https?://[^\s\"<]+/doc/[^\s\"<]+", html.unescape(cite_page.get_data(as_text=True))
    )
    assert full is not None
    target = urlsplit(full.group(0))
    assert client.get(target.path).status_code == 200
    # The original file, as the document page offers it.
    originals = [html.unescape(h) for h in re.findall(r'href="(/original/[^"]*)"', body)]
    assert originals, "no link to the original"
    original = client.get(originals[0])
    assert original.status_code == 200 and word in original.get_data(as_text=True)
    # The API answers for the id the links carry.
    api = client.get(links[0].split("?")[0].replace("/doc/", "/api/doc/", 1))
    assert api.status_code == 200 and api.get_json()["doc_id"] == doc_id
    api_cite = client.get(cite_links[0].split("?")[0].replace("/cite/", "/api/cite/", 1))
    assert api_cite.status_code == 200


def test_a_hidden_awkward_name_answers_like_a_missing_one(settings, client):
    hidden = client.get("/doc/secret%23plans")
    missing = client.get("/doc/nosuch%23plans")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data(as_text=True).replace("secret", "nosuch") == missing.get_data(
        as_text=True
    )
    for command in ("show", "cite"):
        asked = {
            doc: _kb(settings, command, "--as", "ann@ikea.example", "--", f"{doc}#plans")
            for doc in ("secret", "nosuch")
        }
        assert asked["secret"].exit_code == asked["nosuch"].exit_code != 0
        assert asked["secret"].output.replace("secret", "nosuch") == asked["nosuch"].output
        # The shell, which reads everything, finds it.
        assert _kb(settings, command, "--", "secret#plans").exit_code == 0
