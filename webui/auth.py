"""Signing in and out of the web UI, and who is asking (`current_principal`).

- Every POST form is CSRF-protected by Flask-WTF's `CSRFProtect`.
- Signing in clears the session and starts a new one (a new random session id), so a
  session planted before sign-in never becomes signed in.
- Failed sign-ins are rate-limited per account and per client by Flask-Limiter, counted in
  memory: each `kb serve --processes` worker counts on its own. The client is the connecting
  address, or, behind `kb serve --proxies N`, the one those proxies forward
  (`webui.serving`); X-Forwarded-For from anyone else is not trusted.
- Unknown address, disabled account and wrong password get the same answer, after the same
  hashing work.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import InputRequired, Length

from kb.access import Principal
from kb.accounts import MAX_EMAIL_CHARS, MAX_PASSWORD_CHARS, AccountStore, normalise_email
from kb.settings import Settings
from kb.signin import SignInSettings, load_sign_in_settings
from webui import errors, sessions
from webui.i18n import N_, translated

bp = Blueprint("auth", __name__)

# Translated where the page is rendered (webui.i18n); the catalogue knows them by these marks.
FAILED = N_("That email address and password do not match an account that can sign in.")
TOO_MANY = N_("Too many failed sign-ins. Wait a few minutes, then try again.")
EXPIRED = N_("The form had expired or came from another site. Please try again.")
PASSWORD_OFF = N_(
    "Signing in with a password is turned off on this server: sign in with your "
    "organisation's account instead."
)
# Failed sign-ins allowed per window, for one account (any client) and one client (any
# account); the app's config may change them (KB_SIGN_IN_LIMIT_ACCOUNT / _CLIENT).
LIMIT_PER_ACCOUNT = "5 per 15 minutes"
LIMIT_PER_CLIENT = "20 per 15 minutes"
MAX_NEXT_CHARS = 2000


class SignInForm(FlaskForm):
    email = EmailField(
        lazy_gettext("Email address"),
        validators=[InputRequired(), Length(max=MAX_EMAIL_CHARS)],
        render_kw={"autocomplete": "username", "maxlength": MAX_EMAIL_CHARS},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[InputRequired(), Length(max=MAX_PASSWORD_CHARS)],
        render_kw={"autocomplete": "current-password", "maxlength": MAX_PASSWORD_CHARS},
    )
    next = HiddenField()


def accounts() -> AccountStore:
    return current_app.extensions["kb_accounts"]


def safe_next(value: str | None) -> str:
    """`value` if it is a path on this site, else the home page: never another site."""
    if not value or len(value) > MAX_NEXT_CHARS or not value.startswith("/"):
        return "/"
    # `//host`, `/\host` and control characters (browsers drop tabs and newlines, turning
    # `/\t/host` into `//host`) can all lead off the site.
    if value.startswith("//") or "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def current_principal() -> Principal:
    """Who is asking: the signed-in member or coordinator, else the anonymous visitor."""
    if "kb_principal" in g:
        return g.kb_principal
    principal = Principal.anonymous()
    if sessions.has_session_cookie(current_app) and "account" in session:
        account = accounts().session_account(
            str(session.get("account", "")), str(session.get("stamp", ""))
        )
        if account is None:  # removed, disabled, or its password changed since
            session.clear()
        else:
            principal = account.principal()
    g.kb_principal = principal
    return principal


def principal_without_session() -> Principal:
    """Who is asking, for clients that carry no session (feed readers): never read from the
    browser's session cookie, so a feed URL answers the same in any browser. Credentials
    meant for such clients (API tokens, read by `webui.tokens` before the view) count here;
    without them, the anonymous visitor."""
    if g.get("kb_token"):
        return g.kb_principal
    return Principal.anonymous()


def sign_in_settings() -> SignInSettings:
    """How members may sign in here: a password, single sign-on, or both."""
    return current_app.extensions["kb_sign_in"]


def start_session(email: str) -> bool:
    """Sign `email` in: a new session (nothing from before carries over, so a session planted
    before sign-in never becomes signed in). False when the account cannot be used."""
    stamp = accounts().session_stamp(email)
    if stamp is None:
        return False
    session.clear()
    session["sid"] = secrets.token_urlsafe(24)
    session["account"] = email
    session["stamp"] = stamp
    session.permanent = True
    g.pop("kb_principal", None)
    return True


def _render(form: SignInForm, message: str | None = None, status: int = 200) -> Response:
    page = render_template(
        "auth/sign_in.html",
        form=form,
        message=translated(message) if message else None,
        sign_in=sign_in_settings(),
    )
    return current_app.make_response((page, status))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        return _render(form)
    if not sign_in_settings().password:
        return current_app.make_response(errors.respond(404, PASSWORD_OFF))
    if form.validate_on_submit():
        account = accounts().authenticate(form.email.data or "", form.password.data or "")
        if account is not None and start_session(account.email):
            return redirect(safe_next(form.next.data), 303)
    g.kb_sign_in_failed = True  # counted by the rate limits
    form.next.data = safe_next(form.next.data)
    return _render(form, FAILED)


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    session.clear()
    g.kb_principal = Principal.anonymous()
    return redirect(url_for("pages.home"), 303)


def _form_again(message: str, status: int) -> Response:
    """The sign-in form, empty but for where to go next, with `message`."""
    form = SignInForm(formdata=None)
    form.next.data = safe_next(request.form.get("next"))
    return _render(form, message, status)


@bp.errorhandler(RateLimitExceeded)
def too_many(exc: RateLimitExceeded) -> Response:
    response = _form_again(TOO_MANY, 429)
    response.headers["Retry-After"] = str(exc.limit.limit.get_expiry())
    return response


@bp.errorhandler(CSRFError)
def expired(exc: CSRFError) -> Response:
    if request.endpoint == "auth.sign_in":
        if not sign_in_settings().password:
            return current_app.make_response(errors.respond(404, PASSWORD_OFF))
        return _form_again(EXPIRED, 400)
    return current_app.make_response(errors.respond(400, EXPIRED))


def _account_key() -> str:
    return "account:" + normalise_email(request.form.get("email", ""))[: MAX_EMAIL_CHARS + 1]


def _client_key() -> str:
    return "client:" + get_remote_address()


def limit_failures(
    app: Flask,
    scope: str,
    applies: Callable[[], bool],
    blueprints: list[Blueprint],
    flag: str,
    message: str = TOO_MANY,
) -> None:
    """Rate-limit failures per client on `blueprints` (registered already), counting a request
    when `applies()` before it and `g.<flag>` is set after it, as failed sign-ins are; the
    limit is the app's config `KB_<SCOPE>_LIMIT` (e.g. KB_TOKEN_CLIENT_LIMIT)."""
    setting = "KB_" + scope.upper().replace("-", "_") + "_LIMIT"
    app.config.setdefault(setting, LIMIT_PER_CLIENT)
    app.extensions["kb_limited"].append(applies)
    limiter: Limiter = app.extensions["kb_limiter"]
    for blueprint in blueprints:
        limiter.limit(
            lambda: current_app.config[setting],
            key_func=_client_key,
            scope=scope,
            deduct_when=lambda response: bool(g.get(flag)),
            error_message=message,
        )(blueprint)


