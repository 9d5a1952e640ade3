"""Who a citation names as author: explicit metadata only, else the corpus's publisher (kb.toml
`[citation] publisher`), else nobody, with each format's no-author rule. An organisation a
document concerns (`kb add --org`) or mentions is never its author."""

from __future__ import annotations

import datetime
import json
from dataclasses import replace
from pathlib import Path

import bibtexparser
import pytest
from click.testing import CliRunner

from cli import main
from indexer.build import run_index
from kb.access import Principal
from kb.cite import cite
from kb.citeformats import render
from kb.errors import ConfigError
from kb.library import Library
from kb.settings import Settings
from kb.view import View, view_of
from kb.vocabulary import load_publisher
from tests.test_extract import text_pdf

BASE = "http://127.0.0.1:5000"
ACCESSED = datetime.date(2025, 1, 15)
PUBLISHER = "ASF Leadership for Change"
ORGS = (
    '[[organisation]]\nid = "skovde-kommun"\nname = "Skövde kommun"\n\n'
    '[[organisation]]\nid = "atea"\nname = "Atea"\n'
)
MENTIONS = "Skövde kommun and Atea talked about repairing laptops."


def build_corpus(corpus: Path, publisher: str | None) -> None:
    """One document per source of an author, and some that name none but mention members."""
    (corpus / "guides").mkdir(parents=True)
    (corpus / "organisations.toml").write_text(ORGS, encoding="utf-8")
    if publisher is not None:
        (corpus / "kb.toml").write_text(
            f'[visibility]\ndefault = "public"\n\n[citation]\npublisher = "{publisher}"\n',
            encoding="utf-8",
        )
    (corpus / "guides/front-matter.md").write_text(
        f"---\ntitle: Front matter\ndate: 2024-03-05\nauthor: Åsa Öberg\n---\n{MENTIONS}\n",
        encoding="utf-8",
    )
    (corpus / "guides/html-meta.html").write_text(
        '<html lang="en"><head><title>HTML meta</title><meta name="author" content="Ola Nørd">'
        f"</head><body><h1>HTML meta</h1><p>{MENTIONS}</p></body></html>",
        encoding="utf-8",
    )
    (corpus / "guides/schema-org.html").write_text(
        '<html lang="en"><head><title>Schema.org</title><script type="application/ld+json">'
        '{"@type": "Article", "headline": "Schema.org", "author": {"@type": "Person", "name": "Kari Berg"}}</script>'
        f"</head><body><h1>Schema.org</h1><p>{MENTIONS}</p></body></html>",
        encoding="utf-8",
    )
    (corpus / "guides/pdf-info.pdf").write_bytes(
        text_pdf([["PDF info", MENTIONS]], info={"/Title": "PDF info", "/Author": "Per Dahl"})
    )
    (corpus / "guides/sidecar.md").write_text(f"# Sidecar\n\n{MENTIONS}\n", encoding="utf-8")
    (corpus / "guides/sidecar.md.meta.toml").write_text(
        'author = "Sara Sidecar"\n', encoding="utf-8"
    )
    (corpus / "guides/mentions.md").write_text(
        f"---\ntitle: Mentions only\ntype: other\ndate: 2024-06-01\norganisations: [skovde-kommun]\n---\n"
        f"{MENTIONS}\n",
        encoding="utf-8",
    )


def corpus_view(tmp_path: Path, publisher: str | None) -> View:
    corpus = tmp_path / "corpus"
    build_corpus(corpus, publisher)
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return view_of(Library(settings).snapshot(), Principal.shell())


@pytest.fixture(scope="module")
def with_publisher(tmp_path_factory) -> View:
    return corpus_view(tmp_path_factory.mktemp("with-publisher"), PUBLISHER)


@pytest.fixture(scope="module")
def without_publisher(tmp_path_factory) -> View:
    return corpus_view(tmp_path_factory.mktemp("without-publisher"), None)


EXPLICIT = {
    "guides/front-matter": "Åsa Öberg",
    "guides/html-meta": "Ola Nørd",
    "guides/schema-org": "Kari Berg",
    "guides/pdf-info": "Per Dahl",
    "guides/sidecar": "Sara Sidecar",
}


@pytest.mark.parametrize(("doc_id", "author"), EXPLICIT.items())
def test_each_explicit_source_names_the_author(
    with_publisher: View, without_publisher: View, doc_id: str, author: str
) -> None:
    for view in (with_publisher, without_publisher):
        c = cite(view, doc_id, None, BASE, ACCESSED)
        assert c.authors == (author,), doc_id
        # APA 7: the author, then the year in parentheses (names are kept as written).
        assert render(c, "text").startswith(f"{author}. ("), render(c, "text")
        assert json.loads(render(c, "csl-json"))[0]["author"] == [{"literal": author}]
    # The corpus's publisher stays the publisher, never the author, of an authored document.
    c = cite(with_publisher, doc_id, None, BASE, ACCESSED)
    assert c.publisher == PUBLISHER
    assert json.loads(render(c, "csl-json"))[0]["publisher"] == PUBLISHER


