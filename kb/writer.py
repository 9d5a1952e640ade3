"""Writing documents into a whoosh index: the only code that turns a Document into records."""

from __future__ import annotations

import json
from dataclasses import asdict

from kb import schema as f
from kb.analysis import language_field
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
    }


def passage_record(doc: Document, passage: Passage) -> dict:
    meta: DocumentMetadata = doc.meta
    heading = f.HEADING_SEP.join(passage.heading_path)
    # The document title travels with every passage: a passage is found by the words of the
    # document it belongs to (the way a reader understands it), and ranked by its own words.
    searchable = "\n".join(part for part in (meta.title, heading, passage.text) if part)
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
    }
    if meta.year is not None:
        record[f.YEAR] = str(meta.year)
    return record


def add_document(writer, doc: Document) -> None:
    """Add a document (its `doc` record and all passages). Delete the old version first."""
    writer.add_document(**document_record(doc))
    for passage in doc.passages:
        writer.add_document(**passage_record(doc, passage))


def delete_document(writer, doc_id: str) -> None:
    writer.delete_by_term(f.DOC_ID, doc_id)
