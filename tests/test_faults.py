"""Faults: a disk that fills up while indexing, a corpus that cannot be read or changes under a
run, and the index deleted under a running server.

The disk is made "full" in two ways: a `kb index` process whose files may not grow past a few
kilobytes (RLIMIT_FSIZE: writes beyond fail with EFBIG), and, where this machine lets the
tests mount one, a tiny tmpfs that really runs out of space (ENOSPC). Either way the run must
exit 2 with a message that says the previous index is unchanged, the previous generation
must stay current and searchable, and the next run without the constraint must succeed.

Tests run as root, so permissions cannot make a file unreadable: dangling links, FIFOs,
folders named like files, and `os.scandir` / `file_sha256` raising EACCES stand in for it.
SIGTERM to `kb serve` is tested in tests/test_server_shutdown.py; a killed `kb index` in
tests/test_reindex.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import indexer.plan
import indexer.run
from benchmarks.soak import KbServer, http_request
from indexer.build import run_index
from kb.access import Principal
from kb.errors import CorpusEmpty
from kb.generation import MANIFEST
from kb.library import Library
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from kb.store import CURRENT, IndexStore
from tests.conftest import ROOT, write
from tests.prerequisites import missing

KB = [sys.executable, "-c", "from cli import main; main()"]
SMALL_DOCS = 4  # documents in conftest's small corpus


def kb_run(settings: Settings, *args: str, max_file_bytes: int | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:  # fmt: skip
    """`kb` in its own process; with `max_file_bytes`, no file it writes may grow past that."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG), no kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [*KB, "--corpus", str(settings.corpus), "--index", str(settings.index), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        preexec_fn=limit_files if max_file_bytes else None,
    )  # fmt: skip


def search_ids(settings: Settings, q: str) -> list[str]:
    result = Searcher(Library(settings), Principal.shell()).search(
        SearchRequest(q=q, page_size=100)
    )
    return [hit.doc.doc_id for hit in result.hits]


def doc_count(settings: Settings) -> int:
    return len(Library(settings).snapshot().catalogue)


def big_text(words: int) -> str:
    return "# Big guide\n\nA kingfisher guide. " + " ".join(f"w{i}x repair" for i in range(words))


@contextlib.contextmanager
def index_state_kept(settings: Settings):
    """The index as readers see it must be the same after the block: same CURRENT, same
    generations, same whoosh commit (TOC files) and manifest, same answers."""
    store = IndexStore(settings.index)
    gen = store.current()
    before = {
        "current": (settings.index / CURRENT).read_text(),
        "generations": [g.name for g in store.generations()],
        "tocs": sorted(p.name for p in gen.path.glob("_MAIN_*.toc")),
        "manifest": (gen.path / MANIFEST).read_bytes(),
        "lifespan": search_ids(settings, "lifespan"),
        "documents": doc_count(settings),
    }
    yield
    after = {
        "current": (settings.index / CURRENT).read_text(),
        "generations": [g.name for g in store.generations()],
        "tocs": sorted(p.name for p in gen.path.glob("_MAIN_*.toc")),
        "manifest": (gen.path / MANIFEST).read_bytes(),
        "lifespan": search_ids(settings, "lifespan"),
        "documents": doc_count(settings),
    }
    assert after == before
    assert not list(settings.index.glob(".building-*")), "a half-built generation was left"


def assert_clean_fatal(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "could not write the index" in result.stderr, result.stderr
    assert reason in result.stderr, result.stderr
    assert "the previous index keeps serving" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def assert_recovers(settings: Settings, expect_new: bool) -> None:
    """The next run without the constraint succeeds, leaves no writer debris, and is final."""
    result = kb_run(settings, "index")
    assert result.returncode == 0, result.stdout + result.stderr
    if expect_new:
        assert search_ids(settings, "kingfisher") == ["guides/big"]
    gen = IndexStore(settings.index).current()
    manifest = json.loads((gen.path / MANIFEST).read_text())
    segments = {p.name for p in gen.path.glob("MAIN_*") if p.name != "MAIN_WRITELOCK"}
    assert segments <= set(manifest["index_files"]), "segments of the failed run were left"
    assert not (gen.path / "MAIN.tmp").exists()
    assert "up to date" in kb_run(settings, "index").stdout


# ---- disk full -----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_file_bytes", [2_000, 12_000], ids=["in-the-segment", "in-the-toc"])
def test_disk_full_during_rebuild_keeps_the_previous_index(small_index, max_file_bytes):
    write(small_index.corpus / "guides/big.md", big_text(300))
    with index_state_kept(small_index):
        result = kb_run(small_index, "index", "--rebuild", max_file_bytes=max_file_bytes)
        assert_clean_fatal(result, "File too large")
    assert_recovers(small_index, expect_new=True)


@pytest.mark.parametrize(
    "words, max_file_bytes", [(20, 12_000), (3000, 100_000)], ids=["small-doc", "big-doc"]
)
def test_disk_full_during_incremental_run_keeps_the_previous_index(small_index, words,
                                                                   max_file_bytes):  # fmt: skip
    write(small_index.corpus / "guides/big.md", big_text(words))
    with index_state_kept(small_index):
        result = kb_run(small_index, "index", max_file_bytes=max_file_bytes)
        assert_clean_fatal(result, "File too large")
        assert search_ids(small_index, "kingfisher") == []
    assert_recovers(small_index, expect_new=True)


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 3 MB tmpfs; where this machine does not let the tests mount one, a skip (a failure
    under CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        missing("mounting a tmpfs needs root and mount; the RLIMIT_FSIZE tests cover a full disk")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs here ({done.stderr.strip()}); RLIMIT_FSIZE covers it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path, leave: int) -> None:
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "ab") as fh:
        fh.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize("rebuild", [True, False], ids=["rebuild", "incremental"])
