"""Citations: every format for the bundled corpus, round trips, special characters, the CLI."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import SeparateCoAuthors
from hypothesis import given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text

from cli import main
from indexer.build import run_index
from kb.access import Principal
from kb.cite import Citation, cite, parse_ref
from kb.citeformats import CITE_FORMAT_IDS, CITE_FORMATS, bibtex_escape, file_name, render
from kb.documents import load_document
from kb.errors import NotFound
from kb.library import Library, Snapshot
from kb.settings import Settings
from kb.view import View, view_of

BASE = "http://127.0.0.1:5000"
ACCESSED = datetime.date(2025, 1, 15)
MEETING = "meetings/2024-04-24-forum-meeting"
PDF_GUIDE = "guides/extend-lifespan-of-it-products"
# The CSL 1.0.2 item types (csl-data.json); kb maps its types onto a few of them.
_CSL_TYPE_NAMES = """
    article article-journal article-magazine article-newspaper bill book broadcast chapter
    classic collection dataset document entry entry-dictionary entry-encyclopedia event figure
    graphic hearing interview legal_case legislation manuscript map motion_picture
    musical_score pamphlet paper-conference patent performance periodical personal_communication
    post post-weblog regulation report review review-book software song speech standard thesis
    treaty webpage"""
CSL_TYPES = frozenset(_CSL_TYPE_NAMES.split())


@pytest.fixture(scope="module")
def snap(bundled_index: Settings) -> View:
    # The server's shell reads everything: citations of every document.
    return view_of(Library(bundled_index).snapshot(), Principal.shell())


def all_citations(snap: View) -> list[Citation]:
    """One citation per document of the corpus."""
    return [cite(snap, doc_id, None, BASE, ACCESSED) for doc_id in sorted(snap.catalogue)]


def passage_citations(snap: Snapshot) -> list[Citation]:
    """One citation per passage of the corpus."""
    out = []
    for doc_id in sorted(snap.catalogue):
        for p in load_document(snap, doc_id).passages:
            out.append(cite(snap, doc_id, p.anchor, BASE, ACCESSED))
    return out


def parse_bibtex(text: str) -> list:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library.entries


def unlatex(value: str) -> str:
    return LatexNodes2Text().latex_to_text(value)


def parse_ris(text: str) -> list[tuple[str, str]]:
    """A strict little RIS reader: TY first, ER last, every line `XX  - value`."""
    lines = text.split("\n")
    fields = []
    for line in lines:
        m = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line)
        assert m, f"not a RIS line: {line!r}"
        fields.append((m.group(1), m.group(2)))
    assert fields[0][0] == "TY" and fields[-1] == ("ER", "")
    assert [tag for tag, _ in fields].count("ER") == 1
    return fields


def ris_values(fields: list[tuple[str, str]], tag: str) -> list[str]:
    return [value for t, value in fields if t == tag]


# ---- every format, every document ---------------------------------------------------------------


def test_every_format_renders_for_every_document_and_passage(snap: Snapshot) -> None:
    citations = all_citations(snap) + passage_citations(snap)
    assert len(citations) > len(snap.catalogue)
    for c in citations:
        for fmt in CITE_FORMAT_IDS:
            out = render(c, fmt)
            assert out.strip(), (c.doc_id, fmt)
            assert c.permalink in out or fmt == "bibtex", (c.doc_id, fmt)


def test_bibtex_round_trip_for_every_document(snap: Snapshot) -> None:
    citations = all_citations(snap)
    entries = parse_bibtex("\n\n".join(render(c, "bibtex") for c in citations))
    assert len(entries) == len(citations) == len(snap.catalogue)
    assert len({e.key for e in entries}) == len(entries), "BibTeX keys must be unique"
    for c, entry in zip(citations, entries, strict=True):
        assert entry.key == c.key
        assert entry.entry_type in ("techreport", "misc")
        assert unlatex(entry["title"]) == c.title
        assert unlatex(entry["author"]) == c.author
        assert entry["year"] == str(c.year)
        assert entry["url"] == c.permalink
        assert entry["urldate"] == "2025-01-15"
        if entry.entry_type == "techreport":
            assert entry["institution"], "institution is required for @techreport"


def test_bibtex_keys_unique_for_every_passage(snap: Snapshot) -> None:
    citations = passage_citations(snap)
    entries = parse_bibtex("\n\n".join(render(c, "bibtex") for c in citations))
    assert len(entries) == len(citations)
    assert len({e.key for e in entries}) == len(entries)
    doc_keys = {c.key for c in all_citations(snap)}
    assert not doc_keys & {e.key for e in entries}


def test_bibtex_keys_are_stable_and_readable(bundled_index: Settings, snap: Snapshot) -> None:
    c = cite(snap, MEETING, None, BASE, ACCESSED)
    # Pinned: a key in a member's .bib file must not change between runs or releases.
    assert c.key == "alfc2024forum-1b548b"
    again = cite(view_of(Library(bundled_index).snapshot(), Principal.shell()), MEETING, None, BASE)
    assert again.key == c.key
    for c in all_citations(snap):
        assert re.fullmatch(r"[a-z]+(\d{4}|nd)[a-z0-9]+-[0-9a-f]{6}", c.key), c.key
    passage = cite(snap, PDF_GUIDE, "p3", BASE, ACCESSED)
    assert passage.key == cite(snap, PDF_GUIDE, None, BASE).key + "-p3"


def test_corporate_author_is_one_name(snap: Snapshot) -> None:
    text = render(cite(snap, MEETING, None, BASE, ACCESSED), "bibtex")
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    assert library.entries[0]["author"] == ["{ASF Leadership for Change}"]


def test_ris_round_trip_for_every_document(snap: Snapshot) -> None:
    for c in all_citations(snap) + passage_citations(snap)[::7]:
        fields = parse_ris(render(c, "ris"))
        assert ris_values(fields, "TY")[0] in ("RPRT", "GEN", "LEGAL")
        assert ris_values(fields, "TI") == [c.title]
        assert ris_values(fields, "AU") == [c.author]
        assert ris_values(fields, "PY") == [str(c.year)]
        assert ris_values(fields, "UR") == [c.permalink]
        assert ris_values(fields, "ID") == [c.key]
        assert ris_values(fields, "Y2") == ["2025/01/15/"]


def test_csl_json_has_the_schema_fields_for_every_document(snap: Snapshot) -> None:
    ids = set()
    for c in all_citations(snap) + passage_citations(snap):
        data = json.loads(render(c, "csl-json"))
        assert isinstance(data, list) and len(data) == 1
        item = data[0]
        assert isinstance(item["id"], str) and item["id"] == c.key
        assert item["type"] in CSL_TYPES
        assert item["title"] == c.title
        assert item["author"] == [{"literal": c.author}]
        date_parts = item["issued"]["date-parts"]
        assert date_parts[0][0] == c.year and all(isinstance(n, int) for n in date_parts[0])
        assert item["accessed"] == {"date-parts": [[2025, 1, 15]]}
        assert item["URL"] == c.permalink
        ids.add(item["id"])
    assert len(ids) == len(all_citations(snap)) + len(passage_citations(snap))


def test_csl_types_follow_the_document_type(snap: Snapshot) -> None:
    types = {c.type: json.loads(render(c, "csl-json"))[0]["type"] for c in all_citations(snap)}
    assert types["meeting"] == "report"
    assert types["guide"] == "report"
    assert types["directive"] == "legislation"
    assert types["article"] == "article"
    assert types["other"] == "document"


# ---- passages, pages, permalinks ----------------------------------------------------------------


def test_passage_permalink_carries_hash_and_anchor(snap: Snapshot) -> None:
    anchor = "results-of-the-annual-review"
    passage = load_document(snap, MEETING).passage(anchor)
    c = cite(snap, MEETING, anchor, BASE, ACCESSED)
    assert c.text_hash == passage.text_hash and re.fullmatch(r"[0-9a-f]{8,}", c.text_hash)
    assert c.permalink == f"{BASE}/doc/{MEETING}?v={c.text_hash}#{anchor}"
    assert c.passage_id == f"{MEETING}#{anchor}"
    assert c.section == " › ".join(passage.heading_path)
    for fmt in ("text", "markdown", "ris", "csl-json"):
        assert f"?v={c.text_hash}#{anchor}" in render(c, fmt)
    assert f"url = {{{c.permalink}}}" in render(c, "bibtex")


def test_document_citation_has_no_hash(snap: Snapshot) -> None:
    c = cite(snap, MEETING, None, BASE, ACCESSED)
    assert c.anchor is None and c.passage_id is None and c.text_hash is None
    assert c.permalink == f"{BASE}/doc/{MEETING}"


def test_pdf_passages_carry_their_page(snap: Snapshot) -> None:
    c = cite(snap, PDF_GUIDE, "p3", BASE, ACCESSED)
    assert c.page == 3
    # The page is the in-text citation's locator (APA 7: "p. 3").
    assert render(c, "text").endswith("\nIn text: (ASF Leadership for Change, 2023, p. 3)")
    assert "pages = {3}" in render(c, "bibtex")
    assert ris_values(parse_ris(render(c, "ris")), "SP") == ["3"]
    assert json.loads(render(c, "csl-json"))[0]["page"] == "3"
    for p in load_document(snap, PDF_GUIDE).passages:
        assert cite(snap, PDF_GUIDE, p.anchor, BASE).page == p.page is not None


def test_text_is_apa_7_by_default(snap: Snapshot) -> None:
    # The reference-list entry, then the in-text citation naming the passage's section
    # (APA 7: a work without page numbers is cited by its section heading).
    c = cite(snap, MEETING, "results-of-the-annual-review", BASE, ACCESSED)
    assert render(c, "text") == (
        "ASF Leadership for Change. (2024). Forum meeting, 24 April 2024: the Norwegian 30 "
        f"percent rule and the annual review [Meeting report]. {c.permalink}\n"
        "In text: (ASF Leadership for Change, 2024, Section Results of the annual review)"
    )
    assert render(c, "text") == render(c, "text", "apa")


def test_markdown_italicises_the_title_and_links_the_permalink(snap: Snapshot) -> None:
    c = cite(snap, "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning", None, BASE)
    assert render(c, "markdown") == (
        "ASF Leadership for Change. (2024). *Så kan samverkan mellan inköpare driva omställning* "
        f"[Article]. <{c.permalink}>\n\nIn text: (ASF Leadership for Change, 2024)"
    )


def test_base_url_and_accessed_date(snap: Snapshot) -> None:
    c = cite(snap, MEETING, None, "https://kb.example.org/", datetime.date(2024, 12, 31))
    assert c.permalink == f"https://kb.example.org/doc/{MEETING}"
    assert c.accessed == "2024-12-31"
    assert cite(snap, MEETING, None, BASE).accessed == datetime.date.today().isoformat()


def test_unknown_document_or_anchor_raise_not_found(snap: Snapshot) -> None:
    with pytest.raises(NotFound, match="no document with id 'nope/missing'"):
        cite(snap, "nope/missing", None, BASE)
    with pytest.raises(NotFound, match=f"no passage #zzz in {MEETING}"):
        cite(snap, MEETING, "zzz", BASE)


def test_parse_ref() -> None:
    assert parse_ref("meetings/x") == ("meetings/x", None)
    assert parse_ref("meetings/x#a-b") == ("meetings/x", "a-b")
    assert parse_ref(" meetings/x# ") == ("meetings/x", None)
    assert parse_ref("http://h:5000/doc/meetings/x?v=abc#p3") == ("meetings/x", "p3")
    assert parse_ref("https://h/doc/articles/s%C3%A5#a") == ("articles/så", "a")


def test_render_rejects_unknown_format_and_names_files(snap: Snapshot) -> None:
    c = cite(snap, MEETING, None, BASE)
    with pytest.raises(ValueError, match="unknown citation format"):
        render(c, "endnote")
    names = {fmt: file_name(c, fmt) for fmt in CITE_FORMAT_IDS}
    assert names == {
        "text": f"{c.key}.txt",
        "markdown": f"{c.key}.md",
        "bibtex": f"{c.key}.bib",
        "ris": f"{c.key}.ris",
        "csl-json": f"{c.key}.json",
    }
    media_types = {fmt.id: fmt.media_type for fmt in CITE_FORMATS}
    assert set(media_types) == set(CITE_FORMAT_IDS)
    assert media_types["bibtex"] == "application/x-bibtex"
    assert media_types["csl-json"] == "application/vnd.citationstyles.csl+json"


# ---- special characters ---------------------------------------------------------------------------

SPECIAL_TITLE = r"Braces {x} & 100% of å, ø and æ: C:\temp\new_file #1 for $5 ~ ^"
SPECIAL_AUTHOR = "Søderberg and Partners & Co {AB}"


@pytest.fixture(scope="module")
def special_snap(tmp_path_factory) -> View:
    """A tiny corpus whose titles and authors need escaping in every format."""
    base = tmp_path_factory.mktemp("special")
    corpus = base / "corpus"
    (corpus / "guides").mkdir(parents=True)
    (corpus / "meetings").mkdir()
    (corpus / "organisations.toml").write_text(
        '[[organisation]]\nid = "skovde-kommun"\nname = "Skövde kommun"\n', encoding="utf-8"
    )
    (corpus / "guides/special.md").write_text(
        "---\n"
        f"title: '{SPECIAL_TITLE}'\n"
        "type: guide\n"
        "date: 2024-03-05\n"
        f"author: '{SPECIAL_AUTHOR}'\n"
        "---\n"
        "# Braces {x} & 100%\n\n## Å och ø\n\nText about repairing laptops.\n",
        encoding="utf-8",
    )
    for name, org in (("a", "[skovde-kommun]"), ("b", "[]")):
        (corpus / f"meetings/2024-05-0{len(name)}-{name}.md").write_text(
            f"---\ntitle: Forum meeting {name}\ntype: meeting\ndate: 2024-05-01\n"
            f"organisations: {org}\n---\n# Forum meeting {name}\n\nNotes.\n",
            encoding="utf-8",
        )
    settings = Settings.resolve(corpus, base / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return view_of(Library(settings).snapshot(), Principal.shell())


def test_special_characters_survive_bibtex(special_snap: Snapshot) -> None:
    c = cite(special_snap, "guides/special", None, BASE, ACCESSED)
    assert c.title == SPECIAL_TITLE and c.author == SPECIAL_AUTHOR
    text = render(c, "bibtex")
    assert "å, ø and æ" in text, "Nordic letters stay UTF-8"
    assert r"\{x\} \& 100\% " in text and r"C:\textbackslash{}temp" in text
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    assert not library.failed_blocks
    entry = library.entries[0]
    assert re.fullmatch(r"[a-z0-9-]+", entry.key)
    assert entry["author"] == ["{Søderberg and Partners \\& Co \\{AB\\}}"]
    title = unlatex(entry["title"])
    # pylatexenc decodes \textasciicircum to the modifier letter ˆ; everything else is exact.
    assert title.replace("ˆ", "^") == SPECIAL_TITLE


def test_special_characters_survive_ris_and_csl(special_snap: Snapshot) -> None:
    c = cite(special_snap, "guides/special", None, BASE, ACCESSED)
    fields = parse_ris(render(c, "ris"))
    assert ris_values(fields, "TI") == [SPECIAL_TITLE]
    assert ris_values(fields, "AU") == [SPECIAL_AUTHOR]
    item = json.loads(render(c, "csl-json"))[0]
    assert item["title"] == SPECIAL_TITLE
    assert item["author"] == [{"literal": SPECIAL_AUTHOR}]


def test_special_characters_in_text_and_markdown(special_snap: Snapshot) -> None:
    c = cite(special_snap, "guides/special", None, BASE, ACCESSED)
    assert SPECIAL_TITLE in render(c, "text")
    md = render(c, "markdown")
    assert r"new\_file \#1" in md and r"{x} \& 100%" in md
    # Every Markdown character of the title is escaped, inside the style's italics.
    title = md.split("*")[1]
    assert re.sub(r"\\(.)", r"\1", title) == SPECIAL_TITLE
    assert re.fullmatch(r"(\\[\\`*_\[\]<>|&#!~]|[^\\`*_\[\]<>|&#!~])*", title), title


def test_special_passage_heading(special_snap: Snapshot) -> None:
    anchor = load_document(special_snap, "guides/special").passages[-1].anchor
    c = cite(special_snap, "guides/special", anchor, BASE, ACCESSED)
    assert c.section and c.section.endswith("Å och ø")
    entries = parse_bibtex(render(c, "bibtex"))
    assert "Å och ø" in unlatex(entries[0]["note"])


def test_organisations_a_document_concerns_are_not_its_author(special_snap: Snapshot) -> None:
    # This corpus has no kb.toml, so no publisher: neither meeting names an author.
    a = cite(special_snap, "meetings/2024-05-01-a", None, BASE)
    b = cite(special_snap, "meetings/2024-05-01-b", None, BASE)
    assert a.author is None and b.author is None
    # APA 7: the title moves to the author's place (the official style file leaves the
    # description after the date), and the in-text citation names it in title case.
    assert render(a, "text") == (
        f"Forum meeting a. (2024). [Meeting report]. {a.permalink}\n"
        "In text: (Forum Meeting a, 2024)"
    )
    assert a.key.startswith("kb2024forum-") and b.key.startswith("kb2024forum-")


def test_keys_of_similar_documents_differ(special_snap: Snapshot) -> None:
    keys = [cite(special_snap, d, None, BASE).key for d in sorted(special_snap.catalogue)]
    assert len(set(keys)) == len(keys)


def test_lone_braces_keep_bibtex_balanced() -> None:
    escaped = bibtex_escape("a { lone brace } } and {")
    assert "\\{" not in escaped and r"\textbraceleft{}" in escaped
    depth = 0
    for ch in escaped:  # BibTeX counts braces even after a backslash
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_any_title_gives_parseable_bibtex(title: str) -> None:
    escaped = bibtex_escape(title)
    depth = 0
    for ch in escaped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    entries = parse_bibtex(f"@misc{{k1,\n  title = {{{escaped}}},\n  year = {{2024}}\n}}\n")
    assert entries[0].key == "k1" and entries[0]["year"] == "2024"


# ---- the CLI ----------------------------------------------------------------------------------


def kb(runner, settings: Settings, *args: str):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


def test_cli_formats_match_the_library() -> None:
    (fmt,) = [p for p in main.commands["cite"].params if p.name == "fmt"]
    assert (
        tuple(fmt.type.choices)
        == CITE_FORMAT_IDS
        == ("text", "markdown", "bibtex", "ris", "csl-json")
    )


def test_cli_cite_text(runner, bundled_index: Settings) -> None:
    result = kb(runner, bundled_index, "cite", f"{PDF_GUIDE}#p3", "--accessed", "2025-01-15")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ASF Leadership for Change. (2023). Extend the lifespan")
    assert result.stdout.endswith("\nIn text: (ASF Leadership for Change, 2023, p. 3)\n")
    # Cite Them Right gives the access date of an online source, in British order.
    args = ("cite", f"{PDF_GUIDE}#p3", "--accessed", "2025-01-15")
    result = kb(runner, bundled_index, *args, "--style", "harvard-cite-them-right")
    assert result.exit_code == 0, result.output
    assert "(Accessed: 15 January 2025)." in result.stdout
    assert result.stdout.endswith("\nIn text: (ASF Leadership for Change, 2023, p. 3)\n")


def test_cli_cite_style_applies_to_text_and_markdown_only(runner, bundled_index: Settings) -> None:
    ieee = kb(runner, bundled_index, "cite", f"{PDF_GUIDE}#p3", "--style", "ieee", "--all")
    assert ieee.exit_code == 0, ieee.output
    assert ieee.stdout.count("\nIn text: [1, p. 3]\n") == 2  # text and Markdown
    apa = kb(runner, bundled_index, "cite", f"{PDF_GUIDE}#p3", "--all")
    assert ieee.stdout.split("== bibtex ==")[1] == apa.stdout.split("== bibtex ==")[1]


def test_cli_cite_unknown_style_lists_the_styles(runner, bundled_index: Settings) -> None:
    result = kb(runner, bundled_index, "cite", MEETING, "--style", "mla")
    assert result.exit_code == 2
    for style in ("apa", "harvard-cite-them-right", "chicago-author-date", "ieee", "vancouver"):
        assert style in result.stderr


def test_cli_cite_bibtex_and_all(runner, bundled_index: Settings) -> None:
    result = kb(runner, bundled_index, "cite", MEETING, "--format", "bibtex")
    assert result.exit_code == 0
    assert parse_bibtex(result.stdout)[0].key == "alfc2024forum-1b548b"
    result = kb(runner, bundled_index, "cite", MEETING, "--all")
    assert result.exit_code == 0
    for fmt in CITE_FORMAT_IDS:
        assert f"== {fmt} ==" in result.output
    csl = result.stdout.split("== csl-json ==\n", 1)[1]
    assert json.loads(csl)[0]["id"] == "alfc2024forum-1b548b"


def test_cli_cite_not_found_exits_1(runner, bundled_index: Settings) -> None:
    result = kb(runner, bundled_index, "cite", "nope/missing")
    assert result.exit_code == 1
    assert "no document with id 'nope/missing'" in result.stderr
    result = kb(runner, bundled_index, "cite", f"{MEETING}#zzz")
    assert result.exit_code == 1
    assert "no passage #zzz" in result.stderr


def test_cli_cite_without_index_exits_2(runner, tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "corpus", tmp_path / "no-index")
    result = kb(runner, settings, "cite", MEETING)
    assert result.exit_code == 2
    assert "kb index" in result.stderr


def test_cli_cite_rejects_bad_options(runner, bundled_index: Settings) -> None:
    assert kb(runner, bundled_index, "cite", MEETING, "--format", "endnote").exit_code == 2
    assert kb(runner, bundled_index, "cite", MEETING, "--accessed", "15/01/2025").exit_code == 2


def test_undated_document_with_original_source() -> None:
    c = Citation(
        doc_id="about/notes",
        anchor=None,
        passage_id=None,
        title="Notes",
        authors=("ASF Leadership for Change",),
        date=None,
        year=None,
        type="other",
        type_label="Other",
        section=None,
        page=None,
        permalink=f"{BASE}/doc/about/notes",
        text_hash=None,
        accessed="2025-01-15",
        language="sv",
        source_url="https://example.org/notes?a=1&b=50%",
        key="alfc-nd-notes",
        publisher="ASF Leadership for Change",
    )
    # APA 7: an undated work is "n.d.", and gives the date it was retrieved.
    assert render(c, "text") == (
        "ASF Leadership for Change. (n.d.). Notes. Retrieved January 15, 2025, from "
        f"{BASE}/doc/about/notes\nIn text: (ASF Leadership for Change, n.d.)"
    )
    entry = parse_bibtex(render(c, "bibtex"))[0]
    assert "year" not in entry.fields_dict and entry["langid"] == "swedish"
    assert unlatex(entry["note"]) == "original: https://example.org/notes?a=1&b=50%"
    fields = parse_ris(render(c, "ris"))
    assert ris_values(fields, "PY") == [] and ris_values(fields, "LA") == ["sv"]
    item = json.loads(render(c, "csl-json"))[0]
    assert "issued" not in item and item["type"] == "document"
    assert item["note"] == "Original: https://example.org/notes?a=1&b=50%"
