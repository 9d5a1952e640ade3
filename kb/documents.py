"""Reading whole documents and their passages back from the index."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from kb import schema as f
from kb.errors import NotFound
from kb.library import DocInfo
from kb.models import Passage
from kb.view import View, checked


@dataclass(frozen=True)
class DocumentView:
    doc: DocInfo
    passages: tuple[Passage, ...]

    def passage(self, anchor: str) -> Passage | None:
        return next((p for p in self.passages if p.anchor == anchor), None)


def load_document(view: View, doc_id: str) -> DocumentView:
    """A document the reader may see, with its passages; NotFound for any other (a hidden
    document answers exactly like one that does not exist)."""
    info = checked(view).catalogue.get(doc_id)
    if info is None:
        raise NotFound(f"no document with id '{doc_id}'")
    searcher = view.snap.searcher()
    passages = []
    for docnum in view.passages_of(doc_id):
        s = searcher.stored_fields(docnum)
        heading = s.get(f.HEADING) or ""
        passages.append(
            Passage(
                doc_id=doc_id,
                anchor=s[f.ANCHOR],
                text=s.get(f.BODY) or "",
                heading_path=tuple(heading.split(f.HEADING_SEP)) if heading else (),
                page=s.get(f.PAGE),
                text_hash=s.get(f.TEXT_HASH) or "",
                ordinal=s.get(f.ORDINAL) or 0,
            )
        )
    passages.sort(key=lambda p: p.ordinal)
    return DocumentView(info, tuple(passages))


def permalink(
    base_url: str, doc_id: str, anchor: str | None = None, text_hash: str | None = None
) -> str:
    """`<base>/doc/<doc_id>[?v=<hash>][#<anchor>]`: stable as long as the file keeps its path."""
    url = f"{base_url.rstrip('/')}/doc/{quote(doc_id, safe='/')}"
    if text_hash:
        url += f"?v={text_hash}"
    if anchor:
        url += f"#{quote(anchor, safe='')}"
    return url
