"""PDF files: one block per page, heading paths from the outline, info metadata.

pypdf opens every file (decryption with the empty password, page count, document info,
outline); the page text comes from poppler's `pdftotext` when it is installed (about eight
times faster, see `indexer.extract.pdftotext`), else from pypdf too. Either way the blocks
carry the same page numbers, and a file pypdf cannot open is reported with pypdf's reason.

The time limit lives in `indexer.extract.limits`, the handling of pypdf's failures in
`indexer.extract.pdf_limits`, the document info and outline in `indexer.extract.pdf_info`,
running headers and footers and lone list markers in `indexer.extract.pdf_layout`. Pages
without a text layer that show an image (scans) are read by OCR when Tesseract is installed
(`indexer.extract.ocr`), with the same page numbers.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError

from . import pdftotext
from .base import Block, Extraction, Failed, Skipped
from .limits import Deadline, TimeLimitExceeded, TooSlow, cpu_time_limit
from .ocr import OcrSettings, ocr_pages, unavailable
from .pdf_info import document_metadata, page_heading_paths, read_outline
from .pdf_layout import tidy_pages
from .pdf_limits import (
    PYPDF_FAILURES,
    counting_pypdf_problems,
    describe,
    silence_pypdf_logger,
)
from .text import collapse_whitespace

# Text drawn this far outside the page box still counts as on the page (rounding, bleed).
_PAGE_MARGIN = 2.0


# --- page text ----------------------------------------------------------------------------

_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
_BULLET_RE = re.compile(r"^(?:[•●▪◦■□➢►▶✓✔–—·*-]\s|\d{1,3}[.)]\s|[a-z][.)]\s|\(\w{1,3}\)\s)")
_TERMINAL_PUNCTUATION = tuple('.!?:…»"”)')
_HYPHENATED_RE = re.compile(r"[^\W\d_][-\u00ad]$")


class _VisibilityProbe:
    """A pypdf text visitor recording whether any text is drawn inside the page box.

    Some generators draw text outside the page (ImageMagick labels every image "Background"
    at y=16 on a 4-point page); it is not what a reader sees, so it must not count as text.
    """

    def __init__(self, left: float, bottom: float, right: float, top: float) -> None:
        self.box = (
            left - _PAGE_MARGIN,
            bottom - _PAGE_MARGIN,
            right + _PAGE_MARGIN,
            top + _PAGE_MARGIN,
        )
        self.seen = False

    def __call__(self, text: str, cm: list[float], tm: list[float], font: Any, size: Any) -> None:
        if self.seen or not text.strip():
            return
        # Text-space origin to user space: the text matrix, then the transformation matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        left, bottom, right, top = self.box
        self.seen = left <= x <= right and bottom <= y <= top


def _page_text(page: Any) -> str:
    """The page's text, or "" when all of it is drawn outside the page."""
    box = page.mediabox
    xs, ys = (
        sorted((float(box.left), float(box.right))),
        sorted((float(box.bottom), float(box.top))),
    )
    probe = _VisibilityProbe(xs[0], ys[0], xs[1], ys[1])
    text = page.extract_text(visitor_text=probe) or ""
    if text.strip() and not probe.seen:
        return ""
    return text


def _is_short(line: str, typical: float) -> bool:
    return len(line) < 0.7 * typical


def clean_page_text(raw: str) -> str:
    """pypdf's line-per-line output as paragraphs separated by blank lines.

    Lines are joined back into paragraphs: a paragraph ends at a blank line, before a bullet
    or list number, and after a line clearly shorter than the page's usual line (the last line
    of a paragraph, a heading, a label). Words hyphenated across lines are rejoined.
    """
    text = raw.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").translate(_LIGATURES)
    lines = [collapse_whitespace(line.replace("\u00ad", "-")) for line in text.split("\n")]
    lengths = [len(line) for line in lines if line]
    if not lengths:
        return ""
    typical = statistics.quantiles(lengths, n=4)[2] if len(lengths) >= 4 else max(lengths)
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current, previous = "", ""
            continue
        sentence_ended = previous.endswith(_TERMINAL_PUNCTUATION)
        if (
            current
            and (
                _BULLET_RE.match(line)
                or (_is_short(previous, typical) and not _HYPHENATED_RE.search(previous))
                or (sentence_ended and len(previous) < 0.85 * typical)
                # A short capitalised line after a finished sentence: a heading.
                or (sentence_ended and _is_short(line, typical) and line[:1].isupper())
            )
        ):
            paragraphs.append(current)
            current = ""
        if not current:
            current = line
        elif _HYPHENATED_RE.search(current) and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}"
        previous = line
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


