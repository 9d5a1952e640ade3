"""Serving a document's original file: found by doc id in the catalogue, never by a path taken
from the request, and only from inside the corpus."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kb.formats import Format, format_for_suffix, get_format, media_type
from kb.library import DocInfo
from kb.settings import Settings


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
    # Anything that a browser could run (HTML) is a download, never a page rendered from our
    # origin: originals are untrusted. A format kb does not know is a download too.
    fmt = _format_of(info, path)
    mimetype, attachment = (
        (media_type(fmt, path.suffix), fmt.as_attachment)
        if fmt
        else ("application/octet-stream", True)
    )
    return OriginalFile(path, mimetype, attachment, safe_download_name(path.name))


def _format_of(info: DocInfo, path: Path) -> Format | None:
    """The format the index recorded, else the one of the file's suffix."""
    return get_format(info.format) or format_for_suffix(path.suffix)


def format_label(info: DocInfo) -> str:
    """`PDF`, `Markdown`: what the link to the original says the file is."""
    path = Path(info.path)
    fmt = _format_of(info, path)
    return fmt.label if fmt else (path.suffix.lower().lstrip(".").upper() or "file")
