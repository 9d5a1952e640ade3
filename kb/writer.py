"""Writing documents into a whoosh index: the only code that turns a Document into records.

Text fields are analysed by `kb.fastanalysis` (the same postings as whoosh's analysers,
computed faster); `open_writer` gives a writer that analysis.

Updates
-------
A changed document is written over its previous version passage by passage
(`replace_document`): an edit to one section of a long document rewrites that section's
passage and the document record, not every passage. Commits use `merge_policy`, which
drops segments whose records are all deleted and keeps the number of segments bounded.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict

from kb import schema as f
from kb.access import visibility_tokens
from kb.analysis import language_field
from kb.fastanalysis import fast_schema
from kb.models import Document, DocumentMetadata, Passage


def document_record(doc: Document) -> dict:
    """The `doc` record: the document's metadata as JSON, for the catalogue."""
    meta = {
        "doc_id": doc.doc_id,
        "path": doc.path,
        "format": doc.format,
        "content_hash": doc.content_hash,
        "page_count": doc.page_count,
        "passages": len(doc.passages),
        "warnings": list(doc.warnings),
        **asdict(doc.meta),
    }
    return {
        f.KIND: f.KIND_DOC,
        f.PASSAGE_ID: doc.doc_id,
        f.DOC_ID: doc.doc_id,
        f.META: json.dumps(meta, ensure_ascii=False),
        f.VISIBILITY: _visibility(doc.meta),
    }


def _visibility(meta: DocumentMetadata) -> str:
    return ",".join(sorted(visibility_tokens(meta.visibility)))


def _searchable(title: str | None, heading: str, text: str) -> str:
    # The document title travels with every passage: a passage is found by the words of the
    # document it belongs to (the way a reader understands it), and ranked by its own words.
    return "\n".join(part for part in (title, heading, text) if part)


def passage_record(doc: Document, passage: Passage) -> dict:
    meta: DocumentMetadata = doc.meta
    heading = f.HEADING_SEP.join(passage.heading_path)
    searchable = _searchable(meta.title, heading, passage.text)
    record = {
        f.KIND: f.KIND_PASSAGE,
        f.PASSAGE_ID: passage.passage_id,
        f.DOC_ID: doc.doc_id,
        f.ANCHOR: passage.anchor,
        f.ORDINAL: passage.ordinal,
        f.PAGE: passage.page,
        f.BODY: passage.text,
        f.TEXT_HASH: passage.text_hash,
        f.TITLE: meta.title,
        f.HEADING: heading,
        f.EXACT: searchable,
        language_field(meta.language): searchable,
        f.TYPE: meta.type,
        f.LANG: meta.language,
        f.ORG: ",".join(meta.organisations),
        f.TOPIC: ",".join(meta.topics),
        f.VISIBILITY: _visibility(meta),
    }
    if meta.year is not None:
        record[f.YEAR] = str(meta.year)
    return record


@contextlib.contextmanager
def _fast_analysis(writer) -> Iterator[None]:
    """Let whoosh's add_document see the writer's fast schema (see `open_writer`); it reads
    `writer.schema` for analysis only, and everything else (the commit) sees the real one."""
    fast = getattr(writer, "kb_fast_schema", None)
    real = writer.schema
    if fast is not None:
        writer.schema = fast
    try:
        yield
    finally:
        writer.schema = real


def add_document(writer, doc: Document) -> None:
    """Add a document (its `doc` record and all passages). Delete the old version first."""
    with _fast_analysis(writer):
        writer.add_document(**document_record(doc))
        for passage in doc.passages:
            writer.add_document(**passage_record(doc, passage))


# Segments an index keeps after a commit, besides large ones; more are merged, the smallest
# first. A segment of LARGE_SEGMENT live records or more (a full build writes them, up to
# indexer.segments.SEGMENT_POSTINGS postings each) is not merged by an update: whoosh's
# writer would copy it posting by posting, minutes for the largest.
MAX_SEGMENTS = 8
LARGE_SEGMENT = 10_000


