"""Search insights: what readers search for, which searches find nothing, and which results
nobody opens, kept in aggregate in an embedded SQLite file.

What is kept, per day and normalised query text only: how often it was searched, how many of
those searches found nothing, and how many times a result of it was opened. No IP address,
account, session, time of day or document is stored. Days older than the retention limit
(90 by default) are deleted as new searches are written.

Writing never slows or breaks a search: `record_search` and `record_open` only put the event
on a bounded queue, and a background thread writes it. A write that fails (disk full, a
read-only or locked file, the file's size limit) is counted in `failures` and dropped; a full
queue counts in `dropped`. Nothing is raised to the caller.

Configuration: `[insights]` in the corpus's `kb.toml` (`enabled`, `retention_days`), and the
environment: `KB_INSIGHTS=off` turns logging off whatever the corpus says, `KB_INSIGHTS_DB`
names the file (default `insights.sqlite3` beside the accounts database).
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import sqlite3
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kb.access import CONFIG_FILE
from kb.errors import ConfigError
from kb.settings import Settings

INSIGHTS_FILE = "insights.sqlite3"
DEFAULT_RETENTION_DAYS = 90
MAX_QUERY_CHARS = 200  # a longer query is kept shortened
REF_CHARS = 12  # hex digits of a query's reference (the `from` of a result link)
QUEUE_SIZE = 10_000  # events waiting to be written; more are dropped, and counted
BATCH = 500
MAX_PAGES = 16_384  # the file's size limit in SQLite pages (64 MB at 4 KB a page)
BUSY_SECONDS = 2.0  # the writer thread's wait for a lock held by another process
IDLE_SECONDS = 2.0  # the writer thread ends when nothing came for this long
# The writer thread gathers what comes in this long after an event into one transaction: a
# commit costs about 0.5 ms of CPU in the server process whatever it holds, which written per
# search was a tenth of a search page's CPU under load.
GATHER_SECONDS = 0.05
OFF_VALUES = {"0", "off", "false", "no"}

log = logging.getLogger("kb.insights")

SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    day TEXT NOT NULL,
    query TEXT NOT NULL,
    ref TEXT NOT NULL,
    searches INTEGER NOT NULL DEFAULT 0,
    no_results INTEGER NOT NULL DEFAULT 0,
    opened INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, query)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS searches_ref ON searches (ref, day);
"""


def normalise_query(q: str) -> str:
    """The query as it is counted: lower case, spaces collapsed, at most MAX_QUERY_CHARS."""
    return " ".join(q.casefold().split())[:MAX_QUERY_CHARS].strip()


def query_ref(q: str) -> str:
    """A short reference to a query, carried by its result links (`?from=`)."""
    return hashlib.sha256(normalise_query(q).encode()).hexdigest()[:REF_CHARS]


@dataclass(frozen=True)
class InsightsConfig:
    enabled: bool
    retention_days: int
    path: Path


