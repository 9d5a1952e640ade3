"""Atom feeds (RFC 4287): the documents most recently added or changed, and any search.

A feed is computed through a `Searcher`, so it holds exactly what its reader may see. Each
entry's id is the document's permalink (built from the configured base URL, never from a
request), its `updated` time is when the document's file last changed as the index recorded
it, and its summary is plain text: the best passage for a search, the description or the
first passage otherwise. The XML is written by feedgen (over lxml), which escapes every text;
characters XML 1.0 cannot carry at all (control characters a PDF may hold) are removed first,
as lxml refuses them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from kb import schema as f
from kb.doctypes import TYPE_LABELS
from kb.documents import permalink
from kb.library import DocInfo, Snapshot
from kb.search import Searcher, SearchRequest, SearchResult
from kb.view import View

SITE_NAME = "Leadership for Change knowledge base"
LATEST_ENTRIES = 30
SUMMARY_CHARS = 400
# What XML 1.0 cannot hold: C0 controls but tab, newline and carriage return; surrogates;
# U+FFFE and U+FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MARK = re.compile(r"</?mark>")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedEntry:
    """One document in a feed."""

    doc_id: str
    title: str
    url: str  # the permalink: also the entry's id
    updated: datetime
    summary: str  # plain text
    doc_type: str
    published: datetime | None = None


@dataclass(frozen=True)
class Feed:
    """A whole feed: its id (and `self` link), the page it stands for, and its entries."""

    feed_id: str
    title: str
    alternate: str  # the HTML page showing the same
    updated: datetime
    entries: tuple[FeedEntry, ...]
    subtitle: str = ""


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (escaping is the writer's job)."""
    return NOT_XML.sub("", text)


def plain_snippet(snippet_html: str) -> str:
    """A search snippet (escaped text with <mark> around matches) as plain text."""
    return html.unescape(MARK.sub("", snippet_html))


def _shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def updated_times(snap: Snapshot) -> dict[str, datetime]:
    """When each indexed document's file last changed, as its generation's manifest says."""

    def compute() -> dict[str, datetime]:
        manifest = snap.generation.read_manifest()
        return {
            e.doc_id: datetime.fromtimestamp(e.mtime_ns / 1e9, UTC).replace(microsecond=0)
            for e in manifest.entries.values()
            if e.indexed and e.doc_id
        }

    return snap.stable(("feed-updated",), compute)


def index_updated(snap: Snapshot) -> datetime:
    """When the index was last written (a feed without entries is as new as that)."""

    def compute() -> datetime:
        stamp = snap.generation.read_manifest().updated_at
        try:
            return datetime.fromisoformat(stamp).astimezone(UTC)
        except ValueError:
            return EPOCH

    return snap.stable(("feed-index-updated",), compute)  # read once per snapshot


def _published(info: DocInfo) -> datetime | None:
    date = info.meta.date or ""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        return None
    try:
        return datetime.fromisoformat(date).replace(tzinfo=UTC)
    except ValueError:
        return None


def _entry(view: View, info: DocInfo, summary: str, base_url: str) -> FeedEntry:
    return FeedEntry(
        doc_id=info.doc_id,
        title=info.title,
        url=permalink(base_url, info.doc_id),
        updated=updated_times(view.snap).get(info.doc_id, EPOCH),
        summary=_shorten(summary),
        doc_type=info.meta.type,
        published=_published(info),
    )


def _first_passage(view: View, doc_id: str) -> str:
    numbers = view.passages_of(doc_id)
    return (view.snap.stored(numbers[0]).get(f.BODY) or "") if numbers else ""


def latest_feed(searcher: Searcher, base_url: str, limit: int = LATEST_ENTRIES) -> Feed:
    """The documents the reader may see, most recently added or changed first."""
    view = searcher.view()
    times = updated_times(view.snap)
    newest = sorted(
        view.catalogue.values(), key=lambda d: (times.get(d.doc_id, EPOCH), d.doc_id), reverse=True
    )[:limit]
    entries = tuple(
        _entry(view, d, d.meta.description or _first_passage(view, d.doc_id), base_url)
        for d in newest
    )
    return Feed(
        feed_id=f"{base_url}/feed.atom",
        title=f"New and updated documents · {SITE_NAME}",
        alternate=f"{base_url}/search?sort=newest",
        updated=_newest(entries, view.snap),
        entries=entries,
    )


def search_feed(
    searcher: Searcher, request: SearchRequest, base_url: str, query_string: str
) -> tuple[Feed, SearchResult]:
    """The results of one search as a feed, each with its best passage. `query_string` is
    the search's canonical query string (the feed's id and link carry it)."""
    result = searcher.search(request)
    view = searcher.view()
    entries = tuple(
        _entry(view, hit.doc, plain_snippet(hit.best.snippet) if hit.best else "", base_url)
        for hit in result.hits
        if hit.doc.doc_id in view.catalogue
    )
    suffix = f"?{query_string}" if query_string else ""
    title = f"Search: {request.q.strip()[:200]}" if request.q.strip() else "Search"
    feed = Feed(
        feed_id=f"{base_url}/search.atom{suffix}",
        title=f"{title} · {SITE_NAME}",
        alternate=f"{base_url}/search{suffix}",
        updated=_newest(entries, view.snap),
        entries=entries,
        subtitle=f"{result.total} document{'' if result.total == 1 else 's'}",
    )
    return feed, result


def _newest(entries: tuple[FeedEntry, ...], snap: Snapshot) -> datetime:
    return max((e.updated for e in entries), default=None) or index_updated(snap)


def atom_xml(feed: Feed) -> bytes:
    """The feed as an Atom document (UTF-8)."""
    fg = FeedGenerator()
    fg.id(xml_text(feed.feed_id))
    fg.title(xml_text(feed.title))
    fg.updated(feed.updated)
    fg.author({"name": SITE_NAME})
    fg.link(href=xml_text(feed.feed_id), rel="self", type="application/atom+xml")
    fg.link(href=xml_text(feed.alternate), rel="alternate", type="text/html")
    if feed.subtitle:
        fg.subtitle(xml_text(feed.subtitle))
    fg.generator("kb")
    for e in feed.entries:
        fe = fg.add_entry(order="append")
        fe.id(xml_text(e.url))
        fe.title(xml_text(e.title) or e.doc_id)
        fe.link(href=xml_text(e.url), rel="alternate", type="text/html")
        fe.updated(e.updated)
        if e.published is not None:
            fe.published(e.published)
        if e.summary:
            fe.summary(xml_text(e.summary), type="text")
        fe.category(term=e.doc_type, label=TYPE_LABELS.get(e.doc_type, e.doc_type))
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
