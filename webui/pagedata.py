"""The data of each page, built by one function per page: the HTML route (`webui.pages`)
renders it through its template, its JSON twin under /api (`webui.api`) serializes it, so the
two always show the same thing. A search page's data is kb's own `SearchResult`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from kb import readinglists
from kb.cite import Citation, cite, parse_ref
from kb.citeformats import CITE_FORMATS, CiteFormat, cite_format, file_name, render
from kb.citestyles import DEFAULT_STYLE, CiteStyle, cite_style
from kb.doctypes import DOC_TYPES
from kb.documents import DocumentView, load_document
from kb.errors import InvalidReadingList, NotFound
from kb.library import DocInfo
from kb.readinglists import ListProblem, ReadingList, ResolvedList
from kb.vocabulary import Vocabulary
from webui import errors
from webui.auth import current_principal
from webui.context import reader_view, searcher, settings

LATEST_SHOWN = 6
TOPICS_SHOWN = 12


@dataclass(frozen=True)
class HomeData:
    """Counts, the latest documents, the topics most written about, and the reading lists."""

    documents: int
    passages: int
    counts: list[tuple[str, int]]  # (type, documents), in the order of DOC_TYPES
    topics: list[tuple[str, str, int]]  # (topic id, name, documents), most documents first
    latest: list[DocInfo]
    lists: list[ReadingList]
    vocab: Vocabulary


def home_data() -> HomeData:
    """What the home page shows (and `/api/` returns), of what the reader may see."""
    view = reader_view()
    docs = list(view.catalogue.values())
    by_type = Counter(d.meta.type for d in docs)
    topics = Counter(t for d in docs for t in d.meta.topics)
    latest = sorted(docs, key=lambda d: (d.meta.date or "", d.doc_id), reverse=True)
    lists, _problems = readinglists.readable_lists(settings().corpus, view)
    names = view.vocabulary
    return HomeData(
        documents=len(docs),
        passages=view.passage_count,
        counts=[(t, by_type[t]) for t in DOC_TYPES if by_type[t]],
        topics=[(t, names.topic_name(t), n) for t, n in topics.most_common(TOPICS_SHOWN)],
        latest=latest[:LATEST_SHOWN],
        lists=lists,
        vocab=names,
    )


@dataclass(frozen=True)
class DocumentData:
    """A document with all its passages, and the documents related to it."""

    view: DocumentView
    related: list[tuple[DocInfo, float]]
    vocab: Vocabulary
    # The message an attachment belongs to, and a message's attachments: those the reader
    # may see (always all of them: an attachment has its message's visibility).
    container: DocInfo | None = None
    attachments: tuple[DocInfo, ...] = ()


def document_data(doc_id: str) -> DocumentData:
    """What the document page shows (and `/api/doc/<doc_id>` returns); NotFound for an
    unknown id or a document the reader may not see."""
    view = reader_view()
    document = load_document(view, doc_id)
    meta, catalogue = document.doc.meta, view.catalogue
    return DocumentData(
        document,
        searcher().related(doc_id),
        view.vocabulary,
        container=catalogue.get(meta.part_of) if meta.part_of else None,
        attachments=tuple(catalogue[i] for i in meta.attachments if i in catalogue),
    )


@dataclass(frozen=True)
class RenderedCitation:
    """A citation in one format, with what a download of it needs."""

    entry: CiteFormat
    file_name: str
    text: str


@dataclass(frozen=True)
class CitationData:
    """A citation of a document or one of its passages, its text and Markdown formats in one
    citation style; the formats are rendered on first use (a download needs one only)."""

    citation: Citation
    doc: DocInfo
    style: CiteStyle
    locale: str | None = None  # the CSL locale of the style's own words (None: its English)

    def rendered(self, format_id: str) -> RenderedCitation:
        """The citation in one format; ValueError for an unknown format id."""
        entry = cite_format(format_id)
        return RenderedCitation(
            entry,
            file_name(self.citation, entry.id),
            render(self.citation, entry.id, self.style.id, locale=self.locale),
        )

    @cached_property
    def formats(self) -> tuple[RenderedCitation, ...]:
        """Every format, in the order of the cite menu."""
        return tuple(self.rendered(entry.id) for entry in CITE_FORMATS)


def citation_data(
    doc_id: str, anchor: str | None, style: str = DEFAULT_STYLE, locale: str | None = None
) -> CitationData:
    """What the citation page shows (and `/api/cite/<doc_id>` returns); NotFound for an unknown
    document (or one the reader may not see) or anchor, UnknownStyle for an unknown style.
    With `locale` (`sv-SE`), the style writes its own words ("Hämtad", "s.") in that language;
    the document's title and text stay as written."""
    entry = cite_style(style)
    view = reader_view()
    citation = cite(view, doc_id, anchor, settings().base_url)
    return CitationData(citation, view.catalogue[doc_id], entry, locale)


@dataclass(frozen=True)
class ListsData:
    """The reading lists, and the problems found in their files."""

    lists: list[ReadingList]
    problems: list[ListProblem]


def _hidden(view, doc_id: str) -> bool:
    """Whether `doc_id` is a document the view's reader may not read (not: a missing one)."""
    return doc_id in view.snap.catalogue and doc_id not in view.catalogue


def lists_data() -> ListsData:
    """What the reading-lists page shows (and `/api/lists` returns): each list as the reader
    sees it (items naming documents they may not read are left out, and so are the problems
    found in such items: a problem names its item's ref)."""
    view = reader_view()
    lists, problems = readinglists.readable_lists(settings().corpus, view)
    shown = [p for p in problems if not p.ref or not _hidden(view, parse_ref(p.ref)[0])]
    return ListsData(lists, shown)


def list_data(slug: str) -> ResolvedList:
    """One reading list with its items resolved (the list's page and `/api/lists/<slug>`);
    NotFound for an unknown slug."""
    library = searcher().library
    library.snapshot()  # without an index, every page is unavailable (503), this one too
    try:
        return readinglists.open_reading_list(settings().corpus, slug, library, current_principal())
    except InvalidReadingList as exc:
        # A list that cannot be read is no list: it answers as a missing one does, and only
        # coordinators are told what is wrong with its file.
        errors.note_for_coordinators(str(exc))
        raise NotFound(f"no reading list '{slug}'") from None
