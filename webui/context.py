"""Request helpers shared by the page and API blueprints."""

from __future__ import annotations

from flask import current_app, request

from kb.search import MAX_PAGE, Searcher, SearchRequest
from kb.settings import Settings

FILTER_PARAMS = ("type", "year", "org", "topic", "lang")
MAX_PARAM_VALUES = 20
MAX_PARAM_CHARS = 200


def searcher() -> Searcher:
    return current_app.extensions["kb"]


def settings() -> Settings:
    return current_app.config["KB_SETTINGS"]


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return min(max(value, low), high)


def search_request_from_args() -> SearchRequest:
    """The whole search state lives in the URL: q, filters, sort, page."""
    filters = {}
    for name in FILTER_PARAMS:
        values = [
            v[:MAX_PARAM_CHARS] for v in request.args.getlist(name)[:MAX_PARAM_VALUES] if v.strip()
        ]
        if values:
            filters[name] = tuple(values)
    return SearchRequest(
        q=request.args.get("q", "")[:2000],
        filters=filters,
        sort=request.args.get("sort", "relevance")[:20],
        page=_int_arg("page", 1, 1, MAX_PAGE),
        page_size=_int_arg("size", 10, 1, 50),
    )
