"""A document's visibility, as the indexer decides it: who may read it (see kb.access).

The sidecar's value wins, then what the file declares (front matter, an HTML
`<meta name="kb-visibility">`), then the corpus configuration's default for the file's folder
(`kb.toml`, `members` without one). Unlike other metadata, a value that cannot be used is
never skipped with a warning: it fails the file (`InvalidVisibility`). Guessing could make a
private document readable, and a file that is not indexed cannot leak.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from kb.access import VisibilityConfig, parse_visibility
from kb.errors import InvalidVisibility
from kb.vocabulary import Vocabulary

KEY = "visibility"


def looks_like_visibility(key: str) -> bool:
    """Whether a metadata key (lower case, `_` for `-`) is meant as `visibility` without
    being it: `visiblity`, `visibilty`, `kb_visibility`."""
    if key == KEY:
        return False
    return key.endswith(KEY) or difflib.SequenceMatcher(None, key, KEY).ratio() >= 0.8


def check_key(raw_key: object, key: str, label: str) -> None:
    """Refuse a misspelt visibility key: the document would silently get its folder's
    default, which may be public, while its author meant to restrict it."""
    if looks_like_visibility(key):
        raise InvalidVisibility(f"unknown key {raw_key!r} in {label}: did you mean `{KEY}`?")


def decide_visibility(
    rel_path: str,
    sources: list[tuple[str, Mapping[str, Any]]],
    vocabulary: Vocabulary,
    config: VisibilityConfig | None = None,
) -> str:
    """The visibility of the document at `rel_path`, canonical (`str(Visibility)`).

    `sources` are (label, metadata with canonical keys), most authoritative first. Every
    declared value must be valid, an overridden one too: a mistake anywhere means the
    author's intent is unknown. An empty value is a mistake, not "use the default".
    """
    chosen = None
    for label, data in sources:
        if KEY not in data:
            continue
        value = data[KEY]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidVisibility(
                f"empty visibility in {label}: write public, members or organisation:<id>, "
                "or remove the key to use the folder's default"
            )
        try:
            parsed = parse_visibility(value, vocabulary)
        except InvalidVisibility as exc:
            raise InvalidVisibility(f"invalid visibility in {label}: {exc}") from None
        chosen = chosen or parsed
    if chosen is None:
        chosen = (config or VisibilityConfig()).default_for(rel_path)
    return str(chosen)
