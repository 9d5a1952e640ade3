"""How pypdf is kept in bounds: the errors it raises on broken files, its log noise counted
instead of printed, and why the time limit every file runs under (indexer.extract.limits)
is an alarm on CPU time.

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
import threading
from collections.abc import Iterator

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


def describe(error: BaseException) -> str:
    """An error as one short line for a warning or a skip reason."""
    message = collapse_whitespace(str(error)) or "no details"
    return f"{type(error).__name__}: {message}"[:300]
