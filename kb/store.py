"""The index on disk: generations, the pointer to the current one, the writer lock, manifests.

Layout under the index directory::

    CURRENT          name of the current generation, replaced atomically with os.replace
    PREVIOUS         name of the generation before it (kept for --rollback)
    LOCK             held (flock) by the one process that writes; contains its PID
    gen-000007/      a whoosh index + manifest.json + generation.json

A rebuild writes a new generation in a temporary directory, renames it into place and then
switches CURRENT, so readers only ever see complete generations. An incremental run commits
into the current generation through whoosh's own atomic commit (new segments, then a new TOC).
The manifest is written after the commit; a crash in between leaves it stale, and the next
run re-extracts those files and replaces them by doc_id, so the two converge.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from kb.errors import IndexLocked, IndexUnavailable
from kb.schema import SCHEMA_VERSION, build_schema

CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
LOCK = "LOCK"
MANIFEST = "manifest.json"
GENERATION_INFO = "generation.json"
GEN_PREFIX = "gen-"
TMP_PREFIX = ".building-"


@dataclass
class ManifestEntry:
    """What the indexer knew about one corpus file when it last looked."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: str  # indexed | skipped | failed
    doc_id: str | None = None
    passages: int = 0
    language: str | None = None
    reason: str | None = None
    sidecar: str | None = None  # signature of the sidecar metadata file, if any
    title: str | None = None
    type: str | None = None


