"""Page text from poppler's `pdftotext`, run as a child process, when it is installed.

pdftotext (C++) reads the text layer about eight times faster than pypdf (pure Python), which
makes it most of the difference in a full build of a corpus with many PDFs. It is optional:
without it, or with ``KB_PDFTOTEXT=0`` in the environment, pypdf reads the text as well as the
structure. pypdf still opens every file (encryption, page count, document info, outline): that
part costs a small fraction of reading the text, and keeps the reasons given for broken and
encrypted files the same whichever reads the text.

The child's CPU time counts against the caller's time limit for the file; it is read from
``/proc`` while the child runs (elapsed time stands in where there is no ``/proc``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ENV_SWITCH = "KB_PDFTOTEXT"
_OFF = frozenset({"0", "no", "false", "off"})
_POLL_SECONDS = 0.2
# Safety net for a child that makes no progress without using CPU (a hung file system).
_WALL_FACTOR, _WALL_EXTRA = 4.0, 10.0
_COMMAND = ("-q", "-enc", "UTF-8")


class TimeLimitExceeded(Exception):
    """The child used more CPU time than was left for the file."""


def executable() -> str | None:
    """Path of `pdftotext`, or None when it is not installed or turned off by KB_PDFTOTEXT."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in _OFF:
        return None
    return shutil.which("pdftotext")


def _clock_ticks() -> int:
    try:
        return os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):
        return 100


def _child_cpu(pid: int, started: float) -> float:
    """CPU seconds the child has used (user + system); elapsed time when /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _clock_ticks()
    except (OSError, IndexError, ValueError):
        return time.monotonic() - started


class PageTextRun:
    """One `pdftotext` child for one file, started at once so that it runs while pypdf reads
    the file's structure. `pages` collects its output; `close` ends it if still running."""

    def __init__(self, exe: str, path: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [exe, *_COMMAND, os.fspath(path), "-"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def pages(self, page_count: int, seconds_left: Callable[[], float]) -> list[str] | None:
        """The text of each page, or None when pdftotext failed or saw a different number of
        pages than pypdf (the caller then reads the text with pypdf).

        `seconds_left()` is the CPU time the file may still use in this process; the child's
        own CPU time is taken from it. Raises TimeLimitExceeded when it runs out.
        """
        wall_limit = max(seconds_left(), 0.0) * _WALL_FACTOR + _WALL_EXTRA
        while True:
            left = seconds_left() - _child_cpu(self.proc.pid, self.started)
            if left <= 0 or time.monotonic() - self.started > wall_limit:
                self.close()
                raise TimeLimitExceeded
            try:
                out, _ = self.proc.communicate(timeout=min(_POLL_SECONDS, max(left, 0.01)))
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.returncode != 0:
            return None
        chunks = out.decode("utf-8", errors="replace").split("\f")
        if chunks and not chunks[-1].strip():
            chunks.pop()  # pdftotext ends every page, the last one included, with a form feed
        return chunks if len(chunks) == page_count else None

    def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
        with contextlib.suppress(OSError, ValueError):
            self.proc.communicate()
