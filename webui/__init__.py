"""The web UI and JSON API: `create_app(settings)` builds the Flask application."""

from __future__ import annotations

from flask import Flask

from kb.library import Library
from kb.search import Searcher
from kb.settings import Settings


def create_app(settings: Settings | None = None, *, check_interval: float = 1.0) -> Flask:
    settings = settings or Settings.resolve()
    app = Flask(__name__)
    app.config["KB_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["MAX_FORM_PARTS"] = 100
    library = Library(settings, check_interval=check_interval)
    app.extensions["kb"] = Searcher(library)

    from webui import api, errors, pages, security

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    errors.register(app)
    security.register(app)
    return app
