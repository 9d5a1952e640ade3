"""Where the corpus, the index and the accounts live, and how permalinks are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path(".kb/index")
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
ACCOUNTS_FILE = "accounts.sqlite3"  # beside the index folder unless KB_ACCOUNTS says otherwise
SECRET_KEY_FILE = "secret_key"  # beside the accounts database


@dataclass(frozen=True)
class Settings:
    corpus: Path
    index: Path
    base_url: str = DEFAULT_BASE_URL
    accounts: Path | None = None  # None: `<index parent>/accounts.sqlite3`

    @classmethod
    def resolve(
        cls,
        corpus: str | Path | None = None,
        index: str | Path | None = None,
        base_url: str | None = None,
        accounts: str | Path | None = None,
    ) -> Settings:
        """Explicit values win, then KB_CORPUS / KB_INDEX / KB_BASE_URL / KB_ACCOUNTS, then
        the defaults."""
        corpus_path = Path(corpus or os.environ.get("KB_CORPUS") or DEFAULT_CORPUS)
        index_path = Path(index or os.environ.get("KB_INDEX") or DEFAULT_INDEX)
        url = (base_url or os.environ.get("KB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        accounts_value = accounts or os.environ.get("KB_ACCOUNTS")
        return cls(
            corpus=corpus_path.resolve(),
            index=index_path.resolve(),
            base_url=url,
            accounts=Path(accounts_value).resolve() if accounts_value else None,
        )

    @property
    def accounts_path(self) -> Path:
        """The accounts database: never inside the corpus, whose files anyone may be shown."""
        return self.accounts or self.index.parent / ACCOUNTS_FILE

    @property
    def secret_key_path(self) -> Path:
        """The web sessions' signing key, created on first use unless KB_SECRET_KEY is set."""
        return self.accounts_path.parent / SECRET_KEY_FILE
