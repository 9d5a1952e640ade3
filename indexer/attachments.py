"""Documents inside a corpus file (an e-mail's attachments), indexed as documents of their own.

Each attachment kb can read becomes a `Document` whose id is the message's id, then
`/.attachments/`, then the attachment's name: discovery never gives a file a path with a
dot-folder in it, so no corpus file can take that id. Its path names the message and the
attachment (`mail.eml/report.pdf`), which is no file in the corpus: its original is not
served apart from the message. Its metadata comes from the attachment itself, then
inference, never from the message's sidecar, except for who may read it: an attachment is
always exactly as visible as its message.

`make_document` cuts any extraction into the `Document` the index stores, the message's
own included.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from indexer.passages import slugify, split_passages
from kb.formats import page_unit

if TYPE_CHECKING:
    from indexer.discover import CorpusFile
    from indexer.entities import EntityMatcher
    from indexer.extract.base import Extraction
    from kb.access import VisibilityConfig
    from kb.models import Document, DocumentMetadata

ATTACHMENTS_FOLDER = ".attachments"


def attachment_id(message_id: str, name: str, taken: set[str]) -> str:
    """The doc id of attachment `name` of a message: unique among `taken`, which it joins."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    slug = slugify(PurePosixPath(name).stem) + (f"-{suffix}" if suffix else "")
    base = f"{message_id}/{ATTACHMENTS_FOLDER}/{slug}"
    doc_id, n = base, 1
    while doc_id in taken:
        n += 1
        doc_id = f"{base}-{n}"
    taken.add(doc_id)
    return doc_id


def make_document(
    doc_id: str,
    path: str,
    extraction: Extraction,
    meta: DocumentMetadata,
    sha256: str,
    warnings: list[str],
    attached: tuple[Document, ...] = (),
    max_passages: int | None = None,
) -> Document | None:
    """The document of an extraction, its blocks cut into passages; None without text.
    With `max_passages`, only the first that many are kept, and a warning says so."""
    from indexer.extract.limits import passage_cap_warning
    from kb.models import Document

    unit = page_unit(extraction.format)
    passages = split_passages(doc_id, extraction.blocks, title=meta.title, page_unit=unit)
    if not passages:
        return None
    if max_passages is not None and len(passages) > max_passages:
        warnings.append(passage_cap_warning(len(passages), max_passages))
        del passages[max_passages:]
    return Document(
        doc_id=doc_id,
        path=path,
        format=extraction.format,
        meta=meta,
        content_hash=sha256,
        passages=tuple(passages),
        page_count=extraction.page_count,
        warnings=tuple(extraction.warnings + warnings),
        attached=attached,
    )


def attachment_documents(
    cf: CorpusFile,
    sha256: str,
    extraction: Extraction,
    message: DocumentMetadata,
    matcher: EntityMatcher | None,
    visibility: VisibilityConfig | None,
    max_passages: int | None = None,
) -> list[Document]:
    """The documents of the attachments an extractor found in `cf` (none for most files).

    Each names its message (`part_of`) and has the message's visibility, whatever it says
    itself. An attachment without text is left out, as a file without text would be.
    """
    from indexer.metadata import describe
    from kb.errors import ConfigError

    documents: list[Document] = []
    taken: set[str] = set()
    for name, attached in extraction.attachments:
        doc_id = attachment_id(cf.doc_id, name, taken)
        path = f"{cf.rel}/{name}"
        try:
            meta, warnings = describe(path, attached, {}, matcher, visibility)
        except ConfigError as error:  # what the attachment declares cannot be used
            extraction.warnings.append(f"attachment {name} not indexed: {error}")
            continue
        meta = replace(meta, visibility=message.visibility, part_of=cf.doc_id)
        document = make_document(doc_id, path, attached, meta, sha256, warnings, (), max_passages)
        if document is not None:
            documents.append(document)
    return documents
