"""Planning a run: which files are tried again, decided by typed causes, not by messages."""

from __future__ import annotations

import json
from pathlib import Path

import indexer.extract
from indexer.build import run_index
from indexer.extract.base import Failed
from indexer.report import FileStatus
from kb.generation import MANIFEST
from kb.manifest import Cause, EntryStatus
from kb.settings import Settings
from kb.store import IndexStore

from .conftest import write

JSON_FILE_KEYS = {"path", "status", "doc_id", "passages", "language", "reason", "title", "type",
                  "warnings", "change", "visibility", "attachments"}  # fmt: skip


def fail_to_read(monkeypatch, target: Path, chained: bool) -> None:
    """The extractor fails on `target`: as it does on a file it cannot read (the OSError
    chained), or on a file it can read but not use."""
    real = indexer.extract.extract_file

    def extract_file(path, **kwargs):
        if Path(path) == target:
            if chained:
                error = PermissionError(13, "Permission denied")
                raise Failed(f"cannot read file: {error.strerror}") from error
            raise Failed("cannot read this structure")  # worded alike, but not unreadable
        return real(path, **kwargs)

    monkeypatch.setattr(indexer.extract, "extract_file", extract_file)


def line(report, path: str):
    return next(f for f in report.files if f.path == path)


def entry(settings: Settings, path: str):
    return IndexStore(settings.index).current().read_manifest().entries[path]


def test_a_file_the_extractor_could_not_read_is_tried_again(small_index, monkeypatch):
    target = write(small_index.corpus / "guides/later.md", "# Later\n\nA kingfisher.\n")
    fail_to_read(monkeypatch, target, chained=True)
    failed = line(run_index(small_index, workers=1), "guides/later.md")
    assert (failed.status, failed.cause) == (FileStatus.FAILED, Cause.UNREADABLE_FILE)
    assert failed.reason == "cannot read file: Permission denied"
    assert entry(small_index, "guides/later.md").cause is Cause.UNREADABLE_FILE
    monkeypatch.undo()  # readable now, with the same size and mtime
    assert line(run_index(small_index, workers=1), "guides/later.md").status == "indexed"


def test_a_file_the_extractor_could_not_use_is_not_tried_again(small_index, monkeypatch):
    target = write(small_index.corpus / "guides/odd.md", "# Odd\n\nA kingfisher.\n")
    fail_to_read(monkeypatch, target, chained=False)
    failed = line(run_index(small_index, workers=1), "guides/odd.md")
    assert (failed.status, failed.cause) == (FileStatus.FAILED, Cause.EXTRACTION)
    monkeypatch.undo()
    assert run_index(small_index, workers=1).up_to_date  # until the file changes


def test_failures_recorded_without_a_cause_are_tried_again_once(small_index: Settings):
    write(small_index.corpus / "guides/bad.md.meta.toml", "title = \n")
    write(small_index.corpus / "guides/bad.md", "# Bad\n\nA kingfisher.\n")
    assert line(run_index(small_index, workers=1), "guides/bad.md").cause is Cause.BAD_METADATA
    # A manifest written by a kb that recorded no causes.
    path = IndexStore(small_index.index).current().path / MANIFEST
    data = json.loads(path.read_text())
    for f in data["files"]:
        del f["cause"]
    path.write_text(json.dumps(data))
    again = line(run_index(small_index, workers=1), "guides/bad.md")
    assert (again.status, again.change, again.cause) == ("failed", "updated", Cause.BAD_METADATA)
    assert entry(small_index, "guides/bad.md").status is EntryStatus.FAILED
    assert run_index(small_index, workers=1).up_to_date


def test_json_report_keeps_its_keys_and_strings(small_index: Settings):
    write(small_index.corpus / "guides/empty.md", "---\ntitle: Empty\n---\n")
    data = run_index(small_index, workers=1).to_dict()
    assert all(set(f) == JSON_FILE_KEYS for f in data["files"])
    empty = next(f for f in data["files"] if f["path"] == "guides/empty.md")
    assert json.dumps([empty["status"], empty["change"]]) == '["skipped", "added"]'
    assert list(data["summary"]) == ["indexed", "unchanged", "removed", "skipped", "failed", "ignored",
                                     "added", "updated"]  # fmt: skip
