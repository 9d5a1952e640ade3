"""Plain-data results as JSON-ready dicts: one shape for `kb ... --json` and `/api/...`."""

from __future__ import annotations

from dataclasses import asdict

from kb.doctypes import TYPE_LABELS
from kb.documents import DocumentView, permalink
from kb.library import DocInfo
from kb.search import DocumentHit, SearchResult
from kb.text import LANGUAGE_NAMES


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
        # Set when the results are a correction's: {"shown": its query, "original": as typed}.
        "corrected": (
            {"shown": result.corrected, "original": result.query} if result.corrected else None
        ),
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
