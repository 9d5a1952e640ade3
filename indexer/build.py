"""One `kb index` run: discover, diff against the manifest, extract what changed, write.

A file is unchanged when its size, mtime and sidecar match the manifest; a file whose mtime
changed but whose sha256 did not is only touched. Everything else is extracted, in worker
processes when there are many, while this process alone writes. A file that cannot be used
is recorded with its reason and never aborts the run.

Nothing here imports whoosh, the extractors or the vocabulary until there is something to
extract or write: a run that finds nothing to do costs one stat per file and one manifest read.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.discover import CorpusFile, discover, has_reading_lists, lists_signature
from kb.errors import CorpusEmpty, IndexUnavailable
from kb.settings import Settings
from kb.store import Generation, IndexStore, Manifest, ManifestEntry, now_iso

PARALLEL_THRESHOLD = 16  # below this many files, starting workers costs more than it saves
Progress = Callable[[int, int, str], None]

EXIT_OK, EXIT_SOME_FAILED, EXIT_FATAL = 0, 1, 2
STATUSES = ("indexed", "unchanged", "removed", "skipped", "failed")
CHANGES = ("added", "updated")
WRITER_LIMIT_MB = 128
# Modules the extraction workers need, imported once in the fork server rather than per worker.
_WORKER_PRELOAD = ["indexer.extract", "indexer.metadata", "indexer.passages", "indexer.entities"]


@dataclass
class FileReport:
    path: str
    status: str  # indexed | unchanged | removed | skipped | failed
    doc_id: str | None = None
    passages: int = 0
    language: str | None = None
    reason: str | None = None
    title: str | None = None
    type: str | None = None
    warnings: list[str] = field(default_factory=list)
    change: str | None = None  # added | updated, for files extracted in this run


@dataclass
class IndexReport:
    files: list[FileReport] = field(default_factory=list)
    generation: str | None = None
    rebuilt: bool = False
    written: bool = False
    notes: list[str] = field(default_factory=list)
    list_problems: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 1  # extraction processes used (1: in this process)

    @property
    def summary(self) -> dict[str, int]:
        """Counts per status, and `added` + `updated` = `indexed`."""
        counts = dict.fromkeys(STATUSES + CHANGES, 0)
        for f in self.files:
            counts[f.status] += 1
            if f.status == "indexed" and f.change in CHANGES:
                counts[f.change] += 1
        return counts

    @property
    def up_to_date(self) -> bool:
        return not self.written and not self.rebuilt

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.summary["failed"] else EXIT_OK

    def to_dict(self) -> dict:
        return {
            "summary": self.summary,
            "generation": self.generation,
            "rebuilt": self.rebuilt,
            "written": self.written,
            "up_to_date": self.up_to_date,
            "notes": self.notes,
            "reading_list_problems": self.list_problems,
            "elapsed_s": round(self.elapsed_s, 3),
            "workers": self.workers,
            "files": [dict(vars(f)) for f in self.files],  # asdict deep-copies: slow at 10,000
        }


# ---- extraction of one file (runs in workers) -----------------------------------------------


@dataclass
class _Worker:
    corpus: Path
    matcher: object = None

    def setup(self) -> None:
        from indexer.entities import EntityMatcher
        from kb.vocabulary import load_vocabulary

        self.matcher = EntityMatcher(load_vocabulary(self.corpus))


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


def _init_worker(corpus: Path) -> None:
    global _worker
    _exit_with_parent()
    _worker = _Worker(corpus)
    _worker.setup()


def _extract_chunk(items: list[tuple[CorpusFile, str]]) -> list:
    assert _worker is not None
    return [extract_document(_worker.corpus, cf, sha, _worker.matcher) for cf, sha in items]


def extract_document(corpus: Path, cf: CorpusFile, sha256: str, matcher):
    """Extract, describe and split one file: (ManifestEntry, Document | None, warnings)."""
    from indexer.extract import extract_file
    from indexer.extract.base import ExtractionProblem
    from indexer.metadata import describe, read_sidecar
    from indexer.passages import split_passages
    from kb.errors import ConfigError
    from kb.models import Document

    entry = ManifestEntry(
        path=cf.rel, size=cf.size, mtime_ns=cf.mtime_ns, sha256=sha256, status="failed",
        doc_id=cf.doc_id, sidecar=cf.sidecar,
    )  # fmt: skip
    try:
        sidecar = read_sidecar(cf.path)
        extraction = extract_file(cf.path)
        meta, warnings = describe(cf.rel, extraction, sidecar, matcher)
        passages = split_passages(cf.doc_id, extraction.blocks, title=meta.title)
        if not passages:
            entry.status, entry.reason = "skipped", "no text to index"
            return entry, None, []
        doc = Document(
            doc_id=cf.doc_id,
            path=cf.rel,
            format=extraction.format,
            meta=meta,
            content_hash=sha256,
            passages=tuple(passages),
            page_count=extraction.page_count,
            warnings=tuple(extraction.warnings + warnings),
        )
    except ExtractionProblem as exc:
        entry.status, entry.reason = exc.status, exc.reason
        return entry, None, []
    except ConfigError as exc:
        entry.status, entry.reason = "failed", f"bad metadata: {exc}"
        return entry, None, []
    except OSError as exc:
        entry.status, entry.reason = "failed", f"cannot read file: {exc.strerror or exc}"
        return entry, None, []
    except Exception as exc:  # an extractor bug must not abort the whole run
        entry.status, entry.reason = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        return entry, None, []
    entry.status = "indexed"
    entry.passages = len(doc.passages)
    entry.language = meta.language
    entry.title = meta.title
    entry.type = meta.type
    return entry, doc, list(doc.warnings)


def _died(cf: CorpusFile, sha: str, detail: str):
    entry = ManifestEntry(
        path=cf.rel, size=cf.size, mtime_ns=cf.mtime_ns, sha256=sha, status="failed",
        doc_id=cf.doc_id, sidecar=cf.sidecar,
        reason=f"the extraction process died on this file ({detail})",
    )  # fmt: skip
    return entry, None, []


# ---- the run --------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def vocabulary_hash(corpus: Path) -> str:
    h = hashlib.sha256()
    for name in ("organisations.toml", "topics.toml"):
        try:
            h.update((corpus / name).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()[:16]


def _retry(entry: ManifestEntry) -> bool:
    """A file that could not be read last time is tried again even if it looks unchanged:
    fixing its permissions does not change its mtime."""
    return entry.status == "failed" and (entry.reason or "").startswith("cannot read")


class IndexRun:
    """Plans and performs one run; `check=True` extracts without writing anything.

    The caller holds the writer lock (see `run_index`), except for a check.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rebuild: bool = False,
        workers: int | None = None,
        progress: Progress | None = None,
        check: bool = False,
    ) -> None:
        self.settings = settings
        self.corpus = settings.corpus
        self.store = IndexStore(settings.index)
        self.rebuild = rebuild
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self.progress = progress
        self.check = check
        self.report = IndexReport()
        self._started = time.monotonic()
        # Set by _open_current: None when the manifest vouches for the index (the usual case),
        # else the doc ids actually in the index, so that planning can repair the difference.
        self._index_ids: set[str] | None = None
        self._old = Manifest()
        self._manifest = Manifest()
        self._touched = False  # some files changed mtime but not content
        self._dirty = False  # some file newly failed before extraction (cannot be read)
        self._dropped: list[ManifestEntry] = []  # indexed before, unreadable now

    def run(self) -> IndexReport:
        if not self.corpus.is_dir():
            raise IndexUnavailable(f"corpus folder {self.corpus} does not exist")
        current, old = (None, Manifest()) if self.check else self._open_current()
        indexed = sum(1 for e in old.entries.values() if e.status == "indexed")
        vocab_hash = vocabulary_hash(self.corpus)
        if current and old.vocabulary_hash and old.vocabulary_hash != vocab_hash:
            self.report.notes.append(
                "organisations or topics changed: describing every document again"
            )
            current, old = None, Manifest()
        full = current is None
        files, problems = discover(self.corpus)
        if not self.rebuild and not self.check and not files and not problems and indexed:
            # An unmounted share or a folder emptied by mistake looks exactly like this:
            # taking every document for deleted would empty the library members search.
            raise CorpusEmpty(
                f"the corpus folder {self.corpus} has no documents, but the index holds "
                f"{indexed}; nothing was changed. If the folder is meant to be empty, "
                "run `kb index --rebuild`."
            )
        for rel, reason in problems:
            self.report.files.append(FileReport(rel, "failed", reason=reason))
        todo, deleted = self._plan(files, old, problems)
        if todo:
            self._validate_vocabulary()

        if self.check:
            anchors: dict[str, frozenset[str]] = {}
            for _, doc in self._extract_all(todo):
                if doc is not None:
                    anchors[doc.doc_id] = frozenset(p.anchor for p in doc.passages)
            from kb.readinglists import check_refs

            problems = check_refs(self.corpus, anchors.get)
            self.report.list_problems = [p.to_dict() for p in problems]
        elif full:
            self._full_build(todo, vocab_hash)
        elif todo or deleted or self._dropped or self._index_ids is not None:
            self._incremental(current, todo, deleted, vocab_hash)
        else:
            self.report.generation = current.name
            if self._touched or self._dirty:  # only the manifest has news; the index has none
                self._manifest.index_files = old.index_files
                current.write_manifest(self._manifest)
                self.report.written = True
        self.report.files.sort(key=lambda f: f.path)
        self.report.elapsed_s = time.monotonic() - self._started
        return self.report

    def _note(self, text: str) -> None:
        self.report.notes.append(text)

    def _open_current(self) -> tuple[Generation | None, Manifest]:
        """The generation to update and its manifest; (None, empty) when a full build is due,
        with a note saying why when the reason is a problem."""
        store = self.store
        if self.rebuild:
            return None, Manifest()
        if not store.has_pointer():
            if not store.generations():
                return None, Manifest()  # the first run: nothing to say
            return self._adopt_newest()
        try:
            gen = store.current()
        except IndexUnavailable:
            name = store.current_name()
            self._note(
                f"the current index generation {name} is missing; rebuilding it"
                if name
                else "the index pointer CURRENT is damaged; rebuilding the index"
            )
            return None, Manifest()
        manifest = gen.load_manifest()
        if manifest is None:
            self._note(f"the manifest of index generation {gen.name} is missing or damaged; "
                       "rebuilding the index")  # fmt: skip
            return None, Manifest()
        try:
            gen.check_schema()
        except IndexUnavailable as exc:
            self._note(f"{exc}; rebuilding the index")
            return None, Manifest()
        if gen.matches(manifest):
            return gen, manifest
        try:
            self._index_ids = gen.doc_ids()
        except IndexUnavailable as exc:
            self._note(f"{exc}; rebuilding it")
            return None, Manifest()
        self._note(
            f"index generation {gen.name} differs from its manifest (an interrupted run?); "
            "comparing every file with the index"
            if manifest.index_files
            else f"index generation {gen.name} was built by an older kb; "
            "comparing every file with the index once"
        )
        return gen, manifest

    def _adopt_newest(self) -> tuple[Generation | None, Manifest]:
        """CURRENT is gone but generations remain: continue from the newest one that is
        complete (it has a manifest and opens), rather than rebuilding everything."""
        for gen in reversed(self.store.generations()):
            manifest = gen.load_manifest()
            if manifest is None:
                continue
            try:
                gen.check_schema()
                ids = gen.doc_ids()
            except IndexUnavailable:
                continue
            self.store.adopt(gen)
            self.report.written = True
            if not gen.matches(manifest):
                self._index_ids = ids
            self._note(
                f"the index pointer CURRENT was missing; continuing from {gen.name}, "
                "the newest complete generation"
            )
            return gen, manifest
        self._note("the index pointer CURRENT was missing and no generation is usable; "
                   "rebuilding the index")  # fmt: skip
        return None, Manifest()

    def _validate_vocabulary(self) -> None:
        """Fail the run here, before any write, when organisations or topics cannot be read."""
        from kb.vocabulary import load_vocabulary

        load_vocabulary(self.corpus)

    def _plan(self, files: list[CorpusFile], old: Manifest, problems: list[tuple[str, str]]):
        """Split files into unchanged (reported from the manifest) and to-extract."""
        todo: list[tuple[CorpusFile, str]] = []
        self._old = old
        self._manifest = Manifest(
            vocabulary_hash=old.vocabulary_hash,
            last_run=old.last_run,
            list_problems=old.list_problems,
            lists_signature=old.lists_signature,
        )
        in_index = self._index_ids
        seen = set()
        for cf in files:
            seen.add(cf.rel)
            prev = old.entries.get(cf.rel)
            vouched = prev is not None and (
                in_index is None or prev.status != "indexed" or prev.doc_id in in_index
            )
            if (
                vouched
                and prev.size == cf.size
                and prev.mtime_ns == cf.mtime_ns
                and prev.sidecar == cf.sidecar
                and prev.doc_id == cf.doc_id
                and not _retry(prev)
            ):
                self._keep(prev)
                continue
            try:
                sha = file_sha256(cf.path)
            except OSError as exc:
                self._unreadable(cf, prev, f"cannot read file: {exc.strerror or exc}")
                continue
            if (
                vouched
                and prev.sha256 == sha
                and prev.sidecar == cf.sidecar
                and prev.doc_id == cf.doc_id
                and not _retry(prev)
            ):
                prev.size, prev.mtime_ns = cf.size, cf.mtime_ns  # touched, not changed
                self._touched = True
                self._keep(prev)
                continue
            todo.append((cf, sha))
        # A folder that cannot be listed hides its files; they are not deleted for that.
        hidden = tuple(
            "" if rel in (".", "") else rel.rstrip("/") + "/"  # "" hides all: the root itself
            for rel, reason in problems
            if "folder" in reason
        )
        deleted = []
        for rel, entry in old.entries.items():
            if rel in seen:
                continue
            if hidden and rel.startswith(hidden):
                self._keep(entry)
                continue
            deleted.append(entry)
            self.report.files.append(
                FileReport(entry.path, "removed", entry.doc_id, title=entry.title, type=entry.type)
            )
        return todo, deleted

    def _unreadable(self, cf: CorpusFile, prev: ManifestEntry | None, reason: str) -> None:
        if prev is not None and prev.status == "indexed":
            self._dropped.append(prev)  # its old version leaves the index
        entry = ManifestEntry(cf.rel, cf.size, cf.mtime_ns, "", "failed", cf.doc_id,
                              reason=reason, sidecar=cf.sidecar)  # fmt: skip
        if prev is not None and prev == entry:
            self._keep(prev)  # failed the same way last time: nothing new to remember
            return
        self._dirty = True
        self._manifest.entries[cf.rel] = entry
        self.report.files.append(FileReport(cf.rel, "failed", cf.doc_id, reason=reason,
                                            change="updated" if prev else "added"))  # fmt: skip

    def _keep(self, prev: ManifestEntry) -> None:
        self._manifest.entries[prev.path] = prev
        status = "unchanged" if prev.status == "indexed" else prev.status
        self.report.files.append(
            FileReport(prev.path, status, prev.doc_id, prev.passages, prev.language,
                       prev.reason, prev.title, prev.type)
        )  # fmt: skip

    # -- extraction ---------------------------------------------------------------------------

    def _extract_all(self, todo: list[tuple[CorpusFile, str]]) -> Iterator:
        """Extract every file to do, in order; record each in the manifest and the report,
        and yield (entry, document or None)."""
        total = len(todo)
        for done, (entry, doc, warnings) in enumerate(self._extractions(todo), start=1):
            if self.progress:
                self.progress(done, total, entry.path)
            self._manifest.entries[entry.path] = entry
            self.report.files.append(
                FileReport(entry.path, entry.status, entry.doc_id, entry.passages, entry.language,
                           entry.reason, entry.title, entry.type, warnings,
                           change="updated" if entry.path in self._old.entries else "added")
            )  # fmt: skip
            yield entry, doc

    def _extractions(self, todo: list[tuple[CorpusFile, str]]) -> Iterator:
        workers = min(self.workers, len(todo))
        if len(todo) >= PARALLEL_THRESHOLD and workers > 1:
            self.report.workers = workers
            yield from self._parallel(todo, workers)
            return
        worker = _Worker(self.corpus)
        if todo:
            worker.setup()
        for cf, sha in todo:
            yield extract_document(self.corpus, cf, sha, worker.matcher)

    def _pool(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # A fork server, not fork: workers must not inherit this process's open files (the
        # writer lock, whoosh's lock and segments), or a killed run would leave them held.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_WORKER_PRELOAD)
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(self.corpus,)
        )

    def _parallel(self, todo: list[tuple[CorpusFile, str]], workers: int) -> Iterator:
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
                # A worker died (out of memory, a crash in a C library), and which file did
                # it is unknown: redo the rest one file at a time, each on its own.
                pool.shutdown(wait=False, cancel_futures=True)
                yield from self._isolated(todo[done:])

    def _isolated(self, items: list[tuple[CorpusFile, str]]) -> Iterator:
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

    # -- writing ------------------------------------------------------------------------------

    def _full_build(self, todo: list[tuple[CorpusFile, str]], vocab_hash: str) -> None:
        from kb.writer import add_document, merge_policy, open_writer

        def fill(gen: Generation) -> None:
            ix = gen.open_index(mmap=False)
            writer = open_writer(ix, limitmb=WRITER_LIMIT_MB)
            try:
                for _, doc in self._extract_all(todo):
                    if doc is not None:
                        add_document(writer, doc)
                writer.commit(mergetype=merge_policy)
            except BaseException:
                writer.cancel()
                raise
            finally:
                ix.close()
            gen.write_manifest(self._finish_manifest(vocab_hash, gen.index_files(), True))

        gen = self.store.build_generation(fill)
        self.store.switch_to(gen)
        self.report.generation = gen.name
        self.report.rebuilt = True
        self.report.written = True

    def _incremental(
        self, current: Generation, todo: list[tuple[CorpusFile, str]],
        deleted: list[ManifestEntry], vocab_hash: str,
    ) -> None:  # fmt: skip
        """Delete what went away, write what is new or changed, one whoosh commit.

        A changed document is written over its previous version passage by passage: only
        passages whose record differs are replaced (`kb.writer.replace_document`). The whoosh
        writer is opened only when the index actually changes: a new file that turns out
        empty only updates the manifest.
        """
        from kb.writer import (
            add_document,
            delete_documents,
            merge_policy,
            open_writer,
            replace_document,
        )

        old = self._old
        changed: set[str] = set()  # documents to write over, or to delete if they fail now
        if self._index_ids is None:
            # The manifest vouches for the index: delete exactly the documents it lists.
            doomed = {
                e.doc_id for e in deleted + self._dropped if e.status == "indexed" and e.doc_id
            }
            for cf, _ in todo:
                prev = old.entries.get(cf.rel)
                if prev is not None and prev.status == "indexed" and prev.doc_id:
                    changed.add(prev.doc_id)
            changed -= doomed
        else:
            # It does not: keep only the documents the new manifest vouches for so far.
            kept = {e.doc_id for e in self._manifest.entries.values() if e.status == "indexed"}
            doomed = self._index_ids - kept

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
            for _, doc in self._extract_all(todo):
                if doc is None:
                    continue
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
        # Without a commit the index is what the manifest says (checked in full when it was
        # not in sync), so the manifest can vouch for the files as they are.
        verified = writer is not None or self._index_ids is not None
        files = current.index_files() if verified else old.index_files
        current.write_manifest(self._finish_manifest(vocab_hash, files, False))
        self.report.generation = current.name
        self.report.written = True

    def _finish_manifest(self, vocab_hash: str, index_files: dict, rebuilt: bool) -> Manifest:
        m = self._manifest
        m.vocabulary_hash = vocab_hash
        m.index_files = index_files
        m.list_problems = self.report.list_problems
        m.last_run = {
            "finished_at": now_iso(),
            "elapsed_s": round(time.monotonic() - self._started, 3),
            "rebuilt": rebuilt,
            "summary": self.report.summary,
            "failed": [
                {"path": f.path, "reason": f.reason}
                for f in self.report.files
                if f.status == "failed"
            ],
        }
        return m


