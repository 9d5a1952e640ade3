"""No file can stall indexing: every format runs under the corpus's size, CPU-time and
passage limits (`[limits]` in kb.toml), and says which one it ran into."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from indexer.discover import discover
from indexer.extract.limits import FileLimits, load_limits
from indexer.workers import extract_document
from kb.errors import ConfigError
from kb.manifest import Cause, EntryStatus
from kb.settings import Settings
from tests.conftest import write


def _extract(corpus: Path, rel: str, limits: FileLimits):
    files, _ = discover(corpus)
    cf = next(f for f in files if f.rel == rel)
    return extract_document(corpus, cf, "0" * 64, None, None, limits)


def _kb(corpus: Path, tmp_path: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        main, ["--corpus", str(corpus), "--index", str(tmp_path / "index"), *args, "--json"]
    )
    return json.loads(result.output)


def _long_markdown(paragraphs: int) -> str:
    return "# Long\n\n" + "\n\n".join(f"Paragraph {i}. " + "word " * 200 for i in range(paragraphs))


@pytest.mark.parametrize("name", ["notes.md", "notes.txt", "notes.html"])
def test_every_format_runs_under_the_cpu_time_limit(tmp_path: Path, name: str) -> None:
    text = _long_markdown(2000)  # about 2.5 MB: far more than a millisecond of work
    if name.endswith(".html"):
        text = "<html><body>" + "".join(f"<p>{p}</p>" for p in text.split("\n\n")) + "</body>"
    write(tmp_path / "corpus" / name, text)
    entry, doc, _ = _extract(tmp_path / "corpus", name, FileLimits(cpu_seconds=0.001))
    assert doc is None
    assert entry.status is EntryStatus.FAILED
    assert entry.cause is Cause.OVER_LIMIT
    assert entry.reason == "time limit of 0.001 s exceeded ([limits] cpu_seconds in kb.toml)"


def test_the_passage_cap_indexes_the_first_passages_and_says_so(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "kb.toml", "[limits]\nmax_passages = 5\n")
    write(corpus / "long.md", _long_markdown(40))
    data = _kb(corpus, tmp_path, "index")
    (report,) = [f for f in data["files"] if f["path"] == "long.md"]
    assert report["status"] == "indexed"
    assert report["passages"] == 5
    assert "truncated: 40 passages, limit 5; only the first 5 are indexed" in report["warnings"]
    checked = _kb(corpus, tmp_path, "check")
    (line,) = [f for f in checked["files"] if f["path"] == "long.md"]
    assert line["passages"] == 5


def test_the_size_limit_is_configured_and_says_by_how_much(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "kb.toml", "[limits]\nmax_file_mb = 0.5\n")
    write(corpus / "big.txt", "word " * 150_000)  # 750,000 bytes: 0.7 MB
    write(corpus / "small.md", "# Small\n\nA small note.\n")
    data = _kb(corpus, tmp_path, "index")
    by_path = {f["path"]: f for f in data["files"]}
    assert by_path["small.md"]["status"] == "indexed"
    assert by_path["big.txt"]["status"] == "skipped"
    assert by_path["big.txt"]["reason"] == (
        "file too large: 0.7 MB, 0.2 MB over the 0.5 MB limit ([limits] max_file_mb in kb.toml)"
    )


def test_defaults_apply_without_a_limits_table(tmp_path: Path) -> None:
    write(tmp_path / "kb.toml", '[visibility]\ndefault = "members"\n')
    assert load_limits(tmp_path) == FileLimits() == load_limits(tmp_path / "missing")
    assert FileLimits() == FileLimits(50 * 1024 * 1024, 30.0, 10_000)


@pytest.mark.parametrize(
    "table",
    ["max_passages = 0", "max_passages = 2.5", "cpu_seconds = -1", "max_file_mb = true",
     'max_file_mb = "50"', "max_pages = 3", "cpu_seconds = nan"],
)  # fmt: skip
def test_bad_limits_fail_the_run_before_any_write(tmp_path: Path, table: str) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "kb.toml", f"[limits]\n{table}\n")
    write(corpus / "note.md", "# Note\n\nText.\n")
    with pytest.raises(ConfigError, match=r"\[limits\]"):
        load_limits(corpus)
    from indexer.build import run_index

    with pytest.raises(ConfigError):
        run_index(Settings.resolve(corpus, tmp_path / "index"), workers=1)
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").rglob("MANIFEST*"))


def test_an_inner_limit_never_extends_the_enclosing_one() -> None:
    """A file's whole-job limit holds even while a format's own, longer limit is armed."""
    import time

    from indexer.extract.limits import TimeLimitExceeded, cpu_time_limit

    started = time.process_time()
    with pytest.raises(TimeLimitExceeded), cpu_time_limit(0.3), cpu_time_limit(30):
        while time.process_time() - started < 10:
            pass
    assert time.process_time() - started < 5


def test_an_alarm_lost_in_a_finaliser_still_ends_the_work() -> None:
    """Python prints and drops an exception raised in a finaliser or a collector callback;
    the limit holds all the same, when the guarded work ends."""
    import time

    from indexer.extract.limits import TimeLimitExceeded, cpu_time_limit

    started = time.process_time()
    with pytest.raises(TimeLimitExceeded), cpu_time_limit(0.05):
        try:
            while time.process_time() - started < 0.2:
                pass
        except TimeLimitExceeded:
            pass  # dropped, as it is when the alarm lands in a finaliser
