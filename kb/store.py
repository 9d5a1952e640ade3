"""The index on disk: generations, the pointer to the current one, the writer lock, manifests.

Layout under the index directory::

    CURRENT          name of the current generation, replaced atomically with os.replace
    PREVIOUS         name of the generation before it (kept for --rollback)
    LOCK             held (flock) by the one process that writes; contains its PID while held
    gen-000007/      a whoosh index + manifest.json + generation.json

A rebuild writes a new generation in a temporary directory, renames it into place and then
switches CURRENT, so readers only ever see complete generations. An incremental run commits
into the current generation through whoosh's own atomic commit (new segments, then a new TOC).

The manifest is written after the commit and records the whoosh files of that commit (names,
sizes, mtimes). When they still match, the manifest describes the index exactly and a run
needs no whoosh at all to know it is healthy; when they do not (a crash between the commit
and the manifest, or a damaged index), the generation is opened and read in full, and the
next run re-extracts whatever the manifest cannot vouch for, so index and manifest converge.

LOCK is the only file a run that finds nothing to do writes: the holder's PID while it runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kb.errors import IndexLocked, IndexUnavailable

CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
LOCK = "LOCK"
MANIFEST = "manifest.json"
GENERATION_INFO = "generation.json"
GEN_PREFIX = "gen-"
TMP_PREFIX = ".building-"

# whoosh's own files in a generation: the table of contents of each commit and the segments.
_WHOOSH_TOC = re.compile(r"^_MAIN_(\d+)\.toc$")
_WHOOSH_SEGMENT = re.compile(r"^MAIN_[0-9a-z]+\.[A-Za-z0-9_.]+$")
# Left behind by a killed whoosh writer: its temporary folder and half-written TOCs.
_WHOOSH_LEFTOVERS = re.compile(r"^(MAIN\.tmp|_MAIN_\d+\.toc\.[0-9.]+)$")
_LOCK_PID_WIDTH = 20


def _schema_version() -> int:
    # kb.schema imports whoosh; only paths that open an index pay for it.
    from kb.schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def _schema_source() -> str | None:
    """Size and mtime of kb/schema.py: while they are those a generation was built with, its
    schema version cannot differ, and a run that has nothing to do need not import whoosh."""
    try:
        st = os.stat(Path(__file__).with_name("schema.py"))
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


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
    # whoosh files of the commit this manifest describes: name -> [size, mtime_ns]
    index_files: dict[str, list[int]] = field(default_factory=dict)
    lists_signature: str = ""  # of the reading-list files list_problems was computed for

    def to_json(self) -> str:
        # One file per line: readable with `less`, compact enough for 10,000 files.
        head = json.dumps(
            {
                "vocabulary_hash": self.vocabulary_hash,
                "updated_at": self.updated_at,
                "last_run": self.last_run,
                "list_problems": self.list_problems,
                "index_files": self.index_files,
                "lists_signature": self.lists_signature,
            },
            ensure_ascii=False,
        )
        # vars(), not asdict(): the entries hold no nested dataclasses, and asdict's deep copy
        # of 10,000 of them would be most of a one-file run.
        encode = json.JSONEncoder(ensure_ascii=False).encode
        files = ",\n".join(
            encode(vars(e)) for e in sorted(self.entries.values(), key=lambda e: e.path)
        )
        return f'{head[:-1]}, "files": [\n{files}\n]}}\n'

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
            index_files=data.get("index_files", {}),
            lists_signature=data.get("lists_signature", ""),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # directory fsync is best effort (not on every FS)
        dir_fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_atomically(path: Path, text: str) -> None:
    """Write a small file so that readers see either the old or the new content, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


