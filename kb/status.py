"""What `kb status` and /healthz report about the current index."""

from __future__ import annotations

from collections import Counter

from kb.access import Principal
from kb.library import Library
from kb.manifest import EntryStatus, ManifestEntry
from kb.settings import Settings
from kb.store import IndexStore
from kb.view import View, checked, view_of


def _by_count(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _problem(entry: ManifestEntry) -> dict[str, str | None]:
    return {"path": entry.path, "reason": entry.reason}


def view_counts(view: View) -> dict:
    """Documents and passages the reader may see, in all and by type and language: what
    `kb status` reports for the shell, and /healthz for whoever asks."""
    docs_by_type, docs_by_lang = Counter(), Counter()
    passages_by_type, passages_by_lang = Counter(), Counter()
    for d in checked(view).catalogue.values():
        docs_by_type[d.meta.type] += 1
        docs_by_lang[d.meta.language] += 1
        passages_by_type[d.meta.type] += d.passages
        passages_by_lang[d.meta.language] += d.passages
    return {
        "documents": len(view.catalogue),
        "passages": view.passage_count,
        "by_type": _by_count(docs_by_type),
        "by_language": _by_count(docs_by_lang),
        "passages_by_type": _by_count(passages_by_type),
        "passages_by_language": _by_count(passages_by_lang),
    }


def index_status(settings: Settings, library: Library | None = None) -> dict:
    """The current generation, when it was built and updated, documents and passages by type
    and language, the last run's summary, and the files that are failed or skipped now."""
    library = library or Library(settings)
    snap = library.snapshot()
    store = IndexStore(settings.index)
    gen = snap.generation
    info = gen.info()
    manifest = gen.read_manifest()
    counts = view_counts(view_of(snap, Principal.shell()))  # the server's shell sees all
    entries = sorted(manifest.entries.values(), key=lambda e: e.path)
    failed = [_problem(e) for e in entries if e.status is EntryStatus.FAILED]
    # Folders that could not be read have no manifest entry; the last run remembers them.
    known = {f["path"] for f in failed}
    failed += [f for f in manifest.last_run.get("failed", []) if f.get("path") not in known]
    previous = store.previous()
    holder = store.lock_holder()
    return {
        "index": str(settings.index),
        "generation": gen.name,
        "previous_generation": previous.name if previous else None,
        "created_at": info.get("created_at"),
        "updated_at": manifest.updated_at,
        **counts,
        "last_run": manifest.last_run,
        "failed": failed,
        "skipped": [_problem(e) for e in entries if e.status is EntryStatus.SKIPPED],
        "writer_pid": holder.pid if holder else None,
        "reading_list_problems": manifest.list_problems,
    }


def writer_pid(settings: Settings) -> int | None:
    """The PID of a `kb index` or `kb add` writing the index now, if any."""
    holder = IndexStore(settings.index).lock_holder()
    return holder.pid if holder else None
