"""The way into indexing, shared by `kb index`, `kb add` and `kb check`.

Writing takes the single-writer lock, runs one index run (`indexer.run`), checks the reading
lists against the index just written and removes generations no longer needed, in that order,
whoever asks for it. `kb add` places its files in the corpus while holding the same lock, so
no other run sees them half-placed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from indexer.discover import has_reading_lists, lists_signature
from indexer.report import IndexReport
from indexer.run import IndexRun, Progress
from kb.errors import IndexUnavailable
from kb.generation import Generation
from kb.settings import Settings
from kb.store import IndexStore


class Writing:
    """The writer lock held on an index: runs made through it see no other writer."""

    def __init__(self, settings: Settings, store: IndexStore) -> None:
        self.settings = settings
        self.store = store

    def run(
        self, *, rebuild: bool = False, workers: int | None = None, progress: Progress | None = None
    ) -> IndexReport:
        """Bring the index up to date with the corpus, check the reading lists, clean up."""
        report = IndexRun(self.settings, rebuild=rebuild, workers=workers, progress=progress).run()
        check_reading_lists(self.settings, self.store, report)
        self.store.cleanup()
        return report


@contextlib.contextmanager
def writing(settings: Settings, *, wait: float = 0.0) -> Iterator[Writing]:
    """Hold the single-writer lock of the index, waiting up to `wait` seconds for it."""
    if not settings.corpus.is_dir():
        raise IndexUnavailable(f"corpus folder {settings.corpus} does not exist")
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        yield Writing(settings, store)


def run_index(settings: Settings, *, rebuild: bool = False, wait: float = 0.0, workers: int | None = None,
              progress: Progress | None = None) -> IndexReport:  # fmt: skip
    """Bring the index up to date with the corpus, holding the single-writer lock."""
    with writing(settings, wait=wait) as writer:
        return writer.run(rebuild=rebuild, workers=workers, progress=progress)


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
    """Make the previous generation current again."""
    store = IndexStore(settings.index)
    with store.writer_lock(wait=wait):
        return store.rollback()
