"""What `kb status` and /healthz report about the current index."""

from __future__ import annotations

from collections import Counter

from kb.library import Library
from kb.settings import Settings


def index_status(settings: Settings, library: Library | None = None) -> dict:
    library = library or Library(settings)
    snap = library.snapshot()
    info = snap.generation.info()
    manifest = snap.generation.read_manifest()
    docs = snap.catalogue.values()
    return {
        "index": str(settings.index),
        "generation": snap.generation.name,
        "created_at": info.get("created_at"),
        "updated_at": manifest.updated_at,
        "documents": len(snap.catalogue),
        "passages": snap.passage_count,
        "by_type": dict(Counter(d.meta.type for d in docs).most_common()),
        "by_language": dict(Counter(d.meta.language for d in docs).most_common()),
        "last_run": manifest.last_run,
        "reading_list_problems": manifest.list_problems,
    }
