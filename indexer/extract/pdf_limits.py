"""How pypdf is kept in bounds: a time limit per file, the errors it raises on broken
files, and its log noise counted instead of printed.

A broken or pathological PDF can keep pypdf busy for minutes, and one file must never stall
an indexing run. The candidates, measured with pypdf 7.1 on a one-page PDF (2.5 ms to
extract) on the 2-core development VM:

=====================================  ==================  ===================================
approach                               cost per file       can stop a single slow page?
=====================================  ==================  ===================================
plain call, deadline check per page    0 ms                no
SIGPROF via ``signal.setitimer``       ~0.05 ms            yes (between Python bytecodes)
child process per file (fork)          ~9 ms               yes, by killing it
child process per file (forkserver)    ~29 ms              yes
child process per file (spawn)         ~150 ms             yes
=====================================  ==================  ===================================

We use ``setitimer`` on the process's CPU time (ITIMER_PROF), so a machine busy with other
work does not push healthy files over the limit: it is nearly free, and pypdf is pure Python, so the alarm interrupts
it between two bytecodes even in the middle of one page. A deadline check between pages
backs it up and is the only guard when we are not in the main thread (Python runs signal
handlers there only), e.g. under a threaded web server. A child process per file was
rejected: spawn costs more than extracting most PDFs, fork is unsafe in threaded programs,
and the indexer already extracts in worker processes (whose main thread is where the alarm
works); children of those would double the process count, and `multiprocessing.Pool`
workers, being daemonic, may not have children at all. What the alarm cannot interrupt is a
single long call into C (say a huge zlib stream); the file-size limit in `extract_file`
bounds that.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pypdf.errors import PyPdfError

from .text import collapse_whitespace

# Everything pypdf has been seen to raise on broken files, besides its own errors.
PYPDF_FAILURES = (
    PyPdfError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    ZeroDivisionError,
    OverflowError,
    LookupError,
    UnicodeError,
    NotImplementedError,
    OSError,
    EOFError,
    MemoryError,
)


class TimeLimitExceeded(BaseException):
    """Raised by the alarm; a BaseException so that pypdf's `except Exception` cannot swallow it."""


# --- pypdf's logger -----------------------------------------------------------------------

_pypdf_problems: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "pypdf_problems", default=None
)


class _ProblemCounter(logging.Handler):
    """Counts pypdf's log records for the extraction running in this context, prints nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        counter = _pypdf_problems.get()
        if counter is not None and record.levelno >= logging.WARNING:
            counter[0] += 1


_logger_lock = threading.Lock()


def silence_pypdf_logger() -> None:
    """Route pypdf's warnings (one per oddity, dozens on a broken file) to a counter.

    Installed once, on first use, rather than at import time; idempotent.
    """
    logger = logging.getLogger("pypdf")
    with _logger_lock:
        if not any(isinstance(h, _ProblemCounter) for h in logger.handlers):
            logger.addHandler(_ProblemCounter())
            logger.propagate = False


@contextlib.contextmanager
def counting_pypdf_problems() -> Iterator[list[int]]:
    """Count pypdf's warnings while the block runs (in `counter[0]`)."""
    counter = [0]
    token = _pypdf_problems.set(counter)
    try:
        yield counter
    finally:
        _pypdf_problems.reset(token)


# --- the time limit -------------------------------------------------------------------------


@dataclass
class Deadline:
    """The end of a file's CPU-time budget, checked between pages."""

    seconds: float
    ends_at: float

    def check(self) -> None:
        if time.process_time() > self.ends_at:
            raise TimeLimitExceeded


@contextlib.contextmanager
def cpu_time_limit(seconds: float) -> Iterator[Deadline]:
    """Raise `TimeLimitExceeded` after `seconds` of CPU time, by SIGPROF where possible.

    CPU time, not wall time: a busy machine slows every file down, but only a pathological
    file makes pypdf itself work for long (see the module doc).

    Any timer already armed by the caller is restored afterwards, minus the time spent here.
    """
    deadline = Deadline(seconds, time.process_time() + seconds)
    use_alarm = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and math.isfinite(seconds)
        and seconds > 0
    )
    if not use_alarm:
        yield deadline
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeLimitExceeded

    started = time.process_time()
    previous_handler = signal.signal(signal.SIGPROF, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield deadline
    finally:
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
        finally:
            # Nested so that an alarm firing on the way out cannot skip the restore.
            signal.signal(signal.SIGPROF, previous_handler or signal.SIG_DFL)
            if previous_delay > 0:
                remaining = max(previous_delay - (time.process_time() - started), 0.001)
                signal.setitimer(signal.ITIMER_PROF, remaining, previous_interval)


def describe(error: BaseException) -> str:
    """An error as one short line for a warning or a skip reason."""
    message = collapse_whitespace(str(error)) or "no details"
    return f"{type(error).__name__}: {message}"[:300]
