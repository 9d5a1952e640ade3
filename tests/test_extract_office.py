"""Word, PowerPoint, OpenDocument, Excel and e-mail: passages, headings, slides, sheets,
metadata and its precedence, and how slides are cited and shown."""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import pytest

from indexer.build import run_index
from indexer.extract import extract_file
from indexer.extract.xlsx import ROWS_PER_BLOCK
from kb.access import Principal
from kb.cite import cite
from kb.citeformats import CITE_FORMAT_IDS, render
from kb.documents import load_document
from kb.library import Library
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import make_public, write
from tests.office_samples import (
    docx_bytes,
    eml_bytes,
    odp_bytes,
    ods_bytes,
    odt_bytes,
    pptx_bytes,
    xlsx_bytes,
)
from tests.test_web import page

DECK = "meetings/2024-10-24-supplier-roadmaps-for-circular-it"
TEMPLATE = "guides/tender-template-sustainable-it-equipment"
BASE = "http://127.0.0.1:5000"


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _without(package: bytes, part: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info.filename, src.read(info))
    return out.getvalue()


def _sections(extraction) -> list[tuple[tuple[str, ...], int | None, str]]:
    return [(b.heading_path, b.page, b.text) for b in extraction.blocks]


# ---- each format ------------------------------------------------------------------------------