@dataclass(frozen=True)
class Generation:
    """One complete index: a whoosh index plus the manifest that describes it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def open_index(self, *, mmap: bool = True):
        """The whoosh index. mmap=False for writers: whoosh copies each memory-mapped segment
        part into memory on opening (a quarter of a second on 10,000 documents), while a
        writer only looks up a few terms and merges small segments."""
        from whoosh import index as whoosh_index
        from whoosh.filedb.filestore import FileStorage

        try:
            return FileStorage(str(self.path), supports_mmap=mmap).open_index()
        except (whoosh_index.EmptyIndexError, OSError, ValueError, EOFError) as exc:
            raise IndexUnavailable(f"index generation {self.name} cannot be opened: {exc}") from exc
        except Exception as exc:  # a damaged TOC fails in pickle, struct, index errors...
            raise IndexUnavailable(f"index generation {self.name} is damaged: {exc}") from exc

    def load_manifest(self) -> Manifest | None:
        """The manifest, or None when it is missing or damaged."""
        try:
            return Manifest.from_json((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def read_manifest(self) -> Manifest:
        """The manifest, or an empty one when it is missing or damaged."""
        return self.load_manifest() or Manifest()

    def write_manifest(self, manifest: Manifest) -> None:
        manifest.updated_at = now_iso()
        write_atomically(self.path / MANIFEST, manifest.to_json())

    def info(self) -> dict:
        try:
            data = json.loads((self.path / GENERATION_INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def index_files(self) -> dict[str, list[int]]:
        """whoosh's files here (TOCs and segments) with [size, mtime_ns]: a commit's fingerprint."""
        files: dict[str, list[int]] = {}
        with os.scandir(self.path) as it:
            for entry in it:
                if _WHOOSH_TOC.match(entry.name) or _WHOOSH_SEGMENT.match(entry.name):
                    st = entry.stat()
                    files[entry.name] = [st.st_size, st.st_mtime_ns]
        return files

    def matches(self, manifest: Manifest) -> bool:
        """Whether the whoosh files are exactly those of the commit the manifest describes.

        Cheap (one directory listing, no whoosh): a new commit, a truncated, rewritten or
        missing file all show. Segment files no TOC refers to (a killed writer's) are ignored.
        """
        if not manifest.index_files:
            return False
        try:
            present = self.index_files()
        except OSError:
            return False
        tocs = {n for n in present if _WHOOSH_TOC.match(n)}
        if tocs - set(manifest.index_files):
            return False  # a commit the manifest does not know about
        return all(present.get(name) == list(sig) for name, sig in manifest.index_files.items())

    def check_schema(self) -> None:
        info = self.info()
        source = _schema_source()
        if source is not None and info.get("schema_source") == source:
            return
        if info.get("schema_version") != _schema_version():
            found = info.get("schema_version")
            raise IndexUnavailable(
                f"index generation {self.name} has schema version {found}, "
                f"this kb needs {_schema_version()}"
                if found is not None
                else f"index generation {self.name} has no readable {GENERATION_INFO}"
            )

    def check(self) -> None:
        """Raise IndexUnavailable unless the generation opens and has this schema version."""
        self.doc_ids()

    def doc_ids(self) -> set[str]:
        """Open the generation and read every document record: the ids of the documents in it.

        Raises IndexUnavailable when the schema version differs or anything cannot be read.
        """
        from kb import schema as f

        self.check_schema()
        ix = self.open_index(mmap=False)
        try:
            with ix.searcher() as searcher:
                searcher.doc_count_all()
                return {
                    searcher.stored_fields(n)[f.DOC_ID]
                    for n in searcher.document_numbers(**{f.KIND: f.KIND_DOC})
                }
        except Exception as exc:  # whoosh raises many kinds on a damaged segment
            raise IndexUnavailable(f"index generation {self.name} is damaged: {exc}") from exc
        finally:
            ix.close()

    def remove_writer_leftovers(self) -> None:
        """Delete what a killed whoosh writer left here (only with the writer lock held)."""
        with contextlib.suppress(OSError), os.scandir(self.path) as it:
            for entry in it:
                if _WHOOSH_LEFTOVERS.match(entry.name) or entry.name.startswith(".manifest"):
                    path = Path(entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        with contextlib.suppress(OSError):
                            path.unlink()


@dataclass(frozen=True)
class LockHolder:
    pid: int


class IndexStore:
    """The index directory: which generation is current, and how to make a new one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _read_pointer(self, name: str) -> str | None:
        try:
            value = (self.root / name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        # Only a plain generation name is accepted, never a path.
        return value if value.startswith(GEN_PREFIX) and "/" not in value else None

    def current_name(self) -> str | None:
        """The generation CURRENT names (valid or not), or None when it names none."""
        return self._read_pointer(CURRENT)

    def has_pointer(self) -> bool:
        return (self.root / CURRENT).exists()

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
            if self.has_pointer():
                raise IndexUnavailable(
                    f"the index pointer {self.root / CURRENT} is damaged; rebuild with `kb index`"
                )
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
        if name and name != self._read_pointer(CURRENT) and (self.root / name).is_dir():
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
            int(p.name[len(GEN_PREFIX) :])
            for p in (self.root.iterdir() if self.root.is_dir() else ())
            if p.name.startswith(GEN_PREFIX) and p.name[len(GEN_PREFIX) :].isdigit()
        ]
        return f"{GEN_PREFIX}{(max(numbers, default=0) + 1):06d}"

    def build_generation(self, fill: Callable[[Generation], None]) -> Generation:
        """Build a generation in a temporary directory and rename it into place when complete.

        `fill` writes the whoosh index and manifest into the generation it is given. On any
        error (or a kill) the partial directory is abandoned and never becomes current; the
        caller makes the result current with `switch_to`.
        """
        from whoosh import index as whoosh_index

        from kb.schema import build_schema

        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{TMP_PREFIX}{os.getpid()}-{time.time_ns()}"
        tmp.mkdir()
        try:
            whoosh_index.create_in(str(tmp), build_schema())
            info = {
                "schema_version": _schema_version(),
                "schema_source": _schema_source(),
                "created_at": now_iso(),
                "pid": os.getpid(),
            }
            write_atomically(tmp / GENERATION_INFO, json.dumps(info))
            fill(Generation(tmp))
            final = self.root / self._next_name()
            os.rename(tmp, final)
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Generation(final)

    def switch_to(self, gen: Generation) -> None:
        """Make `gen` current; the old current becomes PREVIOUS; older ones are removed.

        PREVIOUS is written first: a kill between the two writes leaves CURRENT unchanged
        (and no rollback target), never a PREVIOUS that skips a generation.
        """
        old = self._read_pointer(CURRENT)
        if old and old != gen.name and (self.root / old).is_dir():
            write_atomically(self.root / PREVIOUS, old + "\n")
        write_atomically(self.root / CURRENT, gen.name + "\n")
        self.cleanup()

    def adopt(self, gen: Generation) -> None:
        """Point CURRENT at an existing generation (when the pointer was lost)."""
        write_atomically(self.root / CURRENT, gen.name + "\n")

    def rollback(self) -> Generation:
        prev = self.previous()
        if prev is None:
            raise IndexUnavailable("there is no previous index generation to roll back to")
        current = self._read_pointer(CURRENT)
        if current:
            write_atomically(self.root / PREVIOUS, current + "\n")
        write_atomically(self.root / CURRENT, prev.name + "\n")
        return prev

    def cleanup(self) -> None:
        """Remove generations other than CURRENT and PREVIOUS, abandoned build directories
        and temporary pointer files. Only called with the writer lock held, so no build in
        progress is removed; a reader with files open in a removed generation keeps them
        (POSIX), and reopens CURRENT at its next check.
        """
        if not self.root.is_dir():
            return
        current = self._read_pointer(CURRENT)
        keep = {current, self._read_pointer(PREVIOUS)}
        for child in self.root.iterdir():
            if child.name.startswith(TMP_PREFIX) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith((f".{CURRENT}.tmp-", f".{PREVIOUS}.tmp-")):
                with contextlib.suppress(OSError):
                    child.unlink()
            elif (
                current is not None  # never guess what to delete without a valid pointer
                and child.name.startswith(GEN_PREFIX)
                and child.name not in keep
                and child.is_dir()
            ):
                shutil.rmtree(child, ignore_errors=True)

    @contextlib.contextmanager
    def writer_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the single-writer lock; wait up to `wait` seconds for another holder.

        The lock is an flock on LOCK, so a killed holder releases it. The holder writes its
        PID there (padded, in place, so a waiter never reads half of it) and clears it when
        done; that is the only write a run that finds nothing to do makes.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        held = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = read_lock_pid(path)
                        who = f"process {holder}" if holder else "another process"
                        waited = f" (waited {wait:g}s)" if wait > 0 else ""
                        raise IndexLocked(
                            f"the index at {self.root} is being written by {who}{waited}; "
                            "try again when it has finished, or pass --wait SECONDS",
                            holder,
                        ) from None
                    time.sleep(0.05)
            held = True
            os.pwrite(fd, f"{os.getpid():<{_LOCK_PID_WIDTH}}\n".encode(), 0)
            os.ftruncate(fd, _LOCK_PID_WIDTH + 1)
            yield
        finally:
            if held:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            # Closing the descriptor releases the flock; a killed process releases it too.
            os.close(fd)

    def lock_holder(self) -> LockHolder | None:
        """The process writing the index now, if any (from the PID in LOCK; no locking)."""
        pid = read_lock_pid(self.root / LOCK)
        if pid is None:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None  # killed while holding it: the PID stays behind
        except PermissionError:
            pass
        return LockHolder(pid)


def read_lock_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
