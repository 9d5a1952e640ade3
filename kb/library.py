"""The readers' view of the index: the current generation, reopened when it changes.

A `Snapshot` is everything that is stable for one commit of one generation: the catalogue of
documents, the map from whoosh document numbers to doc ids, cached filter sets. Searchers are
per thread (whoosh searchers are not meant to be shared between threads) and per snapshot.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from kb import schema as f
from kb.engine.evaluate import Evaluator
from kb.engine.postings import PostingsIndex
from kb.errors import IndexUnavailable, KbError
from kb.models import DocumentMetadata
from kb.settings import Settings
from kb.store import Generation, IndexStore
from kb.vocabulary import Vocabulary, load_vocabulary

CACHE_ENTRIES = 512
MMAP_MAX_BYTES = 32 * 1024 * 1024  # indexes up to this size are memory-mapped
CACHE_ITEMS = 1_000_000
STORED_KEPT = 4096  # passages' stored fields kept per snapshot (the ones shown recently)


@dataclass(frozen=True)
class DocInfo:
    """A document as the catalogue knows it (no passage text)."""

    doc_id: str
    path: str
    format: str
    meta: DocumentMetadata
    content_hash: str
    page_count: int | None
    passages: int
    warnings: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.meta.title

    @classmethod
    def from_json(cls, text: str) -> DocInfo:
        data = json.loads(text)
        meta_fields = DocumentMetadata.__dataclass_fields__
        meta = DocumentMetadata(
            **{
                k: (tuple(v) if isinstance(v, list) else v)
                for k, v in data.items()
                if k in meta_fields
            }
        )
        return cls(
            doc_id=data["doc_id"],
            path=data["path"],
            format=data["format"],
            meta=meta,
            content_hash=data.get("content_hash", ""),
            page_count=data.get("page_count"),
            passages=data.get("passages", 0),
            warnings=tuple(data.get("warnings", ())),
        )


class Snapshot:
    """One commit of one generation, opened for reading."""

    def __init__(self, generation: Generation, vocabulary: Vocabulary) -> None:
        self.generation = generation
        self.vocabulary = vocabulary
        # A memory-mapped index reads postings faster, but whoosh copies each mapped
        # segment part into every reader it opens, and each thread has its own reader: at
        # 100,000 passages that was 270 MB per thread and gigabytes for `kb serve`'s 8 threads.
        # Read from files, a reader holds a few MB (docs/benchmarks.md, "Web load").
        self.index = generation.open_index(mmap=_index_bytes(generation) <= MMAP_MAX_BYTES)
        self._local = threading.local()
        self._filter_cache: OrderedDict[tuple, frozenset] = OrderedDict()
        self._cached_items = 0  # items held by _filter_cache, bounded by CACHE_ITEMS
        self._stable: dict[tuple, object] = {}
        self._stored: OrderedDict[int, dict] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Read before opening: a commit in between makes this snapshot look stale (and be
        # reopened once more), never look current when it is not.
        self.toc_generation = self.index.latest_generation()
        searcher = self.searcher()
        reader = searcher.reader()
        # An index of an empty corpus has no segments, hence no columns. A document's
        # passages share one string for its id (the column gives each its own copy: 7 MB
        # at 100,000 passages).
        ids: dict[str, str] = {}
        self.doc_id_of: list[str] = (
            [ids.setdefault(d, d) for d in reader.column_reader(f.DOC_ID)]
            if reader.doc_count_all()
            else []
        )
        self.catalogue: dict[str, DocInfo] = {}
        self.doc_numbers: dict[str, int] = {}
        for docnum in searcher.document_numbers(**{f.KIND: f.KIND_DOC}):
            info = DocInfo.from_json(searcher.stored_fields(docnum)[f.META])
            self.catalogue[info.doc_id] = info
            self.doc_numbers[info.doc_id] = docnum
        self.languages: tuple[str, ...] = tuple(
            sorted({d.meta.language for d in self.catalogue.values()})
        )
        self.passage_count = sum(d.passages for d in self.catalogue.values())

    def searcher(self):
        """This thread's searcher for this snapshot."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            # Scores come from kb.engine, not from whoosh's weighting models.
            searcher = self.index.searcher()
            self._local.searcher = searcher
        return searcher

    def postings(self) -> PostingsIndex:
        """This snapshot's postings arrays, shared by every thread."""
        return self.stable(
            ("postings",), lambda: PostingsIndex(self.searcher, self.searcher().doc_count_all())
        )

    def evaluator(self) -> Evaluator:
        """Evaluates query plans and filters over this snapshot."""
        return self.stable(("evaluator",), lambda: Evaluator(self.postings()))

    def cached(self, key: tuple, compute) -> frozenset:
        """Sets stable within a snapshot (a prefix's expansions): keep recent ones, at most
        CACHE_ENTRIES of them holding at most CACHE_ITEMS items in all. Postings and match
        sets have their own cache (kb.engine.postings)."""
        with self._cache_lock:
            if key in self._filter_cache:
                self._filter_cache.move_to_end(key)
                return self._filter_cache[key]
        value = frozenset(compute())
        if len(value) > CACHE_ITEMS // 4:
            return value  # too big to be worth evicting everything else for
        with self._cache_lock:
            if key not in self._filter_cache:
                self._filter_cache[key] = value
                self._cached_items += len(value)
            while len(self._filter_cache) > CACHE_ENTRIES or self._cached_items > CACHE_ITEMS:
                _, dropped = self._filter_cache.popitem(last=False)
                self._cached_items -= len(dropped)
        return value

    def stored(self, docnum: int) -> dict:
        """A passage's stored fields (text, heading, anchor...). Read-only: shared between
        requests, the most recently shown kept."""
        with self._cache_lock:
            found = self._stored.get(docnum)
            if found is not None:
                self._stored.move_to_end(docnum)
                return found
        found = self.searcher().stored_fields(docnum)
        with self._cache_lock:
            self._stored[docnum] = found
            if len(self._stored) > STORED_KEPT:
                self._stored.popitem(last=False)
        return found

    def stable(self, key: tuple, compute):
        """A value derived once per snapshot (lookup tables, maps): computed on first use."""
        value = self._stable.get(key)
        if value is None:
            value = compute()
            with self._cache_lock:
                value = self._stable.setdefault(key, value)
        return value

    def passages_of(self, doc_id: str) -> tuple[int, ...]:
        """The document numbers of a document's passages, in index order."""
        return self.stable(("passages_of",), self._passages_by_doc).get(doc_id, ())

    def _passages_by_doc(self) -> dict[str, tuple[int, ...]]:
        every = self.searcher().document_numbers(**{f.KIND: f.KIND_PASSAGE})
        by_doc: dict[str, list[int]] = {}
        doc_id_of = self.doc_id_of
        for docnum in sorted(every):
            by_doc.setdefault(doc_id_of[docnum], []).append(docnum)
        return {doc_id: tuple(nums) for doc_id, nums in by_doc.items()}

    def is_current(self) -> bool:
        try:
            return self.index.latest_generation() == self.toc_generation
        except OSError:
            return False

    def close(self) -> None:
        # Other threads' searchers are closed when garbage-collected.
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()


