"""Single sign-on in real headless Chromium: `kb serve` in a subprocess, the OpenID Connect
provider on 127.0.0.1 (tests/oidc_provider.py), and the browser going from one to the other
and back, with nothing fetched beyond loopback."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from kb.access import CONFIG_FILE
from kb.accounts import AccountStore
from tests.conftest import BUNDLED_CORPUS
from tests.oidc_provider import Provider, running_provider
from tests.prerequisites import CHROMIUM, needs
from tests.test_browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    MEMBERS_NOTE,
    MOBILE,
    free_port,
    indexed_copy,
    kb_server,
)

pytestmark = [pytest.mark.browser, needs("chromium", "playwright", "oidc-provider-mock")]
try:
    from playwright import sync_api
    from playwright.sync_api import expect
except ImportError:
    sync_api = expect = None

MEMBER = "liv@ikea.example"
STRANGER = "eve@elsewhere.example"
LOOPBACK = re.compile(r"^https?://127\.0\.0\.1[:/]")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture(scope="module")
def served(tmp_path_factory, provider) -> Iterator[tuple[str, AccountStore]]:
    organisations = (BUNDLED_CORPUS / "organisations.toml").read_text(encoding="utf-8")
    organisations = organisations.replace(
        'id = "ikea"\n', 'id = "ikea"\nemail_domains = ["ikea.example"]\n', 1
    )
    kb_toml = (BUNDLED_CORPUS / CONFIG_FILE).read_text(encoding="utf-8")
    kb_toml += '\n[sign_in]\npassword = false\n\n[sign_in.oidc]\nclient_id = "kb-browser"\n'
    settings = indexed_copy(tmp_path_factory.mktemp("browser-oidc"),
                            {"organisations.toml": organisations, CONFIG_FILE: kb_toml})  # fmt: skip
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KB_OIDC_ISSUER", provider.url)
        env.setenv("KB_OIDC_CLIENT_SECRET", "the browser test's client secret")
        env.setenv("KB_BASE_URL", f"http://127.0.0.1:{port}")
        env.setenv("KB_ACCOUNTS", str(settings.accounts_path))
        env.delenv("KB_PASSWORD_SIGN_IN", raising=False)
        with kb_server(settings.corpus, settings.index, port=port) as base:
            yield base, AccountStore(settings.accounts_path)


@pytest.fixture
def page(served):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=served[0], viewport=DESKTOP)
        # Nothing beyond loopback: the provider's page asks for a stylesheet on a CDN.
        context.route(lambda url: not LOOPBACK.match(url), lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        assert errors == []
        browser.close()


def through_the_provider(page, sub: str) -> None:
    """At the provider's page: sign in as `sub`."""
    page.wait_for_url(re.compile(r"/oauth2/authorize\?"))
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_sign_in_with_the_organisations_account_and_read_members_documents(page, served, provider):
    base, store = served
    provider.set_user("liv", email=MEMBER, email_verified=True)
    page.goto("/search?q=forum+meeting+members")
    expect(page.locator(".hit", has_text=MEMBERS_NOTE)).to_have_count(0)
    page.get_by_role("link", name="Sign in to see members' documents").click()
    expect(page.locator('input[type="password"]')).to_have_count(0)  # turned off here
    page.get_by_role("link", name="Sign in with your organisation's account").click()
    through_the_provider(page, "liv")
    # Back at kb, signed in, on the search the member started from.
    page.wait_for_url(re.compile(re.escape(base) + r"/search\?q=forum\+meeting\+members$"))
    expect(page.locator(".signed-in")).to_contain_text(MEMBER)
    expect(page.locator(".hit", has_text=MEMBERS_NOTE).first).to_be_visible()
    account = store.get(MEMBER)
    assert (account.organisation, account.role) == ("ikea", "member")
    assert provider.asked("/oauth2/token")[-1]["code_verifier"]  # PKCE, as the browser went
    # Signing out ends it; the members' note is gone again.
    page.get_by_role("button", name="Sign out").click()
    page.goto("/search?q=forum+meeting+members")
    expect(page.locator(".hit", has_text=MEMBERS_NOTE)).to_have_count(0)


def test_a_stranger_is_told_their_organisation_is_not_a_member(page, served, provider):
    base, store = served
    provider.set_user("eve", email=STRANGER)
    page.goto("/sign-in/oidc")
    through_the_provider(page, "eve")
    page.wait_for_url(re.compile(re.escape(base) + r"/sign-in/oidc/callback\?"))
    expect(page.locator("h1")).to_have_text("Your organisation is not a member")
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    assert store.get(STRANGER) is None


def api_status(url: str, token: str | None = None) -> int:
    """The status of a GET from outside the browser (no cookies), with `token` if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_member_makes_uses_and_revokes_an_api_token(page, served, provider):
    base, _ = served
    note = f"{base}/api/doc/meetings/2024-12-11-forum-meeting"  # visibility: members
    provider.set_user("tor", email="tor@ikea.example")
    page.goto("/sign-in/oidc")
    through_the_provider(page, "tor")
    page.wait_for_url(re.compile(re.escape(base) + "/$"))
    page.get_by_role("link", name="API tokens").click()
    expect(page.locator("h1")).to_have_text("API tokens")
    page.get_by_label("What it is for").fill("feed reader")
    page.get_by_role("button", name="Make a token").click()
    expect(page.locator(".made-token")).to_contain_text("shown only this once")
    token = page.locator("input.new-token").input_value()
    assert api_status(note) == 404
    assert api_status(note, token) == 200
    # The page shows the token's name and state, never the token again.
    page.goto("/account/tokens")
    expect(page.locator(".token-list")).to_contain_text("feed reader")
    assert token not in page.content()
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator(".token-list")).to_contain_text("revoked")
    assert api_status(note, token) == 401
