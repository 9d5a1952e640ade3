"""The index directory: which generation is current, and how a new one is made and kept.

Layout under the index directory::

    CURRENT          name of the current generation, replaced atomically with os.replace
    PREVIOUS         name of the generation before it (kept for --rollback)
    LOCK             the writer lock (kb.lock)
    gen-000007/      a whoosh index + manifest.json + generation.json (kb.generation)

A rebuild writes a new generation in a temporary directory, renames it into place and then
switches CURRENT, so readers only ever see complete generations. An incremental run commits
into the current generation through whoosh's own atomic commit (new segments, then a new TOC).
The manifest is written after the commit; see kb.generation for how a run that finds the two
out of step converges.

LOCK is the only file a run that finds nothing to do writes: the holder's PID while it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from kb.atomic import fsync_dir, write_atomically
from kb.errors import IndexUnavailable
from kb.generation import GENERATION_INFO, Generation, schema_source, schema_version
from kb.lock import LockHolder, lock_holder, writer_lock
from kb.manifest import now_iso

CURRENT = "CURRENT"
PREVIOUS = "PREVIOUS"
GEN_PREFIX = "gen-"
TMP_PREFIX = ".building-"


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
                "schema_version": schema_version(),
                "schema_source": schema_source(),
                "created_at": now_iso(),
                "pid": os.getpid(),
            }
            write_atomically(tmp / GENERATION_INFO, json.dumps(info))
            fill(Generation(tmp))
            final = self.root / self._next_name()
            os.rename(tmp, final)
            fsync_dir(self.root)
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

    def writer_lock(self, wait: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Hold the single-writer lock; wait up to `wait` seconds for another holder."""
        return writer_lock(self.root, wait)

    def lock_holder(self) -> LockHolder | None:
        """The process writing the index now, if any."""
        return lock_holder(self.root)
