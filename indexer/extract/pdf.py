"""PDF files: one block per page, heading paths from the outline, info metadata.

pypdf opens every file (decryption with the empty password, page count, document info,
outline); the page text comes from poppler's `pdftotext` when it is installed (about eight
times faster, see `indexer.extract.pdftotext`), else from pypdf too. Either way the blocks
carry the same page numbers, and a file pypdf cannot open is reported with pypdf's reason.

The time limit lives in `indexer.extract.limits`, the handling of pypdf's failures in
`indexer.extract.pdf_limits`, the document info and outline in `indexer.extract.pdf_info`,
running headers and footers and lone list markers in `indexer.extract.pdf_layout`.
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
    path: Path, deadline: Deadline, warnings: list[str], run: pdftotext.PageTextRun | None
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


def extract_pdf(path: Path, *, time_limit: float = 30.0) -> Extraction:
    """Text per page, outline heading paths and info metadata of a PDF, within `time_limit` seconds.

    Raises `Skipped` for encrypted files that need a password and for files without a text
    layer, `Failed` for files pypdf cannot parse and when the time limit is exceeded. The
    time limit is CPU time, pdftotext's included.
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
                extraction = _extract(path, deadline, warnings, run)
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
