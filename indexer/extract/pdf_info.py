"""What a PDF says about itself: the document info (title, author, date, language...) and
the outline, which gives every page its heading path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader

from kb.text import parse_date

from .pdf_limits import PYPDF_FAILURES, describe
from .text import collapse_whitespace, declared_language

# pypdf walks outlines recursively and some files have absurd ones; enough for any real book.
_MAX_OUTLINE_ENTRIES = 5_000
_MAX_OUTLINE_DEPTH = 32

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


def document_metadata(reader: PdfReader, warnings: list[str]) -> dict[str, Any]:
    """Title, author, description, keywords, date and language from the document info."""
    metadata: dict[str, Any] = {}
    try:
        info = reader.metadata or {}
        title = _clean_title(info.get("/Title"))
        author = _info_text(info.get("/Author"))
        subject = _info_text(info.get("/Subject"))
        keywords = _info_text(info.get("/Keywords"))
        date = parse_date(_info_text(info.get("/CreationDate")), embedded=True)
    except PYPDF_FAILURES as error:
        warnings.append(f"document info unreadable: {describe(error)}")
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
    except PYPDF_FAILURES:
        language = None
    if language:
        metadata["language"] = language
    return metadata


@dataclass(frozen=True)
class OutlineEntry:
    """One outline entry: where it starts and the titles of its ancestors and itself."""

    page_index: int  # 0-based
    order: int  # position in the outline, depth first
    path: tuple[str, ...]


def read_outline(reader: PdfReader, warnings: list[str]) -> list[OutlineEntry]:
    """Outline entries in document order, each with the titles of its ancestors.

    An entry whose destination cannot be resolved gets page -1: it names no page of its own
    but still gives its children their path.
    """
    try:
        tree = reader.outline
    except PYPDF_FAILURES as error:
        warnings.append(f"outline unreadable: {describe(error)}")
        return []
    entries: list[OutlineEntry] = []

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
            except PYPDF_FAILURES:
                page_index = None
            last = (*parents, title)
            entries.append(
                OutlineEntry(-1 if page_index is None else page_index, len(entries), last)
            )

    try:
        walk(tree, (), 0)
    except PYPDF_FAILURES as error:
        warnings.append(f"outline unreadable: {describe(error)}")
    return entries


def page_heading_paths(page_count: int, outline: list[OutlineEntry]) -> list[tuple[str, ...]]:
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
