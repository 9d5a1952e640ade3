"""Limits on what a request may ask for, and response headers that keep document text from
ever running as code in a member's browser."""

from __future__ import annotations

from flask import Flask, Response, abort, request

from webui.limits import MAX_BODY_BYTES, MAX_PATH_CHARS, MAX_QUERY_PARAMS, MAX_QUERY_STRING

# No inline scripts or styles anywhere: every script and style sheet is a static file.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Files from the corpus and downloads are not pages: they may do nothing at all.
CSP_FILES = "default-src 'none'; frame-ancestors 'none'; sandbox"


def register(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_PARTS"] = 100

    @app.before_request
    def limits() -> None:
        # Runs before routing errors are raised, so an oversized body is 413 whatever the URL.
        if (request.content_length or 0) > MAX_BODY_BYTES:
            abort(413)
        if len(request.query_string) > MAX_QUERY_STRING or len(request.path) > MAX_PATH_CHARS:
            abort(414)
        if request.query_string.count(b"&") >= MAX_QUERY_PARAMS:
            abort(400, "Too many parameters in the address.")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
        )
        return response
