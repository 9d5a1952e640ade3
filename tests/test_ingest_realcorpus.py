"""Indexing the whole real corpus: every file accounted for, broken PDFs handled as its
README says, languages detected, no page furniture in passages."""

from __future__ import annotations

import csv
import re

import pytest

from indexer.build import run_index
from indexer.discover import discover
from kb.access import Principal
from kb.documents import load_document
from kb.library import Library
from kb.search import SearchRequest, open_searcher
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import REALCORPUS
from tests.prerequisites import needs

pytestmark = [
    pytest.mark.realcorpus,
    pytest.mark.slow,
    needs("realcorpus"),
]

BAD = "pdf-bad/pypdf-resources/resources"
SAMPLES = "pdf-bad/pypdf-sample-files"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    settings = Settings.resolve(REALCORPUS, tmp_path_factory.mktemp("realindex") / "index")
    report = run_index(settings, workers=2)
    return settings, report


def test_every_file_is_accounted_for(indexed):
    _, report = indexed
    files, problems = discover(REALCORPUS)
    reported = [f.path for f in report.files]
    assert len(reported) == len(set(reported))
    assert set(reported) == {f.rel for f in files} | {p.rel for p in problems}
    for f in report.files:
        assert f.status in ("indexed", "skipped", "failed", "ignored")
        if f.status == "indexed":
            assert f.passages > 0 and f.doc_id
        else:
            assert f.reason, f
    assert report.summary["failed"] == 0, [f for f in report.files if f.status == "failed"]
    assert report.summary["indexed"] > 600


def status_of(report, path):
    return next(f for f in report.files if f.path == path)


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        (f"{BAD}/encryption/r2-empty-password.pdf", "indexed", None),
        (f"{BAD}/encryption/r6-user-password.pdf", "indexed", None),
        (
            f"{SAMPLES}/005-libreoffice-writer-password/libreoffice-writer-password.pdf",
            "skipped",
            "encrypted",
        ),
        (f"{BAD}/crazyones-encrypted-256.pdf", "skipped", "encrypted"),
        (f"{BAD}/encryption/r4-aes-user-password.pdf", "skipped", "encrypted"),
        (
            f"{SAMPLES}/017-unreadable-meta-data/unreadablemetadata.pdf",
            "skipped",
            "unreadable PDF: PdfReadError",
        ),
        (
            f"{SAMPLES}/007-imagemagick-images/imagemagick-images.pdf",
            "skipped",
            "no extractable text (scanned?)",
        ),
        (
            f"{SAMPLES}/019-grayscale-image/grayscale-image.pdf",
            "skipped",
            "no extractable text (scanned?)",
        ),
        (f"{SAMPLES}/023-cmyk-image/cmyk-image.pdf", "skipped", "no extractable text (scanned?)"),
        (f"{BAD}/box.pdf", "skipped", "no extractable text (scanned?)"),
        (f"{SAMPLES}/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf", "indexed", None),
        (f"{BAD}/issue-301.pdf", "indexed", None),
    ],
)
def test_bad_pdfs_end_as_the_readme_says(indexed, path, status, reason):
    _, report = indexed
    f = status_of(report, path)
    assert f.status == status, f
    if reason:
        assert f.reason.startswith(reason), f


def test_other_bad_pdfs_are_indexed_with_pages(indexed):
    settings, report = indexed
    snap = Library(settings).snapshot()
    indexed_pdfs = [
        f for f in report.files if f.path.startswith("pdf-bad/") and f.status == "indexed"
    ]
    assert len(indexed_pdfs) > 10
    for f in indexed_pdfs[:15]:
        view = load_document(view_of(snap, Principal.shell()), f.doc_id)
        assert all(p.page for p in view.passages)


def test_languages_match_the_manifest(indexed):
    _, report = indexed
    expected = {
        row["local_path"]: row["language"]
        for row in csv.DictReader(
            (REALCORPUS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"
        )
    }
    by_path = {f.path: f for f in report.files if f.status == "indexed"}
    for lang in ("sv", "fr"):
        paths = [p for p, lang_ in expected.items() if lang_ == lang and p in by_path]
        assert paths
        right = sum(by_path[p].language == lang for p in paths)
        assert right / len(paths) >= 0.97, (lang, right, len(paths))


def test_no_page_furniture_in_passages(indexed):
    settings, report = indexed
    snap = Library(settings).snapshot()
    samples = [
        f
        for f in report.files
        if f.status == "indexed" and (f.path.startswith("html/") or f.path.endswith(".mdx"))
    ]
    assert samples
    for f in samples[:80]:
        text = "\n".join(
            p.text for p in load_document(view_of(snap, Principal.shell()), f.doc_id).passages
        )
        assert not re.search(r"(?m)^import .* from ['\"]", text), f.path
        assert "{%" not in text and "<script" not in text.lower(), f.path
        assert "accept cookies" not in text.lower(), f.path


def test_search_works_on_the_real_corpus(indexed):
    settings, _ = indexed
    searcher = open_searcher(settings, Principal.shell())
    result = searcher.search(SearchRequest(q="offentlig upphandling cirkulär ekonomi"))
    assert result.total > 0
    assert result.hits[0].doc.meta.language == "sv"
    french = searcher.search(SearchRequest(q="numérique responsable", filters={"lang": ("fr",)}))
    assert french.total > 0
