"""Atom feeds: `/feed.atom` (new and updated documents) and `/search.atom` (any search, with
the search page's parameters, so that a saved search is a feed URL).

Feed readers have no browser session, and a feed URL must answer the same whichever browser
opens it: the reader of a feed comes from `webui.auth.principal_without_session`, never from
the session cookie, so without an API token a feed holds public documents only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request

from kb.access import Principal
from kb.feeds import Feed, atom_xml, latest_feed, search_feed
from kb.search import Searcher, SearchRequest
from webui.auth import principal_without_session
from webui.context import FILTER_PARAMS, search_request_from_args, settings
from webui.links import cached_url
from webui.sessions import PRIVATE

bp = Blueprint("feeds", __name__)

ATOM = "application/atom+xml"
FEED_PAGE_SIZE = 20
PUBLIC_MAX_AGE = 300  # seconds a shared cache may keep an anonymous feed


def feed_searcher() -> Searcher:
    """This request's searcher for a feed: as `principal_without_session` reads."""
    if "kb_feed_searcher" not in g:
        library = current_app.extensions["kb_library"]
        g.kb_feed_searcher = Searcher(library, principal_without_session())
    return g.kb_feed_searcher


def feed_query_string(req: SearchRequest) -> str:
    """The search's parameters in a fixed order: q, the filters, sort (page and size left out:
    a feed is the first page)."""
    items: list[tuple[str, str]] = [("q", req.q.strip())] if req.q.strip() else []
    for name in FILTER_PARAMS:
        items += [(name, v) for v in req.filters.get(name, ())]
    if req.sort != "relevance":
        items.append(("sort", req.sort))
    return urlencode(items)


@bp.app_template_global()
def search_feed_url(req: SearchRequest) -> str:
    """The address of the feed of the search `req` (the search page links to it)."""
    query = feed_query_string(req)
    base = cached_url("feeds.search")
    return f"{base}?{query}" if query else base


def _respond(feed: Feed, principal: Principal) -> Response:
    """The feed as Atom; a feed reader that already holds this version gets 304. The ETag is
    the body's hash; there is no Last-Modified, as a document added with an old file time
    changes a feed without making it newer."""
    response = Response(atom_xml(feed), content_type=f"{ATOM}; charset=utf-8")
    response.add_etag()
    if principal.is_anonymous:
        response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    else:
        response.headers["Cache-Control"] = PRIVATE
    response.vary.add("Authorization")
    return response.make_conditional(request)


@bp.get("/feed.atom")
def latest():
    searcher = feed_searcher()
    return _respond(latest_feed(searcher, settings().base_url), searcher.principal)


@bp.get("/search.atom")
def search():
    searcher = feed_searcher()
    args = search_request_from_args()
    req = SearchRequest(q=args.q, filters=args.filters, sort=args.sort, page_size=FEED_PAGE_SIZE)
    feed, _result = search_feed(searcher, req, settings().base_url, feed_query_string(req))
    return _respond(feed, searcher.principal)
