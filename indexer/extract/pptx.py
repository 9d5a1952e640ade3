"""PowerPoint decks (`.pptx`, macro-enabled `.pptm`): one block per slide, with its notes.

python-pptx reads the slides in presentation order. A slide's block is numbered as a page
(`Block.page` is the slide number: anchors `slide-N`, citations "slide N"), its heading is
the slide's title, and its text is every shape's text (text boxes, tables, grouped shapes,
SmartArt drawn as shapes), followed by the speaker notes. Macros are never run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Block, Extraction, Skipped
from .office_limits import LIBRARY_FAILURES, checked_package, with_time_limit
from .office_meta import core_properties
from .ooxml import drop_fallbacks, element_text, local
from .text import collapse_whitespace

_CELL_SEPARATOR = " · "


def _paragraphs(element: Any) -> list[str]:
    """The text of each paragraph (`a:p`) under a shape or notes element."""
    drop_fallbacks(element)
    texts = (collapse_whitespace(element_text(p)) for p in element.iter() if local(p) == "p")
    return [t for t in texts if t]


def _rows(element: Any) -> list[str]:
    """A table's rows, each as its cells' text."""
    rows = []
    for row in element.iter():
        if local(row) == "tr":
            cells = (" ".join(_paragraphs(c)) for c in row if local(c) == "tc")
            rows.append(_CELL_SEPARATOR.join(c for c in cells if c))
    return [r for r in rows if r]


def _slide_text(slide: Any, title_shape: Any) -> list[str]:
    paragraphs: list[str] = []
    for shape in slide.shapes:
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        element = shape.element
        if any(local(e) == "tbl" for e in element.iter()):
            paragraphs.extend(_rows(element))
        else:
            paragraphs.extend(_paragraphs(element))
    return paragraphs


def _notes(slide: Any) -> list[str]:
    if not slide.has_notes_slide:
        return []
    placeholder = slide.notes_slide.notes_placeholder
    return _paragraphs(placeholder.element) if placeholder is not None else []


@with_time_limit
def extract_pptx(path: Path) -> Extraction:
    """A block per slide (heading: the slide's title; text: its shapes, then its notes)."""
    from pptx import Presentation

    warnings: list[str] = []
    path = Path(path)
    with checked_package(path, "PowerPoint") as zf:
        metadata = core_properties(zf, warnings)
        try:
            slides = list(Presentation(str(path)).slides)
        except LIBRARY_FAILURES as error:
            raise Skipped(f"corrupt PowerPoint file: {type(error).__name__}: {error}") from None
    blocks: list[Block] = []
    first_title: str | None = None
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        # A title placeholder may hold a picture: its text is that of its paragraphs, if any.
        title = " ".join(_paragraphs(title_shape.element)) if title_shape is not None else ""
        first_title = first_title or title or None
        body = _slide_text(slide, title_shape)
        notes = _notes(slide)
        if notes:
            body += ["Speaker notes:", *notes]
        if title or body:
            text = "\n\n".join(body or [title])
            blocks.append(Block(text=text, heading_path=(title,) if title else (), page=number))
    if not blocks:
        raise Skipped("no text content" if slides else "no text content: no slides")
    return Extraction(
        format="pptx",
        title=metadata.get("title") or first_title,
        blocks=blocks,
        metadata=metadata,
        page_count=len(slides),
        warnings=warnings,
    )
