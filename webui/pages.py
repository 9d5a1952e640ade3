"""HTML pages: home, search, document, and the health check."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, jsonify, render_template, request, url_for

from kb.documents import load_document
from kb.highlight import HighlightTerms, mark_all
from kb.models import LANGUAGE_NAMES, TYPE_LABELS
from kb.status import index_status
from webui.context import FILTER_PARAMS, search_request_from_args, searcher, settings

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def labels():
    return {"TYPE_LABELS": TYPE_LABELS, "LANGUAGE_NAMES": LANGUAGE_NAMES}


@bp.app_template_global()
def url_with(**changes) -> str:
    """The current search URL with some parameters changed; going back to page 1 unless the
    page itself is what changes (a new filter or sort starts from the top)."""
    params = {key: request.args.getlist(key) for key in request.args}
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        params[key] = value
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    return url_for("pages.search", **params)


@bp.get("/")
def home():
    snap = searcher().library.snapshot()
    docs = list(snap.catalogue.values())
    latest = sorted(docs, key=lambda d: d.meta.date or "", reverse=True)[:6]
    counts = Counter(d.meta.type for d in docs)
    return render_template("pages/home.html", latest=latest, counts=counts, vocab=snap.vocabulary)


@bp.get("/search")
def search():
    req = search_request_from_args()
    result = searcher().search(req) if (req.q.strip() or req.filters) else None
    return render_template(
        "pages/search.html", result=result, req=req, vocab=searcher().library.snapshot().vocabulary,
        filter_params=FILTER_PARAMS, args=request.args,
    )  # fmt: skip


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    snap = searcher().library.snapshot()
    view = load_document(snap, doc_id)
    q = request.args.get("q", "")[:500]
    terms = searcher().highlight_terms(q) if q else HighlightTerms()
    passages = [(p, mark_all(p.text, terms, view.doc.meta.language)[0]) for p in view.passages]
    related = searcher().related(doc_id)
    return render_template(
        "pages/document.html", view=view, passages=passages, related=related, q=q,
        vocab=snap.vocabulary, base_url=settings().base_url,
    )  # fmt: skip


@bp.get("/healthz")
def healthz():
    status = index_status(settings(), searcher().library)
    return jsonify(
        {"status": "ok", **{k: status[k] for k in ("generation", "documents", "passages")}}
    )