def run_index(settings: Settings, *, rebuild: bool = False, wait: float = 0.0, workers: int | None = None,
              progress: Progress | None = None) -> IndexReport:  # fmt: skip
    """Bring the index up to date with the corpus, holding the single-writer lock."""
    if not settings.corpus.is_dir():
        raise IndexUnavailable(f"corpus folder {settings.corpus} does not exist")
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        report = IndexRun(settings, rebuild=rebuild, workers=workers, progress=progress).run()
        check_reading_lists(settings, store, report)
        store.cleanup()
        return report


def check_reading_lists(settings: Settings, store: IndexStore, report: IndexReport) -> None:
    """Report reading-list items whose ref does not resolve in the index just written.

    The result is kept in the manifest with a signature of the list files, so a run where
    neither the index nor the lists changed reuses it (and imports nothing more).
    """
    generation = store.current_or_none()
    if generation is None:
        return
    manifest = generation.read_manifest()
    signature = lists_signature(settings.corpus)
    if not report.written and manifest.lists_signature == signature:
        report.list_problems = manifest.list_problems
        return
    if not has_reading_lists(settings.corpus):
        # Nothing to check, so no index to open: the usual case of a corpus without lists.
        report.list_problems = []
        if manifest.list_problems == [] and manifest.lists_signature == signature:
            return
    else:
        from kb.library import Library
        from kb.readinglists import validate

        snap = Library(settings, check_interval=0).snapshot()
        report.list_problems = [p.to_dict() for p in validate(settings.corpus, snap)]
    manifest.list_problems = report.list_problems
    manifest.lists_signature = signature
    generation.write_manifest(manifest)


def check_corpus(
    settings: Settings, *, workers: int | None = None, progress: Progress | None = None
) -> IndexReport:
    """Discover and extract everything without writing: what `kb index --rebuild` would do."""
    return IndexRun(settings, rebuild=True, workers=workers, progress=progress, check=True).run()


def rollback(settings: Settings, *, wait: float = 0.0) -> Generation:
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        return store.rollback()
