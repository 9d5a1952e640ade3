"""Front matter of Markdown files: YAML between `---` lines or TOML between `+++` lines.

What it declares becomes the extraction's metadata, with the date and language read the way
a sidecar's are, so one value means the same wherever a coordinator writes it.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

import yaml

from kb.text import parse_date

from .text import collapse_whitespace, declared_language

# A `visibility` line (or a misspelling of one) in front matter that cannot be parsed as a
# whole: who may read the document must not fall back to its folder's default because of a
# typo elsewhere in the block.
_VISIBILITY_LINE_RE = re.compile(
    r"""^[ \t]*["']?([A-Za-z_-]*visib[A-Za-z_-]*)["']?[ \t]*[:=][ \t]*(.*?)[ \t]*$""",
    re.IGNORECASE | re.MULTILINE,
)
_KEY_LINE_RE = re.compile(r"""^["']?[\w-]+["']?[ \t]*[:=]""")
_UNCLOSED_SCAN_LINES = 50  # how far an unclosed front matter block is looked at

# Front-matter keys that mean "publication date" when there is no plain `date`.
_DATE_ALIASES = ("published_date", "date_published", "published", "publishDate", "pubDate")


def _plain(value: Any) -> Any:
    """YAML/TOML values as JSON-friendly data: dates become ISO strings, keys strings."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _yaml_with_tabs_expanded(raw: str) -> Any:
    """YAML forbids tabs for indentation, but editors insert them; a common, harmless slip."""
    if "\t" not in raw:
        return None
    try:
        return _load_yaml(raw.expandtabs(2))
    except yaml.YAMLError:
        return None


def split_front_matter(text: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
    """Return the front matter (empty when absent or broken) and the body after it.

    Problems (invalid YAML or TOML, not a mapping) are added to `warnings`.
    """
    first_line, _, rest = text.partition("\n")
    delimiter = first_line.rstrip()
    if delimiter not in ("---", "+++"):
        return {}, text
    closers = ("---", "...") if delimiter == "---" else ("+++",)
    lines = rest.split("\n")
    index = next((i for i, line in enumerate(lines) if line.rstrip() in closers), None)
    if index is None:
        # No closing line: a thematic break that happens to open the file, or front matter
        # whose closing line was forgotten (then it starts with a `key: value` line).
        if not _KEY_LINE_RE.match(lines[0]):
            return {}, text
        return _salvage_visibility("\n".join(lines[:_UNCLOSED_SCAN_LINES]), warnings), text
    raw = "\n".join(lines[:index])
    body = "\n".join(lines[index + 1 :])
    try:
        return _parse_front_matter(raw, delimiter, text, body, warnings)
    except RecursionError:
        warnings.append("front matter is nested too deeply, ignored")
        return _salvage_visibility(raw, warnings), body


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: front matter never needs them, and `&a [*a]` or a
    "billion laughs" document would otherwise become a cycle or megabytes of metadata."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in front matter", mark
            )
        return super().compose_node(parent, index)


def _load_yaml(raw: str) -> Any:
    return yaml.load(raw, Loader=_FrontMatterLoader)  # a SafeLoader subclass: no arbitrary objects


def _parse_front_matter(
    raw: str, delimiter: str, text: str, body: str, warnings: list[str]
) -> tuple[dict[str, Any], str]:
    try:
        data = _load_yaml(raw) if delimiter == "---" else tomllib.loads(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError) as error:
        kind = "YAML" if delimiter == "---" else "TOML"
        data = _yaml_with_tabs_expanded(raw) if kind == "YAML" else None
        if data is None:
            message = collapse_whitespace(str(error))[:200]
            warnings.append(f"front matter is not valid {kind}, ignored: {message}")
            return _salvage_visibility(raw, warnings), body
        warnings.append("front matter indented with tabs; read with tabs as spaces")
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        if delimiter == "---" and isinstance(data, str):
            # A paragraph between two thematic breaks, not front matter.
            return {}, text
        warnings.append("front matter is not a mapping, ignored")
        return _salvage_visibility(raw, warnings), body
    return _plain(data), body


def _salvage_visibility(raw: str, warnings: list[str]) -> dict[str, Any]:
    """The visibility lines of front matter that is otherwise ignored, as metadata (checked
    when the document is described). Several lines become a list, which the check refuses."""
    from indexer.visibility import KEY, looks_like_visibility

    found = [
        (m.group(1), _unquote_value(m.group(2)))
        for m in _VISIBILITY_LINE_RE.finditer(raw)
        if (key := m.group(1).lower().replace("-", "_")) == KEY or looks_like_visibility(key)
    ]
    if not found:
        return {}
    warnings.append("its visibility line was read all the same")
    if len(found) == 1:
        return {found[0][0]: found[0][1]}
    return {"visibility": [value for _, value in found]}


def _unquote_value(value: str) -> str:
    """`"members" # comment` -> `members`: a scalar as YAML or TOML would read it."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        return value[1:end] if end > 0 else value[1:]
    return value.split(" #", 1)[0].strip()


def front_matter_metadata(front: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The front matter as extraction metadata: ISO date, language code, title as text."""
    metadata = dict(front)
    if "date" in metadata:
        date = parse_date(metadata["date"])
        if date:
            metadata["date"] = date
        else:
            warnings.append(f"front matter date not understood: {metadata['date']!r}")
            del metadata["date"]
    else:
        for alias in _DATE_ALIASES:
            date = parse_date(metadata.get(alias))
            if date:
                metadata["date"] = date
                break
    language = declared_language([metadata.get("language"), metadata.get("lang")])
    metadata.pop("lang", None)
    if language:
        metadata["language"] = language
    else:
        metadata.pop("language", None)
    title = metadata.get("title")
    if title is not None and not isinstance(title, str):
        metadata["title"] = str(title)
    return metadata
