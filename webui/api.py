"""The JSON twin of every page."""

from __future__ import annotations

from flask import Blueprint, jsonify

from kb.documents import load_document
from kb.serialize import document_dict, search_result_dict
from webui.context import search_request_from_args, searcher, settings

bp = Blueprint("api", __name__)


@bp.get("/search")
def search():
    result = searcher().search(search_request_from_args())
    return jsonify(search_result_dict(result, settings().base_url))


@bp.get("/doc/<path:doc_id>")
def document(doc_id: str):
    snap = searcher().library.snapshot()
    view = load_document(snap, doc_id)
    data = document_dict(view, settings().base_url)
    data["related"] = [
        {"doc_id": info.doc_id, "title": info.title, "score": score}
        for info, score in searcher().related(doc_id)
    ]
    return jsonify(data)
