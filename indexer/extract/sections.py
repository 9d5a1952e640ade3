"""The heading stack both HTML and Markdown read their text into.

Paragraphs collect under the current heading path; a heading closes the section before it
and replaces every heading of its level or deeper. Each closed section becomes one `Block`,
from which `indexer.passages` cuts passages with anchors from the last heading's slug and
an ordinal. The first level-one heading is kept, since it is often the document's title.
"""

from __future__ import annotations

from .base import Block


class SectionBuilder:
    """Collects paragraphs under the current heading path into `blocks`."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.first_h1: str | None = None
        self._headings: list[tuple[int, str]] = []
        self._paragraphs: list[str] = []

    def paragraph(self, text: str) -> None:
        """Add a paragraph to the open section; empty text is ignored."""
        if text:
            self._paragraphs.append(text)

    def heading(self, level: int, text: str) -> None:
        """Start a section under a heading of `level` (1-6).

        A heading without text (`<h2>{{ year }}</h2>` once the template tag is gone) is
        ignored, so its paragraphs stay in the section before it.
        """
        if not text:
            return
        self.close_section()
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, text))

    def close_section(self) -> None:
        """Turn the paragraphs collected so far into a block under the current path."""
        if self._paragraphs:
            path = tuple(text for _, text in self._headings)
            self.blocks.append(Block(text="\n\n".join(self._paragraphs), heading_path=path))
        self._paragraphs = []
