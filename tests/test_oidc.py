"""Single sign-on with OpenID Connect against a real provider on 127.0.0.1 (issue 15): the
authorisation-code flow with PKCE through the Flask client, and each refusal as a clear page
with no session and no account."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher

from indexer.build import run_index
from kb.accounts import AccountStore
from kb.errors import ConfigError
from kb.settings import Settings
from kb.signin import SECRET_IN_CORPUS, load_sign_in_settings, member_organisation
from kb.vocabulary import load_vocabulary
from tests.conftest import write
from tests.oidc_provider import Provider, running_provider
from tests.prerequisites import needs
from webui import create_app
from webui.auth import PASSWORD_OFF
from webui.oidc import OTHER_ORGANISATION, STARTED_ELSEWHERE

pytestmark = needs("oidc-provider-mock")

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
BASE_URL = "http://kb.example"  # kb's public address: the redirect URI is built from it
CLIENT_ID = "kb-members"
SECRET = "a client secret kept outside the corpus"
COORDINATOR = "cay@atea.example"
ORGANISATIONS = """
[[organisation]]
id = "ikea"
name = "IKEA"
email_domains = ["ikea.example"]

[[organisation]]
id = "skovde-kommun"
name = "Skövde kommun"
aliases = ["Skovde"]
email_domains = ["skovde.example", "Skovde-Kommun.example"]

[[organisation]]
id = "atea"
name = "Atea"
member = false
email_domains = ["atea.example"]

[[organisation]]
id = "samsung"
name = "Samsung"
member = false
email_domains = ["samsung.example"]
"""
KB_TOML = f"""
[visibility]
default = "members"

[sign_in]
coordinators = ["{COORDINATOR}"]

[sign_in.oidc]
client_id = "{CLIENT_ID}"
scopes = ["openid", "email", "profile"]
"""
PRIVATE_DOC = "self-assessments/skovde-2025"
PRIVATE = """---
title: Skövde private self-assessment
type: other
date: 2025-01-01
visibility: organisation:skovde-kommun
---
# Skövde private self-assessment

Marigoldquartz figures that only Skövde kommun may read.
"""


@pytest.fixture(scope="module")
def provider() -> Provider:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("oidc")
    corpus = base / "corpus"
    write(corpus / "organisations.toml", ORGANISATIONS)
    write(corpus / "kb.toml", KB_TOML)
    write(corpus / f"{PRIVATE_DOC}.md", PRIVATE)
    settings = Settings.resolve(corpus, base / "index", base_url=BASE_URL)
    assert run_index(settings, workers=1).summary["failed"] == 0
    return settings


@pytest.fixture
def oidc_env(provider, monkeypatch):
    monkeypatch.setenv("KB_OIDC_ISSUER", provider.url)
    monkeypatch.setenv("KB_OIDC_CLIENT_SECRET", SECRET)
    monkeypatch.delenv("KB_PASSWORD_SIGN_IN", raising=False)
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)


@pytest.fixture
def app(indexed, oidc_env, tmp_path):
    settings = dataclasses.replace(indexed, accounts=tmp_path / "accounts.sqlite3")
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    return app


@pytest.fixture
def store(app) -> AccountStore:
    return app.extensions["kb_accounts"]


def who(client) -> str:
    page = client.get("/").get_data(as_text=True)
    marker = "Signed in as <strong>"
    return page.split(marker, 1)[1].split("<", 1)[0] if marker in page else "anonymous"


def start(client, path: str = "/sign-in/oidc") -> str:
    """Ask kb to sign in; the provider's authorisation URL it sends the browser to."""
    response = client.get(path)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def back_to_kb(client, callback_url: str):
    """The browser arriving back at kb's callback (the path and query of `callback_url`)."""
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, provider: Provider, sub: str, path: str = "/sign-in/oidc"):
    return back_to_kb(client, provider.approve(start(client, path), sub))


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


def assert_refused(response, status: int, message: str | None = None) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert "Traceback" not in body and "Something went wrong" not in body
    if message:
        assert message in body.replace("&#39;", "'"), body[:3000]
    return body


# ---- the flow ----------------------------------------------------------------------------------


