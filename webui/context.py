"""Request helpers shared by the page and API blueprints: the reader's searcher and view, the
settings, and reading a search from the URL (which holds the whole search state)."""

from __future__ import annotations

from flask import current_app, g, request

from kb.citestyles import DEFAULT_STYLE, UnknownStyle, cite_style
from kb.search import MAX_PAGE, Searcher, SearchRequest
from kb.settings import Settings
from kb.view import View
from webui.auth import current_principal

FILTER_PARAMS = ("type", "year", "org", "topic", "lang")
MAX_PARAM_VALUES = 20  # values per filter; more are ignored
MAX_PARAM_CHARS = 200  # characters per filter value
MAX_ANCHOR_CHARS = 200
MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 10


def searcher() -> Searcher:
    """This request's searcher: it answers as the reader asking (`current_principal`)."""
    if "kb_searcher" not in g:
        g.kb_searcher = Searcher(current_app.extensions["kb_library"], current_principal())
    return g.kb_searcher


def reader_view() -> View:
    """What this request's reader sees of the current snapshot."""
    return searcher().view()


def settings() -> Settings:
    return current_app.config["KB_SETTINGS"]


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter clamped to [low, high]; junk means the default."""
    raw = request.args.get(name, "").strip()
    if len(raw) > 18:  # a number this long can only be meant as "very large" (or is junk)
        return high if raw.isdigit() else default
    try:
        value = int(raw)
    except ValueError:
        return default
    return min(max(value, low), high)


def filters_from_args() -> dict[str, tuple[str, ...]]:
    filters = {}
    for name in FILTER_PARAMS:
        values = []
        for value in request.args.getlist(name)[:MAX_PARAM_VALUES]:
            value = value.strip()[:MAX_PARAM_CHARS]
            if value and value not in values:
                values.append(value)
        if values:
            filters[name] = tuple(values)
    return filters


def search_request_from_args() -> SearchRequest:
    """q, the filters, sort, page, size and spell from the query string. The query text itself is
    passed on whole (the query string is already size-limited); kb shortens an overlong query
    and says so."""
    return SearchRequest(
        q=request.args.get("q", ""),
        filters=filters_from_args(),
        sort=request.args.get("sort", "").strip()[:20] or "relevance",
        page=int_arg("page", 1, 1, MAX_PAGE),
        page_size=int_arg("size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        # `spell=off`: the words exactly as typed, not a correction's results ("search
        # instead for" on a corrected search).
        autocorrect=request.args.get("spell", "").strip().lower() != "off",
    )


def anchor_from_args() -> str | None:
    """The passage a citation is asked for (`?anchor=`), or None for the whole document."""
    return request.args.get("anchor", "").strip()[:MAX_ANCHOR_CHARS] or None


def style_from_args() -> str:
    """The citation style asked for (`?style=`), APA 7 without one; kb.citestyles.UnknownStyle
    (its message lists the styles there are) for a name that is none."""
    style = request.args.get("style", "").strip().lower() or DEFAULT_STYLE
    return cite_style(style).id


def style_error(exc: UnknownStyle) -> str:
    """The 400 answer's message for an unknown style: a sentence listing the styles."""
    message = str(exc)
    return f"{message[:1].upper()}{message[1:]}."
