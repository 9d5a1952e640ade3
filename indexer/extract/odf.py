"""OpenDocument text, presentations and spreadsheets (`.odt`, `.odp`, `.ods`) through odfpy.

The passage rules are those of Word, PowerPoint and Excel: headings (`text:h` and their
outline level) start sections in a text; each slide of a presentation is a block numbered as
a slide, headed by its title, with its speaker notes; each sheet of a spreadsheet is a section
headed by its name. odfpy parses the parts with defusedxml's SAX parser, external entities off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Block, Extraction, Skipped
from .office_limits import LIBRARY_FAILURES, checked_package, with_time_limit
from .office_meta import core_properties
from .sections import SectionBuilder
from .text import collapse_whitespace
from .xlsx import CELL_SEPARATOR, row_blocks

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"


def _text(node: Any) -> str:
    from odf import teletype

    return collapse_whitespace(teletype.extractText(node))


def _is(node: Any, namespace: str, name: str) -> bool:
    return getattr(node, "qname", None) == (namespace, name)


def _rows(table: Any) -> Iterator[list[str]]:
    """A table's rows as their cells' text (repeated rows and cells are read once)."""
    stack = [table]
    while stack:
        node = stack.pop()
        if _is(node, _TABLE, "table-row"):
            cells = (c for c in node.childNodes if _is(c, _TABLE, "table-cell"))
            yield [_text(c) for c in cells]
            continue
        stack.extend(reversed(getattr(node, "childNodes", [])))


def _read_text(body: Any, sections: SectionBuilder) -> None:
    """Headings, paragraphs, lists and tables of a text body, in document order."""
    stack = list(reversed(body.childNodes))
    while stack:
        node = stack.pop()
        if _is(node, _TEXT, "h"):
            level = str(node.getAttribute("outlinelevel") or "1")
            text = _text(node)
            if level.isdigit() and text:
                sections.heading(min(max(int(level), 1), 6), text)
            else:
                sections.paragraph(text)
        elif _is(node, _TEXT, "p"):
            sections.paragraph(_text(node))
        elif _is(node, _TABLE, "table"):
            for cells in _rows(node):
                sections.paragraph(CELL_SEPARATOR.join(c for c in cells if c))
        else:
            stack.extend(reversed(getattr(node, "childNodes", [])))


def _slide(page: Any) -> tuple[str, list[str]]:
    """A slide's title and its other paragraphs, speaker notes last."""
    title = ""
    body: list[str] = []
    notes: list[str] = []
    for shape in page.childNodes:
        if _is(shape, _PRESENTATION, "notes"):
            notes.extend(_paragraph_texts(shape))
        elif shape.getAttribute("class") == "title" and not title:
            title = " ".join(_paragraph_texts(shape))
        else:
            body.extend(_paragraph_texts(shape))
    if notes:
        body += ["Speaker notes:", *notes]
    return title, body


def _paragraph_texts(node: Any) -> list[str]:
    from odf import text

    texts = (_text(p) for p in node.getElementsByType(text.P))
    return [t for t in texts if t]


def _load(path: Path, label: str) -> tuple[Any, dict[str, Any], list[str]]:
    from odf.opendocument import load

    warnings: list[str] = []
    with checked_package(path, label) as zf:
        metadata = core_properties(zf, warnings)
        try:
            document = load(str(path))
        except LIBRARY_FAILURES as error:
            raise Skipped(f"corrupt {label} file: {type(error).__name__}: {error}") from None
        except Exception as error:  # the SAX parser's errors, defusedxml's refusals
            raise Skipped(f"corrupt {label} file: {type(error).__name__}: {error}") from None
    return document, metadata, warnings


def _extraction(
    format_id: str,
    blocks: list[Block],
    metadata: dict[str, Any],
    warnings: list[str],
    title: str | None,
    page_count: int | None = None,
) -> Extraction:
    if not blocks:
        raise Skipped("no text content")
    return Extraction(
        format=format_id,
        title=metadata.get("title") or title,
        blocks=blocks,
        metadata=metadata,
        page_count=page_count,
        warnings=warnings,
    )


@with_time_limit
def extract_odt(path: Path) -> Extraction:
    """Heading sections of an OpenDocument text."""
    document, metadata, warnings = _load(Path(path), "OpenDocument text")
    sections = SectionBuilder()
    _read_text(document.text, sections)
    sections.close_section()
    return _extraction("odt", sections.blocks, metadata, warnings, sections.first_h1)


@with_time_limit
def extract_odp(path: Path) -> Extraction:
    """A block per slide of an OpenDocument presentation (anchors `slide-N`)."""
    from odf import draw

    document, metadata, warnings = _load(Path(path), "OpenDocument presentation")
    pages = document.presentation.getElementsByType(draw.Page)
    blocks: list[Block] = []
    first_title = None
    for number, page in enumerate(pages, start=1):
        title, body = _slide(page)
        first_title = first_title or title or None
        if title or body:
            heading = (title,) if title else ()
            blocks.append(Block("\n\n".join(body or [title]), heading, number))
    return _extraction("odp", blocks, metadata, warnings, first_title, len(pages))


@with_time_limit
def extract_ods(path: Path) -> Extraction:
    """A section per sheet of an OpenDocument spreadsheet, headed by the sheet's name."""
    from odf import table

    document, metadata, warnings = _load(Path(path), "OpenDocument spreadsheet")
    blocks: list[Block] = []
    for sheet in document.spreadsheet.getElementsByType(table.Table):
        name = collapse_whitespace(str(sheet.getAttribute("name") or "")) or "Sheet"
        blocks.extend(row_blocks(name, _rows(sheet), warnings))
    return _extraction("ods", blocks, metadata, warnings, None)