def test_the_authorisation_code_flow_with_pkce_signs_a_member_in(app, store, provider):
    provider.set_user("siv", email="siv@skovde.example", email_verified=True, name="Siv")
    client = app.test_client()
    assert client.get(f"/api/doc/{PRIVATE_DOC}").status_code == 404
    authorize = start(client, "/sign-in/oidc?next=/search%3Fq%3Dmarigoldquartz")
    parts = urlsplit(authorize)
    asked = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{provider.url}/oauth2/authorize"
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{BASE_URL}/sign-in/oidc/callback"
    assert asked["code_challenge_method"] == "S256"
    assert set(asked["scope"].split()) == {"openid", "email", "profile"}
    assert len(asked["state"]) >= 20 and len(asked["nonce"]) >= 20
    answer = back_to_kb(client, provider.approve(authorize, "siv"))
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/search?q=marigoldquartz"
    # PKCE: the token request carried the verifier whose S256 hash was the challenge.
    (exchange,) = [p for p in provider.asked("/oauth2/token") if p.get("code") and
                   p.get("redirect_uri") == asked["redirect_uri"]][-1:]  # fmt: skip
    verifier = exchange["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert digest.decode() == asked["code_challenge"]
    # Signed in, as a member of the organisation of the e-mail domain, reading its documents.
    assert who(client) == "siv@skovde.example"
    assert client.get(f"/api/doc/{PRIVATE_DOC}").status_code == 200
    account = store.get("siv@skovde.example")
    assert (account.organisation, account.role) == ("skovde-kommun", "member")
    assert account.last_sign_in is not None
    # The same account `kb users` manages, with no password that could ever match.
    assert store.authenticate("siv@skovde.example", "") is None
    assert store.authenticate("siv@skovde.example", "!no-password") is None
    # Signing in again uses the same account.
    client.post("/sign-out", data={"csrf_token": csrf(client)})
    assert who(client) == "anonymous"
    assert sign_in(client, provider, "siv").status_code == 303
    assert who(client) == "siv@skovde.example"
    assert len(store.accounts()) == 1


def csrf(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_session_is_new_after_single_sign_on(app, provider):
    provider.set_user("ida", email="ida@ikea.example")
    client = app.test_client()
    client.get("/sign-in")  # a session cookie before sign-in
    before = client.get_cookie("kb_session").value
    assert sign_in(client, provider, "ida").status_code == 303
    assert client.get_cookie("kb_session").value != before
    response = client.get("/")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_named_coordinators_become_coordinators(app, store, provider):
    provider.set_user("cay", email=COORDINATOR)  # Atea is no member, but coordinates
    client = app.test_client()
    assert sign_in(client, provider, "cay").status_code == 303
    account = store.get(COORDINATOR)
    assert (account.organisation, account.role) == ("atea", "coordinator")
    # A coordinator reads like a member of their own organisation: not Skövde's document.
    assert client.get(f"/api/doc/{PRIVATE_DOC}").status_code == 404


def test_an_account_made_by_kb_users_signs_in_through_the_provider_too(app, store, provider):
    store.add("ulf@ikea.example", "ikea", "a password of the old kind")
    provider.set_user("ulf", email="ULF@ikea.example")
    client = app.test_client()
    assert sign_in(client, provider, "ulf").status_code == 303
    assert who(client) == "ulf@ikea.example"
    assert store.authenticate("ulf@ikea.example", "a password of the old kind") is not None
    assert len(store.accounts()) == 1


# ---- refusals: a clear page, no session, no account -------------------------------------------


def test_unknown_domain_gets_the_not_a_member_page_and_no_account(app, store, provider):
    provider.set_user("eve", email="eve@elsewhere.example")
    client = app.test_client()
    body = assert_refused(
        sign_in(client, provider, "eve"), 403, "Your organisation is not a member"
    )
    assert "eve@elsewhere.example" in body
    assert who(client) == "anonymous"
    assert store.get("eve@elsewhere.example") is None and store.accounts() == []


def test_an_organisation_that_is_no_member_gets_the_same_page(app, store, provider):
    provider.set_user("sam", email="sam@samsung.example")
    client = app.test_client()
    assert_refused(sign_in(client, provider, "sam"), 403, "Your organisation is not a member")
    assert who(client) == "anonymous" and store.accounts() == []


def test_wrong_state_is_refused(app, store, provider):
    provider.set_user("siv", email="siv@skovde.example")
    client = app.test_client()
    callback = provider.approve(start(client), "siv")
    assert_refused(back_to_kb(client, with_query(callback, state="forged-state")), 400,
                   STARTED_ELSEWHERE)  # fmt: skip
    assert who(client) == "anonymous" and store.accounts() == []
    # The callback another browser started answers the same in this one.
    other = app.test_client()
    assert_refused(back_to_kb(other, callback), 400, STARTED_ELSEWHERE)
    assert who(other) == "anonymous" and store.accounts() == []


def test_a_replayed_code_is_refused(app, store, provider):
    provider.set_user("siv", email="siv@skovde.example")
    client = app.test_client()
    callback = provider.approve(start(client), "siv")
    assert back_to_kb(client, callback).status_code == 303
    client.post("/sign-out", data={"csrf_token": csrf(client)})
    # The same answer again: its state is used up.
    assert_refused(back_to_kb(client, callback), 400, STARTED_ELSEWHERE)
    assert who(client) == "anonymous"
    # The old code under a fresh state of this browser: the provider refuses the used code.
    fresh = provider.approve(start(client), "siv")
    replay = with_query(fresh, code=parse_qs(urlsplit(callback).query)["code"][0])
    body = assert_refused(back_to_kb(client, replay), 400, "did not sign you in (invalid_grant)")
    assert "siv@" not in body
    assert who(client) == "anonymous"


@pytest.mark.parametrize(
    "audience",
    [
        {"aud": "another-application"},
        {"aud": "another-application", "azp": CLIENT_ID},
        {"aud": ["another-application", "a-third"], "azp": CLIENT_ID},
    ],
    ids=["aud", "aud-with-our-azp", "aud-list"],
)
def test_an_id_token_for_another_audience_is_refused(app, store, provider, audience):
    provider.set_user("mal", email="mal@ikea.example", **audience)
    client = app.test_client()
    assert_refused(sign_in(client, provider, "mal"), 400, "could not be trusted")
    assert who(client) == "anonymous" and store.accounts() == []


def test_an_expired_id_token_is_refused(app, store, provider):
    now = int(time.time())
    provider.set_user("old", email="old@ikea.example", iat=now - 7200, exp=now - 3600)
    client = app.test_client()
    assert_refused(sign_in(client, provider, "old"), 400, "could not be trusted")
    assert who(client) == "anonymous" and store.accounts() == []


def test_a_denied_consent_and_a_bare_callback_are_refused(app, store, provider):
    client = app.test_client()
    denied = provider.approve(start(client), "siv", action="deny")
    assert_refused(back_to_kb(client, denied), 400, "did not sign you in (access_denied)")
    assert_refused(client.get("/sign-in/oidc/callback"), 400, STARTED_ELSEWHERE)
    assert who(client) == "anonymous" and store.accounts() == []


def test_an_unverified_or_missing_email_is_refused(app, store, provider):
    provider.set_user("nov", email="nov@ikea.example", email_verified=False)
    provider.set_user("nom", name="No Mail")
    for sub in ("nov", "nom"):
        client = app.test_client()
        assert_refused(sign_in(client, provider, sub), 403, "verified e-mail address")
        assert who(client) == "anonymous"
    assert store.accounts() == []


def test_disabled_and_misplaced_accounts_are_refused(app, store, provider):
    store.add_without_password("dan@ikea.example", "ikea")
    store.set_disabled("dan@ikea.example")
    store.add_without_password("moa@ikea.example", "skovde-kommun")
    provider.set_user("dan", email="dan@ikea.example")
    provider.set_user("moa", email="moa@ikea.example")
    client = app.test_client()
    assert_refused(sign_in(client, provider, "dan"), 403, "disabled")
    assert_refused(sign_in(client, provider, "moa"), 403, OTHER_ORGANISATION)
    assert who(client) == "anonymous"


def test_an_unreachable_provider_is_a_clear_page(indexed, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_OIDC_ISSUER", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("KB_OIDC_CLIENT_SECRET", SECRET)
    settings = dataclasses.replace(indexed, accounts=tmp_path / "accounts.sqlite3")
    app = create_app(settings, check_interval=0)
    assert_refused(app.test_client().get("/sign-in/oidc"), 503, "cannot be reached")


# ---- configuration -----------------------------------------------------------------------------


def test_password_sign_in_can_be_turned_off(indexed, oidc_env, monkeypatch, tmp_path, provider):
    monkeypatch.setenv("KB_PASSWORD_SIGN_IN", "0")
    settings = dataclasses.replace(indexed, accounts=tmp_path / "accounts.sqlite3")
    app = create_app(settings, check_interval=0)
    store = AccountStore(settings.accounts_path, hasher=FAST)
    app.extensions["kb_accounts"] = store
    store.add("pia@ikea.example", "ikea", "a password that is now unused")
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'type="password"' not in page and "turned off" in page
    assert "Sign in with your organisation" in page
    refused = client.post("/sign-in", data={"email": "pia@ikea.example",
                                            "password": "a password that is now unused"})  # fmt: skip
    assert_refused(refused, 404, PASSWORD_OFF)
    assert who(client) == "anonymous"
    provider.set_user("pia", email="pia@ikea.example")
    assert sign_in(client, provider, "pia").status_code == 303
    assert who(client) == "pia@ikea.example"


def test_without_a_provider_single_sign_on_is_absent(bundled_app):
    client = bundled_app.test_client()
    assert client.get("/sign-in/oidc").status_code == 404
    assert "organisation's account" not in client.get("/sign-in").get_data(as_text=True)


def corpus_with(tmp_path: Path, kb_toml: str) -> Path:
    write(tmp_path / "corpus" / "kb.toml", kb_toml)
    return tmp_path / "corpus"


OIDC = '[sign_in.oidc]\nissuer = "https://idp.example"\nclient_id = "kb"\n'


def test_a_client_secret_in_the_corpus_is_refused(tmp_path):
    corpus = corpus_with(tmp_path, OIDC + 'client_secret = "s3cret"\n')
    with pytest.raises(ConfigError, match="must not be stored in the corpus"):
        load_sign_in_settings(corpus, {})
    inside = write(corpus / "secret.txt", "s3cret")
    corpus_with(tmp_path, OIDC + f'client_secret_file = "{inside}"\n')
    with pytest.raises(ConfigError) as raised:
        load_sign_in_settings(corpus, {})
    assert SECRET_IN_CORPUS in str(raised.value)
    with pytest.raises(ConfigError, match="KB_OIDC_CLIENT_SECRET"):
        load_sign_in_settings(corpus, {"KB_OIDC_CLIENT_SECRET_FILE": str(inside)})


def test_the_secret_comes_from_the_environment_or_a_file_outside(tmp_path):
    corpus = corpus_with(tmp_path, OIDC)
    with pytest.raises(ConfigError, match="no client secret"):
        load_sign_in_settings(corpus, {})
    outside = write(tmp_path / "etc" / "secret", "from-a-file\n")
    found = load_sign_in_settings(corpus, {"KB_OIDC_CLIENT_SECRET_FILE": str(outside)})
    assert found.oidc.client_secret == "from-a-file" and "from-a-file" not in repr(found)
    found = load_sign_in_settings(corpus, {"KB_OIDC_CLIENT_SECRET": "from-env",
                                           "KB_OIDC_SCOPES": "openid email"})  # fmt: skip
    assert found.oidc.client_secret == "from-env" and found.oidc.scopes == ("openid", "email")
    assert found.password and found.oidc.issuer == "https://idp.example"


@pytest.mark.parametrize(
    "bad",
    [
        '[sign_in]\npassword = "maybe"\n',
        '[sign_in]\ncoordinators = ["not an address"]\n',
        "[sign_in]\npasword = false\n",
        '[sign_in.oidc]\nissuer = "idp.example"\nclient_id = "kb"\n',
        '[sign_in.oidc]\nissuer = "https://idp.example"\nclient_id = "kb"\nscopes = ["email"]\n',
    ],
)
def test_a_misconfigured_sign_in_is_a_clear_error(tmp_path, bad):
    with pytest.raises(ConfigError, match=r"kb\.toml \[sign_in"):
        load_sign_in_settings(corpus_with(tmp_path, bad), {"KB_OIDC_CLIENT_SECRET": "x"})


def test_users_map_to_organisations_by_claim_or_domain(indexed):
    vocabulary = load_vocabulary(indexed.corpus)
    env = {"KB_OIDC_CLIENT_SECRET": "x", "KB_OIDC_ISSUER": "https://idp.example",
           "KB_OIDC_ORGANISATION_CLAIM": "org"}  # fmt: skip
    sign_in = load_sign_in_settings(indexed.corpus, env)

    def org(**claims):
        found = member_organisation(claims, sign_in, vocabulary)
        return found.id if found else None

    assert org(email="a@skovde-kommun.example") == "skovde-kommun"  # domains in any case
    assert org(email="a@ikea.example", org="Skovde") == "skovde-kommun"  # the claim wins
    assert org(email="a@ikea.example", org="nowhere") is None
    assert org(email="a@sub.ikea.example") is None  # a domain is matched exactly
    assert org(email=COORDINATOR) == "atea" and org(email="b@atea.example") is None


def test_kb_check_reports_sign_in_settings_the_server_would_refuse(tmp_path, monkeypatch):
    from indexer.build import check_corpus
    from kb.settings import Settings
    from tests.conftest import write

    for name in ("KB_OIDC_ISSUER", "KB_OIDC_CLIENT_ID", "KB_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    corpus = tmp_path / "corpus"
    write(corpus / "a.md", "# A\n\nText.\n")
    write(corpus / "kb.toml", '[sign_in.oidc]\nissuer = "https://id.example"\nclient_id = "kb"\n')
    report = check_corpus(Settings.resolve(corpus, tmp_path / "index"), workers=1)
    assert any(
        n.startswith("sign-in settings: ") and "no client secret" in n for n in report.notes
    ), report.notes
    write(corpus / "kb.toml", "[sign_in]\npassword = true\n")
    report = check_corpus(Settings.resolve(corpus, tmp_path / "index"), workers=1)
    assert not [n for n in report.notes if n.startswith("sign-in settings")]