def test_mentioned_organisations_are_not_authors_the_publisher_is(with_publisher: View) -> None:
    c = cite(with_publisher, "guides/mentions", None, BASE, ACCESSED)
    meta = with_publisher.catalogue["guides/mentions"].meta
    assert "skovde-kommun" in meta.organisations and "atea" in meta.organisations
    assert c.authors == (PUBLISHER,) and c.publisher == PUBLISHER
    assert render(c, "text") == (
        f"ASF Leadership for Change. (2024, June 1). Mentions only. {c.permalink}\n"
        "In text: (ASF Leadership for Change, 2024)"
    )
    assert c.key.startswith("alfc2024mentions-")
    entry = bibtexparser.parse_string(render(c, "bibtex")).entries[0]
    assert entry["author"] == "{ASF Leadership for Change}"
    assert entry["organization"] == "ASF Leadership for Change"


def test_without_author_or_publisher_each_format_has_no_author(without_publisher: View) -> None:
    c = cite(without_publisher, "guides/mentions", None, BASE, ACCESSED)
    assert c.authors == () and c.author is None and c.publisher is None
    assert "Skövde" not in render(c, "text") and "Atea" not in render(c, "text")
    # APA 7: the title takes the author's place; in text, in title case.
    text = render(c, "text")
    assert text == f"Mentions only. (2024, June 1). {c.permalink}\nIn text: (Mentions Only, 2024)"
    markdown = render(c, "markdown")
    assert (
        markdown
        == f"*Mentions only*. (2024, June 1). <{c.permalink}>\n\nIn text: (*Mentions Only*, 2024)"
    )
    entry = bibtexparser.parse_string(render(c, "bibtex")).entries[0]
    assert "author" not in entry.fields_dict and "organization" not in entry.fields_dict
    assert entry.key.startswith("kb2024mentions-")
    ris = render(c, "ris").splitlines()
    assert not [line for line in ris if line.startswith(("AU  -", "PB  -"))]
    item = json.loads(render(c, "csl-json"))[0]
    assert "author" not in item and "publisher" not in item


def test_publisher_without_author_in_bibtex_ris_and_csl(without_publisher: View) -> None:
    # A publisher who is not the author (a Citation built by other means than kb.cite).
    c = replace(
        cite(without_publisher, "guides/mentions", None, BASE, ACCESSED),
        title="Annual report",
        type="guide",
        type_label="Best-practice guide",
        publisher="Network & Co",
    )
    # The official APA file keeps the description after the date when the title moves up.
    assert render(c, "text") == (
        f"Annual report. (2024). [Best-practice guide]. Network & Co. {c.permalink}\n"
        "In text: (Annual Report, 2024)"
    )
    entry = bibtexparser.parse_string(render(c, "bibtex")).entries[0]
    assert "author" not in entry.fields_dict
    assert entry["institution"] == r"Network \& Co"
    ris = render(c, "ris").splitlines()
    assert "PB  - Network & Co" in ris and not [x for x in ris if x.startswith("AU  -")]
    item = json.loads(render(c, "csl-json"))[0]
    assert "author" not in item and item["publisher"] == "Network & Co"


def test_kb_add_org_is_not_the_author(small_index: Settings, tmp_path: Path) -> None:
    source = tmp_path / "in" / "member-note.md"
    source.parent.mkdir()
    source.write_text("# A note for a member\n\nRepairs of laptops.\n", encoding="utf-8")
    runner = CliRunner()
    args = ["--corpus", str(small_index.corpus), "--index", str(small_index.index)]
    added = runner.invoke(main, [*args, "add", str(source), "--type", "guide", "--org", "ikea"])
    assert added.exit_code == 0, added.output
    result = runner.invoke(main, [*args, "cite", "guides/member-note", "--format", "csl-json"])
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)[0]
    # The small corpus has no kb.toml, so no publisher either: no author at all.
    assert "author" not in item and "publisher" not in item, item
    text = runner.invoke(main, [*args, "cite", "guides/member-note"]).stdout
    assert text.startswith("A note for a member. (n.d.). [Best-practice guide]. Retrieved "), text
    assert text.endswith("\nIn text: (A Note for a Member, n.d.)\n"), text
    assert "IKEA" not in text
    shown = runner.invoke(main, [*args, "show", "guides/member-note", "--json"]).output
    assert "ikea" in json.loads(shown)["organisations"]  # the facet keeps what it concerns


def test_publisher_config(tmp_path: Path) -> None:
    assert load_publisher(tmp_path) is None
    (tmp_path / "kb.toml").write_text('[visibility]\ndefault = "public"\n', encoding="utf-8")
    assert load_publisher(tmp_path) is None
    (tmp_path / "kb.toml").write_text('[citation]\npublisher = "  A  B "\n', encoding="utf-8")
    assert load_publisher(tmp_path) == "A B"
    for bad in ("[citation]\npublsher = 'A'\n", "[citation]\npublisher = 3\n", "citation = 1\n"):
        (tmp_path / "kb.toml").write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError):
            load_publisher(tmp_path)


def test_kb_index_refuses_a_misspelt_publisher(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    (corpus / "kb.toml").write_text('[citation]\npublsher = "ASF"\n', encoding="utf-8")
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "index"), "index"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "unknown key(s) in [citation]: publsher" in result.output
