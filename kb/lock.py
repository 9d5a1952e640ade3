"""The single-writer lock of an index directory.

LOCK is held (flock) by the one process that writes, so a killed holder releases it. While
held it contains the holder's PID, which is how `kb status` and a refused writer name it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kb.errors import IndexLocked

LOCK = "LOCK"
_LOCK_PID_WIDTH = 20


@dataclass(frozen=True)
class LockHolder:
    pid: int


@contextlib.contextmanager
def writer_lock(root: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock of the index at `root`; wait up to `wait` seconds.

    The holder writes its PID in LOCK (padded, in place, so a waiter never reads half of it)
    and clears it when done; that is the only write a run that finds nothing to do makes.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
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
                        f"the index at {root} is being written by {who}{waited}; "
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


def lock_holder(root: Path) -> LockHolder | None:
    """The process writing the index at `root` now, if any (from the PID in LOCK; no locking)."""
    pid = read_lock_pid(root / LOCK)
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
