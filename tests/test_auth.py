"""Signing in to the web UI: the sign-in threats of ACCESS.md, each as a user's actions."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kb.access import Principal
from kb.accounts import AccountStore
from kb.errors import ConfigError
from webui import create_app
from webui.auth import EXPIRED, FAILED, TOO_MANY, current_principal, safe_next

ANN, ANN_PASSWORD = "ann@ikea.example", "violet kettle under 9 moons"
CAY, CAY_PASSWORD = "cay@atea.example", "seven quiet herons at dusk"
DAN, DAN_PASSWORD = "dan@ikea.example", "copper lantern on the fjord"  # disabled
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
TOKEN_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'type="hidden" name="csrf_token" value="([^"]+)"')  # fmt: skip


@pytest.fixture
def app(bundled_index, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    settings = dataclasses.replace(bundled_index, accounts=tmp_path / "accounts.sqlite3")
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    store = AccountStore(settings.accounts_path, hasher=FAST)
    app.extensions["kb_accounts"] = store
    store.add(ANN, "ikea", ANN_PASSWORD)
    store.add(CAY, "atea", CAY_PASSWORD, role="coordinator")
    store.add(DAN, "ikea", DAN_PASSWORD)
    store.set_disabled(DAN)
    return app


@pytest.fixture
def web(app):
    return app.test_client()


def token(client, path: str = "/sign-in", **kwargs) -> str:
    page = client.get(path, **kwargs).get_data(as_text=True)
    match = TOKEN_RE.search(page)
    assert match, page
    return match.group(1) or match.group(2)


def sign_in(client, email: str, password: str, next_: str | None = None, **kwargs):
    form = {"csrf_token": token(client, **kwargs), "email": email, "password": password}
    if next_ is not None:
        form["next"] = next_
    return client.post("/sign-in", data=form, **kwargs)


def who(client) -> str:
    page = client.get("/").get_data(as_text=True)
    match = re.search(r"Signed in as <strong>([^<]+)</strong>", page)
    return match.group(1) if match else "anonymous"


def without_tokens(page: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', page)


# ---- signing in and out ----------------------------------------------------------------------


def test_anonymous_pages_are_unchanged_and_offer_sign_in(web):
    response = web.get("/search?q=repair")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/sign-in?next=/search?q%3Drepair">Sign in</a>' in page  # and back here
    assert "Set-Cookie" not in response.headers  # no session for anonymous readers
    assert response.headers.get("Cache-Control") != "private, no-store"


def test_sign_in_then_out(web):
    response = sign_in(web, " Ann@IKEA.example", ANN_PASSWORD, "/search?q=repair")
    assert response.status_code == 303
    assert response.headers["Location"] == "/search?q=repair"
    assert who(web) == ANN
    page = web.get("/").get_data(as_text=True)
    assert 'action="/sign-out" method="post"' in page
    assert web.get("/sign-out").status_code == 405  # never by a link or an image
    response = web.post("/sign-out", data={"csrf_token": token(web, "/")})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert who(web) == "anonymous"


def test_current_principal_reflects_the_session(app, web):
    sign_in(web, CAY, CAY_PASSWORD)
    with app.test_request_context("/", headers={"Cookie": _cookie_header(web)}):
        assert current_principal() == Principal.coordinator(CAY, "atea")
    with app.test_request_context("/"):
        assert current_principal() == Principal.anonymous()


def _cookie_header(client) -> str:
    cookie = client.get_cookie("kb_session")
    assert cookie is not None
    return f"kb_session={cookie.value}"


def test_disabling_or_changing_the_password_ends_sessions(app, web):
    store: AccountStore = app.extensions["kb_accounts"]
    sign_in(web, ANN, ANN_PASSWORD)
    assert who(web) == ANN
    store.set_password(ANN, "a brand new passphrase 42")
    assert who(web) == "anonymous"
    sign_in(web, ANN, "a brand new passphrase 42")
    assert who(web) == ANN
    store.set_disabled(ANN)
    assert who(web) == "anonymous"


# ---- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("forged", [None, "", "not-a-token", "Ijk5OTk5OSI.abc.def"])
def test_sign_in_without_a_valid_csrf_token_is_refused(web, forged):
    form = {"email": ANN, "password": ANN_PASSWORD}
    if forged is not None:
        form["csrf_token"] = forged
    response = web.post("/sign-in", data=form)
    assert response.status_code == 400
    assert EXPIRED in response.get_data(as_text=True)
    assert who(web) == "anonymous"


def test_a_token_from_another_session_is_refused(app, web):
    other = app.test_client()
    stolen = token(other)
    response = web.post("/sign-in", data={"csrf_token": stolen, "email": ANN,
                                          "password": ANN_PASSWORD})  # fmt: skip
    assert response.status_code == 400
    assert who(web) == "anonymous"


def test_sign_out_needs_a_csrf_token(web):
    sign_in(web, ANN, ANN_PASSWORD)
    for form in ({}, {"csrf_token": "forged"}):
        response = web.post("/sign-out", data=form)
        assert response.status_code == 400
        assert who(web) == ANN  # a forged request from another site cannot sign anyone out


# ---- sessions ---------------------------------------------------------------------------------


def test_session_is_replaced_on_sign_in(app, web):
    token(web)  # a session exists before signing in (it holds the CSRF token)
    before = web.get_cookie("kb_session").value
    with web.session_transaction() as session:
        session["planted"] = "by someone else"
    planted = web.get_cookie("kb_session").value
    sign_in(web, ANN, ANN_PASSWORD)
    after = web.get_cookie("kb_session").value
    assert after not in (before, planted)
    with web.session_transaction() as session:
        assert "planted" not in session and "csrf_token" not in session
        first_sid = session["sid"]
    # Whoever held the session from before sign-in is still anonymous.
    attacker = app.test_client()
    attacker.set_cookie("kb_session", planted)
    assert who(attacker) == "anonymous"
    # A new sign-in is a new session id.
    sign_in(web, ANN, ANN_PASSWORD)
    with web.session_transaction() as session:
        assert session["sid"] != first_sid


def test_cookie_flags_over_http(web):
    response = sign_in(web, ANN, ANN_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_cookie_is_secure_over_https(web):
    https = {"base_url": "https://kb.example", "headers": {"Referer": "https://kb.example/sign-in"}}
    response = sign_in(web, ANN, ANN_PASSWORD, **https)
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookie_is_secure_behind_a_tls_proxy(bundled_index, tmp_path, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    settings = dataclasses.replace(
        bundled_index, accounts=tmp_path / "a.sqlite3", base_url="https://kb.example"
    )
    app = create_app(settings, check_interval=0)
    app.extensions["kb_accounts"] = AccountStore(settings.accounts_path, hasher=FAST)
    client = app.test_client()
    client.get("/sign-in")
    assert client.get_cookie("kb_session").secure


# ---- brute force and enumeration --------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_account(web):
    for i in range(5):  # from five different clients
        response = sign_in(web, ANN, "wrong password number " + str(i),
                           environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})  # fmt: skip
        assert response.status_code == 200 and FAILED in response.get_data(as_text=True)
    blocked = sign_in(web, ANN, ANN_PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert blocked.status_code == 429
    assert TOO_MANY in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0
    assert who(web) == "anonymous"  # even the right password waits
    # Other accounts are not affected.
    assert (
        sign_in(web, CAY, CAY_PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code
        == 303
    )


def test_failed_sign_ins_are_limited_per_client_whatever_the_proxy_headers(web):
    for i in range(20):
        response = sign_in(web, f"guess{i}@ikea.example", "wrong password here",
                           headers={"X-Forwarded-For": f"198.51.100.{i}"})  # fmt: skip
        assert response.status_code == 200, i
    blocked = sign_in(web, CAY, CAY_PASSWORD, headers={"X-Forwarded-For": "203.0.113.7"})
    assert blocked.status_code == 429
    assert who(web) == "anonymous"
    assert sign_in(web, CAY, CAY_PASSWORD,
                   environ_base={"REMOTE_ADDR": "192.0.2.50"}).status_code == 303  # fmt: skip


def test_successful_sign_ins_do_not_count(web):
    for _ in range(7):
        assert sign_in(web, ANN, ANN_PASSWORD).status_code == 303


def test_unknown_disabled_and_wrong_password_get_the_same_answer(app, web):
    answers = []
    for email, password in ((ANN, "not the right one!"), ("nobody@ikea.example", ANN_PASSWORD),
                            (DAN, DAN_PASSWORD)):  # fmt: skip
        client = app.test_client()
        response = sign_in(client, email, password)
        page = response.get_data(as_text=True)
        assert FAILED in page
        answers.append((response.status_code, without_tokens(page).replace(email, "EMAIL")))
    assert answers[0] == answers[1] == answers[2]


def test_unknown_accounts_cost_the_same_hashing_work(app, monkeypatch):
    verified = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            verified.append(hash)
            return super().verify(hash, password)

    store: AccountStore = app.extensions["kb_accounts"]
    monkeypatch.setattr(store, "hasher", Counting(time_cost=1, memory_cost=8, parallelism=1))
    assert store.authenticate("nobody@ikea.example", ANN_PASSWORD) is None
    assert store.authenticate(DAN, DAN_PASSWORD) is None
    assert store.authenticate(ANN, "not the right one!") is None
    assert len(verified) == 3 and all(h.startswith("$argon2id$") for h in verified)


# ---- redirects and caching --------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_",
    ["//evil.example/x", "https://evil.example/", "http:evil.example", "/\\evil.example",
     "\\\\evil.example", "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)",
     "evil.example", " //evil.example", "/" + "a" * 3000, "%2F%2Fevil.example"],
)  # fmt: skip
def test_next_never_leaves_the_site(web, next_):
    response = sign_in(web, ANN, ANN_PASSWORD, next_)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("next_", ["/search?q=repair&type=guide", "/lists", "/doc/about/members"])
def test_next_to_a_local_page_is_followed(next_):
    assert safe_next(next_) == next_


def test_the_next_link_survives_the_sign_in_form(web):
    page = web.get("/search?q=repair&type=guide").get_data(as_text=True)
    link = re.search(r'href="(/sign-in\?next=[^"]+)"', page).group(1)
    form_page = web.get(link).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/search?q=repair&amp;type=guide"' in form_page
    response = sign_in(web, ANN, ANN_PASSWORD, "/search?q=repair&type=guide")
    assert response.headers["Location"] == "/search?q=repair&type=guide"
    page = web.get("/sign-in?next=//evil.example").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/"' in page


def test_signed_in_responses_are_private_and_not_stored(web):
    assert web.get("/sign-in").headers["Cache-Control"] == "private, no-store"
    sign_in(web, ANN, ANN_PASSWORD)
    for path in ("/", "/search?q=repair", "/lists", "/api/search?q=repair"):
        response = web.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path
        assert "Cookie" in response.headers.get("Vary", ""), path


def test_pages_keep_the_content_security_policy(web):
    sign_in(web, ANN, ANN_PASSWORD)
    for path in ("/", "/sign-in"):
        response = web.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.get_data(as_text=True))


# ---- the session key --------------------------------------------------------------------------


def test_session_key_file_is_created_owner_only(app):
    settings = app.config["KB_SETTINGS"]
    path = settings.secret_key_path
    assert path.parent == settings.accounts_path.parent
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert app.secret_key == path.read_text().strip().encode()
    assert not path.resolve().is_relative_to(settings.corpus)


def test_session_key_from_the_environment(bundled_index, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_SECRET_KEY", "k" * 40)
    settings = dataclasses.replace(bundled_index, accounts=tmp_path / "a.sqlite3")
    assert create_app(settings).secret_key == b"k" * 40
    assert not settings.secret_key_path.exists()
    monkeypatch.setenv("KB_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="KB_SECRET_KEY"):
        create_app(settings)


def test_session_key_never_in_the_corpus(bundled_index, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    settings = dataclasses.replace(
        bundled_index, accounts=bundled_index.corpus / "private" / "a.sqlite3"
    )
    with pytest.raises(ConfigError, match="corpus"):
        create_app(settings)
    assert not (bundled_index.corpus / "private").exists()


# ---- fuzzing ----------------------------------------------------------------------------------

ADDRESSES = itertools.count()
FIELD = st.one_of(
    st.text(max_size=300),
    st.sampled_from([ANN, CAY, " " + ANN.upper(), "a@b", "@", "", "\x00", "\u202e" + ANN]),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(email=FIELD, password=FIELD, next_=FIELD, with_token=st.booleans())
@example(email=ANN, password=ANN_PASSWORD, next_="//x", with_token=True)
@example(email="a" * 5000, password="p" * 5000, next_="/" * 5000, with_token=True)
def test_fuzz_sign_in_never_fails_on_the_server(app, email, password, next_, with_token):
    # Each example from its own address, so the per-client limit does not stop the fuzzing.
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.1.{next(ADDRESSES) % 250}.{next(ADDRESSES) % 250}"
    form = {"email": email, "password": password, "next": next_}
    if with_token:
        form["csrf_token"] = token(client)
    response = client.post("/sign-in", data=form)
    assert response.status_code in (200, 303, 400, 413, 429), response.status_code
    if response.status_code == 303:
        assert safe_next(response.headers["Location"]) == response.headers["Location"]
    field = re.search(r'<input[^>]*name="password"[^>]*>', response.get_data(as_text=True))
    if field:  # the form shown again never holds the password
        assert re.search(r'value="[^"]', field.group(0)) is None, field.group(0)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.lists(st.tuples(st.sampled_from(["email", "password", "next", "csrf_token", "x"]),
                           st.text(max_size=50)), max_size=8).map(
            lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
        ),
    ),
    content_type=st.sampled_from([
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "multipart/form-data", "application/json", "text/plain", "",
    ]),
    with_token=st.booleans(),
)  # fmt: skip
def test_fuzz_raw_sign_in_bodies_never_fail_on_the_server(app, body, content_type, with_token):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.2.{next(ADDRESSES) % 250}.{next(ADDRESSES) % 250}"
    if with_token and content_type.startswith("application/x-www"):
        body = b"csrf_token=" + token(client).encode() + b"&" + body
    response = client.post("/sign-in", data=body, content_type=content_type)
    assert response.status_code in (200, 303, 400, 413, 429), response.status_code
