"""The `kb` command, stopped at one point of a run until the test kills it.

    python -m tests.drivers.paused_kb POINT MARKER [kb arguments...]    (from the checkout)

POINT, and what this process wraps to find it (here only; nothing in kb, indexer or cli
knows about it):

    lock      the run holds the writer lock and has written nothing   kb.store.IndexStore.writer_lock
    add:N     whoosh's writer is given its N-th record               whoosh.writing.SegmentWriter.add_document,
                                                                     kb.engine.bulk.add_document
    segments  a parallel full build's workers are writing their      indexer.segments._gather
              segments, this process waits for them
    toc       the commit has written its segment files, but not the  whoosh.index.TOC.write
              table of contents that makes them part of the index
    manifest  the whoosh commit is done, the manifest is not         kb.generation.Generation.write_manifest
    busy      the run found the writer lock held by another process  fcntl.flock

When the run gets there, MARKER is created and the run waits, where it is, until the test
kills it or deletes MARKER (then it goes on): the test acts at that exact point instead of
after a guessed delay. At `busy` the run does not stop; it goes on waiting for the lock as
`kb index --wait` does. A run that never gets there ends as `kb` would, and the test sees
that the marker never came.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

HOLD_SECONDS = 3600.0  # the test acts long before; a stray process still ends


def stop_here(marker: Path) -> None:
    """Tell the test the point is reached, then wait until it kills us or deletes `marker`."""
    marker.write_text("reached\n")
    deadline = time.monotonic() + HOLD_SECONDS
    while marker.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"paused_kb: neither killed nor let go within {HOLD_SECONDS:g} s")
        time.sleep(0.01)


def _on_call(owner: type, name: str, when: Callable[[], bool], marker: Path) -> None:
    """Stop on the first call of owner.name for which `when()` holds (before the call)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if when():
            stop_here(marker)
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _nth(n: int) -> Callable[[], bool]:
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        return calls == n

    return check


def install(point: str, marker: Path) -> None:
    """Wrap the function where `point` is, in this process."""
    if point == "lock":
        from kb.store import IndexStore

        locked = IndexStore.writer_lock

        @contextlib.contextmanager
        def writer_lock(self, wait: float = 0.0):
            with locked(self, wait):
                stop_here(marker)
                yield

        IndexStore.writer_lock = writer_lock
    elif point.startswith("add:"):
        from whoosh.writing import SegmentWriter

        import kb.engine.bulk

        nth = _nth(int(point[4:]))  # one count over both ways of adding a record
        _on_call(SegmentWriter, "add_document", nth, marker)
        _on_call(kb.engine.bulk, "add_document", nth, marker)
    elif point == "segments":
        import indexer.segments

        _on_call(indexer.segments, "_gather", lambda: True, marker)
    elif point == "toc":
        from whoosh.index import TOC

        _on_call(TOC, "write", lambda: True, marker)
    elif point == "busy":
        real_flock = fcntl.flock

        def flock(fd, operation):
            try:
                return real_flock(fd, operation)
            except BlockingIOError:
                marker.write_text("busy\n")
                raise

        fcntl.flock = flock
    elif point == "manifest":
        from kb.generation import Generation

        _on_call(Generation, "write_manifest", lambda: True, marker)
    else:
        raise SystemExit(f"paused_kb: unknown point {point!r}")


def main(argv: list[str]) -> None:
    point, marker, *kb_args = argv
    install(point, Path(marker))
    from cli import main as kb

    kb(kb_args)


if __name__ == "__main__":  # not in the extraction workers, which import this module too
    main(sys.argv[1:])