# --- scanned pages ---------------------------------------------------------------------------

_FORM_DEPTH = 3  # images inside forms inside forms: deeper nesting is not a scan


def _shows_image(resources: Any, depth: int = 0) -> bool:
    """Whether the page (or a form it draws) has an image XObject: a scan, not a blank page."""
    try:
        xobjects = resources.get("/XObject") if resources else None
        for ref in (xobjects or {}).values():
            xobject = ref.get_object()
            subtype = xobject.get("/Subtype")
            if subtype == "/Image":
                return True
            form = subtype == "/Form" and depth < _FORM_DEPTH
            if form and _shows_image(xobject.get("/Resources"), depth + 1):
                return True
    except (*PYPDF_FAILURES, AttributeError):
        return False
    return False


def _read_scans(
    path: Path,
    pages: Any,
    empty: list[int],
    blocks: list[Block],
    warnings: list[str],
    ocr: OcrSettings,
    metadata: dict[str, Any],
    heading_paths: list[tuple[str, ...]],
) -> list[int]:
    """Read the empty pages that show an image by OCR, adding their blocks in page order;
    the pages still without text. Without Tesseract, a file of scans only is skipped."""
    scans: dict[int, float] = {}
    for number in empty:
        page = pages[number - 1]
        if _shows_image(page.get("/Resources")):
            box = page.mediabox
            scans[number] = max(abs(float(box.width)), abs(float(box.height)))
    if not scans:
        return empty
    missing = unavailable(ocr)
    language = metadata.get("language")
    result = None if missing else ocr_pages(path, scans, ocr, language=language)
    if result is None:
        if not blocks:
            raise Skipped(missing or "no text layer (install tesseract-ocr for OCR)")
        warnings.append(f"pages without a text layer, not read: {_numbers(scans)} "
                        f"({missing or 'Tesseract cannot run'})")  # fmt: skip
        return [n for n in empty if n not in scans]
    read = {n: clean_page_text(t) for n, t in result.texts.items()}
    read = {n: t for n, t in read.items() if t}
    for number, text in read.items():
        blocks.append(Block(text=text, heading_path=heading_paths[number - 1], page=number))
    blocks.sort(key=lambda b: b.page or 0)
    if read:
        warnings.append(f"pages read by OCR: {_numbers(read)}")
    if result.timed_out:
        message = (f"OCR time limit of {ocr.page_time_limit:g} s per page exceeded on pages: "
                   f"{_numbers(result.timed_out)}")  # fmt: skip
        if not blocks:
            raise Failed(message)
        warnings.append(message)
    return [n for n in empty if n not in read and n not in result.timed_out]


def _numbers(pages: Any) -> str:
    return ", ".join(map(str, sorted(pages)))


# --- the extractor -------------------------------------------------------------------------


def _open(path: Path) -> PdfReader:
    """Open and, when needed, decrypt with the empty password (RC4 and AES)."""
    try:
        reader = PdfReader(path, strict=False)
    except FileNotDecryptedError as error:
        raise Skipped("encrypted: password required") from error
    except DependencyError as error:
        raise Skipped(f"cannot decrypt: {describe(error)}") from error
    except PYPDF_FAILURES as error:
        raise Skipped(f"unreadable PDF: {describe(error)}") from error
    if reader.is_encrypted:
        try:
            decrypted = reader.decrypt("")
        except DependencyError as error:
            raise Skipped(f"cannot decrypt: {describe(error)}") from error
        except PYPDF_FAILURES as error:
            raise Skipped(f"encrypted: password required ({describe(error)})") from error
        if not decrypted:
            raise Skipped("encrypted: password required")
    return reader


