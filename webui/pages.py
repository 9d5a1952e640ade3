"""HTML pages: home, search, document (and its original file and citations), reading lists,
OpenSearch, and the health check. Each page renders the data of `webui.pagedata` that its
JSON twin in `webui.api` serializes."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
)
from flask_babel import gettext

from kb import readinglists
from kb.citeformats import CITE_FORMATS
from kb.citestyles import CITE_STYLES, UnknownStyle, csl_locale
from kb.formats import FORMATS
from kb.highlight import HighlightTerms
from kb.search import SearchResult
from kb.status import index_status, view_counts
from webui.context import (
    FILTER_PARAMS,
    anchor_from_args,
    filters_from_args,
    reader_view,
    search_request_from_args,
    searcher,
    settings,
    style_error,
    style_from_args,
)
from webui.document_page import build_document_page
from webui.i18n import (
    FILTER_LABELS,
    language_name,
    page_unit,
    topic_label,
    type_label,
    ui_language,
)
from webui.insights import opened, searched
from webui.links import url_with
from webui.originals import format_label, original_file
from webui.pagedata import citation_data, document_data, home_data, list_data, lists_data
from webui.security import CSP_FILES

bp = Blueprint("pages", __name__)

MAX_HIGHLIGHT_QUERY = 500
VERSION_RE = re.compile(r"[0-9a-f]{4,64}")
FACET_VALUES_SHOWN = 6


@bp.app_context_processor
def labels() -> dict:
    """Registries templates show; their names are translated by `webui.i18n`."""
    return {
        "CITE_FORMATS": CITE_FORMATS,
        # What a passage's page number counts, by format id: "Page", or "Slide" for decks.
        "PAGE_UNITS": {f.id: page_unit(f.page_unit) for f in FORMATS},
    }


def _fields(data) -> dict:
    """A page's data as template variables, one per field (not copied, unlike `asdict`)."""
    return {f.name: getattr(data, f.name) for f in fields(data)}


# ---- home -------------------------------------------------------------------------------------


@bp.get("/")
def home():
    return render_template("pages/home.html", **_fields(home_data()))


# ---- search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveFilter:
    name: str
    value: str
    label: str
    remove_url: str | None  # None: the filter is part of the query text


def active_filters(result: SearchResult | None) -> list[ActiveFilter]:
    """Filters in effect, each with the link that removes it; those typed into the query are
    shown too, without a link (the query text is where they are changed)."""
    vocab = searcher().library.snapshot().vocabulary
    labellers = {
        "type": type_label,
        "lang": language_name,
        "org": vocab.organisation_name,
        "topic": lambda v: topic_label(vocab.topic_name(v)),
        "year": str,
    }
    out = []
    from_args = filters_from_args()
    for name, values in from_args.items():
        for value in values:
            remaining = [v for v in values if v != value]
            out.append(
                ActiveFilter(name, value, labellers[name](value), url_with(**{name: remaining}))
            )
    if result is not None:
        for name, values in result.selected.items():
            for value in values:
                if name not in from_args and name in labellers:
                    out.append(ActiveFilter(name, value, labellers[name](value), None))
    return out


@dataclass(frozen=True)
class FacetLink:
    """One facet value as the page shows it: a link that adds the filter, one that removes it
    (selected), or no link when the filter is part of the query text."""

    label: str
    count: int
    selected: bool
    href: str | None


@dataclass(frozen=True)
class FacetGroup:
    name: str
    label: str
    shown: tuple[FacetLink, ...]
    more: tuple[FacetLink, ...]  # behind "N more"


def facet_label(name: str, value: str, label: str) -> str:
    """A facet value's label in the interface's language; organisations and years are names."""
    if name == "type":
        return type_label(value)
    if name == "lang":
        return language_name(value)
    return topic_label(label) if name == "topic" else label


def facet_groups(result: SearchResult) -> list[FacetGroup]:
    """The facets that have values, each value with the link that toggles its filter."""
    groups = []
    for name in FILTER_PARAMS:
        values = result.facets.get(name, ())
        if not values:
            continue
        chosen = request.args.getlist(name)
        links = []
        for v in values:
            if v.selected and v.value not in chosen:
                href = None
            elif v.selected:
                href = url_with(**{name: [c for c in chosen if c != v.value]})
            else:
                href = url_with(**{name: [*chosen, v.value]})
            links.append(FacetLink(facet_label(name, v.value, v.label), v.count, v.selected, href))
        shown, more = links[:FACET_VALUES_SHOWN], links[FACET_VALUES_SHOWN:]
        groups.append(FacetGroup(name, gettext(FILTER_LABELS[name]), tuple(shown), tuple(more)))
    return groups


