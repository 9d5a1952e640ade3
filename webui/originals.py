"""Serving a document's original file: found by doc id in the catalogue, never by a path taken
from the request, and only from inside the corpus."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.library import DocInfo
from kb.settings import Settings

# How each format is sent. Anything that a browser could run (HTML) is a download or plain text,
# never a page rendered from our origin: originals are untrusted.
MEDIA = {
    "pdf": ("application/pdf", False),
    "markdown": ("text/plain", False),
    "md": ("text/plain", False),
    "mdx": ("text/plain", False),
    "text": ("text/plain", False),
    "txt": ("text/plain", False),
    "html": ("text/html", True),
    "htm": ("text/html", True),
}
FORMAT_LABELS = {"pdf": "PDF", "html": "HTML", "htm": "HTML", "md": "Markdown",
                 "mdx": "Markdown", "markdown": "Markdown", "txt": "text", "text": "text"}  # fmt: skip


@dataclass(frozen=True)
class OriginalFile:
    path: Path
    mimetype: str
    as_attachment: bool
    download_name: str


def safe_download_name(name: str) -> str:
    """A file name with nothing a header or a file system could misread."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "document"
    return stem[:120]


def original_file(settings: Settings, info: DocInfo) -> OriginalFile | None:
    """The original file of a catalogued document, if it is still inside the corpus."""
    relative = info.path
    if not relative or "\x00" in relative or Path(relative).is_absolute():
        return None
    corpus = settings.corpus.resolve()
    try:
        path = (corpus / relative).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(corpus) or not path.is_file():
        return None
    suffix = path.suffix.lower().lstrip(".")
    mimetype, attachment = MEDIA.get(
        info.format, MEDIA.get(suffix, ("application/octet-stream", True))
    )
    return OriginalFile(path, mimetype, attachment, safe_download_name(path.name))


def format_label(info: DocInfo) -> str:
    suffix = Path(info.path).suffix.lower().lstrip(".")
    return FORMAT_LABELS.get(info.format, FORMAT_LABELS.get(suffix, suffix.upper() or "file"))