def _start_pdftotext(path: Path) -> pdftotext.PageTextRun | None:
    exe = pdftotext.executable()
    if exe is None:
        return None
    try:
        return pdftotext.PageTextRun(exe, path)
    except OSError:  # cannot start it (no memory, no more processes): pypdf reads the text
        return None


def _page_texts(
    run: pdftotext.PageTextRun | None, page_count: int, deadline: Deadline
) -> list[str] | None:
    """Every page's text from pdftotext, or None when pypdf must read it."""
    if run is None:
        return None
    try:
        return run.pages(page_count, lambda: deadline.ends_at - time.process_time())
    except pdftotext.TimeLimitExceeded:
        raise TimeLimitExceeded from None


def _extract(
    path: Path,
    deadline: Deadline,
    warnings: list[str],
    run: pdftotext.PageTextRun | None,
    ocr: OcrSettings,
) -> Extraction:
    reader = _open(path)
    try:
        pages = reader.pages
        page_count = len(pages)
    except FileNotDecryptedError as error:
        raise Skipped("encrypted: password required") from error
    except PYPDF_FAILURES as error:
        raise Skipped(f"unreadable PDF: {describe(error)}") from error
    if page_count == 0:
        raise Skipped("unreadable PDF: no pages")

    metadata = document_metadata(reader, warnings)
    outline = read_outline(reader, warnings)
    heading_paths = page_heading_paths(page_count, outline)
    texts = _page_texts(run, page_count, deadline)
    raws: list[str | None] = []
    for index in range(page_count):
        deadline.check()
        try:
            raws.append(texts[index] if texts is not None else _page_text(pages[index]))
        except PYPDF_FAILURES:
            raws.append(None)
    # Running headers and footers are found across pages, so every page is read first.
    raws = tidy_pages(raws)
    blocks: list[Block] = []
    empty: list[int] = []
    broken: list[int] = []
    for index, raw in enumerate(raws):
        if raw is None:
            broken.append(index + 1)
            continue
        text = clean_page_text(raw)
        if not text:
            empty.append(index + 1)
            continue
        blocks.append(Block(text=text, heading_path=heading_paths[index], page=index + 1))

    if empty:
        empty = _read_scans(path, pages, empty, blocks, warnings, ocr, metadata, heading_paths)
    if not blocks:
        if broken and not empty:
            raise Skipped(f"unreadable PDF: no page could be read ({len(broken)} pages)")
        raise Skipped("no extractable text (scanned?)")
    if broken:
        warnings.append(f"pages unreadable: {', '.join(map(str, broken))}")
    if empty:
        warnings.append(f"pages without text: {', '.join(map(str, empty))}")
    title = metadata.get("title") or (outline[0].path[0] if outline else None)
    return Extraction(
        format="pdf",
        title=title,
        blocks=blocks,
        metadata=metadata,
        page_count=page_count,
        warnings=warnings,
    )


def extract_pdf(
    path: Path, *, time_limit: float = 30.0, ocr: OcrSettings | None = None
) -> Extraction:
    """Text per page, outline heading paths and info metadata of a PDF, within `time_limit` seconds.

    Raises `Skipped` for encrypted files that need a password and for files without a text
    layer (that OCR cannot read, or without Tesseract), `Failed` for files pypdf cannot parse
    and when the time limit is exceeded. The time limit is CPU time, pdftotext's included;
    OCR has its own limit per page (`ocr`, default: `OcrSettings()`, no cache).
    """
    silence_pypdf_logger()
    warnings: list[str] = []
    path = Path(path)
    with counting_pypdf_problems() as problems:
        run = None
        try:
            with cpu_time_limit(time_limit) as deadline:
                # Started first: pdftotext reads the text while pypdf reads the structure.
                run = _start_pdftotext(path)
                extraction = _extract(path, deadline, warnings, run, ocr or OcrSettings())
        except TimeLimitExceeded:
            raise TooSlow(f"time limit of {time_limit:g} s exceeded") from None
        except RecursionError as error:
            raise Failed(f"unreadable PDF: {describe(error)}") from error
        finally:
            if run is not None:
                run.close()
    if problems[0]:
        extraction.warnings.append(f"pypdf reported {problems[0]} problems while reading")
    return extraction
