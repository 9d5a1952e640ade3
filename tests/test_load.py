"""Load: 50 concurrent clients against a real `kb serve --threads 8` on loopback, first on a
steady index, then while `kb index --rebuild` runs at least twice (benchmarks/soak.py).

Every answer must be a 200 (a 503 or a dropped connection is an error), and every probe of
`/api/search?q=soakmarker` and `/healthz` must show a complete generation: the count before a
rebuild or the count after it, never one in between, as a half-built index would.

Each phase lasts KB_SOAK_SECONDS (default 15 s here; docs/reliability.md has the figures of a
60 s run: `.venv/bin/python benchmarks/soak.py --seconds 60 --clients 50`).
"""

from __future__ import annotations

import os

import pytest

from benchmarks.soak import BASE_NOTES, BATCH_NOTES, MIN_REBUILDS, run_soak, table

SECONDS = float(os.environ.get("KB_SOAK_SECONDS", "15"))
CLIENTS = int(os.environ.get("KB_SOAK_CLIENTS", "50"))


@pytest.mark.slow
def test_fifty_clients_with_and_without_a_rebuild_get_no_errors(tmp_path, capsys):
    report = run_soak(tmp_path, SECONDS, CLIENTS, threads=8)
    with capsys.disabled():
        print("\n" + table(report))
    steady, during = report["steady"], report["rebuild"]
    assert steady["errors"] == 0, steady["error_samples"]
    assert during["errors"] == 0, during["error_samples"]
    assert steady["requests"] > 0 and during["requests"] > 0
    assert set(steady["by_kind"]) == set(during["by_kind"]) == {
        "search", "doc", "api_search", "api_doc", "suggest", "probe", "health",
    }  # fmt: skip
    assert not during["rebuild_failures"], report.get("server_log_tail")
    assert during["rebuilds"] >= MIN_REBUILDS
    # Only complete generations were ever served, and both of them were.
    assert set(map(int, steady["probe_totals"])) == {BASE_NOTES}
    assert set(map(int, during["probe_totals"])) == {BASE_NOTES, BASE_NOTES + BATCH_NOTES}
    assert during["serves_last_rebuild"]
    assert report["ok"], report["problems"]
