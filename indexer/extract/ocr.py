"""Text of scanned PDF pages by OCR: Tesseract over each page rendered by poppler's pdftoppm.

A page without a text layer but with an image on it is rendered to a greyscale PNG by
`pdftoppm` (poppler-utils, which kb already uses for `pdftotext`) and read by the Tesseract
program through pytesseract. That pair is light: no Ghostscript, no rewritten PDF (as
ocrmypdf would make), and the page numbers stay those of the file, so passages, anchors and
citations are the same as for a text PDF.

- Languages: the document's declared language when Tesseract has its pack, else
  `eng+swe+nor+dan` (those installed); `[ocr] languages` in kb.toml replaces the default.
- Time: each page has its own wall-clock limit (`[ocr] page_time_limit`, 60 s by default),
  rendering included; a page that runs out is left out and named in the file's warnings.
- Cache: a page's text is kept under the index folder (`<index>/ocr-cache/`), keyed by the
  sha256 of the PDF, the page, the languages, the resolution and Tesseract's version, so a
  re-index (a moved or renamed file, a changed kb.toml, a rebuild) never reads a page twice.
  A page that timed out is not cached: a later run with more time tries it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import ConfigError

DEFAULT_LANGUAGES = ("eng", "swe", "nor", "dan")
DEFAULT_PAGE_TIME_LIMIT = 60.0
CACHE_DIR = "ocr-cache"  # under the index folder, never in the corpus
DPI = 300
MAX_PIXELS = 5000  # the longer side of a rendered page: a poster is not read at 300 dpi
MIN_CONFIDENCE = 30  # Tesseract's word confidence (0-100); below it, noise from pictures
# Page segmentation with orientation detection: pages scanned sideways or upside down.
_TESSERACT_CONFIG = "--psm 1"
_THREADS = "OMP_THREAD_LIMIT"
NO_TESSERACT = "no text layer (install tesseract-ocr for OCR)"
OCR_OFF = "no text layer (OCR is turned off: [ocr] enabled = false in kb.toml)"
NO_PDFTOPPM = "no text layer (install poppler-utils for OCR)"
# kb's language codes -> Tesseract's language packs.
_PACKS = {"en": "eng", "sv": "swe", "no": "nor", "nb": "nor", "nn": "nor", "da": "dan",
          "fi": "fin", "de": "deu", "fr": "fra", "nl": "nld", "es": "spa"}  # fmt: skip


@dataclass(frozen=True)
class OcrSettings:
    """How scanned pages are read: `cache` None keeps no cache (a single extraction)."""

    cache: Path | None = None
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    page_time_limit: float = DEFAULT_PAGE_TIME_LIMIT
    command: str = "tesseract"
    enabled: bool = True  # [ocr] enabled = false: scanned pages are skipped, never read


def load_ocr_settings(corpus: Path, index: Path | None) -> OcrSettings:
    """`[ocr]` of the corpus's kb.toml (enabled, languages, page_time_limit), the cache in
    `index`.

    Raises ConfigError for an unknown key or a value of the wrong type."""
    cache = index / CACHE_DIR if index is not None else None
    path = corpus / "kb.toml"
    if not path.is_file():
        return OcrSettings(cache=cache)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("ocr", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [ocr] must be a table")
    unknown = sorted(set(table) - {"enabled", "languages", "page_time_limit"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [ocr]: {', '.join(unknown)} "
                          "(expected enabled, languages, page_time_limit)")  # fmt: skip
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}: [ocr] enabled must be true or false")
    languages = table.get("languages", list(DEFAULT_LANGUAGES))
    if not (isinstance(languages, list) and languages
            and all(isinstance(x, str) and x.isidentifier() for x in languages)):  # fmt: skip
        raise ConfigError(f'{path}: [ocr] languages must be Tesseract packs, like ["eng", "swe"]')
    limit = table.get("page_time_limit", DEFAULT_PAGE_TIME_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0:
        raise ConfigError(f"{path}: [ocr] page_time_limit must be a number of seconds above 0")
    return OcrSettings(cache=cache, languages=tuple(languages), page_time_limit=float(limit),
                       enabled=enabled)  # fmt: skip


@dataclass
class OcrResult:
    """What OCR made of the pages asked for."""

    texts: dict[int, str] = field(default_factory=dict)  # page number -> text ("" for none)
    timed_out: list[int] = field(default_factory=list)
    ran: int = 0  # pages read by Tesseract in this call
    cached: int = 0  # pages whose text came from the cache


@dataclass(frozen=True)
class _Tesseract:
    exe: str
    version: str
    packs: frozenset[str]


def _find_tesseract(command: str) -> _Tesseract | None:
    exe = shutil.which(command)
    if exe is None:
        return None
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = exe  # the wrapper's only way to name the program
    try:
        version = str(pytesseract.get_tesseract_version())
        packs = frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError):
        return None
    return _Tesseract(exe, version, packs)


def unavailable(settings: OcrSettings) -> str | None:
    """Why pages cannot be read by OCR here (the skip reason), or None when they can."""
    if not settings.enabled:
        return OCR_OFF
    if shutil.which("pdftoppm") is None:
        return NO_PDFTOPPM
    return None if shutil.which(settings.command) else NO_TESSERACT


def _languages(tesseract: _Tesseract, settings: OcrSettings, declared: str | None) -> str:
    pack = _PACKS.get((declared or "").lower())
    if pack in tesseract.packs:
        return pack
    chosen = [p for p in settings.languages if p in tesseract.packs]
    return "+".join(chosen or sorted(tesseract.packs - {"osd"})[:1] or ["eng"])


def _cache_key(pdf_sha256: str, page: int, languages: str, tesseract: _Tesseract) -> str:
    key = f"{pdf_sha256}:{page}:{languages}:{DPI}:{MAX_PIXELS}:{_TESSERACT_CONFIG}:{tesseract.version}"
    return hashlib.sha256(key.encode()).hexdigest()


def _cached(cache: Path | None, key: str) -> str | None:
    if cache is None:
        return None
    try:
        return (cache / key[:2] / f"{key}.txt").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _store(cache: Path | None, key: str, text: str) -> None:
    """Keep the page's text; a cache that cannot be written only costs a later OCR run."""
    if cache is None:
        return
    folder = cache / key[:2]
    tmp = folder / f".{key}.tmp-{os.getpid()}"
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, folder / f"{key}.txt")  # workers may race: whole files only
    with contextlib.suppress(OSError):
        tmp.unlink()


