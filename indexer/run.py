"""One index run: discover, plan against the manifest, extract what changed, write.

Files are extracted in worker processes when there are many, while this process alone
writes. A file that cannot be used is recorded with its reason and never aborts the run.

Nothing here imports whoosh, the extractors or the vocabulary until there is something to
extract or write: a run that finds nothing to do costs one stat per file and one manifest read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from indexer.discover import DiscoveryProblem, discover
from indexer.plan import Plan, ToExtract, plan_run, vocabulary_hash
from indexer.recovery import Start, open_current
from indexer.report import FileReport, FileStatus, IndexReport
from indexer.workers import Extractor
from indexer.write import write_changes, write_generation
from kb.errors import CorpusEmpty, IndexUnavailable
from kb.generation import Generation
from kb.manifest import Cause, Manifest, ManifestEntry, now_iso
from kb.settings import Settings
from kb.store import IndexStore

if TYPE_CHECKING:
    from kb.models import Document

Progress = Callable[[int, int, str], None]


class IndexRun:
    """Plans and performs one run; `check=True` extracts without writing anything.

    The caller holds the writer lock (see `indexer.build`), except for a check.
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
        self.extractor = Extractor(
            self.corpus,
            max(1, workers if workers is not None else (os.cpu_count() or 1)),
            settings.index,
        )
        self.progress = progress
        self.check = check
        self.report = IndexReport()
        self._started = time.monotonic()
        self._plan = Plan(old=Manifest(), manifest=Manifest())
        self._done = 0  # files extracted so far

    def run(self) -> IndexReport:
        if not self.corpus.is_dir():
            raise IndexUnavailable(f"corpus folder {self.corpus} does not exist")
        start = Start() if self.check else open_current(self.store, rebuild=self.rebuild)
        self.report.notes += start.notes
        self.report.written = start.adopted
        old = start.manifest
        indexed = sum(1 for e in old.entries.values() if e.indexed)
        vocab_hash = vocabulary_hash(self.corpus)
        if start.generation and old.vocabulary_hash and old.vocabulary_hash != vocab_hash:
            self._validate_configuration()  # before giving up on the current generation
            self.report.notes.append(
                "organisations, topics or kb.toml changed: describing every document again"
            )
            old = start.rebuild().manifest
        files, problems = discover(self.corpus)
        failures = [p for p in problems if p.cause is not Cause.IGNORED]
        if not self.rebuild and not self.check and not files and not failures and indexed:
            # An unmounted share or a folder emptied by mistake looks exactly like this:
            # taking every document for deleted would empty the library members search.
            raise CorpusEmpty(
                f"the corpus folder {self.corpus} has no documents, but the index holds "
                f"{indexed}; nothing was changed. If the folder is meant to be empty, "
                "run `kb index --rebuild`."
            )
        plan = self._plan = plan_run(files, problems, old, start.index_ids)
        self.report.files += plan.files
        self._report_problems(problems)
        if plan.todo:
            self._validate_configuration()

        current = start.generation
        if self.check:
            self._check_lists(plan.todo)
            self._check_sign_in()
        elif current is None:
            self._full_build(plan.todo, vocab_hash)
        elif plan.todo or plan.deleted or plan.dropped or start.index_ids is not None:
            self._incremental(current, start.index_ids, vocab_hash)
        else:
            self.report.generation = current.name
            if plan.manifest_only:
                plan.manifest.index_files = old.index_files
                current.write_manifest(plan.manifest)
                self.report.written = True
        self.report.workers = self.extractor.used
        self.report.notes += compound_notes(self.report.files)
        self.report.files.sort(key=lambda f: f.path)
        self.report.elapsed_s = time.monotonic() - self._started
        return self.report

    def _report_problems(self, problems: list[DiscoveryProblem]) -> None:
        for p in problems:
            if p.cause is Cause.IGNORED:
                status = FileStatus.IGNORED
            elif p.cause is Cause.BAD_NAME:  # left out on purpose, like any skipped file
                status = FileStatus.SKIPPED
            else:
                status = FileStatus.FAILED
            self.report.files.append(FileReport(p.rel, status, reason=p.reason, cause=p.cause))

    def _check_sign_in(self) -> None:
        """`kb check` reads the sign-in settings as `kb serve` will, and says what is wrong
        (indexing does not need them: the client secret lives only where the server runs)."""
        from kb.errors import ConfigError
        from kb.signin import load_sign_in_settings

        try:
            load_sign_in_settings(self.corpus)
        except ConfigError as exc:
            self.report.notes.append(f"sign-in settings: {exc} (kb serve refuses to start so)")

    def _validate_configuration(self) -> None:
        """Fail the run here, before any write, when organisations, topics or kb.toml cannot
        be read: a broken kb.toml is never taken for "no defaults", nor for public."""
        from indexer.extract.limits import load_limits
        from indexer.extract.ocr import load_ocr_settings
        from kb.access import load_visibility_config
        from kb.vocabulary import load_vocabulary

        load_visibility_config(self.corpus, load_vocabulary(self.corpus))
        load_limits(self.corpus)
        load_ocr_settings(self.corpus, None)

    # -- extraction ---------------------------------------------------------------------------

    def _extract_all(self, todo: ToExtract) -> Iterator[tuple[ManifestEntry, Document | None]]:
        """Extract every file to do, in order; record each in the manifest and the report,
        and yield (entry, document or None)."""
        for entry, doc, warnings in self.extractor.extract(todo):
            self._record(entry, warnings, len(todo))
            yield entry, doc

    def _record(self, entry: ManifestEntry, warnings: list[str], total: int) -> None:
        """Record one extracted file in the manifest and the report, and tell the progress."""
        plan = self._plan
        self._done += 1
        if self.progress:
            self.progress(self._done, total, entry.path)
        plan.manifest.entries[entry.path] = entry
        self.report.files.append(
            FileReport.of(entry, FileStatus.of(entry, extracted=True), warnings,
                          plan.change_of(entry.path))
        )  # fmt: skip

    def _documents(self, todo: ToExtract) -> Iterator[Document]:
        """Every document extracted, each followed by the documents inside it."""
        for _, doc in self._extract_all(todo):
            if doc is not None:
                yield doc
                yield from doc.attached

    def _check_lists(self, todo: ToExtract) -> None:
        """Extract without writing, and check the reading lists against what was extracted."""
        from kb.readinglists import check_refs

        anchors = {doc.doc_id: frozenset(p.anchor for p in doc.passages)
                   for doc in self._documents(todo)}  # fmt: skip
        self.report.list_problems = [p.to_dict() for p in check_refs(self.corpus, anchors.get)]

    # -- writing ------------------------------------------------------------------------------

    def _full_build(self, todo: ToExtract, vocab_hash: str) -> None:
        def finish(gen: Generation) -> None:
            gen.write_manifest(self._finish_manifest(vocab_hash, gen.index_files(), True))

        gen = None
        if self.extractor.parallel(todo):
            from indexer.segments import WorkerDied, build_in_segments

            try:
                gen = build_in_segments(self.store, todo, self.extractor,
                                        lambda e: self._record(e[0], e[2], len(todo)), finish)  # fmt: skip
            except WorkerDied:
                # Which file killed its worker is unknown: build again with one process per
                # file after a death, so that only that file fails (`indexer.workers`).
                self.report.notes.append("an extraction process died: building again")
        if gen is None:
            gen = write_generation(self.store, self._documents(todo), finish)
        self.report.generation = gen.name
        self.report.rebuilt = True
        self.report.written = True

    def _incremental(
        self, current: Generation, index_ids: set[str] | None, vocab_hash: str
    ) -> None:
        """Delete what went away, write what is new or changed, one whoosh commit."""
        plan = self._plan
        changed: set[str] = set()  # documents to write over, or to delete if they fail now
        if index_ids is None:
            # The manifest vouches for the index: delete exactly the documents it lists.
            doomed = {i for e in plan.deleted + plan.dropped for i in e.doc_ids}
            for cf, _ in plan.todo:
                prev = plan.old.entries.get(cf.rel)
                if prev is not None:
                    changed.update(prev.doc_ids)
            changed -= doomed
        else:
            # It does not: keep only the documents the new manifest vouches for so far.
            kept = {i for e in plan.manifest.entries.values() for i in e.doc_ids}
            doomed = index_ids - kept
        committed = write_changes(current, self._documents(plan.todo), doomed, changed)
        # Without a commit the index is what the manifest says (checked in full when it was
        # not in sync), so the manifest can vouch for the files as they are.
        verified = committed or index_ids is not None
        files = current.index_files() if verified else plan.old.index_files
        current.write_manifest(self._finish_manifest(vocab_hash, files, False))
        self.report.generation = current.name
        self.report.written = True

    def _finish_manifest(self, vocab_hash: str, index_files: dict, rebuilt: bool) -> Manifest:
        m = self._plan.manifest
        m.vocabulary_hash = vocab_hash
        m.index_files = index_files
        m.last_run = {
            "finished_at": now_iso(),
            "elapsed_s": round(time.monotonic() - self._started, 3),
            "rebuilt": rebuilt,
            "summary": self.report.summary,
            "failed": [{"path": f.path, "reason": f.reason} for f in self.report.failed()],
        }
        return m


def compound_notes(files: list[FileReport]) -> list[str]:
    """A note per language of this run's documents whose compounds cannot be split because
    its Hunspell word list is missing (they are then found only as whole words)."""
    from kb import compounds
    from kb.text import LANGUAGE_NAMES

    languages = {f.language for f in files if f.status is FileStatus.INDEXED and f.language}
    return [
        f"{LANGUAGE_NAMES.get(lang, lang)} compound words are not split: install the "
        f"Hunspell word list ({package}) and run `kb index --rebuild`"
        for lang, package in sorted(HUNSPELL_PACKAGES.items())
        if lang in languages and not compounds.available(lang)
    ]


# The Debian packages of the word lists kb.compounds reads.
HUNSPELL_PACKAGES = {"sv": "hunspell-sv", "no": "hunspell-no", "da": "hunspell-da"}
