"""A full build's segments, written from memory (`kb.engine.bulk`) by its extraction workers.

One process analysing and writing every passage was the critical path of a full build
while the workers only extracted. Here the files to index are cut into as many contiguous
ranges as there are workers (by size, so the ranges take about as long), and each worker
extracts its range and writes the documents into segments of its own in the generation
being built (a new one every SEGMENT_POSTINGS postings, so a worker's memory does not grow
with the corpus). This process then writes the table of contents listing the segments in
the order of the ranges, so each record gets the number a serial build gives it, and the
index statistics (documents, field lengths, term frequencies) are sums over the segments:
searches rank exactly as on a serial build. A serial build (`indexer.write`) writes its
segments the same way, in its own process.

Nothing becomes current before the table of contents is written and the generation is
switched (`kb.store.IndexStore.build_generation`). A worker that dies takes its whole
range with it: the build raises `WorkerDied`, the half-built generation is removed, and
the caller builds again the way that isolates the file at fault (`indexer.workers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from indexer import workers
from indexer.plan import ToExtract
from indexer.workers import Extracted, Extractor

if TYPE_CHECKING:
    from kb.generation import Generation
    from kb.models import Document
    from kb.store import IndexStore

# Files extracted at a time in a range (what the worker holds before writing them).
CHUNK = 8
# Postings a worker holds in memory before it writes them as a segment and starts another
# (`kb.engine.bulk`: about 30 bytes each held, as much again while they are written).
SEGMENT_POSTINGS = 4_000_000


class WorkerDied(RuntimeError):
    """A worker writing a segment died; the generation it was writing into is abandoned."""


def ranges(todo: ToExtract, count: int) -> list[ToExtract]:
    """`todo` cut into at most `count` contiguous, non-empty ranges of about equal size."""
    total = sum(cf.size for cf, _ in todo) or 1
    out: list[ToExtract] = []
    current: ToExtract = []
    seen = 0
    for item in todo:
        current.append(item)
        seen += item[0].size
        if len(out) < count - 1 and seen * count >= total * (len(out) + 1):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def write_segment(
    index: str,
    items: ToExtract,
    extract: Callable[[ToExtract], list[Extracted]],
    limit: int = SEGMENT_POSTINGS,
):
    """In a worker: extract `items` with `extract` and write their documents into new
    segments of the whoosh index in `index`, a new one each time `limit` postings are held.
    Returns (the segments, [(entry, None, warnings)] for each file): the parent writes the
    table of contents, and the documents stay here."""
    results: list[Extracted] = []

    def documents() -> Iterator[Document]:
        for start in range(0, len(items), CHUNK):
            for entry, doc, warnings in extract(items[start : start + CHUNK]):
                if doc is not None:
                    yield doc
                    yield from doc.attached
                results.append((entry, None, warnings))

    segments = write_segments(index, documents(), limit)
    return segments, results


def write_segments(
    index: str, docs: Iterable[Document], limit: int = SEGMENT_POSTINGS, **writer_args
) -> list:
    """Write `docs` (an attachment is a document of its own among them) into new segments
    of the whoosh index in `index`, without a table of contents; a segment is written each
    time `limit` postings are held. Returns the segments, in the order of the documents. `writer_args` go to
    whoosh's SegmentWriter (`compound=False` keeps a segment's files apart)."""
    from whoosh.filedb.filestore import FileStorage

    from kb.engine.bulk import bulk_writer
    from kb.writer import add_document, fast_schema

    ix = FileStorage(index, supports_mmap=False).open_index()
    segments: list = []
    writer = None
    try:
        for doc in docs:
            if writer is None:
                # No lock: the caller holds the index's lock (and the store's writer lock).
                # whoosh numbers a new writer's documents after the table of contents'
                # segments only, so each segment's documents start at 0, as they must.
                writer = bulk_writer(ix, _lk=False, **writer_args)
                writer.kb_fast_schema = fast_schema(writer.schema)
            add_document(writer, doc)
            if len(writer.pool) >= limit:
                segments.append(_finish(writer))
                writer = None
        if writer is not None:
            segments.append(_finish(writer))
            writer = None
    except BaseException:
        if writer is not None:
            writer.cancel()
        raise
    finally:
        ix.close()
    return segments


def _finish(writer):
    """Write the segment `writer` holds and return it (its scratch folder removed)."""
    segment = writer._finalize_segment()
    writer._tempstorage.destroy()
    return segment


def build_in_segments(
    store: IndexStore,
    todo: ToExtract,
    extractor: Extractor,
    record: Callable[[Extracted], None],
    finish: Callable[[Generation], None],
) -> Generation:
    """Build a new generation from `todo` with one segment per worker of `extractor`, call
    `record` for each file's result in the order of `todo`, let `finish` write the manifest,
    and make the generation current. Raises WorkerDied when a worker died (nothing changed)."""
    from concurrent.futures.process import BrokenProcessPool

    parts = ranges(todo, extractor.workers)

    def fill(gen: Generation) -> None:
        pool = extractor._pool(len(parts))
        try:
            # Read at submit time, so that the function the workers call can be replaced.
            futures = [pool.submit(write_segment, str(gen.path), part, workers._extract_chunk)
                       for part in parts]  # fmt: skip
            results = _gather(futures)
        except BaseException as exc:
            # The other workers are stopped before the generation's files are removed.
            for process in list((pool._processes or {}).values()):
                if process.is_alive():
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            if isinstance(exc, BrokenProcessPool):
                raise WorkerDied(str(exc) or type(exc).__name__) from exc
            raise
        pool.shutdown(wait=True)
        for _, extracted in results:
            for item in extracted:
                record(item)
        commit_segments(gen, [segment for written, _ in results for segment in written])
        finish(gen)

    extractor.used = len(parts)
    gen = store.build_generation(fill)
    store.switch_to(gen)
    return gen


def _gather(futures: list) -> list:
    """Each worker's (segment, results), in the order of the ranges, once all are done."""
    return [future.result() for future in futures]


def commit_segments(gen: Generation, segments: list) -> None:
    """Write the table of contents of `gen` listing `segments`, in this order."""
    ix = gen.open_index(mmap=False)
    try:
        writer = ix.writer()
        try:
            writer._close_segment()  # its own segment stays empty: nothing is added here
            writer._commit_toc(segments)
        except BaseException:
            writer.cancel()
            raise
        writer._finish()
    finally:
        ix.close()