def test_no_space_left_on_a_real_disk_keeps_the_previous_index(small_corpus, tiny_disk, rebuild):
    settings = Settings.resolve(small_corpus, tiny_disk / "index")
    assert run_index(settings, workers=1).summary["indexed"] == SMALL_DOCS
    write(settings.corpus / "guides/big.md", big_text(3000))
    fill(tiny_disk, leave=16 * 1024)
    with index_state_kept(settings):
        result = kb_run(settings, "index", *(["--rebuild"] if rebuild else []))
        assert_clean_fatal(result, "No space left on device")
    (tiny_disk / "filler").unlink()
    assert_recovers(settings, expect_new=True)


# ---- a corpus that cannot be read, or changes under the run ---------------------------------------


def report_of(settings: Settings, **kwargs) -> dict[str, tuple[str, str | None]]:
    report = run_index(settings, workers=1, **kwargs)
    return {f.path: (f.status, f.reason) for f in report.files}


def test_dangling_link_fifo_and_folder_named_like_a_file(small_index):
    guides = small_index.corpus / "guides"
    (guides / "dangling.md").symlink_to(guides / "nowhere.md")
    os.mkfifo(guides / "pipe.md")  # opening it for reading would block forever
    write(guides / "folder.md" / "inside.md", "# Inside\n\nA kingfisher in a folder.\n")
    # In its own process, so that a run stuck on the FIFO fails the test instead of hanging it.
    result = kb_run(small_index, "index", "--json", timeout=60)
    assert result.returncode == 1, result.stderr  # index updated, some files failed
    files = {f["path"]: f for f in json.loads(result.stdout)["files"]}
    assert files["guides/dangling.md"]["status"] == "failed"
    assert "No such file or directory" in files["guides/dangling.md"]["reason"]
    assert files["guides/pipe.md"]["status"] == "failed"
    assert "not a regular file" in files["guides/pipe.md"]["reason"]
    assert files["guides/folder.md/inside.md"]["status"] == "indexed"
    assert search_ids(small_index, "kingfisher") == ["guides/folder.md/inside"]
    assert doc_count(small_index) == SMALL_DOCS + 1
    status = kb_run(small_index, "status", "--json")
    assert "guides/dangling.md" in {f["path"] for f in json.loads(status.stdout)["failed"]}


def deny_listing(monkeypatch, folder: Path) -> None:
    """Listing `folder` fails with EACCES, as for a folder the indexer may not read."""
    denied = str(folder)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", denied)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_folder_is_reported_and_its_documents_are_kept(small_index, monkeypatch):
    deny_listing(monkeypatch, small_index.corpus / "meetings")
    write(small_index.corpus / "guides/new.md", "# New\n\nA kingfisher note.\n")
    files = report_of(small_index)
    assert files["meetings"] == ("failed", "cannot read folder: Permission denied")
    assert files["guides/new.md"][0] == "indexed"  # the run went on
    # What could not be listed is not taken for deleted.
    assert search_ids(small_index, "weighting") == ["meetings/2024-04-24-forum-meeting"]
    monkeypatch.undo()
    assert run_index(small_index, workers=1).exit_code == 0


def test_unreadable_corpus_root_removes_nothing(small_index, monkeypatch):
    deny_listing(monkeypatch, small_index.corpus)
    report = run_index(small_index, workers=1)
    monkeypatch.undo()
    assert [(f.path, f.status) for f in report.files if f.status == "failed"] == [(".", "failed")]
    assert report.summary["removed"] == 0
    assert doc_count(small_index) == SMALL_DOCS


