"""Re-indexing: incremental runs, atomic generations, crash safety, concurrency, reporting.

The first tests drive `run_index` and the `kb` command in this process on the small corpus.
The `slow` ones start real `kb index` processes on a generated corpus of small Markdown
files, kill them with SIGKILL at several moments, run two at once, and search in a loop
from another process while the index is rebuilt.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cli import main
from indexer.build import run_index
from kb.access import Principal
from kb.library import Library
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from kb.store import CURRENT, PREVIOUS, IndexStore

from .conftest import write

ROOT = Path(__file__).resolve().parents[1]
KB = [sys.executable, "-c", "from cli import main; main()"]


def kb(runner, settings, *args):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


def search_ids(settings: Settings, q: str) -> list[str]:
    result = Searcher(Library(settings), Principal.shell()).search(
        SearchRequest(q=q, page_size=100)
    )
    return [hit.doc.doc_id for hit in result.hits]


def doc_count(settings: Settings) -> int:
    return len(Library(settings).snapshot().catalogue)


def index_state(settings: Settings) -> dict[str, tuple]:
    """Every file and folder under the index (except LOCK) with its size and mtime."""
    state = {}
    for path in sorted(settings.index.rglob("*")):
        if path.name == "LOCK":
            continue
        st = path.stat()
        state[path.relative_to(settings.index).as_posix()] = (
            path.is_dir(),
            0 if path.is_dir() else st.st_size,
            st.st_mtime_ns,
        )
    return state


def current_gen(settings: Settings) -> Path:
    return IndexStore(settings.index).current().path


NEW_NOTE = """
    ---
    title: Refurbished monitors
    type: guide
    ---
    # Refurbished monitors

    Buying refurbished monitors with a warranty is the zebrafinch option.
    """


# ---- incremental runs ---------------------------------------------------------------------------


def test_incremental_run_adds_updates_removes_and_renames(small_index: Settings):
    corpus = small_index.corpus
    write(corpus / "guides/monitors.md", NEW_NOTE)
    report = run_index(small_index, workers=1)
    assert report.summary.items() >= {"added": 1, "updated": 0, "unchanged": 4}.items()
    assert not report.rebuilt
    added = next(f for f in report.files if f.path == "guides/monitors.md")
    assert (added.status, added.change) == ("indexed", "added")
    assert search_ids(small_index, "zebrafinch") == ["guides/monitors"]

    (corpus / "guides/monitors.md").write_text(
        NEW_NOTE.replace("zebrafinch", "kingfisher"), encoding="utf-8"
    )
    report = run_index(small_index, workers=1)
    assert (report.summary["updated"], report.summary["added"]) == (1, 0)
    assert search_ids(small_index, "zebrafinch") == []
    assert search_ids(small_index, "kingfisher") == ["guides/monitors"]

    # A rename keeps no stale copy under the old id.
    (corpus / "guides/monitors.md").rename(corpus / "guides/screens.md")
    report = run_index(small_index, workers=1)
    assert (report.summary["added"], report.summary["removed"]) == (1, 1)
    assert search_ids(small_index, "kingfisher") == ["guides/screens"]
    assert doc_count(small_index) == 5

    (corpus / "guides/screens.md").unlink()
    report = run_index(small_index, workers=1)
    assert report.summary["removed"] == 1
    assert search_ids(small_index, "kingfisher") == []
    assert doc_count(small_index) == 4


def test_unchanged_corpus_writes_nothing_and_says_up_to_date(runner, small_index: Settings):
    before = index_state(small_index)
    result = kb(runner, small_index, "index")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert index_state(small_index) == before

    # Touching a file (new mtime, same bytes) re-reads it but changes nothing in the index;
    # only the manifest learns the new mtime, so the next run need not hash it again.
    path = small_index.corpus / "guides/lifespan.md"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    report = run_index(small_index, workers=1)
    assert report.summary["unchanged"] == 4 and report.summary["indexed"] == 0
    after = index_state(small_index)
    changed = {k for k in after if after[k] != before.get(k)}
    gen = current_gen(small_index).name
    assert changed <= {f"{gen}/manifest.json", gen}
    assert index_state(small_index) == after == index_state(small_index)
    run_index(small_index, workers=1)
    assert index_state(small_index) == after


def test_sidecar_change_updates_the_document(small_index: Settings):
    write(small_index.corpus / "notes/readme.txt.meta.toml", 'title = "Phone notes"\n')
    report = run_index(small_index, workers=1)
    assert report.summary["updated"] == 1
    snap = Library(small_index).snapshot()
    assert snap.catalogue["notes/readme"].title == "Phone notes"


def test_json_report_distinguishes_added_and_updated(runner, small_index: Settings):
    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    path = small_index.corpus / "guides/lifespan.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nMore about repair.\n", encoding="utf-8")
    (small_index.corpus / "notes/readme.txt").unlink()
    result = kb(runner, small_index, "index", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"] == {"indexed": 2, "unchanged": 2, "removed": 1, "skipped": 0,
                               "failed": 0, "ignored": 0, "added": 1, "updated": 1}  # fmt: skip
    files = {f["path"]: f for f in data["files"]}
    for f in files.values():
        assert {"path", "status", "doc_id", "passages", "language", "reason"} <= set(f)
        assert f["status"] in {"indexed", "unchanged", "removed", "skipped", "failed"}
    assert files["guides/monitors.md"]["change"] == "added"
    assert files["guides/lifespan.md"]["change"] == "updated"
    assert files["notes/readme.txt"]["status"] == "removed"
    assert files["articles/upphandling.md"] == files["articles/upphandling.md"] | {
        "status": "unchanged", "change": None, "language": "sv"}  # fmt: skip


def test_text_report_lists_changes_and_summary(runner, small_index: Settings):
    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    result = kb(runner, small_index, "index")
    assert result.exit_code == 0, result.output
    assert "added  guides/monitors.md  (guides/monitors)" in result.output
    assert "1 added, 4 unchanged" in result.output
    quiet = kb(runner, small_index, "index", "--rebuild", "-q")
    assert quiet.output.strip().startswith("Built a new generation")


def test_failed_file_gives_exit_code_1_with_reason_and_shows_in_status(runner, small_index):
    write(small_index.corpus / "guides/lifespan.md.meta.toml", "title = [unclosed\n")
    result = kb(runner, small_index, "index")
    assert result.exit_code == 1, result.output
    assert "failed  guides/lifespan.md: bad metadata" in result.output
    data = json.loads(kb(runner, small_index, "status", "--json").output)
    assert data["failed"][0]["path"] == "guides/lifespan.md"
    assert "invalid TOML" in data["failed"][0]["reason"]
    assert data["documents"] == 3  # the failed file's old version left the index
    assert data["last_run"]["summary"]["failed"] == 1
    status = kb(runner, small_index, "status")
    assert "Failed:      1" in status.output and "guides/lifespan.md" in status.output


def test_status_shows_generation_and_counts_by_type_and_language(runner, small_index):
    data = json.loads(kb(runner, small_index, "status", "--json").output)
    assert data["generation"] == "gen-000001" and data["created_at"]
    assert data["passages_by_type"]["meeting"] == 2
    assert sum(data["passages_by_language"].values()) == data["passages"]
    text = kb(runner, small_index, "status").output
    assert "by language:" in text and "sv" in text
    assert "Last rebuild:" in text


def test_progress_reports_each_file(small_settings: Settings):
    calls = []
    run_index(small_settings, workers=1, progress=lambda d, t, p: calls.append((d, t, p)))
    assert [c[:2] for c in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {c[2] for c in calls} == {"meetings/2024-04-24-forum-meeting.md", "guides/lifespan.md",
                                     "articles/upphandling.md", "notes/readme.txt"}  # fmt: skip


def test_progress_bar_shows_count_rate_eta_and_file(capsys):
    from cli import _progress_printer

    assert _progress_printer(False) is None
    show = _progress_printer(True)
    show(1, 2, "guides/lifespan.md")
    show(2, 2, "notes/readme.txt")
    err = capsys.readouterr().err
    assert "1/2" in err and "files/s" in err and "ETA" in err and "guides/lifespan.md" in err
    assert err.endswith("\n") and "2/2" in err


def test_run_with_nothing_to_do_imports_no_whoosh_nor_extractors(small_index: Settings):
    code = textwrap.dedent(
        """
        import sys
        from cli import main
        try:
            main(sys.argv[1:])
        except SystemExit:
            pass
        print(sorted(m for m in ("whoosh", "bs4", "pypdf", "yaml", "kb.schema") if m in sys.modules))
        """
    )
    args = ["--corpus", str(small_index.corpus), "--index", str(small_index.index), "index"]
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert "up to date" in result.stdout, result.stderr
    assert result.stdout.strip().endswith("[]")


def test_small_run_imports_only_what_it_writes_with(small_index: Settings):
    """A run that changes a Markdown and an HTML file loads their extractors and whoosh, but
    not what only searching, serving or other formats need: numpy (the query engine),
    soupsieve (bs4's CSS selectors, never used), argon2 (accounts), Flask, pypdf."""
    write(small_index.corpus / "guides/page.html", "<title>Page</title><p>Repair cafés.</p>")
    write(small_index.corpus / "notes/new.md", "# New\n\nA note about spare parts.\n")
    code = textwrap.dedent(
        """
        import sys
        from cli import main
        try:
            main(sys.argv[1:])
        except SystemExit:
            pass
        loaded = ("whoosh", "bs4", "numpy", "soupsieve.css_parser", "argon2", "flask", "pypdf")
        print(sorted(m for m in loaded if m in sys.modules))
        """
    )
    args = ["--corpus", str(small_index.corpus), "--index", str(small_index.index), "index"]
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert "2 added" in result.stdout, result.stdout + result.stderr
    assert result.stdout.strip().endswith("['bs4', 'whoosh']")


def test_parallel_extraction_gives_the_same_index_as_serial(tmp_path: Path, small_corpus: Path):
    for i in range(40):
        write(small_corpus / f"notes/n{i:02d}.md", f"# Note {i}\n\nRepair note {i} zebrafinch.\n")
    serial = Settings.resolve(small_corpus, tmp_path / "serial")
    parallel = Settings.resolve(small_corpus, tmp_path / "parallel")
    assert run_index(serial, workers=1).workers == 1
    report = run_index(parallel, workers=2)
    assert report.workers == 2 and report.summary["indexed"] == 44

    def passages(settings):
        snap = Library(settings).snapshot()
        return {d: (i.title, i.passages, i.meta.language) for d, i in snap.catalogue.items()}

    assert passages(serial) == passages(parallel)
    assert len(search_ids(parallel, "zebrafinch")) == 40


def _extract_or_die(items):
    """Stands in for indexer.workers._extract_chunk in the workers: dies on one file."""
    import indexer.workers as workers

    if any("crash-me" in cf.rel for cf, _ in items):
        os._exit(3)
    worker = workers._worker
    return [workers.extract_document(worker.corpus, cf, sha, worker.matcher, worker.visibility)
            for cf, sha in items]  # fmt: skip


def test_a_dying_worker_fails_only_its_file(small_corpus: Path, tmp_path: Path, monkeypatch):
    import indexer.workers as workers

    for i in range(24):
        write(small_corpus / f"notes/n{i:02d}.md", f"# Note {i}\n\nRepair note {i}.\n")
    write(small_corpus / "notes/crash-me.md", "# Crash\n\nThis one kills its worker.\n")
    monkeypatch.setattr(workers, "_extract_chunk", _extract_or_die)
    settings = Settings.resolve(small_corpus, tmp_path / "index")
    report = run_index(settings, workers=2)
    failed = [f for f in report.files if f.status == "failed"]
    assert [f.path for f in failed] == ["notes/crash-me.md"]
    assert "the extraction process died" in failed[0].reason
    assert report.summary["indexed"] == 28
    assert report.exit_code == 1


# ---- generations, rollback, disk errors -----------------------------------------------------------


def test_rebuild_switches_generation_keeps_previous_and_rolls_back(runner, small_index):
    root = small_index.index
    for expected in ("gen-000002", "gen-000003"):
        result = kb(runner, small_index, "index", "--rebuild")
        assert result.exit_code == 0, result.output
        assert (root / CURRENT).read_text().strip() == expected
    assert (root / PREVIOUS).read_text().strip() == "gen-000002"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["gen-000002", "gen-000003"]

    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    run_index(small_index, workers=1)  # an incremental run commits into gen-000003
    assert search_ids(small_index, "zebrafinch") == ["guides/monitors"]
    result = kb(runner, small_index, "index", "--rollback")
    assert result.exit_code == 0 and "gen-000002" in result.output
    assert search_ids(small_index, "zebrafinch") == []
    assert (root / PREVIOUS).read_text().strip() == "gen-000003"


def test_unwritable_index_exits_2_and_writes_nothing(runner, small_settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings = Settings.resolve(small_settings.corpus, blocker / "index")
    result = kb(runner, settings, "index")
    assert result.exit_code == 2
    assert "could not write the index" in result.output
    assert "nothing was written" in result.output


def test_disk_error_during_rebuild_keeps_the_previous_index(runner, small_index):
    # A folder where the PREVIOUS pointer must be written: switching to the new generation
    # fails with an OSError, as a full or read-only disk would make it.
    blocker = small_index.index / PREVIOUS
    blocker.mkdir()
    result = kb(runner, small_index, "index", "--rebuild")
    assert result.exit_code == 2, result.output
    assert "nothing was written, the previous index keeps serving" in result.output
    assert (small_index.index / CURRENT).read_text().strip() == "gen-000001"
    assert not [p for p in small_index.index.iterdir() if p.name.startswith(".building")]
    assert search_ids(small_index, "lifespan") == ["guides/lifespan"]
    blocker.rmdir()
    assert kb(runner, small_index, "index", "--rebuild").exit_code == 0
    assert sorted(p.name for p in small_index.index.glob("gen-*")) == ["gen-000001", "gen-000003"]


# ---- damaged and missing indexes ----------------------------------------------------------------


def _truncate_segment(settings):
    seg = next(current_gen(settings).glob("MAIN_*.seg"))
    with open(seg, "r+b") as fh:
        fh.truncate(seg.stat().st_size // 2)


def _delete_toc(settings):
    for toc in current_gen(settings).glob("_MAIN_*.toc"):
        toc.unlink()


def _delete_generation(settings):
    shutil.rmtree(current_gen(settings))


def _garble_pointer(settings):
    (settings.index / CURRENT).write_text("../../elsewhere\n")


def _garble_manifest(settings):
    (current_gen(settings) / "manifest.json").write_text('{"files": [')


def _old_schema(settings):
    (current_gen(settings) / "generation.json").write_text('{"schema_version": 0}')


@pytest.mark.parametrize(
    "damage, message",
    [
        (_truncate_segment, "is damaged"),
        (_delete_toc, "cannot be opened"),
        (_delete_generation, "gen-000001 is missing"),
        (_garble_pointer, "pointer CURRENT is damaged"),
        (_garble_manifest, "manifest of index generation gen-000001 is missing or damaged"),
        (_old_schema, "schema version 0"),
    ],
)
def test_damaged_index_is_detected_and_rebuilt(runner, small_index, damage, message):
    damage(small_index)
    result = kb(runner, small_index, "index")
    assert result.exit_code == 0, result.output
    assert message in result.output
    assert "rebuilding" in result.output
    assert doc_count(small_index) == 4
    assert search_ids(small_index, "lifespan") == ["guides/lifespan"]
    assert "up to date" in kb(runner, small_index, "index").output


def test_missing_pointer_continues_from_the_newest_complete_generation(runner, small_index):
    (small_index.index / CURRENT).unlink()
    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    result = kb(runner, small_index, "index", "--json")
    data = json.loads(result.output)
    assert "CURRENT was missing; continuing from gen-000001" in data["notes"][0]
    assert not data["rebuilt"] and data["summary"]["added"] == 1
    assert search_ids(small_index, "zebrafinch") == ["guides/monitors"]


def test_commit_without_manifest_converges(small_index: Settings):
    """A run killed between whoosh's commit and the manifest: the next run notices that the
    index moved on, compares it with the corpus, and leaves no stale or duplicate document."""
    gen = current_gen(small_index)
    manifest = (gen / "manifest.json").read_bytes()
    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    write(small_index.corpus / "guides/keyboards.md", "# Keyboards\n\nA kingfisher keyboard.\n")
    run_index(small_index, workers=1)
    (gen / "manifest.json").write_bytes(manifest)  # as if killed before writing it
    (small_index.corpus / "guides/keyboards.md").unlink()  # gone before the next run

    report = run_index(small_index, workers=1)
    assert any("differs from its manifest" in n for n in report.notes)
    assert search_ids(small_index, "zebrafinch") == ["guides/monitors"]
    assert search_ids(small_index, "kingfisher") == []
    snap = Library(small_index).snapshot()
    assert len(snap.catalogue) == 5
    assert run_index(small_index, workers=1).up_to_date


# ---- readers ---------------------------------------------------------------------------------------


def test_library_sees_new_commits_and_generations_without_restart(small_index: Settings):
    library = Library(small_index, check_interval=0)
    first = library.snapshot()
    assert library.snapshot() is first  # nothing changed: the same snapshot
    write(small_index.corpus / "guides/monitors.md", NEW_NOTE)
    run_index(small_index, workers=1)
    second = library.snapshot()
    assert second is not first and "guides/monitors" in second.catalogue
    run_index(small_index, workers=1, rebuild=True)
    third = library.snapshot()
    assert third.generation.name == "gen-000002" != second.generation.name
    assert len(third.catalogue) == 5


def test_library_keeps_serving_when_the_new_index_cannot_be_opened(small_index: Settings):
    library = Library(small_index, check_interval=0)
    snap = library.snapshot()
    _garble_pointer(small_index)
    assert library.snapshot() is snap
    assert Searcher(library, Principal.shell()).search(SearchRequest(q="lifespan")).total == 1


# ---- the writer lock --------------------------------------------------------------------------------


def test_second_writer_is_refused_naming_the_holder_then_waits(runner, small_index, monkeypatch):
    store = IndexStore(small_index.index)
    with store.writer_lock():
        result = kb(runner, small_index, "index")
        assert result.exit_code == 2
        assert f"being written by process {os.getpid()}" in result.output
        assert "--wait" in result.output
        assert store.lock_holder().pid == os.getpid()
        status = kb(runner, small_index, "status")
        assert f"process {os.getpid()} is updating the index now" in status.output
    assert store.lock_holder() is None

    # The lock is held until the waiting run has found it taken (its flock was refused).
    held, refused = threading.Event(), threading.Event()
    real_flock = fcntl.flock

    def flock(fd, operation):
        try:
            return real_flock(fd, operation)
        except BlockingIOError:
            refused.set()
            raise

    monkeypatch.setattr(fcntl, "flock", flock)

    def hold_until_the_run_waits():
        with store.writer_lock():
            held.set()
            refused.wait(60)

    thread = threading.Thread(target=hold_until_the_run_waits)
    thread.start()
    assert held.wait(60), "the lock was never taken"
    result = kb(runner, small_index, "index", "--wait", "10")
    thread.join()
    assert result.exit_code == 0, result.output
    assert refused.is_set(), "the run did not wait for the lock: it was never refused it"
    assert "up to date" in result.output


# ---- real processes: kill -9, two writers, readers during a rebuild ------------------------------

NOTES = 1000  # small Markdown files: enough for a run of a couple of seconds


def make_notes(corpus: Path, start: int, count: int, word: str = "") -> None:
    for i in range(start, start + count):
        path = corpus / "notes" / f"part-{i // 100:02d}" / f"note-{i:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\ntitle: Note {i}\ntype: article\nlanguage: en\n---\n# Note {i}\n\n"
            f"The kbmarker note w{i}x about repair and reuse of laptops {word}.\n",
            encoding="utf-8",
        )


def kb_args(settings: Settings, *args: str) -> list[str]:
    return [*KB, "--corpus", str(settings.corpus), "--index", str(settings.index), *args]


def start_paused_kb(settings: Settings, point: str, marker: Path, *args: str) -> subprocess.Popen:
    """`kb` that stops at `point` of its run (see tests/drivers/paused_kb.py), creates
    `marker` there and waits to be killed."""
    marker.unlink(missing_ok=True)
    command = [sys.executable, "-m", "tests.drivers.paused_kb", point, str(marker),
               "--corpus", str(settings.corpus), "--index", str(settings.index), *args]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_kb(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        kb_args(settings, *args), cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def search_total(settings: Settings, q: str = "kbmarker") -> int:
    """`kb search` in its own process: what a user would see."""
    result = run_kb(settings, "search", q, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["total"]


def children_of(pid: int) -> set[int]:
    """Every descendant of `pid` (workers and the fork server)."""
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                child = int(stat.parent.name)
                if child not in found:
                    found.add(child)
                    frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill(proc: subprocess.Popen) -> set[int]:
    """SIGKILL a running `proc`; returns its descendants (workers, fork server) at that moment."""
    assert proc.poll() is None, "the run finished before it could be killed"
    family = children_of(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    return family


def wait_for_marker(proc: subprocess.Popen, marker: Path, timeout: float = 120) -> None:
    """Wait until `proc` (a paused_kb) has created `marker`: it is stopped at its point."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (exit {proc.returncode}) before the point to kill it "
                        f"({marker.name}):\n{out}\n{err}")  # fmt: skip
        assert time.monotonic() < deadline, f"the run did not reach {marker.name} in {timeout} s"
        time.sleep(0.01)


def kill_at(settings: Settings, point: str, marker: Path, *args: str) -> set[int]:
    """Start `kb` with `args`, SIGKILL it once it is stopped at `point`; its descendants."""
    proc = start_paused_kb(settings, point, marker, *args)
    try:
        wait_for_marker(proc, marker)
        return kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def assert_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)], "worker processes outlived a killed kb index"


@pytest.fixture(scope="module")
def notes_index(tmp_path_factory) -> Settings:
    """NOTES small notes, indexed once; each test works on a copy."""
    base = tmp_path_factory.mktemp("notes")
    corpus = base / "corpus"
    make_notes(corpus, 0, NOTES)
    settings = Settings.resolve(corpus, base / "index")
    report = run_index(settings, workers=2)
    assert report.summary["indexed"] == NOTES
    return settings


@pytest.fixture
def notes(notes_index: Settings, tmp_path: Path) -> Settings:
    shutil.copytree(notes_index.corpus, tmp_path / "corpus", copy_function=shutil.copy2)
    shutil.copytree(notes_index.index, tmp_path / "index", copy_function=shutil.copy2)
    return Settings.resolve(tmp_path / "corpus", tmp_path / "index")


# Where a run is killed (points of tests/drivers/paused_kb.py): while starting (it holds the
# lock, nothing is written), while extracting and adding (whoosh's writer has been given
# ADDED records), and during the commit (segment files written, not yet the table of contents).
ADDED = 150
KILL_POINTS = {"while starting": "lock", "while extracting and adding": f"add:{ADDED}",
               "during the commit": "toc"}  # fmt: skip


# A full build with 2 workers writes its segments in the workers (indexer.segments); one
# with 1 worker adds every record in the `kb` process.
REBUILD_KILL_POINTS = [("while starting", "lock", "2"),
                       ("while the workers write their segments", "segments", "2"),
                       ("while extracting and adding", f"add:{ADDED}", "1"),
                       ("during the commit", "toc", "2"), ("during the commit, serial", "toc", "1")]  # fmt: skip


@pytest.mark.slow
def test_kill_during_rebuild_keeps_serving_and_next_run_recovers(notes: Settings, tmp_path):
    make_notes(notes.corpus, NOTES, 100)
    for moment, point, workers in REBUILD_KILL_POINTS:
        marker = tmp_path / f"reached-{point}-{workers}"
        assert_gone(kill_at(notes, point, marker, "index", "--rebuild", "--workers", workers))
        assert (notes.index / CURRENT).read_text().strip() == "gen-000001", moment
        assert doc_count(notes) == NOTES, moment
    assert search_total(notes) == NOTES  # `kb search` answers from the previous state

    result = run_kb(notes, "index", "--wait", "0")
    assert result.returncode == 0, result.stderr
    assert "100 added" in result.stdout
    assert search_total(notes) == NOTES + 100
    assert not [p for p in notes.index.iterdir() if p.name.startswith(".building")]


@pytest.mark.slow
def test_kill_during_incremental_run_keeps_serving_and_next_run_recovers(notes: Settings,
                                                                         tmp_path):  # fmt: skip
    make_notes(notes.corpus, 0, 300, word="kingfisher")  # changed
    make_notes(notes.corpus, NOTES, 200)  # new
    for moment, point in KILL_POINTS.items():
        marker = tmp_path / f"reached-{point}"
        assert_gone(kill_at(notes, point, marker, "index", "--workers", "2"))
        count = doc_count(notes)
        changed = (
            Searcher(Library(notes), Principal.shell()).search(SearchRequest(q="kingfisher")).total
        )
        assert (count, changed) in {(NOTES, 0), (NOTES + 200, 300)}  # all or nothing
        assert (count, changed) == (NOTES, 0), moment  # killed before its commit took effect
        assert search_ids(notes, "kingfisher") == []
    assert search_total(notes) == NOTES

    # Killed after whoosh's commit, before the manifest: the index has all the changes, and
    # the next run finds that it moved on from its manifest.
    marker = tmp_path / "reached-manifest"
    assert_gone(kill_at(notes, "manifest", marker, "index", "--workers", "2"))
    count = doc_count(notes)
    changed = (
        Searcher(Library(notes), Principal.shell()).search(SearchRequest(q="kingfisher")).total
    )
    assert (count, changed) == (NOTES + 200, 300)
    assert search_total(notes) == count

    result = run_kb(notes, "index")
    assert result.returncode == 0, result.stderr
    assert search_total(notes) == NOTES + 200
    assert search_total(notes, "kingfisher") == 300
    assert "up to date" in run_kb(notes, "index").stdout


@pytest.mark.slow
def test_two_concurrent_runs_one_waits_or_is_refused(notes: Settings, tmp_path):
    make_notes(notes.corpus, NOTES, 100)
    # The first run stops once it holds the lock, until the second is waiting for it.
    locked, busy = tmp_path / "first-holds-the-lock", tmp_path / "second-waits"
    first = start_paused_kb(notes, "lock", locked, "index", "--rebuild", "--workers", "1")
    waiting = None
    try:
        wait_for_marker(first, locked)
        holder = IndexStore(notes.index).lock_holder()
        assert holder is not None and holder.pid == first.pid
        refused = run_kb(notes, "index")
        assert refused.returncode == 2
        assert f"being written by process {first.pid}" in refused.stderr
        waiting = start_paused_kb(notes, "busy", busy, "index", "--wait", "120")
        wait_for_marker(waiting, busy)
        locked.unlink()  # the first run goes on
        assert first.wait(120) == 0
        out, err = waiting.communicate(timeout=120)
    finally:
        for proc in (first, waiting):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert waiting.returncode == 0, err
    assert "up to date" in out  # the first run did the work
    assert search_total(notes) == NOTES + 100


READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from kb.access import Principal
    from kb.library import Library
    from kb.search import SearchRequest, Searcher
    from kb.settings import Settings

    settings = Settings.resolve(sys.argv[1], sys.argv[2])
    stop = Path(sys.argv[3])
    ready = Path(sys.argv[4])
    library = Library(settings, check_interval=0)
    searcher = Searcher(library, Principal.shell())
    seen, errors, searches = set(), [], 0
    last_round = False
    while not last_round:
        # One more round once told to stop: it sees the index as the test left it.
        last_round = stop.exists()
        try:
            seen.add(searcher.search(SearchRequest(q="kbmarker")).total)
            seen.add(len(library.snapshot().catalogue))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        searches += 1
        if searches == 1:
            ready.touch()  # the index is open and searched: the test may start writing
    print(json.dumps({"seen": sorted(seen), "errors": errors[:5], "searches": searches}))
    """
)


@pytest.mark.slow
def test_searches_during_rebuild_and_update_never_fail_nor_see_half(notes: Settings, tmp_path):
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(notes.corpus), str(notes.index), str(stop), str(ready)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():  # the reader has opened the index and is searching
            assert reader.poll() is None, reader.communicate()
            assert time.monotonic() < deadline, "the reader did not start searching"
            time.sleep(0.01)
        make_notes(notes.corpus, NOTES, 200)
        assert run_kb(notes, "index", "--rebuild").returncode == 0
        for i in range(0, 100):
            (notes.corpus / "notes" / f"part-{i // 100:02d}" / f"note-{i:05d}.md").unlink()
        assert run_kb(notes, "index").returncode == 0
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    data = json.loads(out)
    assert data["errors"] == []
    assert data["searches"] > 20
    # Search totals and catalogue sizes: only ever a complete state, and the last one seen.
    assert set(data["seen"]) <= {NOTES, NOTES + 200, NOTES + 100}
    assert NOTES + 100 in data["seen"]
