"""Format extractors: one file in, an `Extraction` (or `Skipped` / `Failed`) out.

`extract_file` is the only entry point the indexer needs; it checks what every format shares
(type, size, emptiness, binary content) and hands the bytes to the format's extractor.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .base import Block, Extraction, ExtractionProblem, Failed, Skipped
from .text import decode_text, extract_text

# Each format's extractor is imported when first needed: bs4 and pypdf cost a few hundred
# milliseconds to import, which a run that only touched one Markdown file should not pay.
_LAZY = {"extract_html": ".html", "extract_markdown": ".markdown", "extract_pdf": ".pdf"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
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
    "extract_pdf",
    "extract_text",
]

# File suffix (lower case) -> format name.
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
}

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def extract_file(
    path: Path, *, time_limit: float = 30.0, max_bytes: int = DEFAULT_MAX_BYTES
) -> Extraction:
    """Extract text and structure from one corpus file, dispatching on its extension.

    Raises `Skipped` for files deliberately not indexed (unsupported type, empty, too large,
    binary, redirect stub, encrypted, no text) and `Failed` for files that should have been
    indexable but could not be read. `time_limit` (seconds) bounds PDF extraction.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    kind = SUPPORTED_SUFFIXES.get(suffix)
    if kind is None:
        raise Skipped(f"unsupported file type: {suffix or '(no extension)'}")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise Failed(f"cannot read file: {error.strerror or error}") from error
    if size == 0:
        raise Skipped("empty file")
    if size > max_bytes:
        raise Skipped(f"file too large: {_megabytes(size)} (limit {_megabytes(max_bytes)})")

    if kind == "pdf":
        from .pdf import extract_pdf

        return extract_pdf(path, time_limit=time_limit)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise Failed(f"cannot read file: {error.strerror or error}") from error
    if kind == "html":
        from .html import extract_html

        return extract_html(data, path)  # it sniffs the charset itself
    text = decode_text(data)
    if kind == "markdown":
        from .markdown import extract_markdown

        return extract_markdown(text, path)
    return extract_text(text, path)