def page_numbers(current: int, last: int) -> list[int | None]:
    """1 … 4 5 [6] 7 8 … 20: None marks a gap."""
    shown = {1, last, *range(max(1, current - 2), min(last, current + 2) + 1)}
    out: list[int | None] = []
    for n in sorted(shown):
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


@bp.get("/search")
def search():
    req = search_request_from_args()
    snap = searcher().library.snapshot()
    browsing = "sort" in request.args or "page" in request.args
    result = searcher().search(req) if (req.q.strip() or req.filters or browsing) else None
    explanation = None
    if result is not None:
        searched(req, result)
        if req.q.strip():  # how the query whose results are shown was read
            explanation = searcher().explain(
                replace(req, q=result.corrected) if result.corrected else req
            )
    return render_template(
        "pages/search.html",
        req=req,
        result=result,
        explanation=explanation,
        facets=facet_groups(result) if result is not None else [],
        filters=active_filters(result),
        pages=page_numbers(result.page, result.pages) if result else [],
        vocab=snap.vocabulary,
        home=home_data() if result is None else None,
    )


# ---- documents --------------------------------------------------------------------------------


def highlight_query() -> str:
    return request.args.get("q", "")[:MAX_HIGHLIGHT_QUERY].strip()


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    data = document_data(doc_id)
    opened()  # only once the reader may see the document
    doc = data.view.doc
    q = highlight_query()
    version = request.args.get("v", "").strip().lower()
    version = version if VERSION_RE.fullmatch(version) else ""
    terms = searcher().highlight_terms(q) if q else HighlightTerms()
    return render_template(
        "pages/document.html",
        page=build_document_page(data.view, terms, q=q, version=version),
        doc=doc,
        related=data.related,
        container=data.container,
        attachments=data.attachments,
        original=original_file(settings(), doc) is not None,
        original_label=format_label(doc),
        vocab=data.vocab,
        base_url=settings().base_url,
    )


@bp.get("/original/<path:doc_id>")
def original(doc_id: str):
    """The document's file as it is in the corpus, looked up by doc id only, among the
    documents the reader may see (any other is not found, like a missing one)."""
    info = reader_view().catalogue.get(doc_id)
    found = original_file(settings(), info) if info is not None else None
    if found is None:
        abort(404)
    response: Response = send_file(
        found.path,
        mimetype=found.mimetype,
        as_attachment=found.as_attachment,
        download_name=found.download_name,
        conditional=True,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = CSP_FILES
    return response


@bp.get("/cite/<path:doc_id>")
def cite_page(doc_id: str):
    """Every citation format of a document or passage on one page, the text and Markdown ones
    in the style chosen by `?style=` (links choose it: works without JavaScript)."""
    try:
        style = style_from_args()
    except UnknownStyle as exc:
        abort(400, style_error(exc))
    # The style's own words ("Retrieved", "p.") in the page's language, as a member citing
    # in a Swedish tender writes them; the document's title and text stay as written.
    data = citation_data(doc_id, anchor_from_args(), style, csl_locale(ui_language()))
    return render_template(
        "pages/cite.html",
        citation=data.citation,
        formats=data.formats,
        doc=data.doc,
        anchor=data.citation.anchor,
        style=data.style,
        styles=CITE_STYLES,
    )


# ---- reading lists ----------------------------------------------------------------------------


@bp.get("/lists")
def lists():
    return render_template("pages/lists.html", **_fields(lists_data()))


@bp.get("/lists/<slug>")
def reading_list(slug: str):
    found = list_data(slug)
    return render_template(
        "pages/list.html",
        rl=found.reading_list,
        groups=readinglists.sections(found.items),
        missing=found.missing,
        base_url=settings().base_url,
    )


# ---- browser integration and health -----------------------------------------------------------


@bp.get("/opensearch.xml")
def opensearch():
    # The configured public address, never the request's Host header (any client sets it).
    xml = render_template("opensearch.xml", root=settings().base_url + "/")
    return Response(xml, mimetype="application/opensearchdescription+xml")


@bp.get("/favicon.ico")
def favicon():
    return current_app.send_static_file("favicon.svg")


@bp.get("/healthz")
def healthz():
    status = index_status(settings(), searcher().library)
    counts = view_counts(reader_view())  # what the asker may see, never the whole index
    return jsonify(
        {
            "status": "ok",
            "generation": status["generation"],
            "documents": counts["documents"],
            "passages": counts["passages"],
            "by_type": counts["by_type"],
            "by_language": counts["by_language"],
            "updated_at": status["updated_at"],
        }
    )
