"""Personal API tokens on the web: `Authorization: Bearer` on /api/*, and the page where a
signed-in member makes and revokes their own tokens.

A token reads exactly what its owner reads (the owner's `Principal`), and only on GET (and
HEAD) requests of the blueprints in `TOKEN_BLUEPRINTS`. Anywhere else, on every form that
changes state included, a token is ignored: it neither signs anyone in nor passes CSRF
protection. A request with a bad token (unknown, malformed, expired, revoked, or of a disabled
account) gets 401 and a JSON error; failed tokens are rate-limited per client like failed
sign-ins (`webui.auth`).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from kb.errors import AccountError, UnknownToken
from kb.tokens import DEFAULT_DAYS, MAX_DAYS, MAX_NAME_CHARS, NewToken, TokenStore
from webui import auth, errors
from webui.auth import accounts, current_principal
from webui.sessions import PRIVATE

bp = Blueprint("tokens", __name__)

# Blueprints whose GET routes a token may read: the JSON API and the Atom feeds (whose views
# read the reader from `webui.auth.principal_without_session`).
TOKEN_BLUEPRINTS = {"api", "feeds"}
INVALID = "The API token is unknown, expired or revoked."
TOO_MANY = "Too many requests with a wrong API token. Wait a few minutes, then try again."
CHALLENGE = 'Bearer realm="kb", error="invalid_token"'


class CreateTokenForm(FlaskForm):
    name = StringField(
        lazy_gettext("What it is for"),
        validators=[Length(max=MAX_NAME_CHARS)],
        render_kw={
            "maxlength": MAX_NAME_CHARS,
            "placeholder": lazy_gettext("e.g. the team's feed reader"),
        },
    )
    days = IntegerField(
        lazy_gettext("Days until it expires"),
        default=DEFAULT_DAYS,
        validators=[InputRequired(), NumberRange(1, MAX_DAYS)],
        render_kw={"min": 1, "max": MAX_DAYS},
    )


class RevokeTokenForm(FlaskForm):
    """Only its CSRF token: which token to revoke is in the address."""


def token_store() -> TokenStore:
    return TokenStore(accounts())


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header, or None without one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def reads_with_token() -> bool:
    """Whether this request is one a token may authorise: a GET of a token blueprint."""
    return request.blueprint in TOKEN_BLUEPRINTS and request.method in ("GET", "HEAD")


def _authenticate() -> Response | None:
    token = bearer_token()
    if token is None or not reads_with_token():
        return None  # no token, or a token where none is accepted: it grants nothing
    account = token_store().authenticate(token)
    if account is None:
        g.kb_token_failed = True  # counted by the per-client limit (webui.auth)
        response = current_app.make_response(errors.respond(401, INVALID))
        response.headers["WWW-Authenticate"] = CHALLENGE
        return response
    g.kb_principal = account.principal()
    g.kb_token = True
    return None


def _not_cached_for_others(response: Response) -> Response:
    if request.blueprint in TOKEN_BLUEPRINTS or errors.wants_json():
        # What answers a token depends on whose it is: no shared cache may reuse it.
        response.vary.add("Authorization")
        if g.get("kb_token") or g.get("kb_token_failed"):
            response.headers["Cache-Control"] = PRIVATE
    return response


def _signed_in_email() -> str | None:
    principal = current_principal()
    return principal.email if principal.is_signed_in else None


def _page(form: CreateTokenForm, made: NewToken | None = None, message: str | None = None):
    email = _signed_in_email()
    assert email is not None
    page = render_template(
        "auth/tokens.html",
        form=form,
        revoke_form=RevokeTokenForm(formdata=None),
        tokens=token_store().tokens(email),
        made=made,
        message=message,
    )
    return current_app.make_response((page, 400 if message else 200))


@bp.route("/account/tokens", methods=["GET", "POST"])
def tokens_page() -> Response:
    """The signed-in member's tokens; POST makes one and shows it, once."""
    if _signed_in_email() is None:
        return redirect(url_for("auth.sign_in", next=url_for("tokens.tokens_page")), 303)
    form = CreateTokenForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(
            form, message=gettext("Give a name and between 1 and %(days)s days.", days=MAX_DAYS)
        )
    try:
        made = token_store().create(_signed_in_email() or "", form.name.data or "", form.days.data)
    except AccountError as exc:
        return _page(form, message=str(exc))
    return _page(CreateTokenForm(formdata=None), made=made)


@bp.post("/account/tokens/<token_id>/revoke")
def revoke(token_id: str) -> Response:
    """Revoke one of the signed-in member's own tokens; anyone else's answers 404."""
    email = _signed_in_email()
    if email is None:
        return redirect(url_for("auth.sign_in", next=url_for("tokens.tokens_page")), 303)
    try:
        token_store().revoke(token_id[:40], email=email)
    except UnknownToken:
        abort(404)
    return redirect(url_for("tokens.tokens_page"), 303)


def register(app: Flask) -> None:
    """The token page, and Bearer authentication on the token blueprints: call after
    `webui.auth.register`, so that the rate limits are checked before any token is."""
    auth.limit_failures(
        app,
        "token-client",
        lambda: bearer_token() is not None and reads_with_token(),
        [app.blueprints[name] for name in sorted(TOKEN_BLUEPRINTS) if name in app.blueprints],
        "kb_token_failed",
        TOO_MANY,
    )
    app.before_request(_authenticate)
    app.after_request(_not_cached_for_others)
    app.register_blueprint(bp)
