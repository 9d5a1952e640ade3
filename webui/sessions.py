"""The signed session cookie: its signing key, its flags, and no caching of what it unlocks.

The key comes from KB_SECRET_KEY, or from a file (mode 0600) created beside the accounts
database on first use; never from the corpus, whose files may be shown to anyone. Every worker
process of `kb serve --processes` reads the same file, so a session signed by one is
accepted by all.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface

from kb.errors import ConfigError
from kb.settings import Settings

COOKIE_NAME = "kb_session"
SESSION_HOURS = 12
PRIVATE = "private, no-store"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def load_secret_key(settings: Settings) -> bytes:
    """KB_SECRET_KEY, else the key file (created with 32 random bytes on first use)."""
    from_env = os.environ.get("KB_SECRET_KEY", "")
    if from_env:
        if len(from_env) < 32:
            raise ConfigError("KB_SECRET_KEY is too short: use at least 32 random characters")
        return from_env.encode()
    path = settings.secret_key_path
    if _inside(path, settings.corpus):
        raise ConfigError(
            "the session key would be stored inside the corpus; set KB_ACCOUNTS to a path "
            "outside it, or set KB_SECRET_KEY"
        )
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and linked into place, so that a second process starting
    # at the same moment reads either nothing (and then the winner's key) or a complete key.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path.name} beside the accounts database holds no usable key")
    return key.encode()


class KbSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the site is reached over HTTPS:
    directly, through a trusted proxy that says so (X-Forwarded-Proto, `webui.serving`), or
    whenever the public base URL starts with https://."""

    def get_cookie_secure(self, app: Flask) -> bool:
        settings: Settings = app.config["KB_SETTINGS"]
        return request.is_secure or settings.base_url.startswith("https://")


def has_session_cookie(app: Flask) -> bool:
    """Whether the request carries a session cookie at all (anonymous visitors usually not)."""
    return bool(request.cookies.get(app.config["SESSION_COOKIE_NAME"]))


def register(app: Flask, settings: Settings) -> None:
    try:
        app.secret_key = load_secret_key(settings)
    except OSError as exc:
        # A read-only server still serves public pages; sign-ins last as long as this process.
        app.logger.error(
            "cannot store the session key beside the accounts database (%s): set "
            "KB_SECRET_KEY, or sessions end when the server restarts",
            exc.strerror or exc,
        )
        app.secret_key = secrets.token_bytes(32)
    app.session_interface = KbSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )

    @app.after_request
    def private_when_signed_in(response: Response) -> Response:
        # What a signed-in reader gets depends on who they are: no shared cache may keep it,
        # and the browser keeps no copy after sign-out. The sign-in form carries a CSRF token.
        endpoint = request.endpoint or ""
        if endpoint.startswith("auth.") or (has_session_cookie(app) and "account" in session):
            response.headers["Cache-Control"] = PRIVATE
        # Every page answers for the reader asking: a shared cache may keep an anonymous
        # visitor's page, but must never hand it out in answer to a request with a session.
        response.vary.add("Cookie")
        return response