def insights_config(settings: Settings) -> InsightsConfig:
    """`[insights]` of the corpus's kb.toml, then KB_INSIGHTS / KB_INSIGHTS_DB."""
    enabled, retention = True, DEFAULT_RETENTION_DAYS
    config = settings.corpus / CONFIG_FILE
    table: object = {}
    if config.is_file():
        try:
            table = tomllib.loads(config.read_text(encoding="utf-8")).get("insights", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{config}: {exc}") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"{config}: [insights] must be a table")
    unknown = sorted(set(table) - {"enabled", "retention_days"})
    if unknown:
        raise ConfigError(f"{config}: unknown [insights] key(s): {', '.join(unknown)}")
    enabled = table.get("enabled", enabled)
    retention = table.get("retention_days", retention)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{config}: [insights] enabled must be true or false")
    if not isinstance(retention, int) or isinstance(retention, bool) or retention < 1:
        raise ConfigError(f"{config}: [insights] retention_days must be a whole number >= 1")
    if os.environ.get("KB_INSIGHTS", "").strip().lower() in OFF_VALUES:
        enabled = False
    path = os.environ.get("KB_INSIGHTS_DB") or settings.accounts_path.parent / INSIGHTS_FILE
    return InsightsConfig(enabled, retention, Path(path).resolve())


@dataclass(frozen=True)
class QueryCount:
    query: str
    searches: int
    no_results: int
    opened: int


@dataclass(frozen=True)
class InsightsReport:
    """The last `days` days (today included) of searches, counted per query."""

    days: int
    since: str  # the first day counted, YYYY-MM-DD
    searches: int
    queries: int
    frequent: tuple[QueryCount, ...]  # most searched first
    no_results: tuple[QueryCount, ...]  # searches that found nothing, most such first
    not_opened: tuple[QueryCount, ...]  # found something, but no result was opened


def _today() -> date:
    return datetime.now(UTC).date()


class SearchLog:
    """The aggregated search log in one SQLite file (see the module's docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        enabled: bool = True,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        max_pages: int = MAX_PAGES,
        today: Callable[[], date] = _today,
    ) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self.retention_days = retention_days
        self.max_pages = max_pages
        self.today = today
        self.failures = 0  # events lost to a failed write
        self.dropped = 0  # events lost to a full queue
        self._queue: queue.Queue[tuple] = queue.Queue(QUEUE_SIZE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchLog:
        config = insights_config(settings)
        return cls(config.path, enabled=config.enabled, retention_days=config.retention_days)

    # ---- writing, off the caller's thread ------------------------------------------------

    def record_search(self, q: str, results: int) -> None:
        """Count one search of `q` that found `results` documents."""
        query = normalise_query(q)
        if query:
            self._put(("search", self.today().isoformat(), query, results))

    def record_open(self, ref: str) -> None:
        """Count one opened result of the query whose `query_ref` is `ref` (an unknown
        reference counts nothing)."""
        ref = ref.strip().lower()[:REF_CHARS]
        if len(ref) == REF_CHARS and all(c in "0123456789abcdef" for c in ref):
            self._put(("open", ref))

    def _put(self, event: tuple) -> None:
        if not self.enabled:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="kb-insights", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        # One connection for the thread's life (it ends after IDLE_SECONDS without events):
        # the schema is checked and old days deleted once per connection and day, not per write.
        db: sqlite3.Connection | None = None
        pruned: date | None = None  # the day whose retention `db` last applied
        try:
            while True:
                try:
                    batch = [self._queue.get(timeout=IDLE_SECONDS)]
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():  # else an event came just now: keep going
                            self._thread = None
                            return
                    continue
                time.sleep(GATHER_SECONDS)
                while len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    if db is None:
                        db, pruned = self._open_for_writing(), None
                    pruned = self._write(db, batch, pruned)
                except Exception as exc:  # a search log must never take a worker thread down
                    self.failures += len(batch)
                    if isinstance(exc, sqlite3.Error | OSError):
                        log.warning("search insights not written (%s)", exc)
                    else:
                        log.exception("search insights not written")
                    if db is not None:  # a failed transaction is not carried into the next
                        db.close()
                        db = None
                finally:
                    for _ in batch:
                        self._queue.task_done()
        finally:
            if db is not None:
                db.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event recorded so far is written (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _connect(self, *, create: bool) -> sqlite3.Connection:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        else:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS
            )
        db.execute(f"PRAGMA max_page_count = {int(self.max_pages)}")
        return db

    def _open_for_writing(self) -> sqlite3.Connection:
        db = self._connect(create=True)
        try:
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _write(self, db: sqlite3.Connection, batch: list[tuple], pruned: date | None) -> date:
        """Write `batch` in one transaction, deleting the days past the retention limit unless
        `pruned` is today (done already); the day the retention was applied for."""
        today = self.today()
        db.execute("BEGIN IMMEDIATE")  # on a failure the caller closes `db`: a rollback
        for event in batch:
            if event[0] == "search":
                _, day, query, results = event
                db.execute(
                    "INSERT INTO searches (day, query, ref, searches, no_results) "
                    "VALUES (?, ?, ?, 1, ?) ON CONFLICT (day, query) DO UPDATE SET "
                    "searches = searches + 1, no_results = no_results + excluded.no_results",
                    (day, query, query_ref(query), 1 if results == 0 else 0),
                )
            else:  # an opened result: counted on the query's latest day
                db.execute(
                    "UPDATE searches SET opened = opened + 1 WHERE ref = ?1 AND day = "
                    "(SELECT max(day) FROM searches WHERE ref = ?1)",
                    (event[1],),
                )
        if pruned != today:
            oldest = today - timedelta(days=self.retention_days - 1)
            db.execute("DELETE FROM searches WHERE day < ?", (oldest.isoformat(),))
        db.execute("COMMIT")
        return today

    # ---- reading --------------------------------------------------------------------------

    def report(self, days: int = 30, limit: int = 20) -> InsightsReport:
        """The last `days` days counted per query, `limit` queries in each list."""
        days = max(1, min(days, self.retention_days))
        since = (self.today() - timedelta(days=days - 1)).isoformat()
        rows: list[QueryCount] = []
        if self.path.is_file():
            try:
                rows = self._rows(since)
            except sqlite3.Error as exc:
                raise ConfigError(f"cannot read the search log {self.path}: {exc}") from exc

        def top(items, key) -> tuple[QueryCount, ...]:
            return tuple(sorted(items, key=lambda r: (-key(r), r.query))[:limit])

        return InsightsReport(
            days=days,
            since=since,
            searches=sum(r.searches for r in rows),
            queries=len(rows),
            frequent=top(rows, lambda r: r.searches),
            no_results=top([r for r in rows if r.no_results], lambda r: r.no_results),
            not_opened=top(
                [r for r in rows if r.no_results < r.searches and not r.opened],
                lambda r: r.searches - r.no_results,
            ),
        )

    def _rows(self, since: str) -> list[QueryCount]:
        db = self._connect(create=False)
        try:
            found = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'searches'"
            ).fetchone()
            if not found:
                return []
            return [
                QueryCount(*row)
                for row in db.execute(
                    "SELECT query, sum(searches), sum(no_results), sum(opened) "
                    "FROM searches WHERE day >= ? GROUP BY query",
                    (since,),
                )
            ]
        finally:
            db.close()
