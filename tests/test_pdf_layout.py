"""PDF page layout that is not text: running headers and footers are dropped, lone list
markers join their items, on generated PDFs and real ones, by pdftotext and by pypdf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.extract.pdf import extract_pdf
from indexer.extract.pdf_layout import (
    is_lone_marker,
    join_lone_bullets,
    running_lines,
    tidy_pages,
)
from tests.prerequisites import REALCORPUS, needs
from tests.test_extract import pdf_file, pdf_reader, text_pdf  # noqa: F401 (a fixture)

# ---- lone markers ---------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["•", "▪", "-", "–", "*", "o", "▢", "●", "\uf0b7"])
def test_a_lone_marker_joins_the_line_that_follows(marker: str) -> None:
    text = f"Ask suppliers for:\n{marker}\nspare parts for seven years;\n{marker}\n\nrepairs."
    joined = join_lone_bullets(text)
    shown = {"o": "◦", "\uf0b7": "•"}.get(marker, marker)
    assert f"\n\n{shown} spare parts for seven years;\n" in joined
    assert joined.endswith(f"\n\n{shown} repairs.")
    assert not any(is_lone_marker(line) for line in joined.split("\n"))


def test_a_run_of_markers_pairs_with_the_items_that_follow() -> None:
    # pdftotext reads a list's bullet column before its items.
    text = "Refer to:\n•\n•\n\n•\n\nThe 17 goals;\nThe nine planetary\nboundaries;\nISO 26000."
    assert join_lone_bullets(text).split("\n\n")[1:] == [
        "• The 17 goals;",
        "• The nine planetary boundaries;",
        "• ISO 26000.",
    ]


def test_markers_without_an_item_stay() -> None:
    assert join_lone_bullets("Price\n-\n12\n") == "Price\n-\n12\n"  # a table's "none"
    assert join_lone_bullets("Last line\n•") == "Last line\n•"
    assert join_lone_bullets("o\no") == "o\no"
    # Text that merely starts with a marker character is no lone marker.
    assert join_lone_bullets("o\nopen") == "\n◦ open"
    assert join_lone_bullets("oh\nno") == "oh\nno"


# ---- running headers and footers ------------------------------------------------------------


def _page(n: int, of: int, body: str) -> str:
    return f"Green IT buying guide\n\n{body}\n\nsample content | Page {n} of {of}\n{n}\n"


def _keys(pages: list[str | None]) -> set[str]:
    return {key for _, key, _ in running_lines(pages)}


def test_running_lines_recur_at_the_edges_of_most_pages() -> None:
    bodies = ["Repair first.", "Then refurbish.", "Buy used.", "Recycle last.", "Report."]
    pages = [_page(n, 5, body) for n, body in enumerate(bodies, start=1)]
    assert _keys(pages) == {"green it buying guide", "sample content | page # of #", "#"}
    tidied = tidy_pages(pages)
    assert [text.split() if text else None for text in tidied] == [b.split() for b in bodies]


def test_numbers_that_neither_repeat_nor_follow_the_page_are_content() -> None:
    # "Section 7", "Section 2"... at the top of each page: sections, not a running header.
    pages = [f"Section {s}: criteria\nText {s}.\nMore on {s}." for s in (7, 2, 9, 12, 3)]
    assert running_lines(pages) == frozenset()
    # Numbers that repeat (a year) or follow the page (from any first number) run.
    pages = [f"Activity report 2024 | {n + 10}\nText.\nOn {'abcde'[n]}." for n in range(5)]
    assert _keys(pages) == {"activity report # | #"}
    assert tidy_pages(pages) == [f"Text.\nOn {c}." for c in "abcde"]


def test_a_line_on_one_page_stays() -> None:
    pages = [_page(n, 4, "Body text.") for n in range(1, 5)]
    pages[2] = "Appendix: prices in 2024\n" + pages[2] + "Repair before you replace\n"
    pages.append(None)  # a page that could not be read
    tidied = tidy_pages(pages)
    assert tidied[2] is not None and tidied[2].startswith("Appendix: prices in 2024\n")
    assert "Repair before you replace" in tidied[2] and tidied[-1] is None


def test_lone_words_and_numbers_at_the_edges_are_content() -> None:
    # A table's value ("High") or a criterion number ("4.1") at the top of every page.
    pages = [f"4.1\nRepair criterion {c}.\nHigh\n" for c in "ABCDE"]
    assert running_lines(pages) == frozenset()
    assert tidy_pages(pages) == pages


def test_short_documents() -> None:
    # Two pages: a page number recurring is dropped, a title recurring is not (it may be
    # the first page's heading and nothing else).
    pages = ["Repair guide\nText one.\nPage 1 of 2", "Repair guide\nText two.\nPage 2 of 2"]
    assert _keys(pages) == {"page # of #"}
    assert running_lines(pages[:1]) == frozenset()


# ---- generated PDFs, read by pdftotext and by pypdf -----------------------------------------


def test_generated_pdf_reads_like_text(tmp_path: Path, pdf_reader: str) -> None:  # noqa: F811
    pages = []
    for n in range(1, 6):
        body = [
            "Green IT buying guide",
            f"Section {'ABCDE'[n - 1]}: what to ask suppliers",
            f"Ask every supplier of {'ABCDE'[n - 1]} for these commitments:",
            "•",
            f"spare parts for {n + 4} years;",
            "–",
            f"repair manuals for {'ABCDE'[n - 1]} technicians.",
        ]
        if n == 3:
            body.append("A note that appears on this page only.")
        pages.append([*body, "", "sample content | Page " + f"{n} of 5"])
    extraction = extract_pdf(pdf_file(tmp_path, text_pdf(pages)))
    assert [b.page for b in extraction.blocks] == [1, 2, 3, 4, 5]
    for n, block in enumerate(extraction.blocks, start=1):
        assert "Green IT buying guide" not in block.text, block.text
        assert not re.search(r"Page \d of 5", block.text), block.text
        paragraphs = block.text.split("\n\n")
        assert f"• spare parts for {n + 4} years;" in paragraphs, paragraphs
        assert f"– repair manuals for {'ABCDE'[n - 1]} technicians." in paragraphs, paragraphs
        assert f"Section {'ABCDE'[n - 1]}: what to ask suppliers" in block.text
    assert "A note that appears on this page only." in extraction.blocks[2].text


# ---- real PDFs ------------------------------------------------------------------------------

RGESN_2024 = (
    "pdf/minumeco/public/docs/2024/rgesn-mai2024/"
    "referentiel_general_ecoconception_des_services_numeriques_version_2024.pdf"
)
CHECKLIST = "pdf/w3c-wsg@0b7bdde/checklist.pdf"
DATACENTER = "pdf/minumeco/public/docs/2025/RCP_datacenter_services_cloud_FR.pdf"


def _real(name: str) -> Path:
    path = REALCORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} is not in the real corpus at {REALCORPUS}")
    return path


def _lone_paragraphs(blocks) -> list[str]:
    return [p for b in blocks for p in b.text.split("\n\n") if is_lone_marker(p)]


@needs("realcorpus")
@pytest.mark.realcorpus
@pytest.mark.slow
def test_real_report_loses_its_page_footer_and_keeps_its_bullets(pdf_reader: str) -> None:  # noqa: F811
    # "Page N sur 131" ends (pdftotext) or starts (pypdf) each of its 131 pages.
    extraction = extract_pdf(_real(RGESN_2024), time_limit=120)
    assert len(extraction.blocks) > 100
    assert not [b.page for b in extraction.blocks if re.search(r"Page \d+ sur 131", b.text)]
    assert _lone_paragraphs(extraction.blocks) == []
    page_20 = next(b for b in extraction.blocks if b.page == 20).text
    assert "• Les 17 objectifs de développement durable (ODD) de l’ONU ;" in page_20


@needs("realcorpus")
@pytest.mark.realcorpus
@pytest.mark.slow
def test_real_checklist_joins_its_check_boxes(pdf_reader: str) -> None:  # noqa: F811
    extraction = extract_pdf(_real(CHECKLIST), time_limit=120)
    assert _lone_paragraphs(extraction.blocks) == []
    text = "\n\n".join(b.text for b in extraction.blocks)
    if pdf_reader == "pdftotext":  # pypdf does not read the check box glyph at all
        assert text.count("▢ ") > 200
    # "Page N of 26" goes from every page where it is among the first or last lines; on
    # page 3 pdftotext surrounds it with stray ligature glyphs ("ff", "fi"), and it stays.
    # (pypdf reads it as "Page of 2626", which no rule can tell from content.)
    kept = [b.page for b in extraction.blocks if re.search(r"Page \d+ of 26", b.text)]
    assert len(kept) <= 1, kept


@needs("realcorpus")
@pytest.mark.realcorpus
@pytest.mark.slow
def test_real_running_header_with_page_numbers(pdf_reader: str) -> None:  # noqa: F811
    extraction = extract_pdf(_real(DATACENTER), time_limit=120)
    header = re.compile(r"RCP de services hébergement informatique en centres de données et "
                        r"services cloud \| \d+ \|")  # fmt: skip
    assert not [b.page for b in extraction.blocks if header.search(b.text)]
