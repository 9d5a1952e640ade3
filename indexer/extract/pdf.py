"""PDF files: one block per page, heading paths from the outline, info metadata.

pypdf opens every file (decryption with the empty password, page count, document info,
outline); the page text comes from poppler's `pdftotext` when it is installed (about eight
times faster, see `indexer.extract.pdftotext`), else from pypdf too. Either way the blocks
carry the same page numbers, and a file pypdf cannot open is reported with pypdf's reason.

Time limit
----------
A broken or pathological PDF can keep pypdf busy for minutes, and one file must never stall
an indexing run. The candidates, measured with pypdf 7.1 on a one-page PDF (2.5 ms to
extract) on the 2-core development VM:

=====================================  ==================  ===================================
approach                               cost per file       can stop a single slow page?
=====================================  ==================  ===================================
plain call, deadline check per page    0 ms                no
SIGPROF via ``signal.setitimer``       ~0.05 ms            yes (between Python bytecodes)
child process per file (fork)          ~9 ms               yes, by killing it
child process per file (forkserver)    ~29 ms              yes
child process per file (spawn)         ~150 ms             yes
=====================================  ==================  ===================================

We use ``setitimer`` on the process's CPU time (ITIMER_PROF), so a machine busy with other
work does not push healthy files over the limit: it is nearly free, and pypdf is pure Python, so the alarm interrupts
it between two bytecodes even in the middle of one page. A deadline check between pages
backs it up and is the only guard when we are not in the main thread (Python runs signal
handlers there only), e.g. under a threaded web server. A child process per file was
rejected: spawn costs more than extracting most PDFs, fork is unsafe in threaded programs,
and the indexer already extracts in worker processes (whose main thread is where the alarm
works); children of those would double the process count, and `multiprocessing.Pool`
workers, being daemonic, may not have children at all. What the alarm cannot interrupt is a
single long call into C (say a huge zlib stream); the file-size limit in `extract_file`
bounds that.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import re
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from kb.text import parse_date

from . import pdftotext
from .base import Block, Extraction, Failed, Skipped
from .text import collapse_whitespace, declared_language

# Everything pypdf has been seen to raise on broken files, besides its own errors.
_PYPDF_FAILURES = (
    PyPdfError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    ZeroDivisionError,
    OverflowError,
    LookupError,
    UnicodeError,
    NotImplementedError,
    OSError,
    EOFError,
    MemoryError,
)

# Text drawn this far outside the page box still counts as on the page (rounding, bleed).
_PAGE_MARGIN = 2.0
# pypdf walks outlines recursively and some files have absurd ones; enough for any real book.
_MAX_OUTLINE_ENTRIES = 5_000
_MAX_OUTLINE_DEPTH = 32


class _TimeLimitExceeded(BaseException):
    """Raised by the alarm; a BaseException so that pypdf's `except Exception` cannot swallow it."""


# --- pypdf's logger -----------------------------------------------------------------------

_pypdf_problems: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "pypdf_problems", default=None
)