def register(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF protection, sign-in rate limits and the sign-in pages."""
    sessions.register(app, settings)
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path)
    app.extensions["kb_sign_in"] = load_sign_in_settings(settings.corpus)
    app.config.setdefault("KB_SIGN_IN_LIMIT_ACCOUNT", LIMIT_PER_ACCOUNT)
    app.config.setdefault("KB_SIGN_IN_LIMIT_CLIENT", LIMIT_PER_CLIENT)
    # A token lives as long as its session (12 hours at most): a page left open for an hour
    # can still sign out.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    CSRFProtect(app)
    # One limiter per app, counting in this process's memory.
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri="memory://",
        default_limits=[],
        strategy="moving-window",
    )
    app.extensions["kb_limiter"] = limiter
    app.extensions["kb_limited"] = [lambda: request.endpoint == "auth.sign_in"]

    @limiter.request_filter
    def not_limited() -> bool:
        # Decided first, so that every other request skips the limiter's work.
        return not any(applies() for applies in app.extensions["kb_limited"])

    for name, key in (("ACCOUNT", _account_key), ("CLIENT", _client_key)):
        limiter.limit(
            lambda name=name: current_app.config[f"KB_SIGN_IN_LIMIT_{name}"],
            key_func=key,
            scope=f"sign-in-{name.lower()}",
            methods=["POST"],
            deduct_when=lambda response: bool(g.get("kb_sign_in_failed")),
            error_message=TOO_MANY,
        )(bp)
    app.register_blueprint(bp)
    app.add_template_global(current_principal)
