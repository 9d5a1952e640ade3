"""The corpus's citation settings: `[citation]` in `kb.toml`.

`publisher` names who publishes the corpus. A citation names it as the publisher of every
document, and as the (corporate) author of a document whose own metadata names no author.
Organisations a document merely concerns or mentions are never taken for its author.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from kb.errors import ConfigError

CONFIG_FILE = "kb.toml"  # at the corpus root, beside organisations.toml


def load_publisher(corpus: Path) -> str | None:
    """`[citation] publisher` of the corpus's kb.toml; None without a file, table or value.

    ConfigError for a value that is not text, or for an unknown key (a misspelt `publsher`
    is never silently ignored)."""
    path = corpus / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = data.get("citation", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [citation] must be a table")
    unknown = sorted(set(table) - {"publisher"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [citation]: {', '.join(unknown)}")
    value = table.get("publisher")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: [citation] publisher must be text")
    return " ".join(value.split()) or None
