"""Error pages in the site's style (HTML) or JSON under /api; never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.errors import IndexUnavailable, NotFound

MESSAGES = {
    400: "The request could not be understood.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request is too large.",
    503: "The knowledge base is not available right now. A coordinator needs to run `kb index`.",
    500: "Something went wrong on our side. The problem has been logged.",
}


def _respond(status: int, message: str):
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify({"error": {"status": status, "message": message}}), status
    return render_template("pages/error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        return _respond(status, MESSAGES.get(status, exc.description or "Error"))

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return _respond(404, str(exc))

    @app.errorhandler(IndexUnavailable)
    def unavailable(exc: IndexUnavailable):
        return _respond(503, MESSAGES[503])

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _respond(500, MESSAGES[500])
