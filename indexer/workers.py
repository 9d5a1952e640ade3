"""Extraction of the files a run has to do, in this process or in worker processes.

Each file is extracted, described and split into passages on its own; a file that cannot be
used becomes a failed or skipped manifest entry with its reason, never an exception. With
many files, fork-server worker processes do the work while the calling process writes; a
worker that dies (out of memory, a crash in a C library) fails only the file it was on.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.attachments import attachment_documents, make_document
from indexer.discover import CorpusFile
from indexer.plan import ToExtract
from kb.manifest import Cause, EntryStatus, ManifestEntry

if TYPE_CHECKING:
    from indexer.entities import EntityMatcher
    from indexer.extract.limits import FileLimits
    from kb.access import VisibilityConfig
    from kb.models import Document

PARALLEL_THRESHOLD = 16  # below this many files, starting workers costs more than it saves
# Modules the extraction workers need, imported once in the fork server rather than per worker.
_WORKER_PRELOAD = ["indexer.extract", "indexer.metadata", "indexer.passages", "indexer.entities",
                   "kb.writer"]  # fmt: skip

Extracted = tuple[ManifestEntry, "Document | None", list[str]]  # entry, document, warnings


@dataclass
class _Worker:
    corpus: Path
    index: Path | None = None  # where OCR keeps its cache
    matcher: EntityMatcher | None = None
    visibility: VisibilityConfig | None = None
    limits: FileLimits | None = None
    options: dict[str, dict[str, Any]] | None = None  # extractors' options, by format

    def setup(self) -> None:
        from indexer.entities import EntityMatcher
        from indexer.extract import extract_options
        from indexer.extract.limits import load_limits
        from kb.access import load_visibility_config
        from kb.vocabulary import load_vocabulary

        vocabulary = load_vocabulary(self.corpus)
        self.matcher = EntityMatcher(vocabulary)
        # The run checked kb.toml before extracting (IndexRun), so this load cannot fail
        # unless the file changed since; then the error fails the run, never a default.
        self.visibility = load_visibility_config(self.corpus, vocabulary)
        self.limits = load_limits(self.corpus)
        self.options = extract_options(self.corpus, self.index)  # reads kb.toml


_worker: _Worker | None = None  # one per worker process, set by the pool initialiser


def _exit_with_parent() -> None:
    """End this worker when the `kb index` that started it dies (even by SIGKILL).

    A pool worker otherwise waits forever on a queue its dead parent can no longer close, and
    keeps the fork server alive with it. multiprocessing gives each child a sentinel that
    becomes readable when the process that started it is gone.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="kb-exit-with-parent", daemon=True).start()


def _init_worker(corpus: Path, index: Path | None) -> None:
    global _worker
    _exit_with_parent()
    _worker = _Worker(corpus, index)
    _worker.setup()


def _extract_chunk(items: ToExtract) -> list[Extracted]:
    assert _worker is not None
    return [
        extract_document(
            _worker.corpus,
            cf,
            sha,
            _worker.matcher,
            _worker.visibility,
            _worker.limits,
            _worker.options,
        )
        for cf, sha in items
    ]