def test_an_emptied_corpus_folder_removes_nothing(small_index, runner):
    """An unmounted share looks like an empty folder: kb index refuses to take every
    document for deleted, says why and what to run, and the index keeps serving."""
    moved = small_index.corpus.parent / "corpus-away"
    small_index.corpus.rename(moved)
    small_index.corpus.mkdir()
    with pytest.raises(CorpusEmpty, match=r"has no documents, but the index holds 4.*--rebuild"):
        run_index(small_index, workers=1)
    assert doc_count(small_index) == SMALL_DOCS
    from cli import main

    args = ["--corpus", str(small_index.corpus), "--index", str(small_index.index), "index"]
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    assert "kb index --rebuild" in result.output
    assert doc_count(small_index) == SMALL_DOCS
    # Asked for explicitly, the index is emptied, and searching it finds nothing.
    assert run_index(small_index, rebuild=True, workers=1).exit_code == 0
    assert doc_count(small_index) == 0
    result = Searcher(Library(small_index), Principal.shell()).search(SearchRequest(q="climate"))
    assert result.total == 0 and not result.hits


def test_unreadable_file_is_reported_and_retried_when_readable(small_index, monkeypatch):
    target = small_index.corpus / "guides/lifespan.md"
    target.write_text(target.read_text() + "\nNow with a kingfisher.\n")
    real_sha = indexer.plan.file_sha256

    def sha(path: Path) -> str:
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_sha(path)

    monkeypatch.setattr(indexer.plan, "file_sha256", sha)
    report = run_index(small_index, workers=1)
    assert report.exit_code == 1
    failed = {f.path: f.reason for f in report.files if f.status == "failed"}
    assert failed == {"guides/lifespan.md": "cannot read file: Permission denied"}
    assert search_ids(small_index, "kingfisher") == []
    assert search_ids(small_index, "weighting") == ["meetings/2024-04-24-forum-meeting"]
    monkeypatch.undo()  # readable again, with the same mtime: retried all the same
    report = run_index(small_index, workers=1)
    assert report.exit_code == 0
    assert search_ids(small_index, "kingfisher") == ["guides/lifespan"]


def test_file_vanishing_between_discovery_and_reading(small_index, monkeypatch):
    write(small_index.corpus / "guides/ghost.md", "# Ghost\n\nA kingfisher ghost.\n")
    write(small_index.corpus / "guides/stays.md", "# Stays\n\nA robin stays.\n")
    real_discover = indexer.run.discover

    def discover_then_delete(corpus):
        found = real_discover(corpus)
        (small_index.corpus / "guides/ghost.md").unlink()
        return found

    monkeypatch.setattr(indexer.run, "discover", discover_then_delete)
    files = report_of(small_index)
    assert files["guides/ghost.md"] == ("failed", "cannot read file: No such file or directory")
    assert files["guides/stays.md"][0] == "indexed"
    monkeypatch.undo()
    report = run_index(small_index, workers=1)
    assert report.exit_code == 0
    assert search_ids(small_index, "robin") == ["guides/stays"]
    assert search_ids(small_index, "kingfisher") == []


def test_files_vanishing_or_changing_during_extraction(small_index):
    """The progress callback runs between two extractions: it deletes one file and rewrites
    another before they are read."""
    names = ["a-first", "b-vanishes", "c-changes", "d-last"]
    for name in names:
        write(small_index.corpus / f"guides/{name}.md", f"# {name}\n\nA kingfisher {name}.\n")
    done: list[str] = []

    def progress(n: int, total: int, path: str) -> None:
        done.append(path)
        if path == "guides/a-first.md":
            (small_index.corpus / "guides/b-vanishes.md").unlink()
            (small_index.corpus / "guides/c-changes.md").write_text("# c\n\nNow a heron.\n")

    files = report_of(small_index, progress=progress)
    assert done[0] == "guides/a-first.md"
    assert files["guides/b-vanishes.md"][0] == "failed"
    assert "No such file or directory" in files["guides/b-vanishes.md"][1]
    assert files["guides/c-changes.md"][0] == "indexed"
    assert files["guides/d-last.md"][0] == "indexed"
    assert search_ids(small_index, "heron") == ["guides/c-changes"]
    # The next run settles what moved under the first: the index matches the corpus.
    report = run_index(small_index, workers=1)
    assert report.exit_code == 0
    assert run_index(small_index, workers=1).up_to_date
    assert sorted(search_ids(small_index, "kingfisher")) == ["guides/a-first", "guides/d-last"]
    assert search_ids(small_index, "heron") == ["guides/c-changes"]


