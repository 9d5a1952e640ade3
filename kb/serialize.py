"""Plain-data results as JSON-ready dicts: one shape for `kb ... --json` and `/api/...`."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from kb.cite import parse_ref
from kb.documents import DocumentView, permalink
from kb.library import DocInfo
from kb.models import LANGUAGE_NAMES, TYPE_LABELS
from kb.readinglists import ListProblem, ReadingList, ResolvedItem, sections

if TYPE_CHECKING:  # only for the annotations: `kb lists --json` need not load the searcher
    from kb.search import DocumentHit, SearchResult


def doc_info_dict(info: DocInfo, base_url: str) -> dict:
    meta = info.meta
    return {
        "doc_id": info.doc_id,
        "title": meta.title,
        "type": meta.type,
        "type_label": TYPE_LABELS.get(meta.type, meta.type),
        "date": meta.date,
        "year": meta.year,
        "language": meta.language,
        "language_name": LANGUAGE_NAMES.get(meta.language, meta.language),
        "organisations": list(meta.organisations),
        "topics": list(meta.topics),
        "author": meta.author,
        "description": meta.description,
        "source_url": meta.source_url,
        "sample": meta.sample,
        "path": info.path,
        "format": info.format,
        "page_count": info.page_count,
        "passage_count": info.passages,
        "permalink": permalink(base_url, info.doc_id),
    }


def hit_dict(hit: DocumentHit, base_url: str) -> dict:
    best = hit.best
    out = doc_info_dict(hit.doc, base_url)
    out.update(
        {
            "score": hit.score,
            "passage_id": f"{hit.doc.doc_id}#{best.anchor}" if best else None,
            "anchor": best.anchor if best else None,
            "page": best.page if best else None,
            "heading_path": list(best.heading_path) if best else [],
            "snippet": best.snippet if best else "",
            "matching_passages": hit.matching_passages,
            "more_passages": hit.more_passages,
            "passages": [
                {
                    **asdict(p),
                    "heading_path": list(p.heading_path),
                    "passage_id": f"{hit.doc.doc_id}#{p.anchor}",
                    "permalink": permalink(base_url, hit.doc.doc_id, p.anchor),
                }
                for p in hit.passages
            ],
        }
    )
    out["permalink"] = permalink(base_url, hit.doc.doc_id, best.anchor if best else None)
    return out


def search_result_dict(result: SearchResult, base_url: str) -> dict:
    return {
        "query": result.query,
        "read_as": result.read_as,
        "messages": list(result.messages),
        "total": result.total,
        "total_passages": result.total_passages,
        "page": result.page,
        "page_size": result.page_size,
        "pages": result.pages,
        "sort": result.sort,
        "elapsed_ms": result.elapsed_ms,
        "suggestion": result.suggestion,
        "generation": result.generation,
        "selected": {k: list(v) for k, v in result.selected.items()},
        "facets": {name: [asdict(v) for v in values] for name, values in result.facets.items()},
        "results": [hit_dict(h, base_url) for h in result.hits],
    }


def document_dict(view: DocumentView, base_url: str) -> dict:
    out = doc_info_dict(view.doc, base_url)
    out["warnings"] = list(view.doc.warnings)
    out["passages"] = [
        {
            "passage_id": p.passage_id,
            "anchor": p.anchor,
            "heading_path": list(p.heading_path),
            "page": p.page,
            "text": p.text,
            "text_hash": p.text_hash,
            "permalink": permalink(base_url, p.doc_id, p.anchor),
        }
        for p in view.passages
    ]
    return out


# ---- reading lists ----------------------------------------------------------------------------


def list_summary_dict(reading_list: ReadingList) -> dict:
    """One line of `kb lists --json` and `/api/lists`."""
    return {
        "slug": reading_list.slug,
        "title": reading_list.title,
        "audience": reading_list.audience,
        "description": reading_list.description,
        "estimated_minutes": reading_list.estimated_minutes,
        "item_count": len(reading_list.items),
        "path": reading_list.path,
    }


def item_dict(r: ResolvedItem, base_url: str) -> dict:
    doc_id, anchor = parse_ref(r.item.ref)
    out = {
        "number": r.item.number,
        "ref": r.item.ref,
        "note": r.item.note,
        "section": r.item.section,
        "minutes": r.item.minutes,
        "doc_id": doc_id,
        "anchor": anchor,
        "missing": r.problem,
        "title": None,
        "type": None,
        "type_label": None,
        "date": None,
        "language": None,
        "page": None,
        "heading_path": [],
        "permalink": None,
    }
    if r.doc is not None and r.problem is None:
        meta = r.doc.meta
        out.update(
            {
                "title": meta.title,
                "type": meta.type,
                "type_label": TYPE_LABELS.get(meta.type, meta.type),
                "date": meta.date,
                "language": meta.language,
                "permalink": permalink(base_url, doc_id, anchor),
            }
        )
        if r.passage is not None:
            out["page"] = r.passage.page
            out["heading_path"] = list(r.passage.heading_path)
    return out


def list_dict(reading_list: ReadingList, resolved: list[ResolvedItem], base_url: str) -> dict:
    """The JSON shape of one list (`kb lists SLUG --format json`, `/api/lists/<slug>`).

    `items` in order, each with `missing` (null, or why the ref does not resolve); `sections`
    groups consecutive items by section as lists of item numbers.
    """
    return {
        **list_summary_dict(reading_list),
        "missing": sum(1 for r in resolved if r.problem),
        "items": [item_dict(r, base_url) for r in resolved],
        "sections": [
            {"title": title, "items": [r.item.number for r in group]}
            for title, group in sections(resolved)
        ],
    }


def reading_lists_dict(lists: list[ReadingList], problems: list[ListProblem]) -> dict:
    """Every reading list and the problems of their files (`kb lists --json`, `/api/lists`)."""
    return {
        "lists": [list_summary_dict(r) for r in lists],
        "problems": [p.to_dict() for p in problems],
    }
