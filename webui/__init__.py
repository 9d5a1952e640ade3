"""The web UI and JSON API: `create_app(settings)` builds the Flask application."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from kb.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

STATIC = Path(__file__).parent / "static"


def _static_version() -> str:
    """A hash of the static files, so browsers may cache them and still get each new version."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def create_app(settings: Settings | None = None, *, check_interval: float = 1.0) -> Flask:
    # Flask and the search stack are imported here, not with the package: the process that
    # supervises `kb serve --processes` imports `webui.server` only, and stays small.
    from flask import Flask

    from kb.library import Library

    settings = settings or Settings.resolve()
    app = Flask(__name__)
    # Routing never redirects (to a URL made from the request): `//x` is not merged into `/x`.
    app.url_map.merge_slashes = False
    app.config["KB_SETTINGS"] = settings
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    library = Library(settings, check_interval=check_interval)
    # Each request reads through its own reader's Searcher (webui.context.searcher).
    app.extensions["kb_library"] = library

    from webui import api, auth, errors, feeds, i18n, insights, oidc, pages, security, tokens
    from webui.links import cached_url, document_url, template_url_for, url_with
    from webui.serving import trust_proxies
    from webui.suggest import Suggester

    app.extensions["kb_suggest"] = Suggester()
    app.extensions["kb_urls"] = {}
    version = _static_version()

    @app.template_global()
    def static_url(filename: str) -> str:
        return cached_url("static", filename=filename, v=version)

    app.add_template_global(cached_url)
    app.add_template_global(template_url_for, "url_for")
    app.add_template_global(document_url)
    app.add_template_global(url_with)

    i18n.register(app)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 24 * 3600
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(feeds.bp)
    insights.register(app, settings)
    auth.register(app, settings)
    oidc.register(app, app.extensions["kb_sign_in"])
    tokens.register(app)
    errors.register(app)
    security.register(app)
    trust_proxies(app, settings.trusted_proxies)
    return app
