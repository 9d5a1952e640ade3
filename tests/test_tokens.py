"""Personal API tokens: made once, stored as hashes, revocable, expiring, and reading
exactly what their owner reads on /api/*, never acting on a form (issue 15)."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from kb.accounts import AccountStore
from kb.errors import AccountError, UnknownToken
from kb.tokens import TOKEN_RE, TokenStore
from webui import create_app
from webui.tokens import INVALID

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id, cheaply
ANN, ANN_PASSWORD = "ann@ikea.example", "violet kettle under 9 moons"  # member of ikea
SIV, SIV_PASSWORD = "siv@skovde.example", "seven quiet herons at dusk"  # member of skovde-kommun
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'type="hidden" name="csrf_token" value="([^"]+)"')  # fmt: skip
SELF_ASSESSMENT = "self-assessments/2025-skovde-kommun"  # organisation:skovde-kommun
MEETING = "meetings/2024-12-11-forum-meeting"  # members


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    accounts = AccountStore(tmp_path / "accounts.sqlite3", hasher=FAST)
    accounts.add(ANN, "ikea", ANN_PASSWORD)
    accounts.add(SIV, "skovde-kommun", SIV_PASSWORD)
    return TokenStore(accounts)


@pytest.fixture
def app(bundled_index, store: TokenStore):
    settings = dataclasses.replace(bundled_index, accounts=store.accounts.path)
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    app.extensions["kb_accounts"] = store.accounts
    return app


def csrf(client, path: str) -> str:
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1) or match.group(2)


def signed_in(app, email: str, password: str):
    client = app.test_client()
    form = {"csrf_token": csrf(client, "/sign-in"), "email": email, "password": password}
    assert client.post("/sign-in", data=form).status_code == 303
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def timeless(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "elapsed_ms"}


def expire(store: TokenStore, token_id: str) -> None:
    with sqlite3.connect(store.accounts.path) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires = ? WHERE id = ?",
            ("2020-01-01T00:00:00+00:00", token_id),
        )


# ---- the store -------------------------------------------------------------------------------


def test_a_token_is_stored_only_as_its_hash(store):
    made = store.create(ANN, "feed reader", 30)
    assert TOKEN_RE.fullmatch(made.token)
    raw = store.accounts.path.read_bytes()
    # The secret is everything after `kb_<id>_`; it may itself contain "_".
    secret = made.token[len(f"kb_{made.info.id}_") :]
    assert len(secret) == 43
    assert made.token.encode() not in raw and secret.encode() not in raw
    with sqlite3.connect(store.accounts.path) as conn:
        dump = "\n".join(conn.iterdump())
    assert secret not in dump and made.token not in dump
    assert made.info.id in dump  # the id is the lookup key, not a secret
    assert store.authenticate(made.token).email == ANN


def test_each_token_is_new_and_only_its_exact_text_works(store):
    first, second = store.create(ANN), store.create(ANN)
    assert first.token != second.token and first.info.id != second.info.id
    wrong_secret = first.token[:-4] + ("AAAA" if not first.token.endswith("AAAA") else "BBBB")
    for bad in (
        wrong_secret,
        first.token + "x",
        first.token.upper(),
        "",
        "kb_",
        "Bearer " + first.token,
    ):
        assert store.authenticate(bad) is None, bad


def test_revoked_expired_and_disabled_tokens_stop_working(store):
    revoked, expired, disabled = store.create(ANN), store.create(ANN), store.create(SIV)
    store.revoke(revoked.info.id)
    expire(store, expired.info.id)
    store.accounts.set_disabled(SIV)
    assert store.authenticate(revoked.token) is None
    assert store.authenticate(expired.token) is None
    assert store.authenticate(disabled.token) is None
    states = {t.id: t.state() for t in store.tokens(ANN)}
    assert states == {revoked.info.id: "revoked", expired.info.id: "expired"}
    store.accounts.set_disabled(SIV, False)
    assert store.authenticate(disabled.token).email == SIV


def test_a_removed_accounts_tokens_go_with_it(store):
    made = store.create(SIV)
    store.accounts.remove(SIV)
    store.accounts.add(SIV, "ikea", SIV_PASSWORD)  # the same address again, another account
    assert store.authenticate(made.token) is None
    assert store.tokens(SIV) == []


def test_only_the_owner_may_revoke_through_the_web(store):
    made = store.create(ANN)
    with pytest.raises(UnknownToken):
        store.revoke(made.info.id, email=SIV)
    assert store.authenticate(made.token) is not None
    store.revoke(made.token, email=ANN)  # the whole token names its id too
    assert store.authenticate(made.token) is None


def test_expiry_is_bounded(store):
    for days in (0, -1, 367):
        with pytest.raises(AccountError):
            store.create(ANN, days=days)


def test_last_used_is_recorded(store):
    made = store.create(ANN)
    assert store.tokens(ANN)[0].last_used is None
    store.authenticate(made.token)
    assert store.tokens(ANN)[0].last_used is not None


# ---- the CLI ---------------------------------------------------------------------------------


def kb(store: TokenStore, *args: str):
    return CliRunner().invoke(main, ["tokens", "--accounts", str(store.accounts.path), *args])


def test_kb_tokens_create_prints_the_token_once_and_list_never(store):
    made = kb(store, "create", ANN, "--name", "nightly export", "--expires", "7")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert TOKEN_RE.fullmatch(token), made.stdout
    assert "shown only now" in made.stderr
    assert store.authenticate(token).email == ANN
    listed = kb(store, "list", ANN)
    assert listed.exit_code == 0 and "nightly export" in listed.output and "active" in listed.output
    assert token not in listed.output and token.split("_", 2)[2] not in listed.output
    as_json = kb(store, "list", ANN, "--json")
    assert '"state": "active"' in as_json.output and token not in as_json.output


def test_kb_tokens_revoke(store):
    token = kb(store, "create", SIV).stdout.strip()
    token_id = TOKEN_RE.fullmatch(token)[1]
    revoked = kb(store, "revoke", token_id)
    assert revoked.exit_code == 0 and token_id in revoked.output
    assert store.authenticate(token) is None
    assert "revoked" in kb(store, "list", SIV).output
    assert kb(store, "revoke", "0123456789ab").exit_code == 1


def test_kb_tokens_refuses_what_it_cannot_do(store):
    assert kb(store, "create", "nobody@ikea.example").exit_code == 1
    assert kb(store, "list", "nobody@ikea.example").exit_code == 1
    assert kb(store, "create", ANN, "--expires", "0").exit_code == 2
    assert kb(store, "create", ANN, "--expires", "1000").exit_code == 2


# ---- the web: Bearer on /api/* ---------------------------------------------------------------


def test_a_token_reads_exactly_what_its_owner_reads(app, store):
    token = store.create(SIV).token
    session = signed_in(app, SIV, SIV_PASSWORD)
    anonymous = app.test_client()
    for path in ("/api/search?q=self-assessment", f"/api/doc/{SELF_ASSESSMENT}",
                 f"/api/doc/{MEETING}", "/api/search?sort=newest&size=50", "/api/"):  # fmt: skip
        with_token = anonymous.get(path, headers=bearer(token))
        with_session = session.get(path)
        assert with_token.status_code == with_session.status_code == 200, path
        assert timeless(with_token.get_json()) == timeless(with_session.get_json()), path
        assert with_token.headers["Cache-Control"] == "private, no-store"
        assert "Authorization" in with_token.headers["Vary"]
    assert SELF_ASSESSMENT in anonymous.get(
        "/api/search?q=self-assessment", headers=bearer(token)
    ).get_data(as_text=True)


def test_another_organisations_token_does_not_read_the_self_assessment(app, store):
    token = store.create(ANN).token
    assert (
        app.test_client().get(f"/api/doc/{SELF_ASSESSMENT}", headers=bearer(token)).status_code
        == 404
    )
    assert app.test_client().get(f"/api/doc/{MEETING}", headers=bearer(token)).status_code == 200
    assert app.test_client().get(f"/api/doc/{MEETING}").status_code == 404


@pytest.mark.parametrize("case", ["unknown", "malformed", "revoked", "expired", "empty"])
def test_a_bad_token_gets_401_in_json(app, store, case):
    made = store.create(ANN)
    token = {"unknown": "kb_0123456789ab_" + "A" * 43, "malformed": "not a token", "empty": ""}.get(
        case, made.token
    )
    if case == "revoked":
        store.revoke(made.info.id)
    if case == "expired":
        expire(store, made.info.id)
    response = app.test_client().get("/api/search?q=repair", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == {"error": {"status": 401, "message": INVALID}}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Set-Cookie" not in response.headers


def test_a_token_is_no_session_and_works_on_no_form(app, store):
    token = store.create(ANN).token
    client = app.test_client()
    # Pages outside /api/ ignore it: the visitor is anonymous there.
    page = client.get("/", headers=bearer(token)).get_data(as_text=True)
    assert "Signed in as" not in page
    assert client.get("/account/tokens", headers=bearer(token)).status_code == 303
    before = len(store.tokens(ANN))
    for path, form in (("/account/tokens", {"name": "x", "days": "5"}),
                       ("/sign-out", {}), ("/sign-in", {"email": ANN, "password": "wrong"}),
                       (f"/account/tokens/{store.tokens(ANN)[0].id}/revoke", {})):  # fmt: skip
        response = client.post(path, data=form, headers=bearer(token))
        assert response.status_code in (400, 405), (path, response.status_code)
        assert "Signed in as" not in client.get("/").get_data(as_text=True)
    assert len(store.tokens(ANN)) == before and store.tokens(ANN)[0].state() == "active"
    # Nor does a POST to /api/ do anything with it.
    assert client.post("/api/search?q=repair", headers=bearer(token)).status_code in (400, 405)


def test_failed_tokens_are_rate_limited_per_client(app, store):
    app.config["KB_TOKEN_CLIENT_LIMIT"] = "3 per 15 minutes"
    token = store.create(ANN).token
    client = app.test_client()
    assert client.get("/api/search?q=repair", headers=bearer(token)).status_code == 200
    for _ in range(3):
        assert client.get("/api/search?q=repair", headers=bearer("kb_wrong")).status_code == 401
    limited = client.get("/api/search?q=repair", headers=bearer("kb_wrong"))
    assert limited.status_code == 429 and "error" in limited.get_json()
    # Past the limit even the right token waits: guessing cannot tell when it hit.
    assert client.get("/api/search?q=repair", headers=bearer(token)).status_code == 429
    # Another client, and requests without a token, are not affected.
    other = app.test_client()
    assert (
        other.get(
            "/api/search?q=repair", environ_base={"REMOTE_ADDR": "10.0.0.9"}, headers=bearer(token)
        ).status_code
        == 200
    )
    assert client.get("/api/search?q=repair").status_code == 200


# ---- the web: the token page -----------------------------------------------------------------


def test_a_member_makes_sees_once_and_revokes_a_token(app, store):
    client = signed_in(app, ANN, ANN_PASSWORD)
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "You have no tokens yet" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"
    made = client.post(
        "/account/tokens",
        data={"csrf_token": csrf(client, "/account/tokens"), "name": "my feed", "days": "30"},
    )
    body = made.get_data(as_text=True)
    assert made.status_code == 200 and "shown only this once" in body
    token = re.search(r'value="(kb_[^"]+)"', body)[1]
    assert made.headers["Cache-Control"] == "private, no-store"
    assert app.test_client().get("/api/search?q=repair", headers=bearer(token)).status_code == 200
    again = client.get("/account/tokens").get_data(as_text=True)
    assert "my feed" in again and token not in again
    token_id = TOKEN_RE.fullmatch(token)[1]
    revoked = client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf(client, "/account/tokens")}
    )
    assert revoked.status_code == 303
    assert app.test_client().get("/api/search?q=repair", headers=bearer(token)).status_code == 401
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)


def test_the_token_page_needs_csrf_and_never_touches_anothers_token(app, store):
    client = signed_in(app, ANN, ANN_PASSWORD)
    assert client.post("/account/tokens", data={"name": "x", "days": "5"}).status_code == 400
    assert store.tokens(ANN) == []
    siv_token = store.create(SIV)
    answer = client.post(
        f"/account/tokens/{siv_token.info.id}/revoke",
        data={"csrf_token": csrf(client, "/account/tokens")},
    )
    assert answer.status_code == 404
    assert store.authenticate(siv_token.token) is not None
    bad = client.post(
        "/account/tokens",
        data={"csrf_token": csrf(client, "/account/tokens"), "name": "x", "days": "9999"},
    )
    assert bad.status_code == 400 and store.tokens(ANN) == []


def test_anonymous_visitors_are_sent_to_sign_in(app):
    response = app.test_client().get("/account/tokens")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_an_accounts_database_from_before_tokens_gains_them(tmp_path):
    from kb.accounts import SCHEMA

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO accounts (email, organisation, role, password_hash, created,"
            " password_changed) VALUES (?, 'ikea', 'member', 'x', '2025-01-01', '2025-01-01')",
            (ANN,),
        )
        conn.execute("PRAGMA user_version = 1")
    store = TokenStore(AccountStore(path, hasher=FAST))
    made = store.create(ANN)
    assert store.authenticate(made.token).email == ANN


@given(header=st.text(max_size=200))
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzz_any_authorization_header_is_refused_cleanly(app, header):
    """Whatever a client sends as a token: 401 in JSON (or, when it is no Bearer token at all,
    the anonymous answer), never a server error and never a member's answer."""
    app.config["KB_TOKEN_CLIENT_LIMIT"] = "100000 per minute"  # the limit has its own test
    value = header.replace("\r", " ").replace("\n", " ").replace("\x00", " ")
    for sent in (value, f"Bearer {value}", f"bearer {value}"):
        try:
            response = app.test_client().get(f"/api/doc/{MEETING}", headers={"Authorization": sent})
        except ValueError:  # a header werkzeug itself will not send
            continue
        assert response.status_code in (401, 404), (sent, response.status_code)
        assert "error" in response.get_json()


def test_a_token_reads_the_feeds_as_its_owner(app, store):
    """Feed readers carry a token, not a session: the feed holds what its owner may read."""
    if "feeds" not in app.blueprints:
        pytest.skip("this build has no Atom feeds (webui/feeds.py)")
    token = store.create(ANN).token
    title = "Forum meeting, 11 December 2024"  # the members-only note
    client = app.test_client()
    anonymous = client.get("/search.atom?q=forum+meeting+members")
    assert anonymous.status_code == 200 and title not in anonymous.get_data(as_text=True)
    member = client.get("/search.atom?q=forum+meeting+members", headers=bearer(token))
    assert member.status_code == 200 and title in member.get_data(as_text=True)
    assert member.headers["Cache-Control"] == "private, no-store"
    assert "Authorization" in member.headers["Vary"]
    assert client.get("/feed.atom", headers=bearer("kb_wrong")).status_code == 401