class _ProblemCounter(logging.Handler):
    """Counts pypdf's log records for the extraction running in this context, prints nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        counter = _pypdf_problems.get()
        if counter is not None and record.levelno >= logging.WARNING:
            counter[0] += 1


_logger_lock = threading.Lock()


def _silence_pypdf_logger() -> None:
    """Route pypdf's warnings (one per oddity, dozens on a broken file) to a counter.

    Installed once, on first use, rather than at import time; idempotent.
    """
    logger = logging.getLogger("pypdf")
    with _logger_lock:
        if not any(isinstance(h, _ProblemCounter) for h in logger.handlers):
            logger.addHandler(_ProblemCounter())
            logger.propagate = False


@contextlib.contextmanager
def _counting_pypdf_problems() -> Iterator[list[int]]:
    counter = [0]
    token = _pypdf_problems.set(counter)
    try:
        yield counter
    finally:
        _pypdf_problems.reset(token)


# --- the time limit -------------------------------------------------------------------------


@dataclass
class _Deadline:
    seconds: float
    ends_at: float

    def check(self) -> None:
        if time.process_time() > self.ends_at:
            raise _TimeLimitExceeded


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[_Deadline]:
    """Raise `_TimeLimitExceeded` after `seconds` of CPU time, by SIGPROF where possible.

    CPU time, not wall time: a busy machine slows every file down, but only a pathological
    file makes pypdf itself work for long (see the module doc).

    Any timer already armed by the caller is restored afterwards, minus the time spent here.
    """
    deadline = _Deadline(seconds, time.process_time() + seconds)
    use_alarm = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and math.isfinite(seconds)
        and seconds > 0
    )
    if not use_alarm:
        yield deadline
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _TimeLimitExceeded

    started = time.process_time()
    previous_handler = signal.signal(signal.SIGPROF, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield deadline
    finally:
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
        finally:
            # Nested so that an alarm firing on the way out cannot skip the restore.
            signal.signal(signal.SIGPROF, previous_handler or signal.SIG_DFL)
            if previous_delay > 0:
                remaining = max(previous_delay - (time.process_time() - started), 0.001)
                signal.setitimer(signal.ITIMER_PROF, remaining, previous_interval)


# --- metadata and outline -----------------------------------------------------------------

_OFFICE_PREFIX_RE = re.compile(r"^Microsoft (?:Word|PowerPoint|Excel) - ", re.I)
# Titles authoring tools fill in by themselves.
_PLACEHOLDER_TITLES = frozenset(
    {
        *("untitled", "sans titre", "document", "title", "titel", "namnlös"),
        *("présentation powerpoint", "powerpoint presentation", "powerpoint-presentation"),
    }
)
_FILE_EXTENSION_RE = re.compile(r"\.(?:docx?|pptx?|xlsx?|odt|odp|rtf|pdf|indd|tex)$", re.I)


def _info_text(value: Any) -> str | None:
    """A document-info string: bytes decoded, NULs dropped, whitespace collapsed."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    text = collapse_whitespace(str(value).replace("\x00", ""))
    return text or None


def _clean_title(value: Any) -> str | None:
    """Info titles are often the authoring file's name ("Microsoft Word - report.docx")."""
    title = _info_text(value)
    if not title:
        return None
    title = _FILE_EXTENSION_RE.sub("", _OFFICE_PREFIX_RE.sub("", title)).strip()
    if title.casefold() in _PLACEHOLDER_TITLES:
        return None
    return title or None


