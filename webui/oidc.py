"""Single sign-on with OpenID Connect: the authorisation-code flow with PKCE (S256), state and
nonce, by Authlib's Flask client.

- `/sign-in/oidc` keeps the state, the nonce and the PKCE verifier in the (signed) session and
  sends the browser to the provider;
- `/sign-in/oidc/callback` takes the code back. Authlib checks the state against the
  session, exchanges the code (with the verifier) at the provider's token endpoint, and checks
  the ID token: its signature (the provider's published keys), issuer, audience (this client),
  expiry and nonce. Any failure is a clear error page and no session.
- The user then belongs to an organisation (`kb.signin.member_organisation`): by the
  configured claim, else by the domain of its e-mail address. A user of no member
  organisation gets the "your organisation is not a member" page (403), and no account.
  Otherwise the account `kb users` manages is used, made on first sign-in without a password.

The redirect URI is built from the configured base URL, never from the request's Host header.
"""

from __future__ import annotations

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
)
from joserfc.errors import JoseError

from kb.accounts import check_email
from kb.errors import AccountError
from kb.signin import SignInSettings, member_organisation
from kb.vocabulary import Vocabulary, load_vocabulary
from webui import errors
from webui.auth import accounts, safe_next, sign_in_settings, start_session
from webui.context import settings
from webui.i18n import N_, translated

bp = Blueprint("oidc", __name__)

CLIENT = "kb"  # Authlib's name for the provider (its session keys start `_state_kb_`)
NEXT_KEY = "kb_oidc_next"
PROVIDER_TIMEOUT = 10  # seconds for each request to the identity provider
# Translated where the page is rendered (webui.i18n); `{reason}` is filled in after.
STARTED_ELSEWHERE = N_(
    "This sign-in had expired, was already used, or was started in another browser. "
    "Please sign in again."
)
REFUSED = N_(
    "Your organisation's sign-in service did not sign you in ({reason}). Please try again."
)
UNTRUSTED = N_(
    "The answer from your organisation's sign-in service could not be trusted ({reason}), "
    "so you were not signed in. Please try again; if this goes on, tell the coordinator."
)
UNREACHABLE = N_("Your organisation's sign-in service cannot be reached just now. Try again later.")
NO_EMAIL = N_(
    "Your organisation's sign-in service did not give a verified e-mail address, which kb "
    "needs to know who you are. Ask your IT department to release the email claim to kb."
)
OTHER_ORGANISATION = N_(
    "Your account here belongs to another organisation than the one your sign-in service "
    "names. Ask the network's coordinator to correct it."
)
DISABLED = N_("Your account has been disabled. Ask the network's coordinator if this is a mistake.")


def _vocabulary() -> Vocabulary:
    return load_vocabulary(settings().corpus)


def _client():
    client = current_app.extensions.get("kb_oidc")
    if client is None:
        abort(404, "Single sign-on is not set up on this server.")
    return client


def _callback_url() -> str:
    return settings().base_url + "/sign-in/oidc/callback"


@bp.get("/sign-in/oidc")
def start() -> Response:
    """Send the browser to the identity provider."""
    client = _client()
    next_ = safe_next(request.args.get("next"))
    try:
        response = client.authorize_redirect(_callback_url())
    except (requests.RequestException, ValueError) as exc:  # no (usable) provider metadata
        current_app.logger.warning("identity provider unavailable: %s", exc)
        return current_app.make_response(errors.respond(503, UNREACHABLE))
    session[NEXT_KEY] = next_
    return response


def _refuse(status: int, message: str, **values: str) -> Response:
    """The error page for a sign-in that did not happen; `values` fill the translated message."""
    session.clear()  # whatever was started is over: no half-signed-in session remains
    text = translated(message).format(**values) if values else message
    response = current_app.make_response(errors.respond(status, text))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _not_a_member(email: str) -> Response:
    session.clear()
    page = render_template("auth/not_member.html", email=email)
    response = current_app.make_response((page, 403))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/sign-in/oidc/callback")
def callback() -> Response:
    """The provider's answer: sign the user in, or say clearly why not."""
    client = _client()
    next_ = safe_next(session.get(NEXT_KEY))
    oidc = sign_in_settings().oidc
    assert oidc is not None
    # Authlib checks `aud` only when told to: an ID token the provider issued to another
    # application (naming this one as `azp`) must not sign anyone in here.
    must_be = {
        "iss": {"essential": True, "values": [oidc.issuer]},
        "aud": {"essential": True, "values": [oidc.client_id]},
    }
    try:
        token = client.authorize_access_token(claims_options=must_be)
    except MismatchingStateError:
        return _refuse(400, STARTED_ELSEWHERE)
    except OAuthError as exc:  # the provider refused: a denied consent, a used code, ...
        return _refuse(400, REFUSED, reason=(exc.error or "error")[:60])
    except JoseError as exc:  # the ID token: bad signature, audience, issuer, expiry, nonce
        current_app.logger.warning("ID token refused: %s", exc)
        return _refuse(400, UNTRUSTED, reason=(exc.error or "invalid token")[:60])
    except requests.RequestException as exc:
        current_app.logger.warning("identity provider unavailable: %s", exc)
        return _refuse(503, UNREACHABLE)
    claims = token.get("userinfo")
    if not claims:  # no ID token at all: nothing says who this is
        return _refuse(400, UNTRUSTED, reason="no ID token")
    try:
        email = check_email(str(claims.get("email") or ""))
    except AccountError:
        return _refuse(403, NO_EMAIL)
    if claims.get("email_verified") is False:
        return _refuse(403, NO_EMAIL)
    sign_in = sign_in_settings()
    organisation = member_organisation(claims, sign_in, _vocabulary())
    if organisation is None:
        return _not_a_member(email)
    store = accounts()
    account = store.get(email)
    if account is None:
        role = "coordinator" if email in sign_in.coordinators else "member"
        account = store.add_without_password(email, organisation.id, role)
    elif account.disabled:
        return _refuse(403, DISABLED)
    elif account.organisation != organisation.id:
        # The provider places the user elsewhere than the account says: a coordinator
        # decides (`kb users`), not whoever runs that provider.
        return _refuse(403, OTHER_ORGANISATION)
    elif email in sign_in.coordinators and account.role != "coordinator":
        store.set_role(email, "coordinator")
    if not start_session(email):
        return _refuse(403, DISABLED)
    store.record_sign_in(email)
    return redirect(next_, 303)


def register(app: Flask, sign_in: SignInSettings) -> None:
    """The single sign-on routes; they answer 404 unless a provider is configured."""
    if sign_in.oidc is not None:
        oauth = OAuth(app)
        app.extensions["kb_oidc"] = oauth.register(
            CLIENT,
            client_id=sign_in.oidc.client_id,
            client_secret=sign_in.oidc.client_secret,
            server_metadata_url=sign_in.oidc.metadata_url,
            client_kwargs={
                "scope": " ".join(sign_in.oidc.scopes),
                "code_challenge_method": "S256",
                "default_timeout": PROVIDER_TIMEOUT,
            },
        )
    app.register_blueprint(bp)
