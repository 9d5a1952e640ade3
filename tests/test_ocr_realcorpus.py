"""The real scans of ../shared/realcorpus/office/scanned-pdf, indexed as their MANIFEST says:
`scanned-needs-ocr` through OCR (page numbers as for text PDFs), `ok` from its text layer,
`empty` skipped for having no text; without Tesseract, every scan skipped saying so.

Includes a 6-page scan whose page 4 has a text layer, a skewed page, pages rotated
0/90/180/270 degrees, CCITT and JBIG2 images, a 2400 dpi page and French diacritics.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from indexer.build import run_index
from indexer.extract import Skipped, extract_pdf
from indexer.extract.ocr import NO_TESSERACT, OcrSettings
from kb.access import Principal
from kb.documents import load_document
from kb.library import Library
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import REALCORPUS
from tests.prerequisites import needs

pytestmark = [pytest.mark.realcorpus, pytest.mark.slow, needs("realcorpus")]

OFFICE = REALCORPUS / "office"
FOLDER = "scanned-pdf/"


def manifest() -> dict[str, str]:
    """local path under scanned-pdf/ -> expected class, from the collection's MANIFEST."""
    with open(OFFICE / "MANIFEST.tsv", encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {
            r["local_path"][len(FOLDER) :]: r["expected"]
            for r in rows
            if r["local_path"].startswith(FOLDER)
        }


# What each scan says, somewhere in its OCR text (Tesseract may misread a letter elsewhere).
WORDS = {
    "ocrmypdf-linn.pdf": "LinnSequencer",
    "ocrmypdf-skew.pdf": "LinnSequencer",
    "ocrmypdf-ccitt.pdf": "LinnSequencer",
    "ocrmypdf-jbig2.pdf": "LinnSequencer",
    "ocrmypdf-2400dpi.pdf": "linzen",
    "ocrmypdf-francais.pdf": "whisky",
    "ocrmypdf-3small.pdf": "cromulent",
    "ocrmypdf-multipage.pdf": "branches",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory):
    """The scans copied into a corpus of their own, indexed once by two workers."""
    root = tmp_path_factory.mktemp("scans")
    corpus = root / "corpus"
    shutil.copytree(OFFICE / FOLDER, corpus / "scans")
    settings = Settings.resolve(corpus, root / "index")
    report = run_index(settings, workers=2)
    return settings, {f.path.removeprefix("scans/"): f for f in report.files}


def test_the_manifest_lists_the_scans() -> None:
    expected = manifest()
    assert sorted(expected.values()).count("scanned-needs-ocr") == 9
    assert set(expected) == {p.name for p in (OFFICE / FOLDER).glob("*.pdf")}


@needs("tesseract")
def test_every_file_ends_as_its_class_says(indexed) -> None:
    _, files = indexed
    for name, expected in manifest().items():
        line = files[name]
        if expected == "scanned-needs-ocr":
            assert line.status == "indexed" and line.passages > 0, line
            assert any(w.startswith("pages read by OCR: ") for w in line.warnings), line
        elif expected == "ok":
            assert line.status == "indexed", line
            assert not any("OCR" in w for w in line.warnings), line  # it has a text layer
        else:
            assert expected == "empty"
            assert (line.status, line.reason) == ("skipped", "no extractable text (scanned?)")
        # Within the time limit: no page ran out of time.
        assert not any("time limit" in w for w in line.warnings), line


@needs("tesseract")
def test_ocr_text_is_found_by_search(indexed) -> None:
    settings, _ = indexed
    searcher = Searcher(Library(settings), Principal.shell())
    for name, word in WORDS.items():
        result = searcher.search(SearchRequest(q=word, page_size=50))
        found = {h.doc.doc_id for h in result.hits}
        assert f"scans/{Path(name).stem}" in found, (name, word)


@needs("tesseract")
def test_pages_keep_their_numbers(indexed) -> None:
    settings, files = indexed
    view = view_of(Library(settings).snapshot(), Principal.shell())
    # Page 4 of the 6-page scan has a text layer: it is read from it, the others by OCR.
    assert "pages read by OCR: 1, 2, 3, 5, 6" in files["ocrmypdf-multipage.pdf"].warnings
    # Pages rotated 90, 180 and 270 degrees are turned upright by Tesseract's orientation
    # detection: each of the four reads the same brochure.
    doc = load_document(view, "scans/ocrmypdf-cardinal")
    pages = {p.page for p in doc.passages if "LinnSequencer" in p.text}
    assert pages == {1, 2, 3, 4}
    assert all(p.anchor.startswith(f"p{p.page}") for p in doc.passages)


def test_without_tesseract_every_scan_is_skipped_saying_what_to_install(tmp_path: Path) -> None:
    missing = OcrSettings(command=str(tmp_path / "no-tesseract-here"))
    for name, expected in manifest().items():
        if expected != "scanned-needs-ocr" or name == "ocrmypdf-multipage.pdf":
            continue
        with pytest.raises(Skipped) as caught:
            extract_pdf(OFFICE / FOLDER / name, ocr=missing)
        assert caught.value.reason == NO_TESSERACT, name
    # The 6-page scan has one page with text: that page is indexed, the others named.
    extraction = extract_pdf(OFFICE / FOLDER / "ocrmypdf-multipage.pdf", ocr=missing)
    assert [b.page for b in extraction.blocks] == [4]
    assert f"pages without a text layer, not read: 1, 2, 3, 5, 6 ({NO_TESSERACT})" in (
        extraction.warnings
    )