def extract_document(
    corpus: Path,
    cf: CorpusFile,
    sha256: str,
    matcher: EntityMatcher | None,
    visibility: VisibilityConfig | None = None,
    limits: FileLimits | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> Extracted:
    """Extract, describe and split one file: (ManifestEntry, Document | None, warnings).
    `visibility`: the corpus's visibility defaults (None: no configuration, `members`).
    `limits`: the file's size, CPU time and passage limits (None: the defaults); the CPU
    time covers all three steps, for every format (this process's CPU: OCR's Tesseract runs
    in child processes, under its own per-page limit). `options`: the extractors' options
    (`extract_options`)."""
    from indexer.extract import extract_file
    from indexer.extract.base import ExtractionProblem
    from indexer.extract.limits import (
        FileLimits,
        TimeLimitExceeded,
        TooLarge,
        TooSlow,
        cpu_time_limit,
    )
    from indexer.metadata import describe, read_sidecar
    from kb.errors import ConfigError

    entry = ManifestEntry(
        path=cf.rel, size=cf.size, mtime_ns=cf.mtime_ns, sha256=sha256,
        status=EntryStatus.FAILED, doc_id=cf.doc_id, sidecar=cf.sidecar,
    )  # fmt: skip

    def not_indexed(status: EntryStatus, cause: Cause, reason: str) -> Extracted:
        entry.status, entry.cause, entry.reason = status, cause, reason
        return entry, None, []

    limits = limits or FileLimits()
    try:
        try:
            with cpu_time_limit(limits.cpu_seconds):
                sidecar = read_sidecar(cf.path)
                extraction = extract_file(
                    cf.path,
                    time_limit=limits.cpu_seconds,
                    max_bytes=limits.max_bytes,
                    options=options,
                )
                meta, warnings = describe(cf.rel, extraction, sidecar, matcher, visibility)
                attached = attachment_documents(
                    cf, sha256, extraction, meta, matcher, visibility, limits.max_passages
                )
                if attached:
                    meta = replace(meta, attachments=tuple(d.doc_id for d in attached))
                doc = make_document(
                    cf.doc_id, cf.rel, extraction, meta, sha256, warnings,
                    attached=tuple(attached), max_passages=limits.max_passages,
                )  # fmt: skip
        except TimeLimitExceeded:
            raise TooSlow(f"time limit of {limits.cpu_seconds:g} s exceeded") from None
        if doc is None:
            return not_indexed(EntryStatus.SKIPPED, Cause.NO_TEXT, "no text to index")
    except (TooLarge, TooSlow) as exc:
        reason = f"{exc.reason} ([limits] {exc.setting} in kb.toml)"
        return not_indexed(EntryStatus(exc.status), Cause.OVER_LIMIT, reason)
    except ExtractionProblem as exc:
        # An extractor that could not read the file says so by chaining the OSError.
        unreadable = isinstance(exc.__cause__, OSError)
        cause = Cause.UNREADABLE_FILE if unreadable else Cause.EXTRACTION
        return not_indexed(EntryStatus(exc.status), cause, exc.reason)
    except ConfigError as exc:
        return not_indexed(EntryStatus.FAILED, Cause.BAD_METADATA, f"bad metadata: {exc}")
    except OSError as exc:
        reason = f"cannot read file: {exc.strerror or exc}"
        return not_indexed(EntryStatus.FAILED, Cause.UNREADABLE_FILE, reason)
    except Exception as exc:  # an extractor bug must not abort the whole run
        reason = f"unexpected error: {type(exc).__name__}: {exc}"
        return not_indexed(EntryStatus.FAILED, Cause.UNEXPECTED, reason)
    entry.attachments = [d.doc_id for d in attached]
    entry.status = EntryStatus.INDEXED
    entry.passages = len(doc.passages)
    entry.language = meta.language
    entry.title = meta.title
    entry.type = meta.type
    entry.visibility = meta.visibility
    return entry, doc, list(doc.warnings)


def _died(cf: CorpusFile, sha: str, detail: str) -> Extracted:
    entry = ManifestEntry(
        path=cf.rel, size=cf.size, mtime_ns=cf.mtime_ns, sha256=sha, status=EntryStatus.FAILED,
        doc_id=cf.doc_id, sidecar=cf.sidecar, cause=Cause.WORKER_DIED,
        reason=f"the extraction process died on this file ({detail})",
    )  # fmt: skip
    return entry, None, []


class Extractor:
    """Extracts a run's files in order, in up to `workers` processes."""

    def __init__(self, corpus: Path, workers: int, index: Path | None = None) -> None:
        self.corpus = corpus
        self.index = index
        self.workers = workers
        self.used = 1  # extraction processes used (1: in this process)

    def parallel(self, todo: ToExtract) -> bool:
        """Whether `todo` is extracted in worker processes."""
        return len(todo) >= PARALLEL_THRESHOLD and min(self.workers, len(todo)) > 1

    def extract(self, todo: ToExtract) -> Iterator[Extracted]:
        """(entry, document or None, warnings) for each file, in the order of `todo`."""
        workers = min(self.workers, len(todo))
        if self.parallel(todo):
            self.used = workers
            yield from self._parallel(todo, workers)
            return
        worker = _Worker(self.corpus, self.index)
        if todo:
            worker.setup()
        for cf, sha in todo:
            yield extract_document(
                self.corpus,
                cf,
                sha,
                worker.matcher,
                worker.visibility,
                worker.limits,
                worker.options,
            )

    def _pool(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # A fork server, not fork: workers must not inherit this process's open files (the
        # writer lock, whoosh's lock and segments), or a killed run would leave them held.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_WORKER_PRELOAD)
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self.corpus, self.index),
        )

    def _parallel(self, todo: ToExtract, workers: int) -> Iterator[Extracted]:
        """Results in the order of `todo`, with a bounded number of chunks in flight so that
        finished documents never pile up in memory when the writer is the slower side."""
        from concurrent.futures.process import BrokenProcessPool

        size = max(1, min(8, len(todo) // (workers * 8)))
        chunks = deque(todo[i : i + size] for i in range(0, len(todo), size))
        window = workers * 4
        done = 0  # results yielded, in the order of `todo`
        with self._pool(workers) as pool:
            pending: deque = deque()
            try:
                while chunks or pending:
                    while chunks and len(pending) < window:
                        pending.append(pool.submit(_extract_chunk, chunks.popleft()))
                    results = pending.popleft().result()
                    yield from results
                    done += len(results)
            except BrokenProcessPool:
                # A worker died, and which file did it is unknown: redo the rest one file at
                # a time, each on its own.
                pool.shutdown(wait=False, cancel_futures=True)
                yield from self._isolated(todo[done:])

    def _isolated(self, items: ToExtract) -> Iterator[Extracted]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._pool(1)
        try:
            for cf, sha in items:
                try:
                    yield pool.submit(_extract_chunk, [(cf, sha)]).result()[0]
                except BrokenProcessPool as exc:
                    yield _died(cf, sha, str(exc) or type(exc).__name__)
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(1)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
