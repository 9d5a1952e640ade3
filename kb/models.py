"""Plain data passed between layers: documents, passages, and what a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """A citable piece of a document: a section or part of one, or part of a PDF page."""

    doc_id: str
    anchor: str
    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None
    text_hash: str = ""
    ordinal: int = 0

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.anchor}"


@dataclass(frozen=True)
class DocumentMetadata:
    """What is known about a document, whichever source it came from."""

    title: str
    type: str = "other"
    date: str | None = None  # ISO YYYY-MM-DD, or YYYY-MM / YYYY when that is all we know
    language: str = "en"
    organisations: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    author: str | None = None
    description: str | None = None
    source_url: str | None = None
    sample: bool = False
    # Who may read it (kb.access): public, members or organisation:<id>[,<id>...]. Never
    # public by default: the indexer always sets it, from the document or the corpus config.
    visibility: str = "members"
    # A document inside another one (an e-mail's attachment) names it; the container lists
    # the doc ids of its attachments. Both have the same visibility.
    part_of: str | None = None
    attachments: tuple[str, ...] = ()

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str  # relative to the corpus, with forward slashes
    format: str
    meta: DocumentMetadata
    content_hash: str
    passages: tuple[Passage, ...] = ()
    page_count: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # The documents inside this one (an e-mail's attachments), written to the index with it.
    attached: tuple[Document, ...] = ()

    @property
    def title(self) -> str:
        return self.meta.title
