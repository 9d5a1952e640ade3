"""Writing a run's documents: a new generation for a full build, one commit for an update.

This process alone writes, with the writer lock held by the caller. Nothing of the index
changes until the whoosh commit; a failure or a kill before it leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from kb.generation import Generation
from kb.store import IndexStore

if TYPE_CHECKING:
    from kb.models import Document

WRITER_LIMIT_MB = 128


def write_generation(
    store: IndexStore, docs: Iterable[Document], finish: Callable[[Generation], None]
) -> Generation:
    """Write `docs` into a new generation, let `finish` write its manifest, and make it current.

    The documents are written as whole segments from memory (`indexer.segments`), the way
    each worker of a parallel build writes its range."""
    from indexer.segments import commit_segments, write_segments

    def fill(gen: Generation) -> None:
        commit_segments(gen, write_segments(str(gen.path), docs))
        finish(gen)

    gen = store.build_generation(fill)
    store.switch_to(gen)
    return gen


def write_changes(
    current: Generation, docs: Iterable[Document], doomed: set[str], changed: set[str]
) -> bool:
    """Delete the `doomed` documents and write `docs` into `current` in one whoosh commit;
    whether there was anything to commit.

    A document in `changed` is written over its previous version passage by passage: only
    passages whose record differs are replaced (`kb.writer.replace_document`); one of them
    that `docs` does not bring (it failed or has no text now) is deleted. The whoosh writer is
    opened only when the index actually changes: a new file that turns out empty does not.
    """
    from kb.writer import (
        add_document,
        delete_documents,
        merge_policy,
        open_writer,
        replace_document,
    )

    changed = set(changed)
    ix = writer = reader = None

    def start_writing():
        nonlocal ix, writer, reader
        current.remove_writer_leftovers()
        ix = current.open_index(mmap=False)
        writer = open_writer(ix, limitmb=WRITER_LIMIT_MB)
        delete_documents(writer, sorted(doomed))
        if changed:
            reader = writer.reader()  # the index as it was, to compare passages with

    try:
        if doomed:
            start_writing()
        for doc in docs:
            if writer is None:
                start_writing()
            if doc.doc_id in changed:
                changed.discard(doc.doc_id)
                replace_document(writer, reader, doc)
            else:
                add_document(writer, doc)
        if changed:  # changed files that now fail or have no text: their old version goes
            if writer is None:
                start_writing()
            delete_documents(writer, sorted(changed))
        if reader is not None:
            reader.close()
            reader = None
        if writer is not None:
            writer.commit(mergetype=merge_policy)
    except BaseException:
        if reader is not None:
            reader.close()
        if writer is not None:
            writer.cancel()
        raise
    finally:
        if ix is not None:
            ix.close()
    return writer is not None
