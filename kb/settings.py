"""Where the corpus and the index live, and how permalinks are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path(".kb/index")
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Settings:
    corpus: Path
    index: Path
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def resolve(
        cls,
        corpus: str | Path | None = None,
        index: str | Path | None = None,
        base_url: str | None = None,
    ) -> Settings:
        """Explicit values win, then KB_CORPUS / KB_INDEX / KB_BASE_URL, then the defaults."""
        corpus_path = Path(corpus or os.environ.get("KB_CORPUS") or DEFAULT_CORPUS)
        index_path = Path(index or os.environ.get("KB_INDEX") or DEFAULT_INDEX)
        url = (base_url or os.environ.get("KB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        return cls(corpus=corpus_path.resolve(), index=index_path.resolve(), base_url=url)
