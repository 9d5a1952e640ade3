"""Search insights: the aggregated search log (kb/insights.py), the web's counting of searches
and opened results, the coordinators' page and `kb insights`."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cli import main
from kb.accounts import AccountStore
from kb.errors import ConfigError
from kb.insights import SearchLog, insights_config, normalise_query, query_ref
from kb.settings import Settings
from tests.conftest import write
from webui import create_app

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough insights passphrase"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


class Clock:
    """A day that tests move on."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def _log(tmp_path: Path, **options) -> SearchLog:
    return SearchLog(tmp_path / "insights.sqlite3", **options)


def _rows(log: SearchLog) -> list[tuple]:
    with sqlite3.connect(log.path) as db:
        return db.execute("SELECT * FROM searches ORDER BY day, query").fetchall()


# ---- the log ----------------------------------------------------------------------------------


def test_searches_are_counted_per_day_and_normalised_query(tmp_path):
    log = _log(tmp_path)
    for q, results in (("Repair  laptops", 3), ("repair laptops", 0), ("ramavtal", 0),
                       ("ramavtal", 0), ("lifespan", 2)):  # fmt: skip
        log.record_search(q, results)
    log.record_search("   ", 0)  # no query: nothing to count
    log.record_open(query_ref("REPAIR laptops"))
    log.record_open("not-a-reference")
    log.record_open(query_ref("never searched"))
    assert log.flush()
    assert log.failures == log.dropped == 0
    report = log.report(days=7)
    assert (report.searches, report.queries) == (5, 3)
    counts = {r.query: (r.searches, r.no_results, r.opened) for r in report.frequent}
    assert counts == {"repair laptops": (2, 1, 1), "ramavtal": (2, 2, 0), "lifespan": (1, 0, 0)}
    assert [r.query for r in report.no_results] == ["ramavtal", "repair laptops"]
    assert [r.query for r in report.not_opened] == ["lifespan"]
    # Only the query, its reference, the day and counts are stored.
    columns = [c[1] for c in sqlite3.connect(log.path).execute("PRAGMA table_info(searches)")]
    assert columns == ["day", "query", "ref", "searches", "no_results", "opened"]


def test_normalising():
    assert normalise_query("  Hållbar\tUPPHANDLING  ") == "hållbar upphandling"
    assert len(normalise_query("x " * 500)) <= 200
    assert query_ref("Ramavtal") == query_ref(" ramavtal ") != query_ref("ramavtalet")


def test_days_past_the_retention_limit_are_deleted(tmp_path):
    clock = Clock(date(2026, 1, 1))
    log = _log(tmp_path, retention_days=3, today=clock)
    log.record_search("first day", 1)
    assert log.flush()
    clock.day += timedelta(days=2)
    log.record_search("third day", 1)
    assert log.flush()
    assert [r[0] for r in _rows(log)] == ["2026-01-01", "2026-01-03"]
    clock.day += timedelta(days=1)  # 1 January is now four days back
    log.record_search("fourth day", 1)
    assert log.flush()
    assert [r[0] for r in _rows(log)] == ["2026-01-03", "2026-01-04"]
    assert [r.query for r in log.report(days=2).frequent] == ["fourth day", "third day"]
    assert log.report(days=1).queries == 1


def test_an_open_counts_on_the_querys_latest_day(tmp_path):
    clock = Clock(date(2026, 2, 1))
    log = _log(tmp_path, today=clock)
    log.record_search("ramavtal", 2)
    assert log.flush()
    clock.day += timedelta(days=1)  # the result is opened after midnight
    log.record_open(query_ref("ramavtal"))
    assert log.flush()
    assert [(r[0], r[5]) for r in _rows(log)] == [("2026-02-01", 1)]


def test_a_log_turned_off_writes_nothing(tmp_path):
    log = _log(tmp_path, enabled=False)
    log.record_search("anything", 1)
    assert log.flush()
    assert not log.path.exists()
    assert log.report().searches == 0


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_an_unwritable_log_is_counted_never_raised(tmp_path, where):
    blocker = write(tmp_path / "file", "not a folder")
    path = blocker / "insights.sqlite3" if where == "under-a-file" else tmp_path
    log = SearchLog(path)
    log.record_search("repair", 1)
    log.record_search("repair", 1)
    assert log.flush()
    assert log.failures == 2