def test_missing_corpus_folder_is_fatal_and_keeps_the_index(small_index, tmp_path):
    moved = tmp_path / "corpus-elsewhere"
    with index_state_kept(small_index):
        small_index.corpus.rename(moved)
        try:
            result = kb_run(small_index, "index")
        finally:
            moved.rename(small_index.corpus)
    assert result.returncode == 2
    assert "corpus folder" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the index deleted under a running server -----------------------------------------------------

PROBES = ["/search?q=lifespan", "/api/search?q=lifespan", "/healthz", "/doc/guides/lifespan",
          "/api/doc/guides/lifespan"]  # fmt: skip


def warm_up(port: int) -> None:
    """Requests on every server thread at once, so that each has opened the index."""
    threads = [threading.Thread(target=http_request, args=(port, "/api/search?q=repair"))
               for _ in range(16)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def statuses(port: int, rounds: int = 3) -> list[tuple[str, int, object]]:
    seen = []
    for _ in range(rounds):
        for target in PROBES:
            reply = http_request(port, target)
            seen.append((target, reply.status, reply))
    return seen


def assert_unavailable(target: str, reply) -> None:
    assert reply.status == 503, (target, reply.status, reply.body[:200])
    assert reply.headers.get("retry-after")
    if target.startswith(("/api/", "/healthz")):
        assert "kb index" in reply.json()["error"]["message"]
    else:
        assert "text/html" in reply.headers["content-type"] and "kb index" in reply.text


def until_all_unavailable(port: int, seconds: float = 30) -> None:
    """Probe until one round of PROBES all answer 503: the library looks at the index at most
    once a second, and until it does a thread with the index open may answer from it. Any
    answer but a 200 or a 503 fails at once."""
    deadline = time.monotonic() + seconds
    while True:
        seen = statuses(port, rounds=1)
        for target, status, reply in seen:
            assert status in (200, 503), (target, status, reply.body[:300])
        if all(status == 503 for _, status, _ in seen):
            return
        assert time.monotonic() < deadline, [(t, s) for t, s, _ in seen]
        time.sleep(0.05)


def test_index_deleted_under_a_running_server_answers_503_on_every_thread(small_index):
    """Every server thread had the index open, and could go on reading its unlinked files:
    it must say the index is gone instead."""
    with KbServer(small_index.corpus, small_index.index, threads=4) as server:
        warm_up(server.port)
        shutil.rmtree(small_index.index)
        until_all_unavailable(server.port)
        for target, _, reply in statuses(server.port):
            assert_unavailable(target, reply)


def test_index_deleted_under_a_running_server_never_500s_and_recovers(small_index):
    with KbServer(small_index.corpus, small_index.index, threads=4) as server:
        # One request: one server thread has the index open, the others have not.
        assert http_request(server.port, "/api/search?q=repair").status == 200
        shutil.rmtree(small_index.index)
        # Before the library looks again (up to a second), a thread with the index open may
        # still answer from it; the others fail on its missing files: a 503, never a 500.
        for target, status, reply in statuses(server.port, rounds=1):
            assert status in (200, 503), (target, status, reply.body[:300])
            if status == 503:
                assert_unavailable(target, reply)
        until_all_unavailable(server.port)
        for target, _, reply in statuses(server.port):
            assert_unavailable(target, reply)
            assert str(small_index.index) not in reply.text
        assert "Traceback" not in server.output()
        result = kb_run(small_index, "index")
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 10
        while True:  # no restart: the library reopens the new index by itself
            seen = statuses(server.port, rounds=1)
            if all(status == 200 for _, status, _ in seen):
                break
            assert time.monotonic() < deadline, [(t, s) for t, s, _ in seen]
            time.sleep(0.2)
        assert http_request(server.port, "/healthz").json()["documents"] == SMALL_DOCS
        hits = http_request(server.port, "/api/search?q=lifespan").json()["results"]
        assert [h["doc_id"] for h in hits] == ["guides/lifespan"]


def test_server_started_without_an_index_serves_once_one_is_built(small_settings):
    with KbServer(small_settings.corpus, small_settings.index, threads=2) as server:
        for target, _, reply in statuses(server.port, rounds=1):
            assert_unavailable(target, reply)
        assert kb_run(small_settings, "index").returncode == 0
        deadline = time.monotonic() + 10
        while not all(s == 200 for _, s, _ in statuses(server.port, rounds=1)):
            assert time.monotonic() < deadline
            time.sleep(0.2)
