"""Links a search page is full of (one per facet value, sort order, page and hit), built
without going through the URL map for each: the addresses that are the same on every request
come from a cache, and a search link is the search page's address plus a query string
encoded exactly as `url_for` encodes it."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote, urlencode

from flask import current_app, g, request, url_for

# What werkzeug's `url_for` leaves unencoded in a query string (the WHATWG list) and in an anchor.
QUERY_SAFE = "!$'()*,/:;?@"
ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"
MAX_CACHED_URLS = 4096


@lru_cache(maxsize=MAX_CACHED_URLS, typed=True)
def _pair(key: str, value) -> str:
    # A search page encodes the same few facet values, sort orders and page numbers for each
    # of its 30 to 50 links, and every page does it again: remembered, not re-encoded.
    return urlencode([(key, value)], safe=QUERY_SAFE)


def _query(key: str, value) -> str:
    """`key=value` as `url_for` encodes it; a list repeats the key, None is left out."""
    values = value if isinstance(value, list | tuple) else [value]
    # urlencode joins its pairs with "&": one pair at a time gives the same string.
    return "&".join([_pair(key, v) for v in values if v is not None])


class _CurrentSearch:
    """The search page's address and this request's query string, one encoded part per key."""

    def __init__(self) -> None:
        self.base = cached_url("pages.search")
        self.parts = {key: _query(key, values) for key, values in request.args.lists()}


def _current() -> _CurrentSearch:
    current = g.get("kb_current_search")
    if current is None:
        current = g.kb_current_search = _CurrentSearch()
    return current


def url_with(**changes) -> str:
    """The current search URL with some parameters changed (None, "" or [] removes one); back
    to page 1 unless the page itself is what changes (a new filter or sort starts from the
    top). The same URL as `url_for("pages.search", **params)`."""
    current = _current()
    parts = []
    for key in [*current.parts, *(k for k in changes if k not in current.parts)]:
        if key in changes:
            value = changes[key]
            part = "" if value in (None, "", []) else _query(key, value)
        elif key == "page":
            continue
        else:
            part = current.parts[key]
        if part:
            parts.append(part)
    return f"{current.base}?{'&'.join(parts)}" if parts else current.base


def cached_url(endpoint: str, **values: str) -> str:
    """`url_for(endpoint, **values)`, for addresses that are the same on every request under
    one script root (pages without arguments, static files, documents), from a cache."""
    cache: dict[tuple, str] = current_app.extensions["kb_urls"]
    key = (request.script_root, endpoint, *values.items())
    url = cache.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(cache) >= MAX_CACHED_URLS:
            cache.clear()
        cache[key] = url
    return url


def template_url_for(endpoint: str, **values) -> str:
    """`url_for` as templates call it, from the cache of `cached_url` (a home page builds 33
    links, a document page two per passage), except for options (`_external`, `_anchor`...),
    relative endpoints and unhashable values, which go to `url_for` itself."""
    if endpoint.startswith(".") or any(key.startswith("_") for key in values):
        return url_for(endpoint, **values)
    try:
        return cached_url(endpoint, **values)
    except TypeError:  # a list among the values: not a cache key
        return url_for(endpoint, **values)


def document_url(
    doc_id: str, q: str | None = None, anchor: str | None = None, ref: str | None = None
) -> str:
    """`url_for("pages.document", doc_id=doc_id, q=q, from=ref, _anchor=anchor)`."""
    url = cached_url("pages.document", doc_id=doc_id)
    params = "&".join(p for p in (_query("q", q), _query("from", ref)) if p)
    if params:
        url = f"{url}?{params}"
    if anchor is not None:
        url = f"{url}#{quote(anchor, safe=ANCHOR_SAFE)}"
    return url
