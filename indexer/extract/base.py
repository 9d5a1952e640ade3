"""The structure every format extractor returns, and how it reports a file it cannot use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Block:
    """A run of text under one heading path (and, for PDFs, on one page)."""

    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None


@dataclass
class Extraction:
    """What an extractor found in one file, before metadata is merged and passages are cut.

    `metadata` holds what the file itself declares (front matter, HTML meta tags, PDF info):
    keys among title, date (ISO `YYYY-MM-DD`; front matter may also give `YYYY-MM` or
    `YYYY`), language (one of kb's codes, or the tag as written when it names none, so that
    it can be reported), author, description, type, organisations, topics, source_url,
    keywords, sample. Inference happens later.
    """

    format: str  # the id of its kb.formats.Format: "markdown", "html", "pdf", "text"
    title: str | None
    blocks: list[Block]
    metadata: dict[str, Any] = field(default_factory=dict)
    page_count: int | None = None
    warnings: list[str] = field(default_factory=list)
    # Files inside this one that are documents of their own (an e-mail's attachments): each
    # with its file name, indexed beside it and linked to it.
    attachments: list[tuple[str, Extraction]] = field(default_factory=list)


class ExtractionProblem(Exception):
    """Base for a file that ends up not indexed; `reason` is shown to coordinators as-is."""

    status = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Skipped(ExtractionProblem):
    """The file is deliberately not indexed (redirect stub, encrypted, binary, no text)."""

    status = "skipped"


class Failed(ExtractionProblem):
    """The file should have been indexable but could not be read (parse error, time limit)."""

    status = "failed"
