"""A full build written by its extraction workers: each writes one segment of the generation.

whoosh's writer is pure Python and was the critical path of a full build: one process
analysed, sorted and wrote every passage while the workers only extracted. Here the files
to index are cut into as many contiguous ranges as there are workers (by size, so the
ranges take about as long), and each worker extracts its range and writes the documents
into a segment of its own in the generation being built. This process then writes the
table of contents listing the segments in the order of the ranges, so each record gets
the number a serial build gives it, and the index statistics (documents, field lengths,
term frequencies) are sums over the segments: searches rank exactly as on a serial build.

Nothing becomes current before the table of contents is written and the generation is
switched (`kb.store.IndexStore.build_generation`). A worker that dies takes its whole
range with it: the build raises `WorkerDied`, the half-built generation is removed, and
the caller builds again the way that isolates the file at fault (`indexer.workers`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from indexer import workers
from indexer.plan import ToExtract
from indexer.workers import Extracted, Extractor

if TYPE_CHECKING:
    from kb.generation import Generation
    from kb.store import IndexStore

# Files extracted at a time in a range (what the worker holds before writing them).
CHUNK = 8
# Each worker's whoosh sorting pool, in MB; the two workers of a 2-core machine together
# stay within the memory of the single writer they replace.
SEGMENT_LIMIT_MB = 96


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
    index: str, items: ToExtract, extract: Callable[[ToExtract], list[Extracted]], limitmb: int
):
    """In a worker: extract `items` with `extract` and write their documents into a new
    segment of the whoosh index in `index`. Returns (the segment or None when nothing was
    written, [(entry, None, warnings)] for each file): the parent writes the table of
    contents, and the documents stay here."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.writing import SegmentWriter

    from kb.writer import add_document, fast_schema

    ix = FileStorage(index, supports_mmap=False).open_index()
    # No lock: the parent holds the index's lock (and the writer lock of the whole store).
    writer = SegmentWriter(ix, _lk=False, limitmb=limitmb)
    writer.kb_fast_schema = fast_schema(writer.schema)
    # whoosh names a writer's scratch folder after the index, the same for every worker:
    # each gets its own, or the first to finish would remove the others' sorted runs.
    scratch = ix.storage.temp_storage(f"sort-{writer.newsegment.segment_id()}.tmp")
    writer._tempstorage = writer.pool.tempstore = scratch
    writer._flush_segment = functools.partial(_flush_segment, writer)
    results: list[Extracted] = []
    try:
        for start in range(0, len(items), CHUNK):
            for entry, doc, warnings in extract(items[start : start + CHUNK]):
                if doc is not None:
                    add_document(writer, doc)
                    for attached in doc.attached:
                        add_document(writer, attached)
                results.append((entry, None, warnings))
        if writer._added:
            segment = writer._finalize_segment()
        else:
            segment = None
            writer._close_segment()
        writer._tempstorage.destroy()
    except BaseException:
        writer.cancel()
        raise
    finally:
        ix.close()
    return segment, results


def _flush_segment(writer) -> None:
    """whoosh's SegmentWriter._flush_segment, with the field lengths of the segment's
    documents read once per field (`_LengthTable`) rather than once per posting."""
    writer.perdocwriter.close()
    pdr = writer.per_document_reader() if writer.codec.length_stats else None
    lengths = _LengthTable(pdr) if pdr is not None else None
    writer.fieldwriter.add_postings(writer.schema, lengths, writer.pool.iter_postings())
    writer.fieldwriter.close()
    if pdr is not None:
        pdr.close()


class _LengthTable:
    """The `doc_field_length` whoosh's postings writer asks for each posting (for the
    shortest and longest document of each block), answered from a list per field that holds
    what the per-document reader answers for every document."""

    def __init__(self, reader) -> None:
        self._reader = reader
        self._fields: dict[str, list] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0):
        table = self._fields.get(fieldname)
        if table is None:
            length = self._reader.doc_field_length
            table = [length(n, fieldname, default) for n in range(self._reader.doc_count_all())]
            self._fields[fieldname] = table
        return table[docnum]


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
            futures = [pool.submit(write_segment, str(gen.path), part, workers._extract_chunk,
                                   SEGMENT_LIMIT_MB) for part in parts]  # fmt: skip
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
        _commit_segments(gen, [segment for segment, _ in results if segment is not None])
        finish(gen)

    extractor.used = len(parts)
    gen = store.build_generation(fill)
    store.switch_to(gen)
    return gen


def _gather(futures: list) -> list:
    """Each worker's (segment, results), in the order of the ranges, once all are done."""
    return [future.result() for future in futures]


def _commit_segments(gen: Generation, segments: list) -> None:
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
