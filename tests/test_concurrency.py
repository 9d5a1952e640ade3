"""Many server threads searching one snapshot at once get the answers one thread gets.

whoosh readers are not thread-safe: read from files (indexes over kb.library's memory-map
limit), they seek and read a shared file position. Each thread has its own reader; whatever
a snapshot shares between threads (postings arrays, tables, the speller) must never use
another thread's reader.
"""

from __future__ import annotations

import threading

import pytest

import kb.library
from kb.access import Principal
from kb.library import Library
from kb.search import Searcher, SearchRequest

QUERIES = [
    "climate criteria", "procurment", "upphandlnig", "wieghting", "klimat", "reparation",
    '"public procurement"', "circ*", "lifespan type:guide", "energy -laptop", "sustainabilty",
    "criteria lang:no", "återbruk", "e-waste", "membr", "Atea Samsung",
]  # fmt: skip


def _answer(searcher: Searcher, q: str) -> tuple:
    result = searcher.search(SearchRequest(q=q))
    return (
        result.total,
        result.suggestion,
        tuple((h.doc.doc_id, h.score, tuple(p.anchor for p in h.passages)) for h in result.hits),
        tuple(
            (name, tuple((v.value, v.count) for v in values))
            for name, values in result.facets.items()
        ),
    )


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_searches_on_a_file_read_index_match_sequential_ones(
    bundled_index, monkeypatch, attempt
):
    monkeypatch.setattr(kb.library, "MMAP_MAX_BYTES", 0)
    expected = {q: _answer(Searcher(Library(bundled_index), Principal.shell()), q) for q in QUERIES}
    searcher = Searcher(
        Library(bundled_index), Principal.shell()
    )  # a fresh snapshot: every cache starts cold
    failures: list[str] = []
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        for n in range(3 * len(QUERIES)):
            q = QUERIES[(i * 5 + n) % len(QUERIES)]
            try:
                got = _answer(searcher, q)
            except Exception as exc:
                failures.append(f"{q}: {exc!r}")
                continue
            if got != expected[q]:
                failures.append(f"{q}: a different answer")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
