"""Behind a reverse proxy: the client's address and scheme come from X-Forwarded-* only as
many hops as the operator trusts, and no URL kb hands out comes from the Host header."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kb.accounts import AccountStore
from tests.test_auth import ANN, ANN_PASSWORD, CAY, CAY_PASSWORD, FAST, sign_in, who
from webui import create_app


def make_app(bundled_index, tmp_path: Path, monkeypatch, proxies: int, base_url: str):
    monkeypatch.delenv("KB_SECRET_KEY", raising=False)
    settings = dataclasses.replace(
        bundled_index,
        accounts=tmp_path / "accounts.sqlite3",
        trusted_proxies=proxies,
        base_url=base_url,
    )
    app = create_app(settings, check_interval=0)
    app.config["TESTING"] = True
    store = AccountStore(settings.accounts_path, hasher=FAST)
    app.extensions["kb_accounts"] = store
    store.add(ANN, "ikea", ANN_PASSWORD)
    store.add(CAY, "atea", CAY_PASSWORD, role="coordinator")
    return app


@pytest.fixture
def behind_proxy(bundled_index, tmp_path, monkeypatch):
    return make_app(bundled_index, tmp_path, monkeypatch, 1, "http://kb.example.org")


@pytest.fixture
def direct(bundled_index, tmp_path, monkeypatch):
    return make_app(bundled_index, tmp_path, monkeypatch, 0, "http://kb.example.org")


PROXY = {"REMOTE_ADDR": "10.0.0.2"}  # the proxy's own address, the same for every client


def test_a_trusted_proxy_gives_the_client_address_to_the_rate_limits(behind_proxy):
    web = behind_proxy.test_client()
    for i in range(20):  # one client guessing, through the proxy
        response = sign_in(web, f"guess{i}@ikea.example", "wrong password here",
                           environ_base=PROXY, headers={"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
        assert response.status_code == 200, i
    blocked = sign_in(web, CAY, CAY_PASSWORD, environ_base=PROXY,
                      headers={"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
    assert blocked.status_code == 429
    # Another client behind the same proxy is not punished for the first one's guesses.
    other = sign_in(web, CAY, CAY_PASSWORD, environ_base=PROXY,
                    headers={"X-Forwarded-For": "203.0.113.9"})  # fmt: skip
    assert other.status_code == 303


def test_a_client_cannot_spoof_its_address_through_a_trusted_proxy(behind_proxy):
    """The proxy appends the real address; only that last hop is trusted."""
    web = behind_proxy.test_client()
    for i in range(20):
        forged = f"192.0.2.{i}, 198.51.100.7"  # a forged first hop, then what the proxy saw
        response = sign_in(web, f"guess{i}@ikea.example", "wrong password here",
                           environ_base=PROXY, headers={"X-Forwarded-For": forged})  # fmt: skip
        assert response.status_code == 200, i
    blocked = sign_in(web, CAY, CAY_PASSWORD, environ_base=PROXY,
                      headers={"X-Forwarded-For": "192.0.2.99, 198.51.100.7"})  # fmt: skip
    assert blocked.status_code == 429


def test_without_trusted_proxies_forwarded_headers_are_ignored(direct):
    web = direct.test_client()
    for i in range(20):
        response = sign_in(web, f"guess{i}@ikea.example", "wrong password here",
                           headers={"X-Forwarded-For": f"198.51.100.{i}"})  # fmt: skip
        assert response.status_code == 200, i
    assert sign_in(web, CAY, CAY_PASSWORD,
                   headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429  # fmt: skip
    assert who(web) == "anonymous"


def test_a_trusted_proxy_that_speaks_https_makes_the_cookie_secure(behind_proxy):
    web = behind_proxy.test_client()
    # The proxy passes the public Host on (docs/deploy.md); CSRF checks the Referer against it.
    https = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/sign-in"}
    response = sign_in(web, ANN, ANN_PASSWORD, environ_base=PROXY, headers=https)
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_client_claiming_https_without_a_trusted_proxy_gets_no_secure_cookie(direct):
    web = direct.test_client()
    response = sign_in(web, ANN, ANN_PASSWORD, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 303
    assert "Secure" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize("fixture", ["direct", "behind_proxy"])
def test_no_url_kb_hands_out_comes_from_the_host_header(fixture, request):
    web = request.getfixturevalue(fixture).test_client()
    spoofed = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    pages = [
        "/opensearch.xml",
        "/api/search?q=repair",
        "/feed.atom",
        "/search.atom?q=repair",
        "/cite/guides/strategy-for-sustainable-it",
    ]
    for page in pages:
        response = web.get(page, headers=spoofed, environ_base=PROXY)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, page
        assert "evil.example" not in body, page
        assert "kb.example.org" in body, page
