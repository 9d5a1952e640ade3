"""One `kb index` run: discover, diff against the manifest, extract what changed, write.

Extraction of many files runs in worker processes; one writer in this process applies deletes
and adds and commits. A file that cannot be used is recorded with its reason and never aborts
the run.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer.discover import CorpusFile, discover
from kb.errors import IndexUnavailable
from kb.settings import Settings
from kb.store import Generation, IndexStore, Manifest, ManifestEntry, now_iso
from kb.writer import add_document, delete_document

PARALLEL_THRESHOLD = 16  # below this many files, starting workers costs more than it saves
Progress = Callable[[int, int, str], None]

EXIT_OK, EXIT_SOME_FAILED, EXIT_FATAL = 0, 1, 2


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


@dataclass
class IndexReport:
    files: list[FileReport] = field(default_factory=list)
    generation: str | None = None
    rebuilt: bool = False
    written: bool = False
    notes: list[str] = field(default_factory=list)
    list_problems: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(("indexed", "unchanged", "removed", "skipped", "failed"), 0)
        for f in self.files:
            counts[f.status] += 1
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
            "up_to_date": self.up_to_date,
            "notes": self.notes,
            "reading_list_problems": self.list_problems,
            "elapsed_s": round(self.elapsed_s, 3),
            "files": [asdict(f) for f in self.files],
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


def _init_worker(corpus: Path) -> None:
    global _worker
    _worker = _Worker(corpus)
    _worker.setup()


def _extract_in_worker(item: tuple[CorpusFile, str, str | None]):
    assert _worker is not None
    return extract_document(_worker.corpus, item[0], item[1], item[2], _worker.matcher)


def extract_document(corpus: Path, cf: CorpusFile, sha256: str, sidecar_sig: str | None, matcher):
    """Extract, describe and split one file: (ManifestEntry, Document | None, warnings)."""
    from indexer.extract import extract_file
    from indexer.extract.base import ExtractionProblem
    from indexer.metadata import describe, read_sidecar
    from indexer.passages import split_passages
    from kb.errors import ConfigError
    from kb.models import Document

    entry = ManifestEntry(
        path=cf.rel, size=cf.size, mtime_ns=cf.mtime_ns, sha256=sha256, status="failed",
        doc_id=cf.doc_id, sidecar=sidecar_sig,
    )  # fmt: skip
    try:
        sidecar = read_sidecar(cf.path)
        extraction = extract_file(cf.path)
        meta, warnings = describe(cf.rel, extraction, sidecar, matcher)
        passages = split_passages(cf.doc_id, extraction.blocks)
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


# ---- the run --------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sidecar_signature(path: Path) -> str | None:
    from indexer.metadata import sidecar_paths

    for candidate in sidecar_paths(path):
        try:
            st = candidate.stat()
        except OSError:
            continue
        return f"{candidate.name}:{st.st_size}:{st.st_mtime_ns}"
    return None


def vocabulary_hash(corpus: Path) -> str:
    h = hashlib.sha256()
    for name in ("organisations.toml", "topics.toml"):
        try:
            h.update((corpus / name).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()[:16]


class IndexRun:
    """Plans and performs one run; `check=True` extracts without writing anything."""

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
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.progress = progress
        self.check = check
        self.report = IndexReport()

    def run(self) -> IndexReport:
        started = time.monotonic()
        if not self.corpus.is_dir():
            raise IndexUnavailable(f"corpus folder {self.corpus} does not exist")
        current = None if self.rebuild else self._usable_current()
        old = current.read_manifest() if current else Manifest()
        vocab_hash = vocabulary_hash(self.corpus)
        if current and old.vocabulary_hash and old.vocabulary_hash != vocab_hash:
            self.report.notes.append(
                "organisations or topics changed: describing every document again"
            )
            old = Manifest()
            self.rebuild = True

        files, problems = discover(self.corpus)
        for rel, reason in problems:
            self.report.files.append(FileReport(rel, "failed", reason=reason))
        plan = self._plan(files, old)
        todo, deleted = plan

        if self.check:
            self._extract_all(todo, lambda entry, doc, warnings: None)
        elif current is None or self.rebuild:
            self._full_build(todo, vocab_hash)
        elif todo or deleted:
            self._incremental(current, old, todo, deleted, vocab_hash)
        else:
            self.report.generation = current.name
            if self._touched:
                current.write_manifest(old)
        self.report.files.sort(key=lambda f: f.path)
        self.report.elapsed_s = time.monotonic() - started
        return self.report

    def _usable_current(self) -> Generation | None:
        had_pointer = (self.store.root / "CURRENT").exists()
        gen = self.store.current_or_none()
        if gen is None:
            if had_pointer:
                self.report.notes.append("the current index is missing; rebuilding it")
            return None
        try:
            gen.check()
        except IndexUnavailable as exc:
            self.report.notes.append(f"{exc}; rebuilding it")
            return None
        return gen

    def _plan(self, files: list[CorpusFile], old: Manifest):
        """Split files into unchanged (reported from the manifest) and to-extract."""
        todo: list[tuple[CorpusFile, str, str | None]] = []
        self._touched = False
        self._manifest = Manifest(entries={})
        seen = set()
        for cf in files:
            seen.add(cf.rel)
            sig = sidecar_signature(cf.path)
            prev = old.entries.get(cf.rel)
            if (
                prev
                and prev.size == cf.size
                and prev.mtime_ns == cf.mtime_ns
                and prev.sidecar == sig
                and prev.doc_id == cf.doc_id
            ):
                self._keep(prev)
                continue
            try:
                sha = file_sha256(cf.path)
            except OSError as exc:
                self.report.files.append(
                    FileReport(
                        cf.rel, "failed", cf.doc_id, reason=f"cannot read file: {exc.strerror}"
                    )
                )
                continue
            if prev and prev.sha256 == sha and prev.sidecar == sig and prev.doc_id == cf.doc_id:
                prev.size, prev.mtime_ns = cf.size, cf.mtime_ns  # touched, not changed
                self._touched = True
                self._keep(prev)
                continue
            todo.append((cf, sha, sig))
        deleted = [e for rel, e in old.entries.items() if rel not in seen]
        for e in deleted:
            self.report.files.append(
                FileReport(e.path, "removed", e.doc_id, title=e.title, type=e.type)
            )
        self._deleted = deleted
        self._old = old
        return todo, deleted

    def _keep(self, prev: ManifestEntry) -> None:
        self._manifest.entries[prev.path] = prev
        status = "unchanged" if prev.status == "indexed" else prev.status
        self.report.files.append(
            FileReport(
                prev.path,
                status,
                prev.doc_id,
                prev.passages,
                prev.language,
                prev.reason,
                prev.title,
                prev.type,
            )
        )

    def _extract_all(self, todo, consume) -> None:
        total = len(todo)
        for done, (entry, doc, warnings) in enumerate(self._extractions(todo), start=1):
            if self.progress:
                self.progress(done, total, entry.path)
            self._manifest.entries[entry.path] = entry
            self.report.files.append(
                FileReport(entry.path, entry.status, entry.doc_id, entry.passages, entry.language,
                           entry.reason, entry.title, entry.type, warnings)
            )  # fmt: skip
            consume(entry, doc, warnings)

    def _extractions(self, todo) -> Iterator:
        if len(todo) >= PARALLEL_THRESHOLD and self.workers > 1:
            with ProcessPoolExecutor(
                max_workers=self.workers, initializer=_init_worker, initargs=(self.corpus,)
            ) as pool:
                yield from pool.map(_extract_in_worker, todo, chunksize=4)
        else:
            worker = _Worker(self.corpus)
            worker.setup()
            for cf, sha, sig in todo:
                yield extract_document(self.corpus, cf, sha, sig, worker.matcher)

    def _write_docs(self, writer, todo) -> None:
        def consume(entry, doc, warnings):
            if doc is not None:
                add_document(writer, doc)

        self._extract_all(todo, consume)

    def _full_build(self, todo, vocab_hash: str) -> None:
        def fill(gen: Generation) -> None:
            ix = gen.open_index()
            writer = ix.writer(limitmb=128)
            try:
                self._write_docs(writer, todo)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            finally:
                ix.close()
            gen.write_manifest(self._finish_manifest(vocab_hash))

        gen = self.store.build_generation(fill)
        self.store.switch_to(gen)
        self.report.generation = gen.name
        self.report.rebuilt = True
        self.report.written = True

    def _incremental(
        self, current: Generation, old: Manifest, todo, deleted, vocab_hash: str
    ) -> None:
        ix = current.open_index()
        writer = ix.writer(limitmb=128)
        try:
            for entry in deleted:
                if entry.doc_id:
                    delete_document(writer, entry.doc_id)
            for cf, _, _ in todo:
                delete_document(writer, cf.doc_id)
                prev = old.entries.get(cf.rel)
                if prev and prev.doc_id and prev.doc_id != cf.doc_id:
                    delete_document(writer, prev.doc_id)
            self._write_docs(writer, todo)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()
        current.write_manifest(self._finish_manifest(vocab_hash))
        self.report.generation = current.name
        self.report.written = True

    def _finish_manifest(self, vocab_hash: str) -> Manifest:
        m = self._manifest
        m.vocabulary_hash = vocab_hash
        m.list_problems = self.report.list_problems
        m.last_run = {
            "finished_at": now_iso(),
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
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        report = IndexRun(settings, rebuild=rebuild, workers=workers, progress=progress).run()
        store.cleanup()
        return report


def check_corpus(
    settings: Settings, *, workers: int | None = None, progress: Progress | None = None
) -> IndexReport:
    """Discover and extract everything without writing: what `kb index --rebuild` would do."""
    return IndexRun(settings, rebuild=True, workers=workers, progress=progress, check=True).run()


def rollback(settings: Settings, *, wait: float = 0.0) -> Generation:
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        return store.rollback()