@dataclass
class Manifest:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    vocabulary_hash: str = ""
    updated_at: str = ""
    last_run: dict = field(default_factory=dict)
    list_problems: list[dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "vocabulary_hash": self.vocabulary_hash,
                "updated_at": self.updated_at,
                "last_run": self.last_run,
                "list_problems": self.list_problems,
                "files": [asdict(e) for e in sorted(self.entries.values(), key=lambda e: e.path)],
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        entries = {f["path"]: ManifestEntry(**f) for f in data.get("files", [])}
        return cls(
            entries=entries,
            vocabulary_hash=data.get("vocabulary_hash", ""),
            updated_at=data.get("updated_at", ""),
            last_run=data.get("last_run", {}),
            list_problems=data.get("list_problems", []),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_atomically(path: Path, text: str) -> None:
    """Write a small file so that readers see either the old or the new content, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # directory fsync is best effort (not on every FS)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass(frozen=True)
class Generation:
    """One complete index: a whoosh index plus the manifest that describes it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def open_index(self):
        try:
            return whoosh_index.open_dir(str(self.path))
        except (whoosh_index.EmptyIndexError, OSError, ValueError, EOFError) as exc:
            raise IndexUnavailable(f"index generation {self.name} cannot be opened: {exc}") from exc

    def read_manifest(self) -> Manifest:
        file = self.path / MANIFEST
        if not file.exists():
            return Manifest()
        try:
            return Manifest.from_json(file.read_text(encoding="utf-8"))
        except (ValueError, TypeError, KeyError):
            # A damaged manifest only costs a full re-extraction, never a wrong index.
            return Manifest()

    def write_manifest(self, manifest: Manifest) -> None:
        manifest.updated_at = now_iso()
        write_atomically(self.path / MANIFEST, manifest.to_json())

    def info(self) -> dict:
        try:
            return json.loads((self.path / GENERATION_INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def check(self) -> None:
        """Raise IndexUnavailable unless the generation opens and has this schema version."""
        info = self.info()
        if info.get("schema_version") != SCHEMA_VERSION:
            raise IndexUnavailable(
                f"index generation {self.name} has schema version "
                f"{info.get('schema_version')}, this kb needs {SCHEMA_VERSION}"
            )
        ix = self.open_index()
        try:
            with ix.searcher() as searcher:
                searcher.doc_count()
        except Exception as exc:  # whoosh raises many kinds on a damaged segment
            raise IndexUnavailable(f"index generation {self.name} is damaged: {exc}") from exc
        finally:
            ix.close()


class IndexStore:
    """The index directory: which generation is current, and how to make a new one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _read_pointer(self, name: str) -> str | None:
        try:
            value = (self.root / name).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        # Only a plain generation name is accepted, never a path.
        return value if value.startswith(GEN_PREFIX) and "/" not in value else None

    def pointer_signature(self) -> tuple[int, int] | None:
        """Cheap change detection for readers: (inode, mtime) of the CURRENT file."""
        try:
            st = os.stat(self.root / CURRENT)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def current(self) -> Generation:
        """The generation readers should use; IndexUnavailable when there is none."""
        name = self._read_pointer(CURRENT)
        if name is None:
            raise IndexUnavailable(f"no index at {self.root}; build one with `kb index`")
        gen = Generation(self.root / name)
        if not gen.path.is_dir():
            raise IndexUnavailable(
                f"index generation {name} is missing from {self.root}; rebuild with `kb index`"
            )
        return gen

    def current_or_none(self) -> Generation | None:
        try:
            return self.current()
        except IndexUnavailable:
            return None

    def previous(self) -> Generation | None:
        name = self._read_pointer(PREVIOUS)
        if name and (self.root / name).is_dir():
            return Generation(self.root / name)
        return None

    def generations(self) -> list[Generation]:
        if not self.root.is_dir():
            return []
        return sorted(
            (
                Generation(p)
                for p in self.root.iterdir()
                if p.is_dir() and p.name.startswith(GEN_PREFIX)
            ),
            key=lambda g: g.name,
        )

    def _next_name(self) -> str:
        numbers = [
            int(g.name[len(GEN_PREFIX) :])
            for g in self.generations()
            if g.name[len(GEN_PREFIX) :].isdigit()
        ]
        return f"{GEN_PREFIX}{(max(numbers, default=0) + 1):06d}"

    def build_generation(self, fill: Callable[[Generation], None]) -> Generation:
        """Build a generation in a temporary directory and rename it into place when complete.

        `fill` writes the whoosh index and manifest into the generation it is given. On any
        error (or a kill) the partial directory is abandoned and never becomes current; the
        caller makes the result current with `switch_to`.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
        tmp.mkdir()
        try:
            whoosh_index.create_in(str(tmp), build_schema())
            info = {"schema_version": SCHEMA_VERSION, "created_at": now_iso(), "pid": os.getpid()}
            write_atomically(tmp / GENERATION_INFO, json.dumps(info))
            fill(Generation(tmp))
            final = self.root / self._next_name()
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Generation(final)

    def switch_to(self, gen: Generation) -> None:
        """Make `gen` current; the old current becomes PREVIOUS; older ones are removed."""
        old = self._read_pointer(CURRENT)
        if old and old != gen.name:
            write_atomically(self.root / PREVIOUS, old + "\n")
        write_atomically(self.root / CURRENT, gen.name + "\n")
        self.cleanup()

    def rollback(self) -> Generation:
        prev = self.previous()
        if prev is None:
            raise IndexUnavailable("there is no previous index generation to roll back to")
        current = self._read_pointer(CURRENT)
        write_atomically(self.root / CURRENT, prev.name + "\n")
        if current:
            write_atomically(self.root / PREVIOUS, current + "\n")
        return prev

    def cleanup(self) -> None:
        """Remove generations other than CURRENT and PREVIOUS, and abandoned build directories.

        Only called with the writer lock held, so no build in progress is removed.
        """
        keep = {self._read_pointer(CURRENT), self._read_pointer(PREVIOUS)}
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            if child.is_dir() and (
                child.name.startswith(TMP_PREFIX)
                or (child.name.startswith(GEN_PREFIX) and child.name not in keep)
            ):
                # A reader may still have files open there; on POSIX that is harmless.
                shutil.rmtree(child, ignore_errors=True)

    @contextlib.contextmanager
    def writer_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the single-writer lock; wait up to `wait` seconds for another holder."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = _read_pid(path)
                        who = f"process {holder}" if holder else "another process"
                        raise IndexLocked(
                            f"the index at {self.root} is being written by {who}; "
                            f"try again later or pass --wait SECONDS",
                            holder,
                        ) from None
                    time.sleep(0.1)
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            os.fsync(fd)
            yield
        finally:
            # Closing the descriptor releases the flock; a killed process releases it too.
            os.close(fd)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
