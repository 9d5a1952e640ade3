"""What the document page shows: passages as headed, highlighted blocks, a table of contents,
and the notices a permalink or a search may call for. Plain data for the template."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup

from kb.documents import DocumentView
from kb.formats import page_unit as format_page_unit
from kb.highlight import HighlightTerms, mark_all
from kb.library import DocInfo
from kb.models import Passage
from kb.text import fold
from webui.i18n import page_unit

WORDS_PER_MINUTE = 220
MAX_HEADING_LEVEL = 4


@dataclass(frozen=True)
class Block:
    """A paragraph ("p") or a bulleted list ("ul") of escaped, highlighted HTML."""

    kind: str
    parts: tuple[Markup, ...]


@dataclass(frozen=True)
class PassageView:
    passage: Passage
    heading: str | None  # shown above the passage when the section changes
    level: int  # its heading level, 2..4, never skipping one
    new_page: bool  # a PDF page or a slide starts here
    blocks: tuple[Block, ...]
    matches: int
    cited: bool  # the passage a permalink's ?v= names


@dataclass(frozen=True)
class ContentsEntry:
    anchor: str
    label: str
    level: int


@dataclass(frozen=True)
class DocumentPage:
    doc: DocInfo
    passages: tuple[PassageView, ...]
    contents: tuple[ContentsEntry, ...]
    matches: int
    minutes: int
    q: str
    version: str  # the ?v= of a permalink, or ""
    version_changed: bool  # ?v= names no passage of the document as it is now

    @property
    def paged(self) -> bool:
        """The text is shown page by page (a PDF) or slide by slide (a deck)."""
        return _paged(self.doc)

    @property
    def unit(self) -> str:
        """What `Passage.page` counts, for labels: "Page" or "Slide"."""
        return _unit(self.doc)


def _unit(doc: DocInfo) -> str:
    return format_page_unit(doc.format).capitalize()


def _paged(doc: DocInfo) -> bool:
    return doc.format == "pdf" or _unit(doc) == "Slide"


def text_blocks(html: str) -> tuple[Block, ...]:
    """Paragraphs split on blank lines; consecutive "- " paragraphs become one list.

    `html` is kb's escaped, highlighted text, so every part stays safe markup.
    """
    blocks: list[Block] = []
    items: list[Markup] = []
    for para in html.split("\n\n"):
        para = para.strip()
        if not para:
            continue
        if para.startswith(("- ", "• ", "* ")):
            items.append(Markup(para[2:].strip()))
            continue
        if items:
            blocks.append(Block("ul", tuple(items)))
            items = []
        blocks.append(Block("p", (Markup(para),)))
    if items:
        blocks.append(Block("ul", tuple(items)))
    return tuple(blocks)


def _title_heading(view: DocumentView) -> str | None:
    """The heading that stands for the document's title, if there is one: a first heading equal
    to the title, or one top-level heading above every passage (a Markdown `# Title`)."""
    firsts = {p.heading_path[0] if p.heading_path else None for p in view.passages}
    if len(firsts) == 1 and None not in firsts:
        return firsts.pop()
    for first in firsts:
        if first and fold(first).strip() == fold(view.doc.title).strip():
            return first
    return None


def _section_path(passage: Passage, title_heading: str | None) -> tuple[str, ...]:
    """The heading path below the document's title."""
    path = passage.heading_path
    if path and title_heading is not None and path[0] == title_heading:
        path = path[1:]
    return path


def build_document_page(
    view: DocumentView, terms: HighlightTerms, q: str = "", version: str = ""
) -> DocumentPage:
    doc = view.doc
    language = doc.meta.language
    paged, unit = _paged(doc), _unit(doc)
    passages: list[PassageView] = []
    contents: list[ContentsEntry] = []
    previous_path: tuple[str, ...] = ()
    previous_page: int | None = None
    last_level = 1
    title_heading = _title_heading(view)
    total_matches = 0
    words = 0
    for p in view.passages:
        html, matches = mark_all(p.text, terms, language)
        total_matches += matches
        words += len(p.text.split())
        heading, level = None, last_level
        new_page = paged and p.page is not None and p.page != previous_page
        if paged:
            if new_page:
                level = 2
                label = f"{page_unit(unit)} {p.page}"
                if unit == "Slide" and p.heading_path:  # a slide is known by its title
                    label = f"{label}: {p.heading_path[-1]}"
                contents.append(ContentsEntry(p.anchor, label, 2))
        else:
            path = _section_path(p, title_heading)
            if path and path != previous_path:
                heading = path[-1]
                level = min(len(path) + 1, last_level + 1, MAX_HEADING_LEVEL)
                last_level = level
                if level <= 3:
                    contents.append(ContentsEntry(p.anchor, heading, level))
            previous_path = path
        previous_page = p.page
        passages.append(
            PassageView(
                passage=p,
                heading=heading,
                level=max(level, 2),
                new_page=new_page,
                blocks=text_blocks(html),
                matches=matches,
                cited=bool(version) and p.text_hash == version,
            )
        )
    changed = bool(version) and not any(pv.cited for pv in passages)
    return DocumentPage(
        doc=doc,
        passages=tuple(passages),
        contents=tuple(contents) if len(contents) >= 3 else (),
        matches=total_matches,
        minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        q=q,
        version=version,
        version_changed=changed,
    )