def test_word_headings_become_sections_with_their_heading_path(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Procurement strategy", style="Title")
    document.add_heading("Criteria", level=1)
    document.add_paragraph("Weigh climate at 30 percent.")
    document.add_heading("Lifespan", level=2)
    document.add_paragraph("Spare parts for five years.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Laptops"
    table.rows[0].cells[1].text = "six years"
    document.sections[0].footer.paragraphs[0].text = "Internal draft footer"
    out = io.BytesIO()
    document.save(out)
    extraction = extract_file(_file(tmp_path, "strategy.docx", out.getvalue()))
    assert extraction.format == "docx"
    assert extraction.title == "Procurement strategy"
    assert _sections(extraction) == [
        (("Criteria",), None, "Weigh climate at 30 percent."),
        (("Criteria", "Lifespan"), None, "Spare parts for five years.\n\nLaptops · six years"),
        (("Headers and footers",), None, "Internal draft footer"),
    ]


def test_word_core_properties_are_the_documents_embedded_metadata(tmp_path):
    data = docx_bytes(
        "Heading title", [("S", "Body text.")], title="Properties title", author="Anna Berg",
        language="sv-SE", created=datetime.datetime(2024, 4, 24, 10, 0), comments="",
    )  # fmt: skip
    extraction = extract_file(_file(tmp_path, "a.docx", data))
    assert extraction.title == "Properties title"
    assert extraction.metadata == {
        "title": "Properties title",
        "author": "Anna Berg",
        "date": "2024-04-24",
        "language": "sv",
    }


def test_strict_ooxml_that_python_docx_cannot_open_is_read_from_its_parts(tmp_path):
    """Strict OOXML names its parts' relationships differently; its text is still read."""
    data = docx_bytes("Strict title", [("Section", "Body text.")])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info).replace(
                b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
                b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
            )
            dst.writestr(info.filename, content)
    extraction = extract_file(_file(tmp_path, "strict.docx", out.getvalue()))
    assert (("Section",), None, "Body text.") in _sections(extraction)


def test_a_deck_has_a_block_per_slide_with_its_title_and_notes(tmp_path):
    data = pptx_bytes(
        [
            ("Supplier roadmaps", "Why roadmaps matter.", "Say hello first."),
            ("Four steps", "Map the installed base.", ""),
        ],
        title="Roadmaps deck",
    )
    extraction = extract_file(_file(tmp_path, "deck.pptx", data))
    assert extraction.format == "pptx" and extraction.page_count == 2
    assert extraction.title == "Roadmaps deck"
    assert _sections(extraction) == [
        (("Supplier roadmaps",), 1, "Why roadmaps matter.\n\nSpeaker notes:\n\nSay hello first."),
        (("Four steps",), 2, "Map the installed base."),
    ]


def test_a_workbook_has_a_section_per_sheet_and_blocks_of_rows(tmp_path):
    rows = [[f"Site {n}", n * 10, None] for n in range(ROWS_PER_BLOCK + 5)]
    data = xlsx_bytes({"Budget": [["Item", "Cost"], ["Laptops", 1200.0]], "Sites": rows})
    extraction = extract_file(_file(tmp_path, "book.xlsx", data))
    sections = _sections(extraction)
    assert sections[0] == (("Budget",), None, "Item · Cost\n\nLaptops · 1200")
    assert [s[0] for s in sections[1:]] == [("Sites",), ("Sites",)]
    assert sections[1][2].startswith("Site 0 · 0\n\nSite 1 · 10")
    assert sections[2][2].count("\n\n") == 4  # the last 5 rows


def test_opendocument_text_presentation_and_spreadsheet(tmp_path):
    odt = extract_file(_file(tmp_path, "a.odt", odt_bytes("Strategy", [("Criteria", "Weigh.")])))
    assert odt.format == "odt" and odt.title == "Strategy"
    assert _sections(odt) == [(("Strategy", "Criteria"), None, "Weigh.")]
    odp = extract_file(
        _file(tmp_path, "a.odp", odp_bytes([("One", "First.", "Notes one."), ("Two", "2nd.", "")]))
    )
    assert odp.format == "odp" and odp.page_count == 2 and odp.title == "One"
    assert _sections(odp) == [
        (("One",), 1, "First.\n\nSpeaker notes:\n\nNotes one."),
        (("Two",), 2, "2nd."),
    ]
    ods = extract_file(_file(tmp_path, "a.ods", ods_bytes({"Costs": [["Item", "Laptops"]]})))
    assert ods.format == "ods"
    assert _sections(ods) == [(("Costs",), None, "Item · Laptops")]


def test_an_e_mail_has_its_subject_sender_date_body_and_attachments(tmp_path):
    attachment = docx_bytes("Minutes", [("Decisions", "Handelsbanken joined.")])
    data = eml_bytes(
        "Minutes of the April forum",
        "Hello all,\n\nthe minutes are attached.\n",
        attachments=(
            ("minutes.docx", "application/octet-stream", attachment),
            ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ),
    )
    extraction = extract_file(_file(tmp_path, "mail.eml", data))
    assert extraction.format == "eml" and extraction.title == "Minutes of the April forum"
    assert extraction.metadata == {"author": "Anna Berg", "date": "2024-04-24"}
    assert _sections(extraction) == [
        ((), None, "Hello all,\n\nthe minutes are attached."),
        (
            ("Attachments",),
            None,
            "minutes.docx (application/octet-stream)\n\nphoto.png (image/png)",
        ),
    ]
    # The attachment kb reads is extracted for a document of its own; the image is listed.
    [(name, attached)] = extraction.attachments
    assert name == "minutes.docx" and attached.format == "docx"
    assert _sections(attached) == [(("Decisions",), None, "Handelsbanken joined.")]


def test_an_html_only_e_mail_is_read_through_the_html_extractor(tmp_path):
    html = "<html><body><h2>Agenda</h2><p>Welcome, <b>members</b>.</p><script>x()</script></body></html>"
    data = eml_bytes("Agenda", "", html=html)
    extraction = extract_file(_file(tmp_path, "mail.eml", data))
    assert _sections(extraction) == [(("Agenda",), None, "Welcome, members.")]


# ---- metadata precedence and indexing -----------------------------------------------------------


def test_a_sidecar_wins_over_document_properties_which_win_over_inference(tmp_path):
    corpus = tmp_path / "corpus"
    make_public(corpus)
    (corpus / "guides").mkdir(parents=True)
    properties = {"title": "Embedded title", "language": "sv", "author": "Anna Berg",
                  "comments": ""}  # fmt: skip
    (corpus / "guides/with-sidecar.docx").write_bytes(
        docx_bytes("Heading", [("S", "Body text about repair.")], **properties)
    )
    write(corpus / "guides/with-sidecar.docx.meta.toml", 'title = "Sidecar title"\n')
    (corpus / "guides/embedded.docx").write_bytes(
        docx_bytes("Heading", [("S", "Body text about repair.")], **properties)
    )
    # Without document properties (python-docx's template dates itself 2013).
    bare = docx_bytes("First heading", [("S", "Body text about repair and lifespan.")])
    (corpus / "guides/2023-05-02-inferred.docx").write_bytes(_without(bare, "docProps/core.xml"))
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0
    catalogue = Library(settings).snapshot().catalogue
    sidecar, embedded = catalogue["guides/with-sidecar"], catalogue["guides/embedded"]
    inferred = catalogue["guides/2023-05-02-inferred"]
    assert (sidecar.title, sidecar.meta.language, sidecar.meta.author) == (
        "Sidecar title", "sv", "Anna Berg",
    )  # fmt: skip
    assert (embedded.title, embedded.meta.language) == ("Embedded title", "sv")
    assert (inferred.title, inferred.meta.language) == ("First heading", "en")
    assert inferred.meta.date == "2023-05-02" and inferred.meta.type == "guide"
    assert {sidecar.format, embedded.format} == {"docx"}


# ---- slides in citations and on the document page -----------------------------------------------


def test_the_bundled_deck_has_slide_anchors_and_is_cited_by_slide(bundled_index):
    view = view_of(Library(bundled_index).snapshot(), Principal.shell())
    info = view.catalogue[DECK]
    assert info.format == "pptx" and info.page_count == 5
    assert info.title == "Supplier roadmaps for circular IT" and info.meta.date == "2024-10-24"
    passages = load_document(view, DECK).passages
    assert [p.anchor for p in passages] == [f"slide-{n}" for n in range(1, 6)]
    assert passages[1].heading_path == ("Why a roadmap, not only tender criteria",)
    assert "Speaker notes:" in passages[1].text
    citation = cite(view, DECK, "slide-2", BASE)
    assert (citation.page, citation.page_unit, citation.locator) == (2, "slide", "slide 2")
    texts = {format_id: render(citation, format_id) for format_id in CITE_FORMAT_IDS}
    assert all("Slide 2" in t or "slide 2" in t for t in texts.values()), texts
    assert not any("p. 2" in t or "pages" in t for t in texts.values())


def test_the_bundled_word_template_has_heading_sections(bundled_index):
    view = view_of(Library(bundled_index).snapshot(), Principal.shell())
    info = view.catalogue[TEMPLATE]
    assert info.format == "docx" and info.meta.type == "guide" and info.meta.sample
    paths = [p.heading_path for p in load_document(view, TEMPLATE).passages]
    assert ("Minimum requirements", "Product lifespan and repair") in paths
    citation = cite(view, TEMPLATE, None, BASE)
    assert citation.locator is None


def test_the_document_page_says_slide_not_page(client):
    html = page(client, f"/doc/{DECK}")
    assert "Slide 2: Why a roadmap, not only tender criteria" in html.text
    assert "5 slides" in html.text and "Page 2" not in html.text
    cite_page = page(client, f"/cite/{DECK}?anchor=slide-2")
    assert "Slide 2" in cite_page.text


def test_search_hits_on_a_slide_say_slide(client):
    html = page(client, "/search?q=%22installed+base%22")
    assert "Slide 3" in html.text and "Page 3" not in html.text


def test_the_bundled_office_samples_are_built_from_their_sources(tmp_path):
    """The committed deck and template say what their sources say (a rebuild with another
    library version may differ in bytes, never in text or metadata)."""
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts/build_corpus_office.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    sources = sorted(builder.SOURCES.glob("*.txt"))
    assert len(sources) == 2
    for source in sources:
        for committed, data in builder.build(source).items():
            assert committed.is_file(), committed
            if committed.suffix == ".toml":
                assert committed.read_bytes() == data
                continue
            fresh = extract_file(_file(tmp_path, committed.name, data))
            kept = extract_file(committed)
            assert (fresh.title, fresh.metadata, fresh.blocks) == (
                kept.title, kept.metadata, kept.blocks,
            )  # fmt: skip


@pytest.mark.parametrize("name", ["a.docx", "a.pptx", "a.xlsx", "a.odt"])
def test_office_extraction_runs_under_the_per_file_time_limit(tmp_path, name):
    from indexer.extract import Failed

    suffix = Path(name).suffix
    build = {
        ".docx": lambda: docx_bytes("T", [(f"S{n}", "Body text. " * 50) for n in range(300)]),
        ".pptx": lambda: pptx_bytes([(f"S{n}", "Body text. " * 50, "") for n in range(60)]),
        ".xlsx": lambda: xlsx_bytes({"S": [[f"Body text {n}"] * 20 for n in range(3000)]}),
        ".odt": lambda: odt_bytes("T", [(f"S{n}", "Body text. " * 50) for n in range(600)]),
    }[suffix]
    path = _file(tmp_path, name, build())
    assert extract_file(path).blocks  # within the default limit
    with pytest.raises(Failed, match=r"^time limit of 0.001 s exceeded$"):
        extract_file(path, time_limit=0.001)
