"""Error pages in the site's style (HTML) or JSON under /api; never a traceback or a path."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.errors import ConfigError, IndexUnavailable, NotFound
from kb.store import IndexStore
from webui.i18n import N_, translated

TITLES = {
    400: N_("That request could not be understood"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    413: N_("Request too large"),
    414: N_("Address too long"),
    500: N_("Something went wrong"),
    503: N_("The knowledge base is not available"),
}
MESSAGES = {
    400: N_("The request could not be understood."),
    404: N_("There is nothing at this address."),
    405: N_("This address does not accept that method."),
    413: N_("The request is too large."),
    414: N_("The address is too long. Try a shorter query."),
    500: N_("Something went wrong on our side. The problem has been logged."),
    503: N_("The knowledge base has no index yet. A coordinator needs to run `kb index`."),
    "config": N_(
        "A configuration file in the corpus has an error. A coordinator can find it "
        "with `kb check`."
    ),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/api", "/healthz")


def _without_paths(message: str) -> str:
    """Messages never show where the corpus or the index live on the server."""
    settings = current_app.config.get("KB_SETTINGS")
    if settings is not None:
        for path in (settings.corpus, settings.index):
            message = message.replace(str(path), "…")
    return message


def note_for_coordinators(note: str) -> None:
    """Tell a coordinator, on the error page this request ends with, what caused it (a broken
    file in the corpus); nobody else sees the note."""
    g.kb_coordinator_note = note


def _coordinator_note() -> str | None:
    note = g.pop("kb_coordinator_note", None)
    if note is None:
        return None
    from webui.auth import current_principal

    try:
        is_coordinator = current_principal().kind == "coordinator"
    except Exception:  # no accounts to ask: nobody is a coordinator
        return None
    return _without_paths(note) if is_coordinator else None


def respond(status: int, message: str):
    message = _without_paths(message)
    note = _coordinator_note()
    if wants_json():
        error = {"status": status, "message": message}
        if note:
            error["coordinator_note"] = note
        return jsonify({"error": error}), status
    try:
        page = render_template(
            "pages/error.html",
            status=status,
            title=translated(TITLES.get(status, N_("Error"))),
            message=translated(message),
            coordinator_note=note,
        )
    except Exception:  # the error page itself failed: say so plainly, still without details
        current_app.logger.exception("error page failed")
        return f"{status} {TITLES.get(status, 'Error')}", status, {"Content-Type": "text/plain"}
    return page, status


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        # A description given on purpose (abort(400, "...")) is more useful than the generic one.
        default = type(exc).description
        message = exc.description if exc.description and exc.description != default else None
        response = respond(status, message or MESSAGES.get(status, N_("The request failed.")))
        if status == 405 and exc.get_response().headers.get("Allow"):
            page, code = response
            response = app.make_response((page, code))
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return respond(404, str(exc))

    @app.errorhandler(IndexUnavailable)
    def unavailable(exc: IndexUnavailable):
        response = app.make_response(respond(503, MESSAGES[503]))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(ConfigError)
    def config_error(exc: ConfigError):
        app.logger.error("corpus configuration error on %s: %s", request.path, exc)
        return respond(500, MESSAGES["config"])

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        settings = app.config["KB_SETTINGS"]
        if IndexStore(settings.index).current_or_none() is None:
            # The index was deleted or damaged under the running server and the search
            # library failed on its missing files: unavailable until `kb index`, not a bug.
            app.logger.warning("index unavailable on %s: %s", request.path, exc)
            return unavailable(IndexUnavailable(str(exc)))
        app.logger.exception("unhandled error on %s", request.path)
        return respond(500, MESSAGES[500])
