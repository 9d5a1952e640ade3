"""Indexing the real Office, OpenDocument and e-mail files of ../shared/realcorpus/office:
every `ok` file yields passages with real text, every other class is skipped with the reason
its class calls for (the office README), nothing crashes or fails, nothing runs long."""

from __future__ import annotations

import contextlib
import csv
import re
import time

import pytest

from indexer.build import run_index
from indexer.extract import ExtractionProblem, extract_file
from kb.access import Principal
from kb.documents import load_document
from kb.library import Library
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import REALCORPUS
from tests.prerequisites import needs

pytestmark = [pytest.mark.realcorpus, pytest.mark.slow, needs("realcorpus")]

OFFICE = REALCORPUS / "office"
TIME_LIMIT = 30.0  # seconds of CPU per file: the indexer's per-file limit
# What a skipped file of each class must say (README: "What `expected` means").
REASONS = {
    "empty": re.compile(r"no (?:extractable )?text|no text"),
    "password": re.compile(r"^(?:password-protected|encrypted)"),
    "corrupt": re.compile(r"^(?:corrupt \w|unreadable PDF)"),
    "wrong-format": re.compile(r"^not an? [\w ]+ file: not a zip \(detected: .+\)$"),
}
# Scanned PDFs are read by OCR when Tesseract is installed: the OCR tests assert what
# they yield; here they are only held to "nothing crashes".
SCANNED = "scanned-needs-ocr"


def _manifest() -> list[dict[str, str]]:
    if not (OFFICE / "MANIFEST.tsv").is_file():
        return []
    with open(OFFICE / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _manifest()


def _rows(*classes: str) -> list[pytest.param]:
    return [
        pytest.param(row["local_path"], row["expected"], id=row["local_path"])
        for row in ROWS
        if row["expected"] in classes
    ]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    settings = Settings.resolve(OFFICE, tmp_path_factory.mktemp("officeindex") / "index")
    report = run_index(settings, workers=2)
    return settings, {f.path: f for f in report.files}


def test_the_manifest_lists_every_class():
    assert {row["expected"] for row in ROWS} >= {*REASONS, "ok", SCANNED}
    assert all((OFFICE / row["local_path"]).is_file() for row in ROWS)


def test_nothing_fails_and_every_file_is_reported(indexed):
    _, files = indexed
    for row in ROWS:
        report = files[row["local_path"]]
        if row["expected"] != SCANNED:
            assert report.status != "failed", report
        assert report.status == "indexed" or report.reason, report


@pytest.mark.parametrize(("path", "expected"), _rows("ok"))
def test_a_good_file_yields_passages_with_real_text(indexed, path, expected):
    settings, files = indexed
    report = files[path]
    assert report.status == "indexed", report
    assert report.passages > 0
    view = view_of(Library(settings).snapshot(), Principal.shell())
    text = " ".join(p.text for p in load_document(view, report.doc_id).passages)
    assert re.search(r"[^\W\d_]{3,}", text), text[:200]


@pytest.mark.parametrize(("path", "expected"), _rows(*REASONS))
def test_a_bad_file_is_skipped_with_its_class_reason(indexed, path, expected):
    _, files = indexed
    report = files[path]
    assert report.status == "skipped", report
    assert REASONS[expected].search(report.reason), report.reason


@pytest.mark.parametrize(("path", "expected"), _rows(SCANNED))
def test_a_scanned_pdf_does_not_crash(indexed, path, expected):
    _, files = indexed
    report = files[path]
    assert report.status in ("indexed", "skipped", "failed") and (
        report.status == "indexed" or report.reason
    )


@pytest.mark.parametrize(
    ("path", "expected"), _rows("ok", "empty", "password", "corrupt", "wrong-format")
)
def test_every_file_is_read_within_the_time_limit(path, expected):
    started = time.process_time()
    with contextlib.suppress(ExtractionProblem):
        extract_file(OFFICE / path, time_limit=TIME_LIMIT)
    assert time.process_time() - started < TIME_LIMIT


def test_decks_are_cited_by_slide(indexed):
    settings, files = indexed
    report = files["pptx/poi-SampleShow.pptx"]
    view = view_of(Library(settings).snapshot(), Principal.shell())
    passages = load_document(view, report.doc_id).passages
    assert [p.anchor for p in passages] == ["slide-1", "slide-2"]
    assert [p.page for p in passages] == [1, 2]
    notes = passages[0].text
    assert "Speaker notes:" in notes


def test_the_e_mail_with_a_pdf_has_its_attachment_as_a_document(indexed):
    settings, files = indexed
    report = files["eml/tika-test-incremental-updates.eml"]
    assert report.title == "test incremental updates"
    view = view_of(Library(settings).snapshot(), Principal.shell())
    message = view.catalogue[report.doc_id]
    attachment_id = f"{report.doc_id}/.attachments/testpdf-incrementalupdates-pdf"
    assert message.meta.attachments == (attachment_id,)
    attachment = view.catalogue[attachment_id]
    assert attachment.format == "pdf" and attachment.meta.part_of == report.doc_id
    assert [p.page for p in load_document(view, attachment_id).passages] == [1]
    listed = [p.text for p in load_document(view, report.doc_id).passages]
    assert "testPDF_incrementalUpdates.pdf (application/pdf)" in listed[-1]
