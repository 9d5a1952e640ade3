"""Format extractors on small fixtures built in code (PDFs are written with pypdf itself)."""

from __future__ import annotations

import io
import logging
import shutil
import signal
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from indexer.extract import SUPPORTED_SUFFIXES, extract_file, pdftotext
from indexer.extract.base import Extraction, ExtractionProblem, Failed, Skipped
from indexer.extract.html import decode_html, extract_html
from indexer.extract.markdown import extract_markdown
from indexer.extract.pdf import clean_page_text, extract_pdf
from indexer.extract.text import decode_text, extract_text
from tests.prerequisites import REALCORPUS, needs, require

needs_realcorpus = needs("realcorpus")


def all_text(extraction: Extraction) -> str:
    return "\n\n".join(block.text for block in extraction.blocks)


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- building PDFs ---------------------------------------------------------------------------


def text_pdf(
    pages: list[list[str]],
    *,
    info: dict[str, str] | None = None,
    outline: list[tuple[str, int, str | None]] | None = None,
    user_password: str | None = None,
    algorithm: str = "AES-128",
) -> bytes:
    """A PDF whose pages show the given lines in Helvetica; an empty list is a blank page.

    `outline` entries are (title, 0-based page, parent title or None).
    """
    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        if not lines:
            continue
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        operators = ["BT /F1 11 Tf 72 720 Td 14 TL"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operators.append(f"({escaped}) Tj T*")
        operators.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(operators).encode("cp1252"))
        page.replace_contents(stream)
    if info:
        writer.add_metadata(info)
    items = {}
    for title, page_number, parent in outline or []:
        items[title] = writer.add_outline_item(
            title=title, page_number=page_number, parent=items.get(parent) if parent else None
        )
    if user_password is not None:
        writer.encrypt(user_password=user_password, algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_file(tmp_path: Path, data: bytes, name: str = "doc.pdf") -> Path:
    return write_bytes(tmp_path, name, data)


@pytest.fixture(params=["pdftotext", "pypdf"])
def pdf_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a PDF test twice: page text from pdftotext (when installed), and from pypdf."""
    if request.param == "pdftotext":
        require("pdftotext")
        monkeypatch.setenv(pdftotext.ENV_SWITCH, "1")
    else:
        monkeypatch.setenv(pdftotext.ENV_SWITCH, "0")
    return request.param


# --- extract_file: dispatch and the checks every format shares --------------------------------


def test_supported_suffixes_cover_every_format() -> None:
    assert SUPPORTED_SUFFIXES == {
        ".md": "markdown",
        ".markdown": "markdown",
        ".mdx": "markdown",
        ".html": "html",
        ".htm": "html",
        ".pdf": "pdf",
        ".txt": "text",
        ".text": "text",
        ".docx": "docx",
        ".docm": "docx",
        ".pptx": "pptx",
        ".pptm": "pptx",
        ".xlsx": "xlsx",
        ".xlsm": "xlsx",
        ".odt": "odt",
        ".odp": "odp",
        ".ods": "ods",
        ".eml": "eml",
    }


@pytest.mark.parametrize(
    ("name", "content", "expected_format"),
    [
        ("a.md", b"# Title\n\nBody text.", "markdown"),
        ("a.markdown", b"# Title\n\nBody text.", "markdown"),
        ("a.mdx", b"# Title\n\nBody text.", "markdown"),
        ("a.html", b"<h1>Title</h1><p>Body text.</p>", "html"),
        ("a.htm", b"<h1>Title</h1><p>Body text.</p>", "html"),
        ("a.txt", b"Title\n\nBody text.", "text"),
        ("a.text", b"Title\n\nBody text.", "text"),
        ("UPPER.MD", b"# Title\n\nBody text.", "markdown"),
    ],
)
def test_extract_file_dispatches_on_extension(
    tmp_path: Path, name: str, content: bytes, expected_format: str
) -> None:
    extraction = extract_file(write_bytes(tmp_path, name, content))
    assert extraction.format == expected_format
    assert extraction.title == "Title"
    assert "Body text." in all_text(extraction)


def test_extract_file_dispatches_pdf(tmp_path: Path) -> None:
    path = pdf_file(tmp_path, text_pdf([["Hello from a PDF."]]))
    extraction = extract_file(path)
    assert extraction.format == "pdf"
    assert extraction.blocks[0].text == "Hello from a PDF."


def test_unsupported_type_is_skipped(tmp_path: Path) -> None:
    with pytest.raises(Skipped, match=r"^unsupported file type: \.xyz$"):
        extract_file(write_bytes(tmp_path, "data.xyz", b"hello"))
    with pytest.raises(Skipped, match=r"^unsupported file type: \(no extension\)$"):
        extract_file(write_bytes(tmp_path, "Makefile", b"all:"))


@pytest.mark.parametrize("name", ["empty.md", "empty.html", "empty.pdf", "empty.txt"])
def test_empty_file_is_skipped(tmp_path: Path, name: str) -> None:
    with pytest.raises(Skipped, match=r"^empty file$"):
        extract_file(write_bytes(tmp_path, name, b""))


def test_file_over_the_size_limit_is_skipped_naming_the_size(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "big.txt", b"word " * 300_000)  # 1.5 MB
    with pytest.raises(Skipped, match=r"^file too large: 1\.4 MB, 0\.4 MB over the 1 MB limit$"):
        extract_file(path, max_bytes=1024 * 1024)
    assert extract_file(path).format == "text"  # the default limit is 50 MB


@pytest.mark.parametrize("name", ["blob.md", "blob.txt", "blob.html", "blob.mdx"])
def test_binary_content_behind_a_text_extension_is_skipped(tmp_path: Path, name: str) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(Skipped, match=r"^binary content in a text file$"):
        extract_file(write_bytes(tmp_path, name, data))


def test_mostly_control_characters_count_as_binary() -> None:
    with pytest.raises(Skipped, match="binary"):
        decode_text(bytes([1, 2, 3, 4, 5, 6, 7, 8]) * 20 + b"some text")


def test_unreadable_file_fails(tmp_path: Path) -> None:
    with pytest.raises(Failed, match=r"^cannot read file"):
        extract_file(tmp_path / "missing.md")


def test_problems_carry_status_and_reason() -> None:
    assert Skipped("x").status == "skipped"
    assert Failed("y").status == "failed"
    assert Failed("y").reason == "y"


# --- text decoding and the plain-text extractor ---------------------------------------------


def test_decode_text_utf8_with_and_without_bom() -> None:
    assert decode_text("Växjö".encode()) == "Växjö"
    assert decode_text(b"\xef\xbb\xbf" + "Växjö".encode()) == "Växjö"


def test_decode_text_falls_back_to_cp1252() -> None:
    assert decode_text("Été – “déjà”".encode("cp1252")) == "Été – “déjà”"


def test_decode_text_reads_utf16_with_bom() -> None:
    assert decode_text("Hej på dig".encode("utf-16")) == "Hej på dig"


def test_text_paragraphs_split_on_blank_lines_and_lines_joined() -> None:
    extraction = extract_text("Short title\n\nFirst paragraph\nwraps here.\n\n\n  Second one.  \n")
    assert extraction.format == "text"
    assert extraction.title == "Short title"
    assert extraction.blocks[0].text == "Short title\n\nFirst paragraph wraps here.\n\nSecond one."


def test_text_title_only_when_the_first_line_is_short() -> None:
    long_line = "word " * 40
    assert extract_text(long_line + "\n\nMore.").title is None
    assert extract_text("\n\n  Indented title\nnext").title == "Indented title"


def test_whitespace_only_text_is_skipped() -> None:
    with pytest.raises(Skipped, match="no text content"):
        extract_text(" \n\n\t\n")


def test_text_file_in_cp1252(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, "note.txt", "Mötesanteckningar\n\nÅtgärder för återbruk.".encode("cp1252")
    )
    extraction = extract_file(path)
    assert extraction.title == "Mötesanteckningar"
    assert "Åtgärder för återbruk." in all_text(extraction)


# --- HTML --------------------------------------------------------------------------------------

CLUTTERED_PAGE = """<!DOCTYPE html>
<html lang="sv-SE">
<head>
  <meta charset="utf-8">
  <title>Cirkulär upphandling | Exempelmyndigheten</title>
  <meta name="description" content="Hur myndigheter köper begagnat.">
  <meta name="author" content="Anna Andersson">
  <meta property="article:published_time" content="2024-03-05T09:00:00+01:00">
  <style>body { color: red }</style>
  <script>var tracking = "should not leak";</script>
</head>
<body>
  <a class="skip-link" href="#main">Skip to main content</a>
  <div id="cookie-banner"><p>We use cookies. Accept all?</p></div>
  <header><nav><ul><li><a href="/">Home</a></li><li><a href="/menu">Menu item</a></li></ul></nav></header>
  <aside>Related links sidebar</aside>
  <main id="main">
    <h1>Cirkulär upphandling</h1>
    <p>Första   stycket
       med radbrytningar.</p>
    <p>Andra stycket.</p>
    <h2>Krav</h2>
    <p>Text om krav.</p>
    <ul><li>Punkt ett</li><li>Punkt <b>två</b></li></ul>
    <h3>Detaljer</h3>
    <p>Djupare text.</p>
    <form><label>Sök</label><input name="q"><button>Search button</button></form>
    <svg><text>svg text</text></svg>
    <noscript>Enable JavaScript please</noscript>
    <template><p>template text</p></template>
    <h2>Uppföljning</h2>
    <p>Text om uppföljning.</p>
    <div class="consent-dialog">Manage consent preferences</div>
  </main>
  <footer><p>Footer contact text</p></footer>
  <script>console.log("late script")</script>
</body>
</html>
"""


def test_html_keeps_main_content_and_drops_clutter() -> None:
    extraction = extract_html(CLUTTERED_PAGE.encode())
    text = all_text(extraction)
    assert "Första stycket med radbrytningar." in text
    assert "Punkt två" in text
    for clutter in (
        "tracking",
        "color: red",
        "Skip to main",
        "cookies",
        "Menu item",
        "sidebar",
        "Search button",
        "Sök",
        "svg text",
        "Enable JavaScript",
        "template text",
        "consent",
        "Footer",
        "late script",
    ):
        assert clutter not in text, clutter


def test_html_headings_become_sections_with_paths() -> None:
    extraction = extract_html(CLUTTERED_PAGE.encode())
    sections = [(block.heading_path, block.text) for block in extraction.blocks]
    assert sections == [
        (("Cirkulär upphandling",), "Första stycket med radbrytningar.\n\nAndra stycket."),
        (("Cirkulär upphandling", "Krav"), "Text om krav.\n\nPunkt ett\n\nPunkt två"),
        (("Cirkulär upphandling", "Krav", "Detaljer"), "Djupare text."),
        (("Cirkulär upphandling", "Uppföljning"), "Text om uppföljning."),
    ]
    assert all(block.page is None for block in extraction.blocks)


def test_html_metadata_and_title_with_site_name_stripped() -> None:
    extraction = extract_html(CLUTTERED_PAGE.encode())
    assert extraction.format == "html"
    assert extraction.title == "Cirkulär upphandling"
    assert extraction.metadata == {
        "date": "2024-03-05",
        "description": "Hur myndigheter köper begagnat.",
        "language": "sv",
        "author": "Anna Andersson",
    }


def page(head: str = "", body: str = "", lang: str = "en") -> bytes:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}</body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("head", "body", "title"),
    [
        (
            '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
            '{"@type": "BreadcrumbList", "name": "Crumbs"},'
            '{"@type": "NewsArticle", "headline": "LD headline"}]}</script>'
            '<meta property="og:title" content="OG title"><title>Tag title</title>',
            "<h1>H1 title</h1><p>x</p>",
            "LD headline",
        ),
        (
            '<meta property="og:title" content="OG title"><title>Tag title</title>',
            "<h1>H1 title</h1><p>x</p>",
            "OG title",
        ),
        ("<title>Tag title</title>", "<h1>H1 title</h1><p>x</p>", "Tag title"),
        ("<title>Green IT – Example Site</title>", "<h1>Green IT</h1><p>x</p>", "Green IT"),
        ("<title>Example Site | Green IT</title>", "<h1>Green IT</h1><p>x</p>", "Green IT"),
        (
            "<title>Green IT | Example Site</title>",
            "<h1>Other</h1><p>x</p>",
            "Green IT | Example Site",
        ),
        ("", "<h1>H1 title</h1><p>x</p>", "H1 title"),
        ("", "<p>No heading at all</p>", None),
    ],
)
def test_html_title_precedence(head: str, body: str, title: str | None) -> None:
    assert extract_html(page(head, body)).title == title


@pytest.mark.parametrize(
    ("head", "body", "date"),
    [
        (
            '<meta property="article:published_time" content="2023-01-02T10:00:00Z">',
            "",
            "2023-01-02",
        ),
        ('<meta name="date" content="2023-01-03">', "", "2023-01-03"),
        ('<meta name="DC.date" content="2023-01-04">', "", "2023-01-04"),
        (
            '<script type="application/ld+json">'
            '{"@type": "Article", "headline": "h", "datePublished": "2023-01-05"}</script>',
            "",
            "2023-01-05",
        ),
        ('<meta property="og:updated_time" content="2023-01-06T00:00:00">', "", "2023-01-06"),
        ("", '<article><time datetime="2023-01-07">7 Jan</time><p>x</p></article>', "2023-01-07"),
        ('<meta name="date" content="not a date">', "", None),
    ],
)
def test_html_date_sources(head: str, body: str, date: str | None) -> None:
    extraction = extract_html(page(head, body + "<p>Body.</p>"))
    assert extraction.metadata.get("date") == date


@pytest.mark.parametrize(
    ("content", "date"),
    [("24. desember 2023", "2023-12-24"), ("24. huhtikuuta 2024", "2024-04-24")],
)
def test_html_meta_date_in_nordic_words(content: str, date: str) -> None:
    extraction = extract_html(page(f'<meta name="date" content="{content}">', "<p>Body.</p>"))
    assert extraction.metadata.get("date") == date


def test_html_jsonld_author_and_description_and_og_description() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "BlogPosting", "headline": "h",'
        ' "author": [{"@type": "Person", "name": "Ada"}, {"name": "Bo"}]}</script>'
        '<meta property="og:description" content="OG description">'
    )
    extraction = extract_html(page(head, "<p>Body.</p>"))
    assert extraction.metadata["author"] == "Ada, Bo"
    assert extraction.metadata["description"] == "OG description"


def test_html_broken_jsonld_is_a_warning_not_a_failure() -> None:
    head = '<script type="application/ld+json">{"@type": "Article", headline: broken</script>'
    extraction = extract_html(page(head + "<title>T</title>", "<p>Body.</p>"))
    assert extraction.title == "T"
    assert extraction.warnings == ["JSON-LD block is not valid JSON, ignored"]


@pytest.mark.parametrize(("lang", "expected"), [("sv-SE", "sv"), ("nb", "no"), ("fr", "fr")])
def test_html_language_is_normalised(lang: str, expected: str) -> None:
    assert extract_html(page("", "<p>Body.</p>", lang=lang)).metadata["language"] == expected


def test_html_meta_refresh_stub_is_skipped_as_redirect() -> None:
    stub = page(
        '<meta http-equiv="refresh" content="0; URL=https://example.org/new/">',
        '<p>Redirecting to <a href="https://example.org/new/">https://example.org/new/</a></p>',
    )
    with pytest.raises(Skipped, match=r"^redirect to https://example.org/new/$"):
        extract_html(stub)


def test_html_script_redirect_stub_is_skipped_naming_the_fallback_link() -> None:
    stub = page(
        "<title>Redirecting…</title>",
        '<p>If you are not redirected, <a href="https://example.org/x">click here</a>.</p>'
        '<script>window.location.replace("https://example.org/x");</script>',
    )
    with pytest.raises(Skipped, match=r"^redirect to https://example.org/x$"):
        extract_html(stub)


def test_html_page_with_refresh_and_real_content_is_not_a_stub() -> None:
    body = "<p>" + "Real content sentence. " * 40 + "</p>"
    extraction = extract_html(page('<meta http-equiv="refresh" content="300">', body))
    assert "Real content sentence." in all_text(extraction)


def test_html_content_root_preference() -> None:
    long = "Article words. " * 20
    with_main = page(
        "", f"<article><p>Outside main. {long}</p></article><main><p>In main. {long}</p></main>"
    )
    assert "Outside main" not in all_text(extract_html(with_main))
    with_article = page(
        "", f"<div><p>Teaser outside.</p></div><article><p>In article. {long}</p></article>"
    )
    assert "Teaser" not in all_text(extract_html(with_article))
    with_role = page(
        "", f'<div><p>Chrome.</p></div><div role="main"><p>In role main. {long}</p></div>'
    )
    assert all_text(extract_html(with_role)).startswith("In role main.")
    plain = page("", "<div><p>Just a body.</p></div>")
    assert all_text(extract_html(plain)) == "Just a body."


def test_html_empty_main_falls_back_to_body() -> None:
    body = '<main id="app"></main><div><p>' + "Server-rendered text. " * 30 + "</p></div>"
    assert "Server-rendered text." in all_text(extract_html(page("", body)))


def test_html_article_header_with_h1_is_kept() -> None:
    body = (
        "<main><article><header><h1>Post title</h1><time datetime='2022-05-06'>6 May</time>"
        "</header><p>Post body.</p><footer>Share this</footer></article></main>"
    )
    extraction = extract_html(page("", body))
    assert extraction.title == "Post title"
    assert extraction.blocks[-1].heading_path == ("Post title",)
    assert extraction.metadata["date"] == "2022-05-06"
    assert "Share this" not in all_text(extraction)


def test_html_entities_broken_and_valid_are_tolerated() -> None:
    body = "<p>Fish &amp; chips &amp cod &nbsp;caf&eacute; &bogus; 5 &lt; 6 &#8211; &#x2014; &#99999999;</p>"
    text = all_text(extract_html(page("", body)))
    # Unknown entities stay as literal text; unterminated known ones are still decoded.
    assert text.startswith("Fish & chips & cod café &bogus")
    assert text.endswith("5 < 6 – — �")


def test_html_output_is_plain_text() -> None:
    body = '<p>Some <em>emphasised</em> <a href="x">link</a> and <code>code</code>.</p><!-- a comment -->'
    text = all_text(extract_html(page("", body)))
    assert text == "Some emphasised link and code."


def test_html_pre_keeps_lines_and_br_breaks_lines() -> None:
    body = "<p>Line one<br>Line two</p><pre>def f():\n    return 1\n\n\nf()</pre>"
    extraction = extract_html(page("", body))
    assert extraction.blocks[0].text == "Line one\nLine two\n\ndef f():\n    return 1\nf()"


def test_html_table_rows_are_paragraphs_with_cells_separated() -> None:
    body = (
        "<table><tr><th>Topic</th><td>Energy</td></tr><tr><td>Type</td><td>Tool</td></tr></table>"
    )
    assert all_text(extract_html(page("", body))) == "Topic · Energy\n\nType · Tool"


def test_html_other_paragraphish_elements() -> None:
    body = (
        "<blockquote>Quoted words.</blockquote><dl><dt>Term</dt><dd>Definition.</dd></dl>"
        "<figure><img src='x.png' alt='ignored'><figcaption>Caption.</figcaption></figure>"
    )
    assert (
        all_text(extract_html(page("", body))) == "Quoted words.\n\nTerm\n\nDefinition.\n\nCaption."
    )


def test_html_without_text_is_skipped() -> None:
    with pytest.raises(Skipped, match="no text content"):
        extract_html(page("<title>Only a title</title>", "<nav><a href='/'>Home</a></nav>"))


@pytest.mark.parametrize(
    ("declaration", "encoding"),
    [
        ('<meta charset="windows-1252">', "cp1252"),
        ('<meta charset="iso-8859-1">', "cp1252"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15">', "iso8859-15"),
        ("", "cp1252"),  # undeclared and not UTF-8: the cp1252 fallback
    ],
)
def test_html_charset_declarations(declaration: str, encoding: str) -> None:
    data = f"<html><head>{declaration}</head><body><p>Été à Malmö €</p></body></html>"
    assert all_text(extract_html(data.encode(encoding))) == "Été à Malmö €"


def test_html_bom_wins_over_a_wrong_declaration() -> None:
    data = '<html><head><meta charset="windows-1252"></head><body><p>Malmö</p></body></html>'
    assert all_text(extract_html(b"\xef\xbb\xbf" + data.encode("utf-8"))) == "Malmö"
    assert "Malmö" in decode_html(data.encode("utf-16"))


def test_html_undeclared_utf8() -> None:
    data = "<html><body><p>Malmö ≠ Malmo</p></body></html>".encode()
    assert all_text(extract_html(data)) == "Malmö ≠ Malmo"


def test_html_deeply_nested_markup_does_not_overflow() -> None:
    data = ("<div>" * 3000 + "<p>Deep text.</p>" + "</div>" * 3000).encode()
    assert all_text(extract_html(data)) == "Deep text."


def test_html_file_via_extract_file(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "page.html", CLUTTERED_PAGE.encode())
    assert extract_file(path).title == "Cirkulär upphandling"


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_front_matter_into_metadata() -> None:
    text = (
        "---\n"
        "title: Återbruk av IT\n"
        "date: 2024-09-15\n"
        "lang: sv-SE\n"
        "tags: [reuse, procurement]\n"
        "updated: 2024-10-01 12:30:00\n"
        "organisations:\n  - ikea\n"
        "---\n"
        "# Heading one\n\nBody.\n"
    )
    extraction = extract_markdown(text)
    assert extraction.format == "markdown"
    assert extraction.title == "Återbruk av IT"  # front matter beats the first H1
    assert extraction.metadata == {
        "title": "Återbruk av IT",
        "date": "2024-09-15",
        "language": "sv",
        "tags": ["reuse", "procurement"],
        "updated": "2024-10-01T12:30:00",
        "organisations": ["ikea"],
    }
    assert extraction.warnings == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-15", "2024-09-15"),
        ("2024-09-15T08:00:00+02:00", "2024-09-15"),
        ('"15 September 2024"', "2024-09-15"),
        ("2024-09-15 08:00", "2024-09-15"),
    ],
)
def test_markdown_front_matter_dates_normalised(value: str, expected: str) -> None:
    extraction = extract_markdown(f"---\ndate: {value}\n---\nBody.\n")
    assert extraction.metadata["date"] == expected


def test_markdown_front_matter_reads_dates_as_a_sidecar_does() -> None:
    extraction = extract_markdown("---\ndate: 24.04.2024\n---\nBody.\n")
    assert extraction.metadata["date"] == "2024-04-24"
    assert extraction.warnings == []


def test_markdown_unparseable_date_is_dropped_with_a_warning() -> None:
    extraction = extract_markdown("---\ndate: sometime\n---\nBody.\n")
    assert "date" not in extraction.metadata
    assert extraction.warnings == ["front matter date not understood: 'sometime'"]


def test_markdown_published_date_alias_gives_date() -> None:
    extraction = extract_markdown("---\npublished_date: 2022-11-10\n---\nBody.\n")
    assert extraction.metadata["date"] == "2022-11-10"
    assert extraction.metadata["published_date"] == "2022-11-10"


def test_markdown_bad_front_matter_is_a_warning_and_the_block_is_dropped() -> None:
    text = "---\ntitle: [unclosed\nkey: : value\n---\n# Real title\n\nBody text.\n"
    extraction = extract_markdown(text)
    assert extraction.metadata == {}
    assert extraction.title == "Real title"
    assert len(extraction.warnings) == 1
    assert extraction.warnings[0].startswith("front matter is not valid YAML, ignored:")
    assert "unclosed" not in all_text(extraction)
    assert all_text(extraction) == "Body text."


def test_markdown_front_matter_with_tab_indentation_is_repaired() -> None:
    text = "---\ntitle: T\ntags:\n\t- 'Document de référence'\n---\nBody.\n"
    extraction = extract_markdown(text)
    assert extraction.metadata["tags"] == ["Document de référence"]
    assert extraction.warnings == ["front matter indented with tabs; read with tabs as spaces"]


def test_markdown_toml_front_matter() -> None:
    text = '+++\ntitle = "TOML title"\ndate = 2023-04-05\nlanguage = "fr"\n+++\nCorps du texte.\n'
    extraction = extract_markdown(text)
    assert extraction.title == "TOML title"
    assert extraction.metadata == {"title": "TOML title", "date": "2023-04-05", "language": "fr"}


def test_markdown_unclosed_dashes_are_a_thematic_break_not_front_matter() -> None:
    extraction = extract_markdown("---\n\nJust text after a rule.\n")
    assert extraction.metadata == {}
    assert all_text(extraction) == "Just text after a rule."


def test_markdown_headings_atx_and_setext_with_paths() -> None:
    text = (
        "Intro before any heading.\n\n"
        "# Guide #\n\nGuide text.\n\n"
        "Part A\n------\n\nA text\ncontinues.\n\n"
        "### Detail {#detail-id}\n\nDetail text.\n\n"
        "Part B\n======\n\nB text.\n\n"
        "#hashtag is not a heading\n"
    )
    extraction = extract_markdown(text)
    assert [(b.heading_path, b.text) for b in extraction.blocks] == [
        ((), "Intro before any heading."),
        (("Guide",), "Guide text."),
        (("Guide", "Part A"), "A text continues."),
        (("Guide", "Part A", "Detail"), "Detail text."),
        (("Part B",), "B text.\n\n#hashtag is not a heading"),
    ]
    assert extraction.title == "Guide"


def test_markdown_mdx_imports_exports_and_jsx_removed_inner_text_kept() -> None:
    text = (
        'import Tabs from "@theme/Tabs";\n'
        "import TabItem from '@theme/TabItem';\n"
        "import { a,\n  b } from './multi';\n"
        "export const meta = {\n  author: 'x',\n};\n\n"
        "# Install\n\n"
        '<Tabs groupId="os">\n'
        '  <TabItem value="linux" label="Linux">\n\n'
        "Run the Linux installer.\n\n"
        "  </TabItem>\n"
        "</Tabs>\n\n"
        '<CategoryPage category={categoryMap.get("design")} />\n\n'
        "{/* an MDX comment */}\n"
        "Importantly, exports of goods are fine prose.\n"
    )
    extraction = extract_markdown(text)
    body = all_text(extraction)
    assert body == "Run the Linux installer.\n\nImportantly, exports of goods are fine prose."
    assert extraction.title == "Install"


def test_markdown_template_tags_and_comments_removed() -> None:
    text = (
        "# Lettres\n\n"
        "<!-- a comment\nover two lines -->\n"
        "Les éditions {{ site.name }} ci-dessous.\n\n"
        '{%- if collections["x"] -%}\n'
        "    {% for year in years %}\n"
        "        <h2>{{ year }}</h2>\n"
        "    {% endfor %}\n"
        "{%- endif -%}\n"
        "{# a Nunjucks comment #}\n"
    )
    extraction = extract_markdown(text)
    assert [(b.heading_path, b.text) for b in extraction.blocks] == [
        (("Lettres",), "Les éditions ci-dessous.")
    ]


def test_markdown_raw_html_tags_removed_text_kept_and_raw_headings_read() -> None:
    text = (
        '<div class="card">\n  <h3 class="title">\n    <a href="/x">Card title</a>\n  </h3>\n'
        "  <p>Card <b>body</b>.</p>\n</div>\n"
        '<iframe src="https://example.org" width="100%"></iframe>\n'
        "</br>\n"
        "<script>alert('no')</script>\n"
        "5 < 6 and a <b>bold</b> word.\n"
    )
    extraction = extract_markdown(text)
    assert [(b.heading_path, b.text) for b in extraction.blocks] == [
        (("Card title",), "Card body.\n\n5 < 6 and a bold word.")
    ]


def test_markdown_inline_syntax_to_plain_text() -> None:
    text = (
        "A [link](https://example.org/a_(b)) and [ref link][r], an image "
        '![alt text](img.png "t"), **bold**, __strong__, *em*, _em2_, ~~gone~~,\n'
        "`code *not em*`, a snake_case_name, 2 * 3 * 4, escaped \\*star\\*,"
        " footnote[^1], <https://auto.link> and &amp; entity.\n\n"
        "[r]: https://example.org/ref\n"
        "[^1]: The footnote text.\n"
    )
    assert all_text(extract_markdown(text)) == (
        "A link and ref link, an image alt text, bold, strong, em, em2, gone, "
        "code *not em*, a snake_case_name, 2 * 3 * 4, escaped *star*, footnote, "
        "https://auto.link and & entity.\n\nThe footnote text."
    )


def test_markdown_lists_quotes_tables() -> None:
    text = (
        "- first item\n  continued\n- [x] done item\n1. numbered\n\n"
        "> quoted\n> text\n\n"
        "| Name | Value |\n|------|:-----:|\n| a | 1 |\n| b | 2 |\n\n"
        "After the table.\n"
    )
    assert all_text(extract_markdown(text)) == (
        "first item continued\n\ndone item\n\n1. numbered\n\nquoted text\n\n"
        "Name · Value\na · 1\nb · 2\n\nAfter the table."
    )


def test_markdown_admonition_fences_removed_title_and_content_kept() -> None:
    text = ":::note Take care\n\nAdmonition body.\n\n:::\n\n:::tip[Hint]\nTip body.\n:::\n"
    assert all_text(extract_markdown(text)) == "Take care\n\nAdmonition body.\n\nHint\n\nTip body."


def test_markdown_code_fences_kept_verbatim_and_never_headings() -> None:
    text = (
        "# Title\n\nBefore.\n\n"
        "```python\n# not a heading\nprint('{% raw %}')\n\n<Tabs>\n```\n\n"
        "~~~\nimport os\n~~~\n\n"
        "   ```bash\n   # indented fence\n   ```\n\n"
        "After.\n"
    )
    extraction = extract_markdown(text)
    assert [b.heading_path for b in extraction.blocks] == [("Title",)]
    assert extraction.blocks[0].text == (
        "Before.\n\n# not a heading\nprint('{% raw %}')\n<Tabs>\n\nimport os\n\n"
        "   # indented fence\n\nAfter."
    )


def test_markdown_myst_directives() -> None:
    text = (
        "# Codelists\n\n"
        "```{admonition} Extending codelists\n:class: note\n\nDocument new *codes*.\n```\n\n"
        "```{versionchanged} 1.1\nAdded a code.\n```\n\n"
        "```{jsoninclude} ../../examples/tender.json\n:jsonpointer: /x\n```\n\n"
        "```{csv-table-no-translate}\n:file: codes.csv\n```\n\n"
        "````{admonition} Example\n```{jsoninclude} x.json\n```\n````\n\n"
        "See {ref}`the reference <reference>` and `{ocid}-{date}`.\n"
    )
    assert all_text(extract_markdown(text)) == (
        "Extending codelists\n\nDocument new codes.\n\nChanged in version 1.1\n\nAdded a code."
        "\n\nExample\n\nSee the reference and {ocid}-{date}."
    )


def test_markdown_title_fallbacks() -> None:
    assert extract_markdown("## Only h2\n\nText.").title is None
    assert (
        extract_markdown("Offentlig upphandling\n\nInledning text.").title
        == "Offentlig upphandling"
    )
    assert extract_markdown("A sentence that ends.\n\nMore.").title is None


def test_markdown_without_text_is_skipped() -> None:
    text = '---\ntitle: Design\n---\n\nimport X from "y";\n\n# Design\n\n<X category="design" />\n'
    with pytest.raises(Skipped, match="no text content"):
        extract_markdown(text)


def test_markdown_crlf_and_bom() -> None:
    extraction = extract_markdown("\ufeff---\r\ntitle: T\r\n---\r\n# H\r\n\r\nBody.\r\n")
    assert extraction.title == "T"
    assert all_text(extraction) == "Body."


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [*"#*_`[]()!<>/{}%-=|:~\\\n ab1\"'", "---\n", "```", "<Tabs>", "{%", "-->"]
        ),
        max_size=120,
    ).map("".join)
)
def test_markdown_never_crashes(text: str) -> None:
    try:
        extraction = extract_markdown(text)
    except Skipped:
        return
    assert all(block.text for block in extraction.blocks)


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=400)
    | st.text(alphabet=st.sampled_from(list("<>/=\"'&;#ahpbdiv1 \n")), max_size=300).map(str.encode)
)
def test_html_never_crashes(data: bytes) -> None:
    try:
        extraction = extract_html(data)
    except Skipped:
        return
    assert all(block.text for block in extraction.blocks)


# --- PDF: page text clean-up ----------------------------------------------------------------


def test_clean_page_text_joins_lines_and_dehyphenates() -> None:
    raw = (
        "Green software is about making sustain-\n"
        "able choices in every part of the software\n"
        "lifecycle, from design to operation and to\n"
        "the end of life.\n"
        "Next paragraph starts here after the short line\n"
        "that ended the first one.\n"
        "A heading line\n"
        "• first bullet\n"
        "• second bullet\x00\n"
        "\n"
        "After a blank line: the ﬁnal ﬂow.\n"
    )
    assert clean_page_text(raw) == (
        "Green software is about making sustainable choices in every part of the software "
        "lifecycle, from design to operation and to the end of life.\n\n"
        "Next paragraph starts here after the short line that ended the first one.\n\n"
        "A heading line\n\n"
        "• first bullet\n\n• second bullet\n\n"
        "After a blank line: the final flow."
    )


def test_clean_page_text_keeps_hyphen_before_capitals_and_numbers() -> None:
    assert clean_page_text("The Franco-\nGerman border and COVID-\n19 cases") == (
        "The Franco- German border and COVID- 19 cases"
    )


def test_clean_page_text_empty() -> None:
    assert clean_page_text("\n \x00\n") == ""


# --- PDF: extraction --------------------------------------------------------------------------


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_one_block_per_page_with_page_numbers(tmp_path: Path) -> None:
    path = pdf_file(tmp_path, text_pdf([["Page one text."], ["Page two text."], ["Page three."]]))
    extraction = extract_pdf(path)
    assert extraction.format == "pdf"
    assert extraction.page_count == 3
    assert [(b.page, b.text) for b in extraction.blocks] == [
        (1, "Page one text."),
        (2, "Page two text."),
        (3, "Page three."),
    ]
    assert extraction.title is None
    assert extraction.warnings == []


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_metadata_from_document_info(tmp_path: Path) -> None:
    info = {
        "/Title": "Microsoft Word - Rapport om återbruk.docx",
        "/Author": "Eva Ek",
        "/CreationDate": "D:20230102030405+01'00'",
        "/Subject": "Återbruk",
        "/Keywords": "reuse, IT",
    }
    extraction = extract_pdf(pdf_file(tmp_path, text_pdf([["Text."]], info=info)))
    assert extraction.title == "Rapport om återbruk"
    assert extraction.metadata == {
        "title": "Rapport om återbruk",
        "author": "Eva Ek",
        "description": "Återbruk",
        "keywords": ["reuse", "IT"],
        "date": "2023-01-02",
    }


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_placeholder_title_is_ignored(tmp_path: Path) -> None:
    info = {"/Title": "Présentation PowerPoint"}
    extraction = extract_pdf(pdf_file(tmp_path, text_pdf([["Text."]], info=info)))
    assert extraction.title is None


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_heading_paths_from_the_outline(tmp_path: Path) -> None:
    pages = [["Cover."], ["Chapter one starts."], ["Section text."], ["More section."], ["Two."]]
    outline = [
        ("Chapter 1", 1, None),
        ("Section 1.1", 2, "Chapter 1"),
        ("Chapter 2", 4, None),
    ]
    extraction = extract_pdf(pdf_file(tmp_path, text_pdf(pages, outline=outline)))
    assert [(b.page, b.heading_path) for b in extraction.blocks] == [
        (1, ()),
        (2, ("Chapter 1",)),
        (3, ("Chapter 1", "Section 1.1")),
        (4, ("Chapter 1", "Section 1.1")),
        (5, ("Chapter 2",)),
    ]
    # Without an info title the first outline entry stands in.
    assert extraction.title == "Chapter 1"


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_without_any_text_is_skipped_as_scanned(tmp_path: Path) -> None:
    with pytest.raises(Skipped, match=r"^no extractable text \(scanned\?\)$"):
        extract_pdf(pdf_file(tmp_path, text_pdf([[], [], []])))


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_pages_without_text_are_a_warning(tmp_path: Path) -> None:
    extraction = extract_pdf(pdf_file(tmp_path, text_pdf([["One."], [], ["Three."], [], []])))
    assert [b.page for b in extraction.blocks] == [1, 3]
    assert extraction.warnings == ["pages without text: 2, 4, 5"]
    assert extraction.page_count == 5


@pytest.mark.parametrize("algorithm", ["AES-128", "RC4-128", "AES-256"])
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_encrypted_with_empty_password_is_read(tmp_path: Path, algorithm: str) -> None:
    path = pdf_file(
        tmp_path, text_pdf([["Secret but open."]], user_password="", algorithm=algorithm)
    )
    assert extract_pdf(path).blocks[0].text == "Secret but open."


@pytest.mark.parametrize("algorithm", ["AES-128", "RC4-128"])
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_needing_a_password_is_skipped(tmp_path: Path, algorithm: str) -> None:
    path = pdf_file(tmp_path, text_pdf([["Secret."]], user_password="hunter2", algorithm=algorithm))
    with pytest.raises(Skipped, match=r"^encrypted: password required"):
        extract_pdf(path)


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a PDF at all, just text with a .pdf name",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
    ],
)
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_unreadable_files_are_skipped_naming_the_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(Skipped, match=r"^unreadable PDF: \w+"):
        extract_pdf(pdf_file(tmp_path, data))


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_truncated_file_never_raises_anything_else(tmp_path: Path) -> None:
    data = text_pdf([["Some text here."], ["More text."]])
    for cut in (len(data) // 4, len(data) // 2, len(data) - 40):
        try:
            extract_pdf(pdf_file(tmp_path, data[:cut], name=f"cut{cut}.pdf"))
        except ExtractionProblem as problem:
            assert problem.reason


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_problems_pypdf_logs_are_counted_not_printed(tmp_path: Path) -> None:
    data = text_pdf([["Recoverable text."]])
    broken = data.replace(b"startxref\n", b"startxref\n9")
    records: list[logging.LogRecord] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    recorder = Recorder(logging.DEBUG)
    root.addHandler(recorder)
    try:
        extraction = extract_pdf(pdf_file(tmp_path, broken))
    finally:
        root.removeHandler(recorder)
    assert extraction.blocks[0].text == "Recoverable text."
    assert "pypdf reported 2 problems while reading" in extraction.warnings
    assert not [r for r in records if r.name.startswith("pypdf")]


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_time_limit_stops_a_long_file_and_restores_the_alarm(tmp_path: Path) -> None:
    pages = [[f"Page {n} line {i} with some words to parse." for i in range(40)] for n in range(60)]
    path = pdf_file(tmp_path, text_pdf(pages))

    def previous_handler(signum: int, frame: object) -> None:  # pragma: no cover - never fires
        raise AssertionError("the caller's alarm fired")

    old = signal.signal(signal.SIGPROF, previous_handler)
    signal.setitimer(signal.ITIMER_PROF, 100)
    try:
        with pytest.raises(Failed, match=r"^time limit of 0\.001 s exceeded$"):
            extract_pdf(path, time_limit=0.001)
        assert signal.getsignal(signal.SIGPROF) is previous_handler
        remaining, _ = signal.getitimer(signal.ITIMER_PROF)
        assert 90 < remaining <= 100.01  # CPU-time timers tick in clock steps
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    assert extract_pdf(path).page_count == 60  # a normal limit is ample


@pytest.mark.usefixtures("pdf_reader")
def test_pdf_time_limit_outside_the_main_thread_uses_the_page_deadline(tmp_path: Path) -> None:
    pages = [[f"Page {n} line {i} with some words to parse." for i in range(40)] for n in range(60)]
    path = pdf_file(tmp_path, text_pdf(pages))
    outcome: list[BaseException | Extraction] = []

    def run() -> None:
        try:
            outcome.append(extract_pdf(path, time_limit=0.001))
        except BaseException as error:  # the test inspects whatever happened
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert isinstance(outcome[0], Failed)
    assert outcome[0].reason == "time limit of 0.001 s exceeded"


@needs_realcorpus
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_real_text_layer_and_outline() -> None:
    path = (
        REALCORPUS / "pdf/minumeco/public/docs/2021/Bilan_ecoconception_SNE_recherche_2021_10.pdf"
    )
    extraction = extract_pdf(path)
    assert extraction.page_count == 14
    assert extraction.title == "BILAN SUR L’ÉCOCONCEPTION DU PRODUIT SNE RECHERCHE"
    assert extraction.metadata["date"] == "2021-11-08"
    assert extraction.metadata["language"] == "fr"
    page3 = extraction.blocks[2]
    assert page3.page == 3
    assert page3.heading_path == ("BILAN SUR L’ÉCOCONCEPTION DU PRODUIT SNE RECHERCHE",)
    assert "\n\nDémarche qualitative et prospective\n\n" in page3.text
    assert "86 critères répartis sur 8 thématiques" in page3.text  # no-break spaces normalised


@needs_realcorpus
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_real_text_rotated_and_pdfa() -> None:
    rotated = extract_pdf(REALCORPUS / "pdf-bad/pypdf-resources/resources/test Orient.pdf")
    assert rotated.title == "Test Orient PDF"
    assert rotated.metadata == {"title": "Test Orient PDF", "author": "CDa", "date": "2022-06-11"}
    assert "(L) This is box text on left written vertically to starboard" in all_text(rotated)
    pdfa = extract_pdf(REALCORPUS / "pdf-bad/pypdf-sample-files/021-pdfa/crazyones-pdfa.pdf")
    assert pdfa.blocks[0].text.startswith("The Crazy Ones\n\nOctober 14, 1998\n\n")


@needs_realcorpus
@pytest.mark.usefixtures("pdf_reader")
def test_pdf_text_drawn_outside_the_page_does_not_count() -> None:
    # ImageMagick writes an invisible "Background" label beside each image, off the page.
    path = REALCORPUS / "pdf-bad/pypdf-sample-files/007-imagemagick-images/imagemagick-images.pdf"
    with pytest.raises(Skipped, match=r"^no extractable text \(scanned\?\)$"):
        extract_pdf(path)


# --- PDF: which program reads the page text -----------------------------------------------------


def test_kb_pdftotext_0_turns_pdftotext_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pdftotext.ENV_SWITCH, "0")
    assert pdftotext.executable() is None
    monkeypatch.setenv(pdftotext.ENV_SWITCH, "1")
    assert pdftotext.executable() == shutil.which("pdftotext")


def fake_pdftotext(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> list[str]:
    """Put a shell script in pdftotext's place; returns the list its runs are logged to."""
    exe = tmp_path / "fake-pdftotext"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(0o755)
    started: list[str] = []
    monkeypatch.setattr(pdftotext, "executable", lambda: started.append(str(exe)) or str(exe))
    return started


@needs("pdftotext")
def test_pdftotext_reads_the_text_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pdftotext.ENV_SWITCH, "1")
    runs: list[Path] = []
    real_run = pdftotext.PageTextRun

    def recording_run(exe: str, path: Path) -> pdftotext.PageTextRun:
        runs.append(path)
        return real_run(exe, path)

    monkeypatch.setattr(pdftotext, "PageTextRun", recording_run)
    path = pdf_file(tmp_path, text_pdf([["Page one text."], [], ["Page three."]]))
    extraction = extract_pdf(path)
    assert runs == [path]
    assert [(b.page, b.text) for b in extraction.blocks] == [
        (1, "Page one text."),
        (3, "Page three."),
    ]
    assert extraction.warnings == ["pages without text: 2"]


