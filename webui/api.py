"""The JSON twin of every page, under /api: the page's data (`webui.pagedata`) serialized.
Errors are JSON too (see `webui.errors`)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from kb.citeformats import CITE_FORMAT_IDS
from kb.citestyles import CITE_STYLE_IDS, CITE_STYLES, UnknownStyle, csl_locale
from kb.listformats import list_dict, list_summary_dict, reading_lists_dict
from kb.serialize import doc_info_dict, document_dict, search_result_dict
from webui.context import (
    anchor_from_args,
    reader_view,
    search_request_from_args,
    searcher,
    settings,
    style_error,
    style_from_args,
)
from webui.insights import searched
from webui.pagedata import citation_data, document_data, home_data, list_data, lists_data
from webui.security import CSP_FILES
from webui.suggest import Suggester

bp = Blueprint("api", __name__)

SUGGESTIONS = 8


@bp.get("/", strict_slashes=False)
def index():
    """The home page's data, and where everything else is."""
    data = home_data()
    base_url = settings().base_url
    return jsonify(
        {
            "documents": data.documents,
            "passages": data.passages,
            "by_type": dict(data.counts),
            "topics": [{"topic": t, "label": label, "documents": n} for t, label, n in data.topics],
            "latest": [doc_info_dict(d, base_url) for d in data.latest],
            "lists": [list_summary_dict(rl) for rl in data.lists],
            "endpoints": {
                "search": url_for("api.search"),
                "document": "/api/doc/<doc_id>",
                "lists": url_for("api.lists"),
                "list": "/api/lists/<slug>",
                "cite": "/api/cite/<doc_id>?anchor=&format=&style=",
                "suggest": url_for("api.suggest"),
            },
        }
    )


@bp.get("/search")
def search():
    req = search_request_from_args()
    result = searcher().search(req)
    searched(req, result)
    return jsonify(search_result_dict(result, settings().base_url))


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    data = document_data(doc_id)
    body = document_dict(data.view, settings().base_url)
    body["related"] = [
        {"doc_id": info.doc_id, "title": info.title, "type": info.meta.type, "score": score}
        for info, score in data.related
    ]
    # An e-mail's attachments and an attachment's message, as the document page links them.
    container = data.container
    body["part_of"] = {"doc_id": container.doc_id, "title": container.title} if container else None
    body["attachments"] = [{"doc_id": a.doc_id, "title": a.title} for a in data.attachments]
    return jsonify(body)


@bp.get("/lists")
def lists():
    data = lists_data()
    return jsonify(reading_lists_dict(data.lists, data.problems))


@bp.get("/lists/<slug>")
def reading_list(slug: str):
    found = list_data(slug)
    return jsonify(list_dict(found.reading_list, found.items, settings().base_url))


@bp.get("/cite/<path:doc_id>")
def cite(doc_id: str):
    """Without `format`: the citation's fields and every format. With `format`: that format as
    its own media type; `download=1` makes it a file download. `style` chooses the citation
    style of the text and Markdown formats (APA 7 without one); an unknown one is a 400 that
    lists the styles there are. `lang` (sv, no, nb, da, fi) has the style write its own words
    ("Hämtad", "s.") in that language; without it, or for any other, English."""
    try:
        style = style_from_args()
    except UnknownStyle as exc:
        message = style_error(exc)
        return jsonify(
            {"error": {"status": 400, "message": message, "styles": CITE_STYLE_IDS}}
        ), 400
    lang = request.args.get("lang", "").strip().lower()[:8]
    locale = csl_locale(lang)  # None: the style's own English (also for an unknown language)
    data = citation_data(doc_id, anchor_from_args(), style, locale)
    citation = data.citation
    fmt = request.args.get("format", "").strip().lower()
    if not fmt:
        return jsonify(
            {
                "citation": asdict(citation),
                "style": style,
                "lang": lang if locale else "en",
                "styles": [{"style": s.id, "label": s.label} for s in CITE_STYLES],
                "formats": [
                    {
                        "format": r.entry.id,
                        "label": r.entry.label,
                        "media_type": r.entry.media_type,
                        "styled": r.entry.styled,
                        "file_name": r.file_name,
                        "text": r.text,
                        "download": url_for(
                            "api.cite",
                            doc_id=doc_id,
                            anchor=citation.anchor,
                            format=r.entry.id,
                            style=style if r.entry.styled else None,
                            lang=lang if locale and r.entry.styled else None,
                            download=1,
                        ),
                    }
                    for r in data.formats
                ],
            }
        )
    if fmt not in CITE_FORMAT_IDS:
        abort(
            400, f"Unknown citation format '{fmt[:40]}'; use one of {', '.join(CITE_FORMAT_IDS)}."
        )
    rendered = data.rendered(fmt)
    response = Response(
        rendered.text + "\n", content_type=f"{rendered.entry.media_type}; charset=utf-8"
    )
    disposition = "attachment" if request.args.get("download") in ("1", "true", "yes") else "inline"
    response.headers.set("Content-Disposition", disposition, filename=rendered.file_name)
    response.headers["Content-Security-Policy"] = CSP_FILES
    return response


@bp.get("/suggest")
def suggest():
    """OpenSearch suggestions: [query, [completions], [descriptions], [urls]]."""
    q = request.args.get("q", "")
    suggester: Suggester = current_app.extensions["kb_suggest"]
    found = suggester.suggest(reader_view(), q, limit=SUGGESTIONS)
    urls = [
        url_for("pages.document", doc_id=s.doc_id, _external=True)
        if s.doc_id
        else url_for("pages.search", q=s.text, _external=True)
        for s in found
    ]
    body = [q[:100], [s.text for s in found], [s.description for s in found], urls]
    response = jsonify(body)
    response.mimetype = "application/x-suggestions+json"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
