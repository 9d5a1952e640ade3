"""Search insights on the web: each search of the search page and `/api/search` is counted
(`searched`), each result opened from the search page too (`opened`, from the result link's
`from`), and coordinators read the counts at `/insights` (and `/api/insights`). Anyone else
gets the answer of a page that does not exist.

The counting is `kb.insights.SearchLog`'s: aggregated, off the request's thread, and never an
error for the search.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request

from kb.access import PrincipalKind
from kb.insights import InsightsReport, SearchLog, query_ref
from kb.search import SearchRequest, SearchResult
from kb.settings import Settings
from webui.auth import current_principal
from webui.context import int_arg

bp = Blueprint("insights", __name__)

DEFAULT_DAYS = 30
SHOWN = 25


def search_log() -> SearchLog:
    return current_app.extensions["kb_insights"]


def searched(req: SearchRequest, result: SearchResult) -> None:
    """Count a search the reader typed (first page only: turning pages is the same search)."""
    if req.q.strip() and result.page == 1:
        search_log().record_search(req.q, result.total)


def opened() -> None:
    """Count an opened result, when the document page was reached from a result link."""
    ref = request.args.get("from", "")
    if ref:
        search_log().record_open(ref)


def result_ref(q: str) -> str | None:
    """The `from` of a search's result links, or None when nothing is counted."""
    return query_ref(q) if q.strip() and search_log().enabled else None


def _report() -> InsightsReport:
    """The report, for a coordinator; for anyone else, not found (like a missing page)."""
    if current_principal().kind is not PrincipalKind.COORDINATOR:
        abort(404)
    log = search_log()
    return log.report(int_arg("days", DEFAULT_DAYS, 1, log.retention_days), limit=SHOWN)


@bp.get("/insights")
def page():
    report = _report()
    log = search_log()
    return render_template(
        "pages/insights.html", report=report, enabled=log.enabled, days_kept=log.retention_days
    )


@bp.get("/api/insights")
def api():
    return jsonify({**asdict(_report()), "enabled": search_log().enabled})


def register(app: Flask, settings: Settings) -> None:
    app.extensions["kb_insights"] = SearchLog.from_settings(settings)
    app.add_template_global(result_ref)
    app.register_blueprint(bp)