@pytest.mark.parametrize(
    "script",
    [
        "exit 1",  # pdftotext refused the file
        "printf 'one page only\\f'",  # it saw another number of pages than pypdf
    ],
)
def test_pypdf_reads_the_text_when_pdftotext_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    started = fake_pdftotext(tmp_path, monkeypatch, script)
    path = pdf_file(tmp_path, text_pdf([["Page one text."], ["Page two text."]]))
    extraction = extract_pdf(path)
    assert started
    assert [(b.page, b.text) for b in extraction.blocks] == [
        (1, "Page one text."),
        (2, "Page two text."),
    ]


def test_pdftotext_page_text_is_split_on_form_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pdftotext(tmp_path, monkeypatch, "printf 'First\\nline.\\f\\fThird page.\\f'")
    path = pdf_file(tmp_path, text_pdf([["a"], ["b"], ["c"]]))
    extraction = extract_pdf(path)
    assert [(b.page, b.text) for b in extraction.blocks] == [(1, "First line."), (3, "Third page.")]
    assert extraction.warnings == ["pages without text: 2"]


def test_pdftotext_cpu_time_counts_against_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pdftotext(tmp_path, monkeypatch, "while :; do :; done")
    path = pdf_file(tmp_path, text_pdf([["Text."]]))
    with pytest.raises(Failed, match=r"^time limit of 0\.5 s exceeded$"):
        extract_pdf(path, time_limit=0.5)


def test_pdftotext_is_ended_when_pypdf_rejects_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both start together; the reason given is pypdf's, and the child does not outlive the call.
    fake_pdftotext(tmp_path, monkeypatch, "exec sleep 30")
    path = pdf_file(tmp_path, text_pdf([["Secret."]], user_password="hunter2"))
    with pytest.raises(Skipped, match=r"^encrypted: password required"):
        extract_pdf(path)


def test_a_stray_markup_declaration_is_read_as_text_not_a_crash():
    """`<![0` makes the standard library's parser give up; a browser shows it as text."""
    from indexer.extract.html import extract_html

    extraction = extract_html(b"<h1>Minutes</h1><p>Decisions taken.</p><![0 and more")
    text = " ".join(b.text for b in extraction.blocks)
    assert "Decisions taken." in text and "<![0 and more" in text
    assert extraction.warnings == ["malformed <! declarations read as text"]