def _index_bytes(generation: Generation) -> int:
    try:
        return sum(size for size, _ in generation.index_files().values())
    except OSError:
        return 0


@dataclass
class Library:
    """Hands out the current snapshot, checking for a new generation or commit at most every
    `check_interval` seconds, so a request costs one stat() at most."""

    settings: Settings
    check_interval: float = 1.0
    _store: IndexStore = field(init=False)
    _snapshot: Snapshot | None = field(default=None, init=False)
    _pointer: tuple | None = field(default=None, init=False)
    _checked_at: float = field(default=0.0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._store = IndexStore(self.settings.index)

    @property
    def corpus(self) -> Path:
        return self.settings.corpus

    def snapshot(self) -> Snapshot:
        """The snapshot to answer the next request from; IndexUnavailable when there is none."""
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked_at < self.check_interval:
            return snap
        with self._lock:
            snap = self._snapshot
            pointer = self._store.pointer_signature()
            fresh = (
                snap is not None
                and pointer == self._pointer
                and snap.generation.path.is_dir()
                and snap.is_current()
            )
            if not fresh:
                try:
                    snap, pointer = self._open()
                except IndexUnavailable:
                    if snap is None or not snap.generation.path.is_dir() or not self._serves(snap):
                        # The index was removed: answering from files already unlinked would
                        # hide that from members and coordinators alike.
                        self._snapshot = None
                        raise
                    # The new commit cannot be opened (damaged): keep answering from the
                    # one already open until `kb index` repairs it.
                else:
                    self._snapshot, self._pointer = snap, pointer
            self._checked_at = now
            return snap

    def _open(self) -> tuple[Snapshot, tuple | None]:
        """Open the current generation; retried when a writer replaces it meanwhile."""
        error = IndexUnavailable("the index cannot be read")
        for _ in range(3):
            pointer = self._store.pointer_signature()
            try:
                generation = self._store.current()
                return Snapshot(generation, load_vocabulary(self.settings.corpus)), pointer
            except IndexUnavailable as exc:
                error = exc
            except KbError:
                raise  # a vocabulary file is invalid: say so, retrying will not help
            except Exception as exc:  # whoosh, on a damaged segment or one removed meanwhile
                error = IndexUnavailable(f"the index cannot be read: {exc}")
            if self._store.pointer_signature() == pointer:
                break
        raise error

    @staticmethod
    def _serves(snap: Snapshot) -> bool:
        try:
            snap.searcher().doc_count()
            return True
        except Exception:
            return False
