"""How members sign in: the `[sign_in]` table of the corpus's `kb.toml`, and the environment.

```toml
[sign_in]
password = true                       # the password form; false turns it off
coordinators = ["anna@atea.example"]  # single sign-on makes these coordinators

[sign_in.oidc]                        # OpenID Connect single sign-on
issuer = "https://login.example.org/realms/kb"
client_id = "kb"
client_secret_file = "/etc/kb/oidc-client-secret"   # outside the corpus
scopes = ["openid", "email", "profile"]
organisation_claim = "organisation"   # optional: else the e-mail domain decides
```

The environment overrides the file: KB_OIDC_ISSUER, KB_OIDC_CLIENT_ID, KB_OIDC_SCOPES
(space-separated), KB_OIDC_ORGANISATION_CLAIM, KB_PASSWORD_SIGN_IN (`0` turns the password
form off). The client secret is KB_OIDC_CLIENT_SECRET, or the file KB_OIDC_CLIENT_SECRET_FILE
or `client_secret_file` names. It is never read from the corpus, whose files may be shown to
anyone: a `client_secret` in `kb.toml`, or a secret file inside the corpus, is refused.

A user signing in through the provider belongs to the organisation its `organisation_claim`
names (an id, name or alias from organisations.toml), else to the one whose `email_domains`
list the domain of its e-mail address. Organisations with `member = false` are not members.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kb.access import CONFIG_FILE
from kb.accounts import check_email, normalise_email
from kb.errors import AccountError, ConfigError
from kb.vocabulary import Organisation, Vocabulary

DEFAULT_SCOPES = ("openid", "email", "profile")
SIGN_IN_KEYS = {"password", "coordinators", "oidc"}
OIDC_KEYS = {"issuer", "client_id", "client_secret_file", "scopes", "organisation_claim"}
SECRET_IN_CORPUS = (
    "the OpenID Connect client secret must not be stored in the corpus, whose files may be "
    "shown to anyone: set KB_OIDC_CLIENT_SECRET, or name a file outside the corpus in "
    "KB_OIDC_CLIENT_SECRET_FILE or client_secret_file"
)


@dataclass(frozen=True)
class OidcSettings:
    """One OpenID Connect provider, as kb signs in with it."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    organisation_claim: str | None = None

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class SignInSettings:
    password: bool = True
    coordinators: frozenset[str] = frozenset()
    oidc: OidcSettings | None = None


def _table(data: object, where: str, allowed: set[str]) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table")
    if "client_secret" in data:
        raise ConfigError(f"{where}: {SECRET_IN_CORPUS}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(allowed))})"
        )
    return data


def _read_secret(path_text: str, corpus: Path) -> str:
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        raise ConfigError(f"the client secret file {path_text!r} must be an absolute path")
    if path.resolve().is_relative_to(corpus.resolve()):
        raise ConfigError(SECRET_IN_CORPUS)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the client secret file {path}: {exc.strerror or exc}"
        ) from exc
    if not secret:
        raise ConfigError(f"the client secret file {path} is empty")
    return secret


def _oidc(table: dict, corpus: Path, env: Mapping[str, str], where: str) -> OidcSettings | None:
    issuer = env.get("KB_OIDC_ISSUER") or table.get("issuer") or ""
    client_id = env.get("KB_OIDC_CLIENT_ID") or table.get("client_id") or ""
    if not issuer and not client_id:
        return None
    if not (isinstance(issuer, str) and issuer.startswith(("https://", "http://"))):
        raise ConfigError(f"{where}: issuer must be the provider's URL, not {issuer!r}")
    if not isinstance(client_id, str) or not client_id:
        raise ConfigError(f"{where}: client_id is missing")
    secret = env.get("KB_OIDC_CLIENT_SECRET", "").strip()
    secret_file = env.get("KB_OIDC_CLIENT_SECRET_FILE") or table.get("client_secret_file")
    if not secret and secret_file:
        secret = _read_secret(str(secret_file), corpus)
    if not secret:
        raise ConfigError(
            f"{where}: no client secret: set KB_OIDC_CLIENT_SECRET or KB_OIDC_CLIENT_SECRET_FILE"
        )
    scopes_value = env.get("KB_OIDC_SCOPES") or table.get("scopes") or list(DEFAULT_SCOPES)
    scopes = tuple(scopes_value.split() if isinstance(scopes_value, str) else scopes_value)
    if "openid" not in scopes or not all(isinstance(s, str) for s in scopes):
        raise ConfigError(f"{where}: scopes must be a list of names that includes openid")
    claim = env.get("KB_OIDC_ORGANISATION_CLAIM") or table.get("organisation_claim") or None
    return OidcSettings(issuer.rstrip("/"), client_id, secret, scopes, claim)


def load_sign_in_settings(corpus: Path, env: Mapping[str, str] | None = None) -> SignInSettings:
    """The sign-in settings of the corpus at `corpus`, the environment `env` overriding."""
    env = os.environ if env is None else env
    path = corpus / CONFIG_FILE
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    where = f"{path} [sign_in]"
    table = _table(data.get("sign_in", {}), where, SIGN_IN_KEYS)
    oidc_table = _table(table.get("oidc", {}), f"{path} [sign_in.oidc]", OIDC_KEYS)
    password = table.get("password", True)
    if "KB_PASSWORD_SIGN_IN" in env:
        password = env["KB_PASSWORD_SIGN_IN"].strip().lower() not in ("0", "false", "no", "off")
    if not isinstance(password, bool):
        raise ConfigError(f"{where}: password must be true or false")
    coordinators = table.get("coordinators", [])
    if not isinstance(coordinators, list) or not all(isinstance(c, str) for c in coordinators):
        raise ConfigError(f"{where}: coordinators must be a list of e-mail addresses")
    try:
        named = frozenset(check_email(c) for c in coordinators)
    except AccountError as exc:
        raise ConfigError(f"{where}: coordinators: {exc}") from exc
    oidc = _oidc(oidc_table, corpus, env, f"{path} [sign_in.oidc]")
    return SignInSettings(password, named, oidc)


def member_organisation(
    claims: Mapping[str, object], settings: SignInSettings, vocabulary: Vocabulary
) -> Organisation | None:
    """The organisation a provider's user signs in for, or None when it is unknown or not a
    member of the network (a named coordinator's organisation counts, as Atea does, which
    coordinates the network without being a member). The configured claim decides when the
    user has it, else the domain of the e-mail address."""
    assert settings.oidc is not None
    claim = settings.oidc.organisation_claim
    value = claims.get(claim) if claim else None
    email = normalise_email(str(claims.get("email") or ""))
    if isinstance(value, str) and value.strip():
        org = vocabulary.organisation(value)
    else:
        domain = email.rpartition("@")[2] if "@" in email else ""
        org = vocabulary.organisation_for_domain(domain) if domain else None
    if org is None or not (org.member or email in settings.coordinators):
        return None
    return org
