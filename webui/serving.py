"""The public face of a running server: the address permalinks use and the proxies trusted.

Permalinks, feed ids, OpenSearch URLs and the single sign-on callback are built from one
base URL, never from a request's `Host` header (which any client can set). `kb serve` takes
it from `--base-url` or KB_BASE_URL; without either, from the address it listens on, so
`kb serve --port 5077` writes links to port 5077.

Behind a reverse proxy, werkzeug's `ProxyFix` reads the client's address and scheme from
X-Forwarded-For / X-Forwarded-Proto, but only as many hops as the operator says proxies
stand in front of kb; from anyone else those headers are ignored, so a client cannot pose
as another address (rate limits key on it) or as an HTTPS connection (Secure cookies).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import replace
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from kb.errors import ConfigError
from kb.settings import FROM_BOUND, FROM_DEFAULT, FROM_OPTION, Settings
from kb.signin import load_sign_in_settings

WILDCARDS = {"", "0.0.0.0", "::"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine
    only: localhost or a loopback address."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_base_url(url: str) -> str:
    """`url` without its trailing slash, or ConfigError unless it is an http(s) address with
    a host and no query or fragment."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"base URL {url!r} is not a valid address: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"base URL {url!r} must be an http:// or https:// address with a host, "
            "e.g. https://kb.example.org"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL {url!r} must not carry a query or a fragment")
    return url.strip().rstrip("/")


def bound_base_url(host: str, port: int) -> str:
    """The base URL of the address `kb serve` listens on; for every interface (0.0.0.0, ::),
    this machine's name."""
    name = socket.getfqdn() if host in WILDCARDS else host
    shown = f"[{name}]" if ":" in name else name
    return f"http://{shown}:{port}"


def public_settings(
    settings: Settings,
    host: str,
    port: int,
    *,
    base_url: str | None = None,
    proxies: int | None = None,
    insecure: bool = False,
) -> tuple[Settings, list[str]]:
    """The settings `kb serve` runs with, bound to `host`:`port`, and the warnings to print.

    ConfigError when sign-in is offered on a public address with no https:// base URL (its
    passwords and session cookies would travel unencrypted), unless `insecure`."""
    if base_url:
        settings = replace(settings, base_url=checked_base_url(base_url), base_url_from=FROM_OPTION)
    elif settings.base_url_from == FROM_DEFAULT:
        settings = replace(settings, base_url=bound_base_url(host, port), base_url_from=FROM_BOUND)
    else:
        settings = replace(settings, base_url=checked_base_url(settings.base_url))
    if proxies is not None:
        settings = replace(settings, trusted_proxies=proxies)

    warnings: list[str] = []
    public = not is_loopback(host)
    link_host = urlsplit(settings.base_url).hostname or ""
    if public:
        warnings.append(
            f"binding {host or '*'} exposes kb to the network; put it behind a reverse proxy "
            "with TLS and access control (docs/deploy.md)."
        )
        if is_loopback(link_host):
            warnings.append(
                f"permalinks use {settings.base_url}, a loopback address, while kb listens on "
                f"{host}: links handed out will not work on other machines. Set --base-url to "
                "the address members use."
            )
        elif settings.base_url_from == FROM_BOUND and host in WILDCARDS:
            warnings.append(
                f"permalinks use {settings.base_url}, this machine's name; set --base-url to "
                "the address members use if it differs."
            )
    sign_in = load_sign_in_settings(settings.corpus)
    offers_sign_in = sign_in.password or sign_in.oidc is not None
    if public and offers_sign_in and not settings.base_url.startswith("https://"):
        if not insecure:
            raise ConfigError(
                f"refusing to serve sign-in on the public address {host} without HTTPS: "
                "passwords and session cookies would cross the network unencrypted. Put kb "
                "behind a TLS proxy and give its address with --base-url https://..., or bind "
                "127.0.0.1; --insecure serves anyway."
            )
        warnings.append("--insecure: sign-in is served without HTTPS on a public address.")
    return settings, warnings


def trust_proxies(app: Flask, count: int) -> None:
    """Read the client's address and scheme from the `count` proxies in front of kb (none
    when 0). The Host header is not taken from them: no URL kb hands out is built from it."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)  # type: ignore[method-assign]