def _document_metadata(reader: PdfReader, warnings: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    try:
        info = reader.metadata or {}
        title = _clean_title(info.get("/Title"))
        author = _info_text(info.get("/Author"))
        subject = _info_text(info.get("/Subject"))
        keywords = _info_text(info.get("/Keywords"))
        date = parse_date(_info_text(info.get("/CreationDate")), embedded=True)
    except _PYPDF_FAILURES as error:
        warnings.append(f"document info unreadable: {_describe(error)}")
        return metadata
    for key, value in (("title", title), ("author", author), ("description", subject)):
        if value:
            metadata[key] = value
    if keywords:
        metadata["keywords"] = [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()]
    if date:
        metadata["date"] = date
    try:
        language = declared_language([_info_text(reader.trailer["/Root"].get("/Lang"))])
    except _PYPDF_FAILURES:
        language = None
    if language:
        metadata["language"] = language
    return metadata


@dataclass(frozen=True)
class _OutlineEntry:
    page_index: int  # 0-based
    order: int  # position in the outline, depth first
    path: tuple[str, ...]


def _outline(reader: PdfReader, warnings: list[str]) -> list[_OutlineEntry]:
    """Outline entries in document order, each with the titles of its ancestors.

    An entry whose destination cannot be resolved gets page -1: it names no page of its own
    but still gives its children their path.
    """
    try:
        tree = reader.outline
    except _PYPDF_FAILURES as error:
        warnings.append(f"outline unreadable: {_describe(error)}")
        return []
    entries: list[_OutlineEntry] = []

    def walk(items: list[Any], parents: tuple[str, ...], depth: int) -> None:
        # pypdf nests an item's children in a list right after the item.
        last: tuple[str, ...] | None = None
        for item in items:
            if len(entries) >= _MAX_OUTLINE_ENTRIES:
                return
            if isinstance(item, list):
                if depth < _MAX_OUTLINE_DEPTH:
                    walk(item, last or parents, depth + 1)
                continue
            title = _info_text(getattr(item, "title", None))
            if not title:
                last = None
                continue
            try:
                page_index = reader.get_destination_page_number(item)
            except _PYPDF_FAILURES:
                page_index = None
            last = (*parents, title)
            entries.append(
                _OutlineEntry(-1 if page_index is None else page_index, len(entries), last)
            )

    try:
        walk(tree, (), 0)
    except _PYPDF_FAILURES as error:
        warnings.append(f"outline unreadable: {_describe(error)}")
    return entries


def _heading_paths(page_count: int, outline: list[_OutlineEntry]) -> list[tuple[str, ...]]:
    """For each page, the section it is in: the latest outline entry starting on or before it.

    "Latest" is by page, then by outline order, so a subsection starting on the same page as
    its chapter wins: the deepest entry.
    """
    starts = sorted(
        (e for e in outline if 0 <= e.page_index < page_count),
        key=lambda e: (e.page_index, e.order),
    )
    paths: list[tuple[str, ...]] = []
    current: tuple[str, ...] = ()
    position = 0
    for page_index in range(page_count):
        while position < len(starts) and starts[position].page_index <= page_index:
            current = starts[position].path
            position += 1
        paths.append(current)
    return paths


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


def _describe(error: BaseException) -> str:
    message = collapse_whitespace(str(error)) or "no details"
    return f"{type(error).__name__}: {message}"[:300]


def _open(path: Path) -> PdfReader:
    """Open and, when needed, decrypt with the empty password (RC4 and AES)."""
    try:
        reader = PdfReader(path, strict=False)
    except FileNotDecryptedError as error:
        raise Skipped("encrypted: password required") from error
    except DependencyError as error:
        raise Skipped(f"cannot decrypt: {_describe(error)}") from error
    except _PYPDF_FAILURES as error:
        raise Skipped(f"unreadable PDF: {_describe(error)}") from error
    if reader.is_encrypted:
        try:
            decrypted = reader.decrypt("")
        except DependencyError as error:
            raise Skipped(f"cannot decrypt: {_describe(error)}") from error
        except _PYPDF_FAILURES as error:
            raise Skipped(f"encrypted: password required ({_describe(error)})") from error
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
    run: pdftotext.PageTextRun | None, page_count: int, deadline: _Deadline
) -> list[str] | None:
    """Every page's text from pdftotext, or None when pypdf must read it."""
    if run is None:
        return None
    try:
        return run.pages(page_count, lambda: deadline.ends_at - time.process_time())
    except pdftotext.TimeLimitExceeded:
        raise _TimeLimitExceeded from None


def _extract(
    path: Path, deadline: _Deadline, warnings: list[str], run: pdftotext.PageTextRun | None
) -> Extraction:
    reader = _open(path)
    try:
        pages = reader.pages
        page_count = len(pages)
    except FileNotDecryptedError as error:
        raise Skipped("encrypted: password required") from error
    except _PYPDF_FAILURES as error:
        raise Skipped(f"unreadable PDF: {_describe(error)}") from error
    if page_count == 0:
        raise Skipped("unreadable PDF: no pages")

    metadata = _document_metadata(reader, warnings)
    outline = _outline(reader, warnings)
    heading_paths = _heading_paths(page_count, outline)
    texts = _page_texts(run, page_count, deadline)
    blocks: list[Block] = []
    empty: list[int] = []
    broken: list[int] = []
    for index in range(page_count):
        deadline.check()
        try:
            raw = texts[index] if texts is not None else _page_text(pages[index])
            text = clean_page_text(raw)
        except _PYPDF_FAILURES:
            broken.append(index + 1)
            continue
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
    _silence_pypdf_logger()
    warnings: list[str] = []
    path = Path(path)
    with _counting_pypdf_problems() as problems:
        run = None
        try:
            with _time_limit(time_limit) as deadline:
                # Started first: pdftotext reads the text while pypdf reads the structure.
                run = _start_pdftotext(path)
                extraction = _extract(path, deadline, warnings, run)
        except _TimeLimitExceeded:
            raise Failed(f"time limit of {time_limit:g} s exceeded") from None
        except RecursionError as error:
            raise Failed(f"unreadable PDF: {_describe(error)}") from error
        finally:
            if run is not None:
                run.close()
    if problems[0]:
        extraction.warnings.append(f"pypdf reported {problems[0]} problems while reading")
    return extraction
