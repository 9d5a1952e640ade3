"""Citations of documents and passages, written out by the formats of `kb.citeformats`.

A citation names the author, the publisher, the year, the title, the type, the section and
(for PDFs) the page or (for decks) the slide, and a permalink to the passage that carries the
passage's content hash, so a reader who follows it later is told when the passage has changed
since it was cited.

BibTeX keys are derived from the author, year, first significant title word and a short hash
of the doc id, so they are stable across runs and do not change when other documents arrive.

Authors come only from a document's explicit metadata (front matter or sidecar `author`, the
HTML, PDF or Office author fields). A document without one is authored by the corpus's
publisher (`[citation] publisher` in kb.toml, kb.vocabulary.load_publisher), as an
organisation authors what it publishes under its own name; without a publisher, by nobody,
and each format applies its no-author rule. Organisations a document concerns (`kb add --org`) or mentions stay in its
`organisations` facet: they are not who wrote it. The fields are CSL-shaped (an author list
and a publisher), so a CSL processor can take them as they are.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from kb.doctypes import TYPE_LABELS
from kb.documents import load_document, permalink
from kb.errors import NotFound
from kb.formats import page_unit
from kb.text import fold
from kb.view import View, checked

SECTION_SEP = " › "

# Words skipped when choosing the title word of a BibTeX key (folded, in the corpus languages).
_STOPWORDS_TEXT = """
a an the of on in and or for to how what why with your our is are from by at about
sa kan och i av med om en ett den det till pa som att hur vad
og et til skal hva er ja
"""
_KEY_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class Citation:
    """Everything a citation format needs, computed once from the catalogue and the passage."""

    doc_id: str
    anchor: str | None
    passage_id: str | None
    title: str
    # Who the citation names as author: the document's own authors, else the publisher as a
    # corporate author, else nobody (the formats' no-author rules apply).
    authors: tuple[str, ...]
    date: str | None
    year: int | None
    type: str
    type_label: str
    section: str | None
    page: int | None
    permalink: str
    text_hash: str | None
    accessed: str
    language: str
    source_url: str | None
    key: str
    publisher: str | None = None  # the corpus's publisher (kb.toml), for every document
    # What `page` counts: "page" (PDF) or "slide" (a deck), from the document's format.
    page_unit: str = "page"

    @property
    def author(self) -> str | None:
        """The author position's text: the authors joined, or None when there is none."""
        return "; ".join(self.authors) or None

    @property
    def locator(self) -> str | None:
        """`p. 3` for a PDF page, `slide 3` for a slide, None for a passage without one."""
        if self.page is None:
            return None
        return f"slide {self.page}" if self.page_unit == "slide" else f"p. {self.page}"


def parse_ref(ref: str) -> tuple[str, str | None]:
    """`doc/id#anchor` -> ("doc/id", "anchor"); also accepts a pasted permalink.

    `http://host/doc/meetings/x?v=abc#anchor` -> ("meetings/x", "anchor").
    """
    ref = ref.strip()
    if "://" in ref:
        try:
            parts = urlsplit(ref)
        except ValueError:  # e.g. "http://[" (an unclosed IPv6 host): not a permalink
            doc_id, _, anchor = ref.partition("#")
            return doc_id.strip().strip("/"), anchor.strip() or None
        path = unquote(parts.path)
        doc_id = path.split("/doc/", 1)[1] if "/doc/" in path else path
        return doc_id.strip("/"), unquote(parts.fragment) or None
    doc_id, _, anchor = ref.partition("#")
    return doc_id.strip().strip("/"), anchor.strip() or None


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def citation_key(doc_id: str, author: str | None, year: int | None, title: str) -> str:
    """`alfc2024forum-5b28a1`: author initials, year, first significant title word, and a hash
    of the doc id, which keeps the key unique and independent of the rest of the corpus."""
    author_words = _words(author or "")
    if len(author_words) > 1:
        who = "".join(w[0] for w in author_words)[:8]
    else:
        who = author_words[0][:12] if author_words else "kb"
    title_words = _words(title)
    word = next((w for w in title_words if w not in _KEY_STOPWORDS and not w.isdigit()), None)
    word = (word or (title_words[0] if title_words else "doc"))[:12]
    return f"{who}{year if year else 'nd'}{word}-{_short_hash(doc_id)}"


def _passage_key(doc_key: str, anchor: str) -> str:
    if len(anchor) <= 20 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", anchor):
        return f"{doc_key}-{anchor}"
    slug = "-".join(_words(anchor))[:12].strip("-") or "p"
    return f"{doc_key}-{slug}-{_short_hash(anchor)}"


def cite(
    view: View,
    doc_id: str,
    anchor: str | None,
    base_url: str,
    accessed: datetime.date | None = None,
) -> Citation:
    """The citation of a document the reader may see, or of one of its passages when `anchor`
    is given; NotFound for any other document, exactly as for a missing one."""
    info = checked(view).catalogue.get(doc_id)
    if info is None:
        raise NotFound(f"no document with id '{doc_id}'")
    meta = info.meta
    passage = None
    if anchor:
        passage = load_document(view, doc_id).passage(anchor)
        if passage is None:
            raise NotFound(f"no passage #{anchor} in {doc_id}")
    publisher = view.vocabulary.publisher
    authors = citation_authors(meta.author, publisher)
    title = " ".join(meta.title.split()) or doc_id
    key = citation_key(doc_id, "; ".join(authors), meta.year, title)
    text_hash = (passage.text_hash or None) if passage else None
    return Citation(
        doc_id=doc_id,
        anchor=anchor if passage else None,
        passage_id=passage.passage_id if passage else None,
        title=title,
        authors=authors,
        date=meta.date,
        year=meta.year,
        type=meta.type,
        type_label=TYPE_LABELS.get(meta.type, meta.type.capitalize()),
        section=_section(passage.heading_path) if passage else None,
        page=passage.page if passage else None,
        permalink=permalink(base_url, doc_id, anchor if passage else None, text_hash),
        text_hash=text_hash,
        accessed=(accessed or datetime.date.today()).isoformat(),
        language=meta.language,
        source_url=meta.source_url,
        key=_passage_key(key, passage.anchor) if passage else key,
        publisher=publisher,
        page_unit=page_unit(info.format),
    )


def citation_authors(author: str | None, publisher: str | None) -> tuple[str, ...]:
    """The document's own author when its metadata names one, else the publisher as the
    corporate author, else none. Never an organisation the document concerns or mentions."""
    own = " ".join((author or "").split())
    if own:
        return (own,)
    return (publisher,) if publisher else ()


def _section(heading_path: tuple[str, ...]) -> str | None:
    headings = [" ".join(h.split()) for h in heading_path if h.strip()]
    return SECTION_SEP.join(headings) or None
