"""Where the corpus, the index and the accounts live, and how permalinks are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kb.errors import ConfigError

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path(".kb/index")
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# Where a Settings' base URL came from, for messages that say how to change it.
FROM_OPTION = "--base-url"
FROM_ENV = "KB_BASE_URL"
FROM_DEFAULT = "the default"
FROM_BOUND = "the address `kb serve` listens on"
ACCOUNTS_FILE = "accounts.sqlite3"  # beside the index folder unless KB_ACCOUNTS says otherwise
SECRET_KEY_FILE = "secret_key"  # beside the accounts database


@dataclass(frozen=True)
class Settings:
    corpus: Path
    index: Path
    base_url: str = DEFAULT_BASE_URL
    accounts: Path | None = None  # None: `<index parent>/accounts.sqlite3`
    base_url_from: str = FROM_DEFAULT  # FROM_OPTION, FROM_ENV, FROM_DEFAULT or FROM_BOUND
    # How many reverse proxies in front of kb set X-Forwarded-For/-Proto (0: trust none).
    trusted_proxies: int = 0

    @classmethod
    def resolve(
        cls,
        corpus: str | Path | None = None,
        index: str | Path | None = None,
        base_url: str | None = None,
        accounts: str | Path | None = None,
        trusted_proxies: int | None = None,
    ) -> Settings:
        """Explicit values win, then KB_CORPUS / KB_INDEX / KB_BASE_URL / KB_ACCOUNTS /
        KB_TRUSTED_PROXIES, then the defaults."""
        corpus_path = Path(corpus or os.environ.get("KB_CORPUS") or DEFAULT_CORPUS)
        index_path = Path(index or os.environ.get("KB_INDEX") or DEFAULT_INDEX)
        if base_url:
            url, source = base_url, FROM_OPTION
        elif os.environ.get("KB_BASE_URL"):
            url, source = os.environ["KB_BASE_URL"], FROM_ENV
        else:
            url, source = DEFAULT_BASE_URL, FROM_DEFAULT
        accounts_value = accounts or os.environ.get("KB_ACCOUNTS")
        if trusted_proxies is None:
            trusted_proxies = _count(
                os.environ.get("KB_TRUSTED_PROXIES", "0"), "KB_TRUSTED_PROXIES"
            )
        return cls(
            corpus=corpus_path.resolve(),
            index=index_path.resolve(),
            base_url=url.rstrip("/"),
            accounts=Path(accounts_value).resolve() if accounts_value else None,
            base_url_from=source,
            trusted_proxies=trusted_proxies,
        )

    @property
    def accounts_path(self) -> Path:
        """The accounts database: never inside the corpus, whose files anyone may be shown."""
        return self.accounts or self.index.parent / ACCOUNTS_FILE

    @property
    def secret_key_path(self) -> Path:
        """The web sessions' signing key, created on first use unless KB_SECRET_KEY is set."""
        return self.accounts_path.parent / SECRET_KEY_FILE


def _count(text: str, name: str) -> int:
    try:
        value = int(text.strip() or "0")
    except ValueError:
        value = -1
    if not 0 <= value <= 10:
        raise ConfigError(f"{name} must be a whole number of proxies from 0 to 10, not {text!r}")
    return value
