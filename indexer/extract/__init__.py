"""Format extractors: one file in, an `Extraction` (or `Skipped` / `Failed`) out.

`extract_file` is the only entry point the indexer needs; it checks what every format shares
(type, size, emptiness, binary content) and hands the bytes to the format's extractor.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kb.formats import FORMATS, format_for_suffix, supported_suffixes

from .base import Block, Extraction, ExtractionProblem, Failed, Skipped
from .limits import FileLimits, check_size
from .text import decode_text, extract_text


def _load(extractor: str) -> Callable[..., Extraction]:
    """The function a `kb.formats.Format` names as "module:function", imported now.

    Each format's extractor is imported when first needed: bs4 and pypdf cost a few hundred
    milliseconds to import, which a run that only touched one Markdown file should not pay.
    """
    module, _, function = extractor.partition(":")
    return getattr(importlib.import_module(module), function)


class _Deferred(types.ModuleType):
    """Stands in `sys.modules` for a module that is imported when one of its attributes is
    first used (importing the name alone does not load it)."""

    def __getattr__(self, attr: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            sys.modules.pop(self.__name__, None)
        return getattr(importlib.import_module(self.__name__), attr)


def _defer_import(name: str) -> None:
    """Import module `name` when it is first used rather than when something imports it.

    bs4 imports soupsieve (CSS selectors) at its own import, and soupsieve compiles its
    grammar then: 30 to 70 ms, a tenth of a `kb index` run that changed a few files. No
    extractor selects with CSS, so soupsieve now loads only if something does."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = _Deferred(name)


_defer_import("soupsieve")  # before any extractor imports bs4


def __getattr__(name: str) -> Any:
    for fmt in FORMATS:
        if fmt.extractor.endswith(":" + name):
            return _load(fmt.extractor)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "Block",
    "Extraction",
    "ExtractionProblem",
    "Failed",
    "Skipped",
    "extract_file",
    "extract_html",
    "extract_markdown",
    "extract_options",
    "extract_pdf",
    "extract_text",
]

# File suffix (lower case) -> format id.
SUPPORTED_SUFFIXES: dict[str, str] = supported_suffixes()
DEFAULT_MAX_BYTES = FileLimits.max_bytes


def extract_options(corpus: Path, index: Path | None) -> dict[str, dict[str, Any]]:
    """The extractors' options for a corpus and its index folder (`extract_file`'s
    `options`): OCR's settings from kb.toml `[ocr]`, its cache under the index folder."""
    from .ocr import load_ocr_settings

    return {"pdf": {"ocr": load_ocr_settings(corpus, index)}}


def extract_file(
    path: Path,
    *,
    time_limit: float = 30.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Extraction:
    """Extract text and structure from one corpus file, dispatching on its extension.

    Raises `Skipped` for files deliberately not indexed (unsupported type, empty, too large:
    `TooLarge`, binary, redirect stub, encrypted, no text) and `Failed` for files that should
    have been indexable but could not be read. `time_limit` (CPU seconds) bounds what the PDF
    extractor does between its own checks; the indexer runs every format under
    `indexer.extract.limits.cpu_time_limit` as well. `options`: keyword arguments for the
    extractor of a format that reads a path, by format id (`{"pdf": {"ocr": OcrSettings(...)}}`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = format_for_suffix(suffix)
    if fmt is None:
        raise Skipped(f"unsupported file type: {suffix or '(no extension)'}")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise Failed(f"cannot read file: {error.strerror or error}") from error
    if size == 0:
        raise Skipped("empty file")
    check_size(size, max_bytes)

    extractor = _load(fmt.extractor)
    if fmt.reads == "path":
        return extractor(path, time_limit=time_limit, **(options or {}).get(fmt.id, {}))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise Failed(f"cannot read file: {error.strerror or error}") from error
    if fmt.reads == "bytes":
        return extractor(data, path)  # it sniffs the charset itself
    return extractor(decode_text(data), path)
