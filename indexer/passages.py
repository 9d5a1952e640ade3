"""Cut a document's blocks into passages of bounded length with stable anchors.

Anchors come from the section's heading (or the PDF page) plus an ordinal, so re-indexing an
unchanged file gives the same anchors, and editing one section leaves the others' alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from indexer.extract.base import Block
from kb.models import Passage
from kb.text import fold

MAX_CHARS = 1200
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+")
_WINDOW = 1 << 20  # characters normalised at a time (see _one_line)
_SPACE = re.compile(r"\s")


def slugify(text: str, max_len: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    return slug[:max_len].rstrip("-") or "section"


def text_hash(text: str) -> str:
    """Short content hash of a passage, ignoring whitespace differences."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


def _pieces(paragraph: str, limit: int) -> Iterable[str]:
    """A paragraph longer than `limit` is cut at sentence ends, then at spaces.

    A long sentence is walked with indices rather than re-sliced after each cut: slicing the
    rest copies it, which made a megabytes-long sentence (a text file without full stops)
    quadratic in its length.
    """
    if len(paragraph) <= limit:
        yield paragraph
        return
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        start, end = 0, len(sentence)  # the rest of the sentence is sentence[start:end]
        while end - start > limit:
            space = sentence.rfind(" ", start, start + limit)
            cut = space - start if space > start + limit // 2 else limit
            if current:
                yield current
                current = ""
            yield sentence[start : start + cut].strip()
            start += cut
            while start < end and sentence[start].isspace():
                start += 1
            while end > start and sentence[end - 1].isspace():
                end -= 1
        if start or end < len(sentence):
            sentence = sentence[start:end]
        if current and len(current) + 1 + len(sentence) > limit:
            yield current
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        yield current


def _one_line(paragraph: str) -> str:
    """The paragraph's words separated by single spaces, as `" ".join(paragraph.split())`.

    A megabytes-long paragraph is done a window at a time, each ending at a space: splitting
    it whole makes an object per word, eight million of them (half a gigabyte) for a 50 MB
    text without blank lines.
    """
    if len(paragraph) <= _WINDOW:
        return " ".join(paragraph.split())
    parts = []
    start = 0
    while start < len(paragraph):
        space = _SPACE.search(paragraph, start + _WINDOW)
        end = space.start() if space else len(paragraph)
        part = " ".join(paragraph[start:end].split())
        if part:
            parts.append(part)
        start = end
    return " ".join(parts)


def chunk(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Pack paragraphs into chunks of at most `limit` characters, breaking between them."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for para in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not para:
            continue
        for piece in _pieces(_one_line(para), limit):
            if current and size + 2 + len(piece) > limit:
                chunks.append("\n\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 2
    if current:
        chunks.append("\n\n".join(current))
    return chunks


# The anchor of a numbered block: `p3` for a PDF's page 3, `slide-3` for a deck's slide 3.
_PAGE_ANCHORS = {"page": "p{}", "slide": "slide-{}"}


def split_passages(
    doc_id: str,
    blocks: Iterable[Block],
    limit: int = MAX_CHARS,
    title: str | None = None,
    page_unit: str = "page",
) -> list[Passage]:
    """Group consecutive blocks of the same section (and page), then chunk each section.

    `page_unit` says what `Block.page` numbers (the format's `page_unit`): it names anchors.

    A top-level heading that repeats the document's `title` is dropped from heading paths:
    every passage would otherwise start its path with the title the reader already sees.
    """
    sections: list[tuple[tuple[str, ...], int | None, list[str]]] = []
    folded_title = " ".join(fold(title).split()) if title else None
    for block in blocks:
        if not block.text.strip():
            continue
        path = block.heading_path
        if folded_title and path and " ".join(fold(path[0]).split()) == folded_title:
            path = path[1:]
        if sections and sections[-1][0] == path and sections[-1][1] == block.page:
            sections[-1][2].append(block.text)
        else:
            sections.append((path, block.page, [block.text]))

    passages: list[Passage] = []
    used_bases: dict[str, int] = {}
    for heading_path, page, texts in sections:
        if page is not None:
            base = _PAGE_ANCHORS[page_unit].format(page)
        else:
            base = slugify(heading_path[-1]) if heading_path else "top"
        seen = used_bases.get(base, 0)
        used_bases[base] = seen + 1
        if seen:  # a second section with the same heading
            base = f"{base}--{seen + 1}"
        for i, text in enumerate(chunk("\n\n".join(texts), limit)):
            anchor = base if i == 0 else f"{base}-{i + 1}"
            passages.append(
                Passage(
                    doc_id=doc_id,
                    anchor=anchor,
                    text=text,
                    heading_path=heading_path,
                    page=page,
                    text_hash=text_hash(text),
                    ordinal=len(passages),
                )
            )
    return passages
