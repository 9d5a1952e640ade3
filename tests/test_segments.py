"""A full build written by the extraction workers, one segment each (indexer.segments)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from indexer.build import run_index
from indexer.plan import ToExtract
from indexer.segments import ranges
from kb.access import Principal
from kb.library import Library
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from kb.store import CURRENT, IndexStore

from .conftest import write
from .test_reindex import _extract_or_die

QUERIES = ["repair", "repair note", '"repair note"', "zebrafinch", "upphandling krav",
           "laptop OR phone", "rep*", "forum meeting", "note -zebrafinch"]  # fmt: skip


def _corpus(corpus: Path) -> None:
    words = ["repair", "laptop", "phone", "supplier", "upphandling", "krav", "note", "battery"]
    for i in range(40):
        body = " ".join(words[(i * j) % len(words)] for j in range(1, 12 + i % 7))
        write(corpus / f"notes/n{i:02d}.md", f"# Note {i}\n\nRepair note {i}: {body}.\n\n"
                                             f"## Part two\n\n{body} zebrafinch {i % 3}.\n")  # fmt: skip


def _results(settings: Settings) -> list:
    searcher = Searcher(Library(settings), Principal.shell())
    out = []
    for q in QUERIES:
        result = searcher.search(SearchRequest(q=q, page_size=100))
        out.append(
            (q, result.total, [(h.doc.doc_id, h.score, [(p.anchor, p.score, p.snippet)
                                                        for p in h.passages])
                               for h in result.hits])
        )  # fmt: skip
    return out


def _records(settings: Settings) -> list[dict]:
    """Every record's stored fields, in document-number order."""
    ix = IndexStore(settings.index).current().open_index()
    try:
        with ix.reader() as reader:
            return [reader.stored_fields(n) for n in range(reader.doc_count_all())]
    finally:
        ix.close()


def test_segments_written_by_the_workers_search_like_a_serial_build(tmp_path, small_corpus):
    _corpus(small_corpus)
    serial = Settings.resolve(small_corpus, tmp_path / "serial")
    parallel = Settings.resolve(small_corpus, tmp_path / "parallel")
    assert run_index(serial, workers=1).summary["indexed"] == 44
    report = run_index(parallel, workers=2)
    assert report.workers == 2 and report.summary["indexed"] == 44
    assert not report.notes
    gen = IndexStore(parallel.index).current()
    assert len([n for n in os.listdir(gen.path) if n.endswith(".seg")]) == 2
    assert not [n for n in os.listdir(gen.path) if n.endswith(".tmp")]  # no scratch left

    assert _records(serial) == _records(parallel)  # the same records, numbered alike
    assert _results(serial) == _results(parallel)  # and the same hits, scores and snippets
    assert report.files == run_index(parallel, rebuild=True, workers=2).files


def test_a_dying_segment_writer_leaves_the_current_generation(tmp_path, small_corpus, monkeypatch):
    import indexer.workers as workers

    _corpus(small_corpus)
    settings = Settings.resolve(small_corpus, tmp_path / "index")
    run_index(settings, workers=2)
    before = (settings.index / CURRENT).read_text()
    write(small_corpus / "notes/crash-me.md", "# Crash\n\nThis one kills its worker.\n")
    monkeypatch.setattr(workers, "_extract_chunk", _extract_or_die)
    report = run_index(settings, rebuild=True, workers=2)
    # The segments' build was abandoned; the rebuild one file at a time fails only that file.
    assert any("died" in note for note in report.notes)
    failed = [f.path for f in report.files if f.status == "failed"]
    assert failed == ["notes/crash-me.md"]
    assert report.summary["indexed"] == 44
    assert (settings.index / CURRENT).read_text() != before
    assert not [p for p in settings.index.iterdir() if p.name.startswith(".building-")]


def test_a_failed_segment_build_keeps_the_current_generation(tmp_path, small_corpus,
                                                             monkeypatch):  # fmt: skip
    import indexer.segments as segments

    _corpus(small_corpus)
    settings = Settings.resolve(small_corpus, tmp_path / "index")
    run_index(settings, workers=2)
    before = (settings.index / CURRENT).read_text()
    hits = _results(settings)
    write(small_corpus / "notes/new.md", "# New\n\nA zebrafinch note.\n")

    def disk_full(gen, segments):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments, "commit_segments", disk_full)
    with pytest.raises(OSError):
        run_index(settings, rebuild=True, workers=2)
    assert (settings.index / CURRENT).read_text() == before
    assert not [p for p in settings.index.iterdir() if p.name.startswith(".building-")]
    assert _results(settings) == hits


class _File:
    def __init__(self, size: int) -> None:
        self.size = size


def test_ranges_are_contiguous_and_balanced_by_size():
    todo: ToExtract = [(_File(s), str(i)) for i, s in enumerate([10, 10, 10, 10, 100, 10])]  # type: ignore[misc]
    parts = ranges(todo, 2)
    assert [x for part in parts for x in part] == todo
    assert [len(p) for p in parts] == [5, 1]
    assert [len(p) for p in ranges(todo, 3)] == [5, 1]
    assert ranges(todo[:1], 4) == [todo[:1]]
    assert ranges([], 2) == []
