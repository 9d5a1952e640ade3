"""Scanned PDFs: pages without a text layer are read by OCR (Tesseract), with the page numbers
of a text PDF, within a time limit per page, and never twice for the same file.

The scans are made here (text drawn with Pillow, saved as an image-only PDF); the real scans
of ../shared/realcorpus/office/scanned-pdf are in tests/test_ocr_realcorpus.py.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from cli import main
from indexer.build import run_index
from indexer.extract import Failed, Skipped, extract_pdf
from indexer.extract.ocr import (
    CACHE_DIR,
    NO_TESSERACT,
    OCR_OFF,
    OcrSettings,
    load_ocr_settings,
)
from kb.access import Principal
from kb.errors import ConfigError
from kb.library import Library
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from tests.conftest import write
from tests.prerequisites import needs
from tests.test_extract import text_pdf

SCANNED_LINES = ["Circular procurement of", "refurbished laptops", "in Tromsø municipality"]


def scanned_pdf(lines: list[str]) -> bytes:
    """One A4 page at 150 dpi showing `lines` as pixels only: no text layer at all."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=52)
    for i, line in enumerate(lines):
        draw.text((120, 160 + i * 90), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PDF", resolution=150)
    return buffer.getvalue()


def mixed_pdf() -> bytes:
    """Page 1 has a text layer, page 2 is a scan, page 3 is blank."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(text_pdf([["A typed first page about tenders."]]))))
    writer.append(PdfReader(io.BytesIO(scanned_pdf(SCANNED_LINES))))
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def save(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def counting_tesseract(folder: Path) -> Path:
    """A `tesseract` ahead of the real one on PATH that logs each page it is asked to read."""
    real = next(
        p
        for p in (Path(d) / "tesseract" for d in os.environ["PATH"].split(os.pathsep))
        if p.is_file()
    )
    log = folder / "runs.log"
    script = folder / "bin" / "tesseract"
    script.parent.mkdir(parents=True)
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in -*) ;; *) echo "$1" >> ' + str(log) + " ;; esac\n"
        f'exec {real} "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


# --- extraction -----------------------------------------------------------------------------


@needs("tesseract")
def test_an_image_only_pdf_is_read_by_ocr(tmp_path: Path) -> None:
    extraction = extract_pdf(save(tmp_path, "scan.pdf", scanned_pdf(SCANNED_LINES)))
    assert [b.page for b in extraction.blocks] == [1]
    text = extraction.blocks[0].text
    assert "refurbished laptops" in text and "procurement" in text
    assert extraction.warnings == ["pages read by OCR: 1"]


@needs("tesseract")
def test_scanned_pages_keep_their_page_numbers_beside_text_pages(tmp_path: Path) -> None:
    extraction = extract_pdf(save(tmp_path, "mixed.pdf", mixed_pdf()))
    assert [b.page for b in extraction.blocks] == [1, 2]
    assert "typed first page" in extraction.blocks[0].text
    assert "refurbished laptops" in extraction.blocks[1].text
    assert extraction.page_count == 3
    # The blank page shows no image: it is not sent to OCR, only reported.
    assert extraction.warnings == ["pages read by OCR: 2", "pages without text: 3"]


def test_without_tesseract_a_scan_is_skipped_saying_what_to_install(tmp_path: Path) -> None:
    missing = OcrSettings(command=str(tmp_path / "no-tesseract-here"))
    with pytest.raises(Skipped) as caught:
        extract_pdf(save(tmp_path, "scan.pdf", scanned_pdf(SCANNED_LINES)), ocr=missing)
    assert caught.value.reason == NO_TESSERACT == "no text layer (install tesseract-ocr for OCR)"


def test_without_tesseract_the_text_pages_are_indexed_and_the_scans_named(tmp_path: Path) -> None:
    missing = OcrSettings(command=str(tmp_path / "no-tesseract-here"))
    extraction = extract_pdf(save(tmp_path, "mixed.pdf", mixed_pdf()), ocr=missing)
    assert [b.page for b in extraction.blocks] == [1]
    assert extraction.warnings == [
        f"pages without a text layer, not read: 2 ({NO_TESSERACT})",
        "pages without text: 3",
    ]


@needs("tesseract")
def test_a_page_over_the_time_limit_is_reported(tmp_path: Path) -> None:
    hurried = OcrSettings(page_time_limit=0.001)
    with pytest.raises(Failed, match=r"^OCR time limit of 0.001 s per page exceeded on pages: 1$"):
        extract_pdf(save(tmp_path, "scan.pdf", scanned_pdf(SCANNED_LINES)), ocr=hurried)
    extraction = extract_pdf(save(tmp_path, "mixed.pdf", mixed_pdf()), ocr=hurried)
    assert [b.page for b in extraction.blocks] == [1]
    assert "OCR time limit of 0.001 s per page exceeded on pages: 2" in extraction.warnings


def test_ocr_turned_off_skips_scans_without_running_tesseract(tmp_path: Path) -> None:
    write(tmp_path / "kb.toml", "[ocr]\nenabled = false\n")
    off = load_ocr_settings(tmp_path, None)
    assert off.enabled is False
    # A command that would fail loudly if it were ever run.
    off = OcrSettings(enabled=False, command=str(tmp_path / "must-not-run"))
    with pytest.raises(Skipped) as caught:
        extract_pdf(save(tmp_path, "scan.pdf", scanned_pdf(SCANNED_LINES)), ocr=off)
    assert caught.value.reason == OCR_OFF
    assert "enabled = false" in OCR_OFF
    extraction = extract_pdf(save(tmp_path, "mixed.pdf", mixed_pdf()), ocr=off)
    assert [b.page for b in extraction.blocks] == [1]
    assert f"pages without a text layer, not read: 2 ({OCR_OFF})" in extraction.warnings


# --- configuration --------------------------------------------------------------------------


def test_ocr_settings_come_from_kb_toml(tmp_path: Path) -> None:
    write(tmp_path / "kb.toml", '[ocr]\nlanguages = ["swe", "eng"]\npage_time_limit = 90\n')
    settings = load_ocr_settings(tmp_path, tmp_path / "index")
    assert settings == OcrSettings(
        cache=tmp_path / "index" / CACHE_DIR, languages=("swe", "eng"), page_time_limit=90.0
    )


@pytest.mark.parametrize(
    "table",
    ["languages = []", 'languages = "eng"', "page_time_limit = 0", "page_limit = 5",
     'enabled = "no"'],
)  # fmt: skip
def test_a_broken_ocr_setting_is_an_error(tmp_path: Path, table: str) -> None:
    write(tmp_path / "kb.toml", f"[ocr]\n{table}\n")
    with pytest.raises(ConfigError, match=r"\[ocr\]"):
        load_ocr_settings(tmp_path, None)


# --- indexing: search finds the words, the cache spares a second OCR run ------------------


@needs("tesseract")
def test_ocr_text_is_searchable_and_read_once_per_file(
    tmp_path: Path, small_settings: Settings, monkeypatch: pytest.MonkeyPatch, runner
) -> None:
    log = counting_tesseract(tmp_path / "wrapper")
    monkeypatch.setenv("PATH", f"{tmp_path / 'wrapper' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    corpus = small_settings.corpus
    save(corpus, "directives/scanned-circular.pdf", mixed_pdf())

    report = run_index(small_settings, workers=1)
    line = next(f for f in report.files if f.path == "directives/scanned-circular.pdf")
    assert line.status == "indexed", line
    assert "pages read by OCR: 2" in line.warnings
    assert runs(log) == 1  # one scanned page, one Tesseract run

    searcher = Searcher(Library(small_settings), Principal.shell())
    result = searcher.search(SearchRequest(q="refurbished laptops Tromsø"))
    hit = next(h for h in result.hits if h.doc.doc_id == "directives/scanned-circular")
    assert {p.page for p in hit.passages} == {2}
    assert {p.anchor for p in hit.passages} == {"p2"}  # as for a text PDF's page 2

    # A rebuild extracts every file again; the page comes from the cache in the index folder.
    run_index(small_settings, workers=1, rebuild=True)
    # So does a renamed (or moved) file: the cache is keyed by content, not by path.
    (corpus / "directives/scanned-circular.pdf").rename(corpus / "guides/circular-scan.pdf")
    report = run_index(small_settings, workers=1)
    assert any(f.path == "guides/circular-scan.pdf" and f.status == "indexed" for f in report.files)
    # `kb check` extracts everything again, through the same cache.
    result = runner.invoke(main, ["--corpus", str(corpus), "--index", str(small_settings.index),
                                  "check", "--json"])  # fmt: skip
    assert json.loads(result.output)["summary"]["failed"] == 0
    assert runs(log) == 1
    assert list((small_settings.index / CACHE_DIR).rglob("*.txt"))
    assert not (corpus / CACHE_DIR).exists()


@needs("tesseract")
def test_a_changed_file_is_read_again(
    tmp_path: Path, small_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = counting_tesseract(tmp_path / "wrapper")
    monkeypatch.setenv("PATH", f"{tmp_path / 'wrapper' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    path = save(small_settings.corpus, "directives/scan.pdf", scanned_pdf(SCANNED_LINES))
    run_index(small_settings, workers=1)
    path.write_bytes(scanned_pdf(["Second edition of the circular"]))
    report = run_index(small_settings, workers=1)
    assert next(f for f in report.files if f.path == "directives/scan.pdf").status == "indexed"
    assert runs(log) == 2