def test_a_full_log_is_counted_and_keeps_what_fitted(tmp_path):
    log = _log(tmp_path, max_pages=8)
    for n in range(400):
        log.record_search(f"query number {n} " + "x" * 150, 1)
    assert log.flush()
    assert 0 < log.failures <= 400


def test_a_locked_log_is_counted_and_the_caller_never_waits(tmp_path, monkeypatch):
    monkeypatch.setattr("kb.insights.BUSY_SECONDS", 0.1)
    log = _log(tmp_path)
    log.record_search("before", 1)
    assert log.flush()
    holder = sqlite3.connect(log.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        log.record_search("while locked", 1)  # returns at once: the writer waits, not this
        assert log.flush()
        assert log.failures == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# ---- configuration ----------------------------------------------------------------------------


def _settings(tmp_path: Path, config: str = "") -> Settings:
    corpus = tmp_path / "corpus"
    write(corpus / "kb.toml", '[visibility]\ndefault = "public"\n' + config)
    return Settings.resolve(corpus, tmp_path / "index")


def test_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_INSIGHTS", raising=False)
    monkeypatch.delenv("KB_INSIGHTS_DB", raising=False)
    plain = insights_config(_settings(tmp_path))
    assert (plain.enabled, plain.retention_days) == (True, 90)
    assert plain.path == tmp_path / "insights.sqlite3"  # beside the accounts database
    off = insights_config(_settings(tmp_path, "[insights]\nenabled = false\nretention_days = 30\n"))
    assert (off.enabled, off.retention_days) == (False, 30)
    monkeypatch.setenv("KB_INSIGHTS", "off")
    monkeypatch.setenv("KB_INSIGHTS_DB", str(tmp_path / "elsewhere.sqlite3"))
    env = insights_config(_settings(tmp_path))
    assert (env.enabled, env.path) == (False, tmp_path / "elsewhere.sqlite3")
    for bad in ("retention_days = 0", "enabled = 'yes'", "keep = 3"):
        with pytest.raises(ConfigError, match=r"\[insights\]"):
            insights_config(_settings(tmp_path, f"[insights]\n{bad}\n"))


# ---- the web ----------------------------------------------------------------------------------


@pytest.fixture
def web(small_index, monkeypatch):
    monkeypatch.delenv("KB_INSIGHTS", raising=False)
    monkeypatch.delenv("KB_INSIGHTS_DB", raising=False)
    settings = dataclasses.replace(
        small_index, accounts=small_index.index.parent / "accounts" / "accounts.sqlite3"
    )
    store = AccountStore(settings.accounts_path, hasher=FAST)
    store.add("cay@ikea.example", "ikea", PASSWORD, role="coordinator")
    store.add("ann@ikea.example", "ikea", PASSWORD, role="member")
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    return app


def _signed_in(app, email: str):
    client = app.test_client()
    token = TOKEN_RE.search(client.get("/sign-in").get_data(as_text=True))
    answer = client.post(
        "/sign-in", data={"csrf_token": token[1], "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303
    return client


def test_web_searches_and_opened_results_are_counted(web):
    client = web.test_client()
    html = client.get("/search?q=Repair").get_data(as_text=True)
    ref = query_ref("repair")
    links = re.findall(r'href="(/doc/[^"]+)"', html)
    assert links and all(f"from={ref}" in link for link in links)
    client.get("/search?q=repair&page=2")  # the same search, turning pages: not counted again
    client.get("/api/search?q=repair")
    client.get("/search?q=zzqqxx")
    client.get("/api/search?q=lifespan")
    client.get("/search?type=guide")  # no query typed: nothing to count
    assert client.get(links[0].replace("&amp;", "&")).status_code == 200
    client.get(f"/doc/no/such/document?from={query_ref('lifespan')}")  # not found: no open
    log = web.extensions["kb_insights"]
    assert log.flush()
    counts = {r.query: (r.searches, r.no_results, r.opened) for r in log.report().frequent}
    assert counts == {"repair": (2, 0, 1), "zzqqxx": (1, 1, 0), "lifespan": (1, 0, 0)}


def test_a_search_answers_when_its_log_cannot_be_written(web, tmp_path):
    blocker = write(tmp_path / "blocker", "a file, not a folder")
    log = SearchLog(blocker / "insights.sqlite3")
    web.extensions["kb_insights"] = log
    client = web.test_client()
    assert client.get("/search?q=repair").status_code == 200
    assert client.get("/api/search?q=repair").get_json()["total"] > 0
    assert log.flush()
    assert log.failures == 2


def test_turned_off_nothing_is_counted_and_links_carry_no_reference(web, tmp_path):
    log = SearchLog(tmp_path / "off.sqlite3", enabled=False)
    web.extensions["kb_insights"] = log
    html = web.test_client().get("/search?q=repair").get_data(as_text=True)
    assert "from=" not in html
    assert log.flush() and not log.path.exists()


def test_the_insights_page_is_for_coordinators(web):
    anonymous = web.test_client()
    anonymous.get("/search?q=ramavtal")
    anonymous.get("/search?q=repair")
    assert web.extensions["kb_insights"].flush()
    coordinator = _signed_in(web, "cay@ikea.example")
    page = coordinator.get("/insights?days=7")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Search insights" in html and "last 7 days" in html
    assert re.search(r"Queries that found nothing.*ramavtal", html, re.S)
    assert re.search(r"Queries whose results nobody opened.*repair", html, re.S)
    data = coordinator.get("/api/insights").get_json()
    assert data["searches"] == 2 and data["enabled"] is True
    assert [r["query"] for r in data["no_results"]] == ["ramavtal"]
    assert 'href="/insights"' in coordinator.get("/").get_data(as_text=True)  # in the menu
    member = _signed_in(web, "ann@ikea.example")
    for client in (anonymous, member):
        assert 'href="/insights"' not in client.get("/").get_data(as_text=True)
        assert client.get("/insights").status_code == 404
        assert client.get("/api/insights").status_code == 404


# ---- the CLI ----------------------------------------------------------------------------------


def test_kb_insights(small_settings, runner, monkeypatch):
    monkeypatch.delenv("KB_INSIGHTS", raising=False)
    monkeypatch.delenv("KB_INSIGHTS_DB", raising=False)
    log = SearchLog.from_settings(small_settings)
    for q, results in (("ramavtal", 0), ("ramavtal", 0), ("repair", 4), ("lifespan", 1)):
        log.record_search(q, results)
    log.record_open(query_ref("lifespan"))
    assert log.flush() and log.failures == 0
    args = ["--corpus", str(small_settings.corpus), "--index", str(small_settings.index)]
    result = runner.invoke(main, [*args, "insights", "--days", "7", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["days"], data["searches"], data["queries"]) == (7, 4, 3)
    assert data["frequent"][0] == {"query": "ramavtal", "searches": 2, "no_results": 2,
                                   "opened": 0}  # fmt: skip
    assert [r["query"] for r in data["not_opened"]] == ["repair"]
    text = runner.invoke(main, [*args, "insights"])
    assert text.exit_code == 0, text.output
    assert "Queries that found nothing" in text.output
    assert re.search(r"ramavtal\s+2\s+2", text.output)
    assert runner.invoke(main, [*args, "insights", "--days", "0"]).exit_code == 2


def test_kb_insights_on_a_damaged_log_says_so(small_settings, runner, monkeypatch):
    monkeypatch.setenv("KB_INSIGHTS_DB", str(small_settings.index.parent / "damaged.sqlite3"))
    write(small_settings.index.parent / "damaged.sqlite3", "not a database " * 200)
    args = ["--corpus", str(small_settings.corpus), "--index", str(small_settings.index)]
    result = runner.invoke(main, [*args, "insights"])
    assert result.exit_code == 2, result.output
    assert "cannot read the search log" in result.output
    assert "Traceback" not in result.output
