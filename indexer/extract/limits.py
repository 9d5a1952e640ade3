"""The limits every file is extracted under, whatever its format: size, CPU time, passages.

One file must never stall an indexing run (it holds the writer lock while it is extracted),
so each is bounded three ways, all set in the corpus's `kb.toml`:

```toml
[limits]
max_file_mb = 50      # larger files are skipped, before being read
cpu_seconds = 30      # CPU time to extract, describe and split one file
max_passages = 10000  # passages indexed per document; the rest are left out, with a warning
```

The CPU-time limit is an alarm on the process's CPU time (ITIMER_PROF; why, and what it
costs, is measured in `indexer.extract.pdf_limits`): it interrupts any Python code between
two bytecodes, so it needs nothing from an extractor, and a format added later runs under it
as well. It works only in the main thread of a process, which is where the indexer extracts
(its worker processes' main threads, or `kb index`'s own); elsewhere only the PDF
extractor's checks between pages stop a slow file.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import ConfigError

from .base import Failed, Skipped

CONFIG_FILE = "kb.toml"
MEGABYTE = 1024 * 1024


class TimeLimitExceeded(BaseException):
    """Raised by the alarm; a BaseException so that an extractor's `except Exception`
    cannot swallow it."""


class TooLarge(Skipped):
    """The file is larger than the corpus's file-size limit."""

    setting = "max_file_mb"


class TooSlow(Failed):
    """Extracting the file took more CPU time than the corpus's limit."""

    setting = "cpu_seconds"


@dataclass(frozen=True)
class FileLimits:
    """The bounds of one file's extraction (`[limits]` in kb.toml)."""

    max_bytes: int = 50 * MEGABYTE
    cpu_seconds: float = 30.0
    max_passages: int = 10_000


_KEYS = {"max_file_mb": float, "cpu_seconds": float, "max_passages": int}


def load_limits(corpus: Path) -> FileLimits:
    """`[limits]` from the corpus's kb.toml; defaults for what it does not set. A key that is
    unknown, or a value that is not a positive number, is refused (ConfigError) rather than
    quietly replaced by a default."""
    path = Path(corpus) / CONFIG_FILE
    if not path.is_file():
        return FileLimits()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("limits", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [limits] must be a table")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) in [limits]: {', '.join(unknown)} "
            f"(expected {', '.join(_KEYS)})"
        )
    values: dict[str, float] = {}
    for key, kind in _KEYS.items():
        if key not in table:
            continue
        value = table[key]
        good = isinstance(value, int | float) and not isinstance(value, bool)
        if not good or not math.isfinite(value) or value <= 0 or (kind is int and value % 1):
            wanted = "a positive whole number" if kind is int else "a positive number"
            raise ConfigError(f"{path}: [limits] {key} must be {wanted}, not {value!r}")
        values[key] = value
    default = FileLimits()
    return FileLimits(
        max_bytes=round(values.get("max_file_mb", default.max_bytes / MEGABYTE) * MEGABYTE),
        cpu_seconds=float(values.get("cpu_seconds", default.cpu_seconds)),
        max_passages=int(values.get("max_passages", default.max_passages)),
    )


def size_text(size: float) -> str:
    """A size as people read it: "52.3 MB", "50 MB" for whole ones, "3.4 KB" below 0.1 MB."""
    if size < MEGABYTE / 10:
        return f"{size / 1024:.1f} KB"
    mb = size / MEGABYTE
    return f"{mb:.0f} MB" if mb == round(mb) else f"{mb:.1f} MB"


def check_size(size: int, max_bytes: int) -> None:
    """Raise TooLarge, saying by how much, when `size` is over `max_bytes`."""
    if size > max_bytes:
        raise TooLarge(
            f"file too large: {size_text(size)}, {size_text(size - max_bytes)} over the "
            f"{size_text(max_bytes)} limit"
        )


def passage_cap_warning(found: int, limit: int) -> str:
    """The warning of a document cut to its first `limit` passages."""
    return f"truncated: {found:,} passages, limit {limit:,}; only the first {limit:,} are indexed"


# --- the CPU-time limit ----------------------------------------------------------------------


@dataclass
class Deadline:
    """The end of a file's CPU-time budget, for code that can check it between steps."""

    seconds: float
    ends_at: float

    def check(self) -> None:
        if time.process_time() > self.ends_at:
            raise TimeLimitExceeded


@contextlib.contextmanager
def cpu_time_limit(seconds: float) -> Iterator[Deadline]:
    """Raise `TimeLimitExceeded` after `seconds` of CPU time, by SIGPROF where possible.

    CPU time, not wall time: a busy machine slows every file down, but only a pathological
    file makes an extractor itself work for long.

    Any timer already armed by the caller is restored afterwards, minus the time spent here,
    so limits nest (a whole file's, and the PDF extractor's own).
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
    if 0 < previous_delay < seconds:
        # An enclosing limit ends sooner: this one must not extend it.
        signal.setitimer(signal.ITIMER_PROF, previous_delay)
    try:
        yield deadline
    except Exception:
        if time.process_time() - started >= seconds:
            # The alarm fired where Python cannot raise it (a finaliser, a collector
            # callback: it is printed and dropped) and the work went on past its limit;
            # whatever failed afterwards failed out of time.
            raise TimeLimitExceeded from None
        raise
    else:
        if time.process_time() - started >= seconds:
            raise TimeLimitExceeded  # the same lost alarm, on work that then finished
    finally:
        try:
            signal.setitimer(signal.ITIMER_PROF, 0)
        finally:
            # Nested so that an alarm firing on the way out cannot skip the restore.
            signal.signal(signal.SIGPROF, previous_handler or signal.SIG_DFL)
            if previous_delay > 0:
                remaining = max(previous_delay - (time.process_time() - started), 0.001)
                signal.setitimer(signal.ITIMER_PROF, remaining, previous_interval)
