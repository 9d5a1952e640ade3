"""The extractors on ~700 real documents nobody on this project wrote (../shared/realcorpus).

Files are extracted once, in a pool of two worker processes (which also exercises the PDF
time limit where the indexer runs it: the main thread of a worker process); the tests below
then read the outcomes. Every HTML, Markdown and pdf-bad file is swept; of the reports under
pdf/ only a sample (the small ones and those the tests name), because the big ones cost
~17 s of CPU and teach nothing new. KB_REALCORPUS_FULL=1 sweeps every file (~50 s of CPU).
About 15 s on two idle cores.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pytest

from indexer.extract import extract_file
from indexer.extract.base import Extraction, ExtractionProblem
from indexer.extract.ocr import NO_TESSERACT
from kb.formats import FORMATS
from tests.prerequisites import PREREQUISITES, REALCORPUS, needs, require

pytestmark = [
    pytest.mark.realcorpus,
    pytest.mark.slow,
    needs("realcorpus"),
]

# Of CPU time, per file: a file over it ends as a "failed" problem. How long the sweep and
# its slowest files take: benchmarks/bounds.py.
TIME_LIMIT = 30.0
BAD = "pdf-bad/pypdf-resources/resources"
SAMPLES = "pdf-bad/pypdf-sample-files"
MINUMECO = "pdf/minumeco/public/docs"
RGESN_2024 = (
    f"{MINUMECO}/2024/rgesn-mai2024/"
    "referentiel_general_ecoconception_des_services_numeriques_version_2024.pdf"
)
# Reports under pdf/ the tests look at, swept whatever their size.
NAMED_REPORTS = {
    f"{MINUMECO}/2021/Bilan_ecoconception_SNE_recherche_2021_10.pdf",
    f"{MINUMECO}/2021/Webinaire-Impact-bonnes-pratiques-organisations-08-12-2021.pdf",
    f"{MINUMECO}/2022/MiNumEco-lancement-RGESN-2022-11-29-v0.4.pdf",
    f"{MINUMECO}/2025/RCP_datacenter_services_cloud_FR.pdf",
    RGESN_2024,
    "pdf/w3c-wsg@0b7bdde/checklist.pdf",
}
SMALL_REPORT_BYTES = 1024 * 1024


@dataclass
class Outcome:
    """What happened to one file; `error` is set when something other than a problem escaped."""

    path: str
    extraction: Extraction | None = None
    status: str | None = None  # "skipped" | "failed" for an ExtractionProblem
    reason: str | None = None
    error: str | None = None


def _extract_one(relative: str) -> Outcome:
    try:
        extraction = extract_file(REALCORPUS / relative, time_limit=TIME_LIMIT)
    except ExtractionProblem as problem:
        return Outcome(relative, None, problem.status, problem.reason)
    except BaseException as error:  # recorded, and the test below fails on it
        return Outcome(relative, error=f"{type(error).__name__}: {error}")
    return Outcome(relative, extraction)


def _swept(relative: str) -> bool:
    if not relative.startswith("pdf/") or os.environ.get("KB_REALCORPUS_FULL") == "1":
        return True
    return relative in NAMED_REPORTS or (REALCORPUS / relative).stat().st_size <= SMALL_REPORT_BYTES


def _corpus_files() -> list[str]:
    files = [
        p.relative_to(REALCORPUS).as_posix()
        for p in REALCORPUS.rglob("*")
        if p.is_file() and p.parent != REALCORPUS  # README.md and MANIFEST.tsv describe the corpus
    ]
    # Largest first, so that the slow PDFs do not end up alone at the tail of the pool.
    return sorted(filter(_swept, files), key=lambda f: -(REALCORPUS / f).stat().st_size)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    files = _corpus_files()
    # fork: the workers inherit this module, so `_extract_one` needs no import by name.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        swept = list(pool.map(_extract_one, files, chunksize=4))
    return {o.path: o for o in swept}


def extraction(outcomes: dict[str, Outcome], path: str) -> Extraction:
    outcome = outcomes[path]
    assert outcome.extraction is not None, f"{path}: {outcome.status} {outcome.reason}"
    return outcome.extraction


def text_of(e: Extraction) -> str:
    return "\n\n".join(block.text for block in e.blocks)


# --- every file ---------------------------------------------------------------------------------


def test_every_file_ends_as_an_extraction_or_a_reasoned_problem(
    outcomes: dict[str, Outcome],
) -> None:
    files = {
        p.relative_to(REALCORPUS).as_posix()
        for p in REALCORPUS.rglob("*")
        if p.is_file() and p.parent != REALCORPUS
    }
    # office/ is a collection of its own (Office formats, e-mail, scans), with its own README.
    assert len({f for f in files if not f.startswith("office/")}) == 699  # as the README says
    assert {f for f in files if not f.startswith("pdf/")} <= set(outcomes)
    escaped = {o.path: o.error for o in outcomes.values() if o.error}
    assert escaped == {}
    for outcome in outcomes.values():
        if outcome.extraction is None:
            assert outcome.status in ("skipped", "failed")
            assert outcome.reason and outcome.reason.strip(), outcome.path
        else:
            e = outcome.extraction
            assert e.blocks, outcome.path
            assert all(block.text.strip() for block in e.blocks), outcome.path
            assert e.format in {f.id for f in FORMATS}


def test_no_markup_or_template_syntax_survives(outcomes: dict[str, Outcome]) -> None:
    template = re.compile(r"\{%|%\}|\{\{|\}\}")
    module_line = re.compile(r"^(?:import|export)\s.*(?:from\s+['\"]|=)", re.M)
    for outcome in outcomes.values():
        e = outcome.extraction
        if e is None or e.format not in ("markdown", "html"):
            continue
        for block in e.blocks:
            assert not template.search(block.text), (outcome.path, block.text[:200])
            assert "\ue000" not in block.text and "\ue002" not in block.text, outcome.path
            if outcome.path.endswith(".mdx") or "gsf-patterns" in outcome.path:
                assert not module_line.search(block.text), (outcome.path, block.text[:200])
                assert "<Tabs" not in block.text and "<TabItem" not in block.text


def test_no_page_chrome_in_the_toolbox_pages(outcomes: dict[str, Outcome]) -> None:
    chrome = [
        "Skip to content",
        "Skip to results",
        "Aller au contenu",
        "INR website",
        "Site de l'INR",
        "Legal notice",
        "Mentions légales",
        "Cookieless analytics",
        "Mesure d'audience sans cookie",
        "Static site",
        "Site statique",
        "matomo",
    ]
    pages = [o for o in outcomes.values() if o.path.startswith("html/inr-boite-a-outils/")]
    assert len(pages) == 137
    for outcome in pages:
        text = text_of(extraction(outcomes, outcome.path))
        for phrase in chrome:
            assert phrase not in text, (outcome.path, phrase)


# --- HTML ----------------------------------------------------------------------------------------


def test_w3c_redirect_stubs_are_skipped(outcomes: dict[str, Outcome]) -> None:
    stubs = {
        o.path: o
        for o in outcomes.values()
        if o.path.startswith("html/w3c-sustyweb/") and "/ig/" not in o.path
    }
    assert len(stubs) == 6
    for outcome in stubs.values():
        assert outcome.status == "skipped", outcome.path
        assert outcome.reason and re.match(r"^redirect to https://\S+$", outcome.reason)
    assert stubs["html/w3c-sustyweb/index.html"].reason == (
        "redirect to https://www.w3.org/TR/web-sustainability-guidelines/"
    )
    # A script redirect (no meta refresh) is a stub too.
    assert (
        outcomes["html/w3c-wsg/404.html"].reason
        == "redirect to https://w3c.github.io/sustainableweb-ig/"
    )


def test_toolbox_page_title_and_metadata(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "html/inr-boite-a-outils/www/en/tools/experiment-impact-tracker.html")
    assert e.title == "Experiment-impact-tracker"
    assert e.metadata["language"] == "en"
    assert e.metadata["description"].startswith("Method to track energy consumption")
    assert e.metadata["keywords"] == ["AI", "Energy", "Footprint"]
    assert e.metadata["source_url"] == (
        "https://sustainableit-tools.isit-europe.org/en/tools/experiment-impact-tracker.html"
    )
    assert [b.heading_path for b in e.blocks][1:] == [
        ("Experiment-impact-tracker",),
        ("Experiment-impact-tracker", "About this resource"),
        ("Experiment-impact-tracker", "Same topic"),
    ]
    assert "Topic · Measurement & assessment" in text_of(e)

    fr = extraction(outcomes, "html/inr-boite-a-outils/www/outils/code-carbon.html")
    assert fr.title == "Code carbon"
    assert fr.metadata["language"] == "fr"


def test_w3c_guidelines_page(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "html/w3c-wsg@0b7bdde/index.html")  # the 838 KB page
    assert e.title == "Web Sustainability Guidelines (WSG)"
    assert e.metadata == {"language": "en"}
    assert ("Introduction", "WSG layers of guidance", "Principles") in {
        b.heading_path for b in e.blocks
    }
    text = text_of(e)
    assert "Filter the available WSG Success Criteria" not in text  # a form in a <details>
    assert "Machine-testable" not in text
    assert ".summary .rating" not in text  # the <style> in <head>


def test_w3c_charter_keeps_its_h1_and_drops_the_navbar(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "html/w3c-sustyweb/ig/charter.html")
    assert e.title == "Sustainable Web Interest Group Charter"
    assert e.blocks[0].heading_path == ("PROPOSED Sustainable Web Interest Group Charter",)
    assert not text_of(e).startswith("Background")


# --- Markdown ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title", "date"),
    [
        (
            "md/minumeco/content/publications/podcast-minumechos/episode-2-FAQ.md",
            "Épisode #2 FAQ : Les questions des référents numérique responsable",
            "2024-09-15",
        ),
        (
            "md/gsf-patterns/docs/architecture/system-topology/choose-region-closest-to-users.md",
            "Choose the region that is closest to users",
            "2022-11-10",  # from `published_date`
        ),
        (
            "md/minumeco/content/ressources/documents-reference/guide-achats-responsables/index.md",
            "Guide pratique pour des achats numériques responsables",  # tab-indented front matter
            "2021-04-29",
        ),
        ("md/ocds-standard/docs/schema/codelists.md", "Codelists", None),
        ("md/gsf-patterns/docs/contribute.mdx", "Propose a Pattern", None),
        (
            "nordic/sv/g0vse-regeringen/artiklar/2014/11/offentlig-upphandling.md",
            "Offentlig upphandling - så fungerar det",
            None,
        ),
        (
            "nordic/sv/sou-2025-96/chapters-clean/15-offentlig-upphandling.md",
            "Offentlig upphandling",
            None,
        ),
    ],
)
def test_markdown_titles_and_dates(
    outcomes: dict[str, Outcome], path: str, title: str, date: str | None
) -> None:
    e = extraction(outcomes, path)
    assert e.format == "markdown"
    assert e.title == title
    assert e.metadata.get("date") == date


def test_gsf_pattern_front_matter_and_sections(outcomes: dict[str, Outcome]) -> None:
    e = extraction(
        outcomes,
        "md/gsf-patterns/docs/architecture/system-topology/choose-region-closest-to-users.md",
    )
    assert e.metadata["tags"] == [
        "networking",
        "size:small",
        "persona:devops-engineer",
        "persona:infrastructure-engineer",
    ]
    assert [b.heading_path[-1] for b in e.blocks] == [
        "Description",
        "Solution",
        "SCI Impact",
        "Assumptions",
        "Considerations",
        "References",
    ]
    assert "](" not in text_of(e)


def test_mdx_page_without_jsx_or_imports(outcomes: dict[str, Outcome]) -> None:
    text = text_of(extraction(outcomes, "md/gsf-patterns/docs/contribute.mdx"))
    assert "<iframe" not in text and "frameBorder" not in text
    assert "Have an idea for a green software pattern?" in text
    assert "Initial Review (up to 1 week)" in text  # emphasis markers gone


def test_mdx_category_stub_is_skipped_without_text(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["md/gsf-patterns/docs/architecture/index.mdx"]
    assert (outcome.status, outcome.reason) == ("skipped", "no text content")


def test_myst_directives_in_ocds(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "md/ocds-standard/docs/schema/codelists.md")
    text = text_of(e)
    assert ":file:" not in text and "csv-table" not in text and "jsoninclude" not in text
    assert "Extending open codelists" in text  # an admonition's title
    assert ("Codelists", "Open Codelists", "Release Tag") in {b.heading_path for b in e.blocks}


def test_nunjucks_page_keeps_only_prose(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "md/minumeco/content/ressources/lettres-information.md")
    assert text_of(e) == (
        "S'abonner\n\nLes lettres d'information de la MiNumEco sont publiées sur LinkedIn. "
        "Retrouvez les éditions antérieures, ci-dessous."
    )


def test_code_blocks_survive_in_markdown(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, "md/awesome-go-green/infrastructure/kubernetes/kepler/README.md")
    assert "kind create cluster --config=./01-setup-cluster/01-local-cluster-config.yml" in text_of(
        e
    )
    # `#NAME  READY ...` lines inside a fence are output, not headings.
    assert not any(
        path[-1].startswith("NAME") for path in (b.heading_path for b in e.blocks) if path
    )


# --- PDF: the README's expectations for pdf-bad, exactly --------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"{BAD}/encryption/r2-empty-password.pdf", f"{BAD}/encryption/r6-user-password.pdf"],
)
def test_encrypted_with_empty_password_is_indexed(outcomes: dict[str, Outcome], path: str) -> None:
    e = extraction(outcomes, path)
    assert [(b.page, b.text) for b in e.blocks] == [(1, "pdf encryption test password: asdfzxcv")]


@pytest.mark.parametrize(
    "path",
    [
        f"{SAMPLES}/005-libreoffice-writer-password/libreoffice-writer-password.pdf",
        f"{BAD}/crazyones-encrypted-256.pdf",
        f"{BAD}/encryption/r4-aes-user-password.pdf",
    ],
)
def test_password_protected_is_skipped_as_encrypted(
    outcomes: dict[str, Outcome], path: str
) -> None:
    outcome = outcomes[path]
    assert outcome.status == "skipped"
    assert outcome.reason and outcome.reason.startswith("encrypted")


def test_unreadable_metadata_is_skipped_naming_the_parse_error(
    outcomes: dict[str, Outcome],
) -> None:
    outcome = outcomes[f"{SAMPLES}/017-unreadable-meta-data/unreadablemetadata.pdf"]
    assert outcome.status == "skipped"
    assert outcome.reason == "unreadable PDF: PdfReadError: Invalid object in /Pages"


@pytest.mark.parametrize(
    "path",
    [
        f"{SAMPLES}/007-imagemagick-images/imagemagick-images.pdf",
        f"{SAMPLES}/007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf",
        f"{SAMPLES}/019-grayscale-image/grayscale-image.pdf",
        f"{SAMPLES}/023-cmyk-image/cmyk-image.pdf",
        f"{BAD}/box.pdf",
    ],
)
def test_image_only_is_reported_as_scanned(outcomes: dict[str, Outcome], path: str) -> None:
    outcome = outcomes[path]
    assert (outcome.status, outcome.reason) == ("skipped", "no extractable text (scanned?)")


def test_a_scanned_page_is_read_by_ocr(outcomes: dict[str, Outcome]) -> None:
    """A patent's scanned page 2 (pages 1 and 3 are blank) is read by Tesseract; without it
    the file is skipped, saying what to install."""
    outcome = outcomes[f"{BAD}/encrypted_doc_no_id.pdf"]
    if not PREREQUISITES["tesseract"].available():
        assert (outcome.status, outcome.reason) == ("skipped", NO_TESSERACT)
        require("tesseract")
    e = extraction(outcomes, outcome.path)
    assert [b.page for b in e.blocks] == [2]
    assert "patent" in text_of(e)
    assert e.warnings[:2] == ["pages read by OCR: 2", "pages without text: 1, 3"]


@pytest.mark.parametrize(
    ("path", "pages"),
    [(f"{SAMPLES}/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf", 117), (f"{BAD}/issue-301.pdf", 1)],
)
def test_slow_files_finish_in_bounded_time(
    outcomes: dict[str, Outcome], path: str, pages: int
) -> None:
    # Within TIME_LIMIT of CPU, else it would be a "failed" problem, not an extraction.
    assert extraction(outcomes, path).page_count == pages


def test_every_other_bad_pdf_is_indexed_with_page_numbers(outcomes: dict[str, Outcome]) -> None:
    not_indexed = {
        f"{SAMPLES}/005-libreoffice-writer-password/libreoffice-writer-password.pdf",
        f"{BAD}/crazyones-encrypted-256.pdf",
        f"{BAD}/encryption/r4-aes-user-password.pdf",
        f"{SAMPLES}/017-unreadable-meta-data/unreadablemetadata.pdf",
        f"{SAMPLES}/007-imagemagick-images/imagemagick-images.pdf",
        f"{SAMPLES}/007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf",
        f"{SAMPLES}/019-grayscale-image/grayscale-image.pdf",
        f"{SAMPLES}/023-cmyk-image/cmyk-image.pdf",
        f"{BAD}/box.pdf",
        f"{BAD}/encrypted_doc_no_id.pdf",
    }
    bad = [o for o in outcomes.values() if o.path.startswith("pdf-bad/")]
    assert len(bad) == 26
    indexed = [o for o in bad if o.path not in not_indexed]
    assert len(indexed) == 16
    for outcome in indexed:
        e = extraction(outcomes, outcome.path)
        assert e.page_count and e.page_count >= 1
        pages = [b.page for b in e.blocks]
        assert pages == sorted(pages) and all(1 <= p <= e.page_count for p in pages), outcome.path


# --- PDF: real reports -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title", "date", "pages"),
    [
        (
            "pdf/minumeco/public/docs/2021/Bilan_ecoconception_SNE_recherche_2021_10.pdf",
            "BILAN SUR L’ÉCOCONCEPTION DU PRODUIT SNE RECHERCHE",  # the outline's first entry
            "2021-11-08",
            14,
        ),
        (
            RGESN_2024,
            "Référentiel général de l'écoconception des services numériques - RGESN version 2024",
            "2024-05-29",
            131,
        ),
        (
            "pdf/minumeco/public/docs/2025/RCP_datacenter_services_cloud_FR.pdf",
            "RCP de services hébergement informatique en centres de données et services cloud",
            "2025-03-17",
            86,
        ),
        (
            "pdf/minumeco/public/docs/2021/Webinaire-Impact-bonnes-pratiques-organisations-08-12-2021.pdf",
            None,  # "Présentation PowerPoint" is PowerPoint's placeholder, not a title
            "2021-12-08",
            28,
        ),
        ("pdf/w3c-wsg@0b7bdde/checklist.pdf", "checklist", "2025-04-18", 26),
        (
            f"{SAMPLES}/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf",
            "Geometrie und Topologie",
            "2016-12-31",
            117,
        ),
    ],
)
def test_pdf_titles_dates_and_page_counts(
    outcomes: dict[str, Outcome], path: str, title: str | None, date: str, pages: int
) -> None:
    e = extraction(outcomes, path)
    assert e.format == "pdf"
    assert e.title == title
    assert e.metadata["date"] == date
    assert e.page_count == pages


def test_latex_book_outline_gives_heading_paths(outcomes: dict[str, Outcome]) -> None:
    e = extraction(outcomes, f"{SAMPLES}/009-pdflatex-geotopo/GeoTopo-komprimiert.pdf")
    assert e.metadata["author"] == "Martin Thoma"
    block = next(b for b in e.blocks if b.page == 31)
    assert block.heading_path == (
        "2 Mannigfaltigkeiten und Simplizialkomplexe",
        "2.1 Topologische Mannigfaltigkeiten",
    )


def test_pdf_pages_without_text_are_reported(outcomes: dict[str, Outcome]) -> None:
    e = extraction(
        outcomes, "pdf/minumeco/public/docs/2022/MiNumEco-lancement-RGESN-2022-11-29-v0.4.pdf"
    )
    if PREREQUISITES["tesseract"].available():
        # Pages 4, 51 and 52 are pictures of text (slides): read by OCR.
        assert e.warnings == ["pages read by OCR: 4, 51, 52"]
        assert {4, 51, 52} <= {b.page for b in e.blocks}
    else:
        assert e.warnings == [f"pages without a text layer, not read: 4, 51, 52 ({NO_TESSERACT})"]
        assert len(e.blocks) == 51


def test_pdf_text_is_clean(outcomes: dict[str, Outcome]) -> None:
    for outcome in outcomes.values():
        e = outcome.extraction
        if e is None or e.format != "pdf":
            continue
        for block in e.blocks:
            assert "\x00" not in block.text, outcome.path
            assert "\n\n\n" not in block.text, outcome.path
            assert block.text == block.text.strip(), outcome.path
