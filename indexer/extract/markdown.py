"""Markdown and MDX: front matter into metadata, headings into sections, markup into plain text.

This is not a full CommonMark parser and does not try to be: the goal is searchable prose
with correct heading paths. The input goes through three stages:

1. split off the front matter (`frontmatter`);
2. split the body into prose and fenced code (`fences`);
3. clean the prose (`markup`), then read it line by line here into headings and
   paragraphs, stripping inline markup from each paragraph.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Extraction, Skipped
from .fences import segments
from .frontmatter import front_matter_metadata, split_front_matter
from .markup import clean_inline, clean_prose, table_cells
from .sections import SectionBuilder
from .text import MAX_TITLE_CHARS, collapse_whitespace

_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM_RE = re.compile(r"^\s*(?:([-*+])|(\d{1,9}[.)]))\s+(.*)$")
_TASK_BOX_RE = re.compile(r"^\[[ xX]\]\s+")
_BLOCKQUOTE_RE = re.compile(r"^\s*(?:>\s?)+")
_TABLE_DELIMITER_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*\S+.*$")
_FOOTNOTE_DEFINITION_RE = re.compile(r"^ {0,3}\[\^[^\]]+\]:\s*")
_MYST_TARGET_RE = re.compile(r"^\([\w.-]+\)=\s*$")
_HEADING_ID_RE = re.compile(r"\s*\{#[\w.:-]+\}\s*$")


def _read_prose(lines: list[str], sections: SectionBuilder, spans: list[str]) -> None:
    pending: list[str] = []  # lines of the paragraph being read
    table = False

    def flush() -> None:
        nonlocal table
        if pending:
            if table:
                rows = (clean_inline(table_cells(row), spans) for row in pending)
                sections.paragraph("\n".join(row for row in rows if row))
            else:
                sections.paragraph(clean_inline(" ".join(pending), spans))
        pending.clear()
        table = False

    for raw in lines:
        line = _BLOCKQUOTE_RE.sub("", raw) if raw.lstrip().startswith(">") else raw
        if not line.strip():
            flush()
            continue
        heading = _ATX_HEADING_RE.match(line)
        if heading:
            flush()
            text = _HEADING_ID_RE.sub("", heading.group(2) or "")
            sections.heading(len(heading.group(1)), clean_inline(text, spans))
            continue
        if pending and not table and _SETEXT_RE.match(line) and not _LIST_ITEM_RE.match(pending[0]):
            text = clean_inline(" ".join(pending), spans)
            pending.clear()
            sections.heading(1 if line.strip()[0] == "=" else 2, text)
            continue
        if _THEMATIC_BREAK_RE.match(line) or _MYST_TARGET_RE.match(line):
            flush()
            continue
        if _LINK_DEFINITION_RE.match(line):
            continue
        line = _FOOTNOTE_DEFINITION_RE.sub("", line)
        if _TABLE_DELIMITER_RE.match(line) and "-" in line:
            # The row before the delimiter was the table header.
            if not table:
                header = pending[-1:] if pending and "|" in pending[-1] else []
                if header:
                    pending.pop()
                flush()
                pending.extend(header)
                table = True
            continue
        if line.lstrip().startswith("|"):
            if not table:
                flush()
                table = True
            pending.append(line)
            continue
        if table and "|" in line:
            pending.append(line)
            continue
        item = _LIST_ITEM_RE.match(line)
        if item:
            flush()
            text = _TASK_BOX_RE.sub("", item.group(3))
            pending.append(f"{item.group(2)} {text}" if item.group(2) else text)
            continue
        if table:
            flush()
        pending.append(line.strip())
    flush()


def _title_like_first_line(cleaned: str) -> str | None:
    """A short first line standing alone before a blank line reads as an unmarked title."""
    lines = [line.strip() for line in cleaned.split("\n")]
    for index, line in enumerate(lines):
        if not line:
            continue
        followed_by_blank = index + 1 < len(lines) and not lines[index + 1]
        if (
            followed_by_blank
            and len(line) < MAX_TITLE_CHARS
            and line[-1] not in ".,;:!?)"
            and not line.startswith(("#", "|", ">"))
            and not _LIST_ITEM_RE.match(line)
        ):
            return line
        return None
    return None


def extract_markdown(text: str, path: Path | None = None) -> Extraction:
    """Sections, title and front-matter metadata of a Markdown or MDX document."""
    warnings: list[str] = []
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    front, body = split_front_matter(text, warnings)
    metadata = front_matter_metadata(front, warnings)

    spans: list[str] = []
    sections = SectionBuilder()
    fallback_title: str | None = None
    for index, segment in enumerate(segments(body)):
        if segment.kind == "code":
            # Code stays searchable, as one paragraph (no blank lines inside).
            sections.paragraph("\n".join(line.rstrip() for line in segment.lines if line.strip()))
            continue
        cleaned = clean_prose("\n".join(segment.lines), spans)
        if index == 0:
            fallback_title = _title_like_first_line(cleaned)
        _read_prose(cleaned.split("\n"), sections, spans)
    sections.close_section()

    title = metadata.get("title") if isinstance(metadata.get("title"), str) else None
    title = collapse_whitespace(title) if title else None
    if not title:
        title = sections.first_h1
    if not title and fallback_title:
        title = clean_inline(fallback_title, spans)
    if not sections.blocks:
        raise Skipped("no text content")
    return Extraction(
        format="markdown",
        title=title or None,
        blocks=sections.blocks,
        metadata=metadata,
        warnings=warnings,
    )