def _render(path: Path, page: int, size_pt: float, out: Path, seconds: float) -> Path | None:
    """The page as a greyscale PNG, or None when pdftoppm fails. Raises TimeoutExpired."""
    dpi = max(36, min(DPI, int(MAX_PIXELS * 72 / max(size_pt, 1.0))))
    prefix = out / f"page-{page}"
    done = subprocess.run(
        ["pdftoppm", "-q", "-gray", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
         "-singlefile", os.fspath(path), os.fspath(prefix)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=seconds, check=False,
    )  # fmt: skip
    image = prefix.with_suffix(".png")
    return image if done.returncode == 0 and image.is_file() else None


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tesseract on one thread: its OpenMP threads fight each other and kb's other workers
    for the cores (a page took three to four times as long on a busy two-core machine).
    pytesseract starts the program with this process's environment, hence the change here,
    undone afterwards."""
    previous = os.environ.get(_THREADS)
    os.environ[_THREADS] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_THREADS, None)
        else:
            os.environ[_THREADS] = previous


def _recognise(image: Path, languages: str, seconds: float) -> str:
    """The words Tesseract is reasonably sure of, in its lines and paragraphs (run it inside
    `_one_thread`)."""
    import pytesseract

    data = pytesseract.image_to_data(
        os.fspath(image), lang=languages, config=_TESSERACT_CONFIG, timeout=seconds,
        output_type=pytesseract.Output.DICT,
    )  # fmt: skip
    paragraphs: dict[tuple[int, int], dict[int, list[str]]] = {}
    for word, conf, block, par, line in zip(
        data["text"],
        data["conf"],
        data["block_num"],
        data["par_num"],
        data["line_num"],
        strict=True,
    ):
        if word.strip() and float(conf) >= MIN_CONFIDENCE:
            paragraphs.setdefault((block, par), {}).setdefault(line, []).append(word.strip())
    return "\n\n".join(
        "\n".join(" ".join(words) for words in lines.values()) for lines in paragraphs.values()
    )


def ocr_pages(
    path: Path,
    pages: dict[int, float],
    settings: OcrSettings,
    *,
    language: str | None = None,
) -> OcrResult | None:
    """Read `pages` (page number -> longer side in points) of the PDF at `path` by OCR.

    None when Tesseract or pdftoppm is missing (see `unavailable`). `language`: the
    document's declared language (a kb code), used when Tesseract has its pack.
    """
    if unavailable(settings) is not None:
        return None
    tesseract = _find_tesseract(settings.command)
    if tesseract is None:
        return None
    import pytesseract

    languages = _languages(tesseract, settings, language)
    with open(path, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    result = OcrResult()
    todo = []
    for page, size_pt in sorted(pages.items()):
        key = _cache_key(sha, page, languages, tesseract)
        text = _cached(settings.cache, key)
        if text is None:
            todo.append((page, size_pt, key))
        else:
            result.texts[page] = text
            result.cached += 1

    def read(page: int, size_pt: float, tmp: Path) -> str | Exception | None:
        """The page's text; None when it ran out of time; the error when Tesseract could not
        read its image (no text, and nothing cached: a later run tries again)."""
        started = time.monotonic()
        try:
            image = _render(path, page, size_pt, tmp, settings.page_time_limit)
            left = settings.page_time_limit - (time.monotonic() - started)
            if image is None:
                return ""
            if left <= 0:
                return None
            text = _recognise(image, languages, left)
            image.unlink()
            return text
        except pytesseract.TesseractError as error:
            return error
        except (subprocess.TimeoutExpired, RuntimeError):  # pytesseract: "process timeout"
            return None

    # Pages are read side by side, one single-threaded Tesseract per core: the programs run
    # outside Python, so threads here are enough to keep every core busy on a long scan.
    parallel = max(1, min(len(todo), os.cpu_count() or 1))
    with (
        tempfile.TemporaryDirectory(prefix="kb-ocr-") as tmp,
        _one_thread(),
        ThreadPoolExecutor(max_workers=parallel) as pool,
    ):
        futures = [
            (page, key, pool.submit(read, page, size, Path(tmp))) for page, size, key in todo
        ]
        for page, key, future in futures:
            text = future.result()
            if text is None:
                result.timed_out.append(page)
                continue
            if isinstance(text, Exception):  # an image it cannot read
                result.texts[page] = ""
                continue
            result.texts[page] = text
            result.ran += 1
            _store(settings.cache, key, text)
    return result