def merge_policy(writer, segments: list) -> list:
    """The segments a commit keeps, for `writer.commit(mergetype=merge_policy)`.

    A segment whose documents are all deleted (every passage of a file that changed again
    since) is dropped: there is nothing in it to copy. whoosh's default policy keeps those
    for ever: editing one large file over and over would grow the index by a segment each time.
    When the rest and the segment this commit writes would be more than MAX_SEGMENTS, the
    smallest (by live documents) are merged into the latter: their number stays bounded, at
    a cost proportional to the small segments copied. Large segments (LARGE_SEGMENT live
    records or more) are kept as they are and not counted.
    """
    live = [s for s in segments if s.doc_count() > 0]
    small = [s for s in live if s.doc_count() < LARGE_SEGMENT]
    if len(small) < MAX_SEGMENTS:  # with the one this commit writes: at most MAX_SEGMENTS
        return live
    from kb.engine.codec import segment_reader  # numpy comes with it: only when merging

    ordered = sorted(small, key=lambda s: s.doc_count())
    merged = ordered[: len(small) + 1 - MAX_SEGMENTS]
    for segment in merged:
        reader = segment_reader(writer.storage, writer.schema, segment)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    gone = {id(s) for s in merged}
    return [s for s in live if id(s) not in gone]


def open_writer(ix, **kwargs):
    """A whoosh writer for `ix` (kwargs as for `ix.writer`) that analyses text fields fast."""
    writer = ix.writer(**kwargs)
    writer.kb_fast_schema = fast_schema(writer.schema)
    return writer


def replace_document(writer, reader, doc: Document) -> int:
    """Write `doc` over its version in the index: passages whose record would be the same
    stay as they are, the others are deleted and added. Returns the passages written.

    `reader` reads the index as it was when `writer` was opened (`writer.reader()`): an
    edit to one section of a long document then costs that section, not the document.
    """
    old_doc: list[int] = []
    old_passages: dict[str, tuple[int, dict]] = {}
    title: str | None = None
    title_known = False
    for docnum in _live_docnums(reader, doc.doc_id):
        stored = reader.stored_fields(docnum)
        if stored.get(f.KIND) == f.KIND_DOC:
            old_doc.append(docnum)
            try:
                title = json.loads(stored[f.META]).get("title")
                title_known = True
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
        elif stored.get(f.PASSAGE_ID) in old_passages:
            writer.delete_document(docnum)  # a duplicate: never kept
        else:
            old_passages[stored.get(f.PASSAGE_ID)] = (docnum, stored)
    for docnum in old_doc:
        writer.delete_document(docnum)

    written = 0
    with _fast_analysis(writer):
        writer.add_document(**document_record(doc))
        for passage in doc.passages:
            record = passage_record(doc, passage)
            old = old_passages.pop(passage.passage_id, None)
            if old is not None:
                if title_known and _same_record(record, old[1], title):
                    continue
                writer.delete_document(old[0])
            writer.add_document(**record)
            written += 1
    for docnum, _ in old_passages.values():  # passages the new version no longer has
        writer.delete_document(docnum)
    return written


def _live_docnums(reader, doc_id: str) -> list[int]:
    if (f.DOC_ID, doc_id) not in reader:
        return []
    docnums = reader.postings(f.DOC_ID, doc_id).all_ids()
    if reader.has_deletions():
        return [n for n in docnums if not reader.is_deleted(n)]
    return list(docnums)


def _same_record(record: dict, stored: dict, title: str | None) -> bool:
    """Whether a passage record equals the one the index holds: its stored fields, plus the
    indexed-only fields rebuilt from them and the document's title (as passage_record does)."""
    searchable = _searchable(title, stored.get(f.HEADING) or "", stored.get(f.BODY) or "")
    old = {
        **stored,
        f.TITLE: title,
        f.EXACT: searchable,
        language_field(stored.get(f.LANG)): searchable,
    }
    return {k: v for k, v in old.items() if v is not None} == {
        k: v for k, v in record.items() if v is not None
    }


def delete_document(writer, doc_id: str) -> None:
    delete_documents(writer, [doc_id])


def delete_documents(writer, doc_ids) -> None:
    """Delete every record (the `doc` record and all passages) of these documents.

    One reader for all of them, looking the ids up in the `doc_id` postings: whoosh's
    `delete_by_term` opens a searcher per call (and imports its query machinery for it).
    """
    reader = writer.reader()
    try:
        for doc_id in doc_ids:
            if (f.DOC_ID, doc_id) not in reader:
                continue
            for docnum in reader.postings(f.DOC_ID, doc_id).all_ids():
                writer.delete_document(docnum)
    finally:
        reader.close()
