"""Markdown and MDX: front matter into metadata, headings into sections, markup into plain text.

This is not a full CommonMark parser and does not try to be: the goal is searchable prose
with correct heading paths. The input goes through three stages:

1. split off the front matter (YAML `---` or TOML `+++`);
2. split the body into prose and fenced code, so that nothing inside a code fence is ever
   taken for a heading, a tag or a template directive; MyST directives (```` ```{note} ````)
   are fences too, but their content is prose and goes back into the prose stream;
3. clean the prose (comments, template tags, MDX imports, JSX and HTML tags), then read it
   line by line into headings and paragraphs, and strip inline markup from each paragraph.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.text import parse_date

from .base import Block, Extraction, Skipped
from .text import MAX_TITLE_CHARS, collapse_whitespace, declared_language

# Front-matter keys that mean "publication date" when there is no plain `date`.
_DATE_ALIASES = ("published_date", "date_published", "published", "publishDate", "pubDate")

# MyST directives whose content is generated at build time (file includes, schema tables,
# tables of contents): their text in the source is paths and options, not prose.
_DROPPED_DIRECTIVES = frozenset(
    {
        "toctree",
        "include",
        "literalinclude",
        "jsoninclude",
        "jsoninclude-quote",
        "jsonschema",
        "field-description",
        "code-description",
        "extensionlist",
        "extensionexplorerlinklist",
        "workedexamplelist",
        "image",
        "raw",
        "mermaid",
    }
)
_CODE_DIRECTIVES = frozenset({"code", "code-block", "code-cell", "sourcecode"})
# Directives whose argument is a condition or layout hint rather than a title.
_ARGUMENTLESS_DIRECTIVES = frozenset({"ifconfig", "only", "tab-set", "grid", "div"})
_VERSION_DIRECTIVES = {
    "versionadded": "New in version {}",
    "versionchanged": "Changed in version {}",
    "deprecated": "Deprecated since version {}",
}

_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*?)\s*$")
_DIRECTIVE_INFO_RE = re.compile(r"^\{([\w:-]+)\}\s*(.*)$")
_DIRECTIVE_OPTION_RE = re.compile(r"^\s*:[\w-]+:(\s|$)")
_COLON_FENCE_RE = re.compile(r"^ {0,3}:{3,}\s*(.*?)\s*$")

_ATX_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM_RE = re.compile(r"^\s*(?:([-*+])|(\d{1,9}[.)]))\s+(.*)$")
_TASK_BOX_RE = re.compile(r"^\[[ xX]\]\s+")
_BLOCKQUOTE_RE = re.compile(r"^\s*(?:>\s?)+")
_TABLE_DELIMITER_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK_DEFINITION_RE = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*\S+.*$")
_FOOTNOTE_DEFINITION_RE = re.compile(r"^ {0,3}\[\^[^\]]+\]:\s*")
_MYST_TARGET_RE = re.compile(r"^\([\w.-]+\)=\s*$")
_HEADING_ID_RE = re.compile(r"\s*\{#[\w.:-]+\}\s*$")

_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Template tags may span lines but never a blank line; that bounds the damage of a stray `{{`.
# Every span below has an upper length: an unclosed marker repeated along one long line would
# otherwise make each match attempt scan to the end of the line (quadratic time).
_TEMPLATE_TAG_RE = re.compile(
    r"\{%(?:(?!\n\s*\n).){0,500}?%\}|\{\{(?:(?!\n\s*\n).){0,500}?\}\}|\{#(?:(?!\n\s*\n).){0,500}?#\}",
    re.S,
)
_JSX_COMMENT_RE = re.compile(r"\{/\*.*?\*/\}", re.S)
_MDX_IMPORT_RE = re.compile(r"^import\s+(?:[\w*{}\s,]+\s+from\s+)?['\"]|^import\s*\{")
_MDX_EXPORT_RE = re.compile(
    r"^export\s+(?:default\b|const\b|let\b|var\b|function\b|async\b|class\b|\{|\*)"
)
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>")
_TAG_START_RE = re.compile(r"<(/?)([A-Za-z][\w.:-]*)")

# Roles like {ref}`Title <target>`, code spans of any backtick length.
_ROLE_RE = re.compile(r"(?<![\w`}-])\{[a-z][\w:.-]*\}(`+)(.+?)\1")
_CODE_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)((?:[^\n]|\n(?![ \t]*\n))+?)(?<!`)\1(?!`)")
_PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")

_IMAGE_RE = re.compile(r"!\[([^\]]{0,500})\](?:\((?:[^()]|\([^()]*\)){0,500}\)|\[[^\]]{0,500}\])")
_LINK_RE = re.compile(r"\[([^\]]{1,500})\]\((?:[^()]|\([^()]*\)){0,500}\)")
_REFERENCE_LINK_RE = re.compile(r"\[([^\]]{1,500})\]\[[^\]]{0,500}\]")
_FOOTNOTE_REF_RE = re.compile(r"\[\^[^\]]+\]")
_STRONG_RE = re.compile(r"(\*\*\*|___|\*\*|__|~~)(?=\S)(.{1,300}?)(?<=\S)\1")
_STAR_EMPHASIS_RE = re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.{1,300}?)(?<=[^\s*\\])\*(?![\w*])")
_UNDERSCORE_EMPHASIS_RE = re.compile(r"(?<![\w\\])_(?=[^\s_])(.{1,300}?)(?<=[^\s_\\])_(?!\w)")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")

# HTML elements whose closing should separate text as a line break would.
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "iframe",
        "center",
    ]
)
_HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
# Elements whose content is never prose.
_SKIPPED_CONTENT_TAGS = frozenset({"script", "style", "svg", "template", "noscript"})
_MAX_TAG_CHARS = 10_000


@dataclass
class _Segment:
    """A run of prose lines, or one code block kept verbatim."""

    kind: str  # "prose" | "code"
    lines: list[str] = field(default_factory=list)


@dataclass
class _Fence:
    marker: str  # the backticks or tildes that opened it
    kind: str  # "code" | "prose" | "drop"


# --- front matter ------------------------------------------------------------------------


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


def _split_front_matter(text: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
    """Return the front matter (empty when absent or broken) and the body after it."""
    first_line, _, rest = text.partition("\n")
    delimiter = first_line.rstrip()
    if delimiter not in ("---", "+++"):
        return {}, text
    closers = ("---", "...") if delimiter == "---" else ("+++",)
    lines = rest.split("\n")
    index = next((i for i, line in enumerate(lines) if line.rstrip() in closers), None)
    if index is None:
        # No closing line: a thematic break that happens to open the file.
        return {}, text
    raw = "\n".join(lines[:index])
    body = "\n".join(lines[index + 1 :])
    try:
        return _parse_front_matter(raw, delimiter, text, body, warnings)
    except RecursionError:
        warnings.append("front matter is nested too deeply, ignored")
        return {}, body


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
            return {}, body
        warnings.append("front matter indented with tabs; read with tabs as spaces")
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        if delimiter == "---" and isinstance(data, str):
            # A paragraph between two thematic breaks, not front matter.
            return {}, text
        warnings.append("front matter is not a mapping, ignored")
        return {}, body
    return _plain(data), body


def _normalise_metadata(front: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
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


# --- stage 2: prose versus code ---------------------------------------------------------------


def _directive_fence(info: str) -> tuple[str, str | None]:
    """Kind of a MyST directive fence and the paragraph its argument contributes, if any."""
    match = _DIRECTIVE_INFO_RE.match(info)
    if not match:
        return "code", None
    name, argument = match.group(1).lower(), match.group(2).strip()
    if name in _DROPPED_DIRECTIVES or name.startswith(("csv-table", "json")):
        return "drop", None
    if name in _CODE_DIRECTIVES:
        return "code", None
    if name in _VERSION_DIRECTIVES and argument:
        return "prose", _VERSION_DIRECTIVES[name].format(argument)
    if name in _ARGUMENTLESS_DIRECTIVES:
        return "prose", None
    return "prose", argument or None


def _segments(body: str) -> list[_Segment]:
    """Split the body into prose and code; unwrap prose directives into the prose."""
    segments: list[_Segment] = [_Segment("prose")]
    fences: list[_Fence] = []
    directive_start = False  # just inside a directive: its `:option:` lines come first

    def prose(line: str) -> None:
        if segments[-1].kind != "prose":
            segments.append(_Segment("prose"))
        segments[-1].lines.append(line)

    for line in body.split("\n"):
        match = _FENCE_RE.match(line)
        top = fences[-1] if fences else None
        closes = (
            match is not None
            and top is not None
            and match.group(1)[0] == top.marker[0]
            and len(match.group(1)) >= len(top.marker)
            and not match.group(2)
        )
        if top is not None and top.kind != "prose":
            if closes:
                fences.pop()
                if top.kind == "code":
                    prose("")
            elif top.kind == "code":
                segments[-1].lines.append(line)
            continue
        if closes:
            fences.pop()
            prose("")
            continue
        if match:
            marker, info = match.group(1), match.group(2)
            if marker[0] == "`" and "`" in info:
                # Not a fence: an inline code span at the start of a line.
                prose(line)
                continue
            kind, argument = _directive_fence(info)
            fences.append(_Fence(marker, kind))
            if kind == "code":
                segments.append(_Segment("code"))
            else:
                prose("")
                if argument:
                    prose(argument)
                    prose("")
                directive_start = kind == "prose"
            continue
        if directive_start and _DIRECTIVE_OPTION_RE.match(line):
            continue
        directive_start = False
        colon = _COLON_FENCE_RE.match(line)
        if colon:
            # Admonitions (`:::note Title`, `:::{tip}`, bare `:::`): keep only a title.
            title = re.sub(r"^\{?[\w-]*\}?\s*", "", colon.group(1)).strip("[] ")
            prose("")
            if title:
                prose(title)
                prose("")
            continue
        prose(line)
    return [s for s in segments if s.kind == "prose" or any(line.strip() for line in s.lines)]


# --- stage 3: cleaning prose -----------------------------------------------------------------


def _find_tag_end(text: str, start: int) -> int | None:
    """Index just past the `>` closing a tag opened before `start`, honouring quotes and {braces}.

    None when this is no tag after all: a `<` in prose ("a <b and c") runs into another `<`,
    a blank line or the length limit before a closing `>`.
    """
    depth = 0
    quote = ""
    limit = min(len(text), start + _MAX_TAG_CHARS)
    for index in range(start, limit):
        char = text[index]
        if char == "\n" and text.startswith("\n", index + 1):
            return None
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'" or (char == "`" and depth > 0):
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            if char == ">":
                return index + 1
            if char == "<":
                return None
    return None


def _strip_tags(text: str) -> str:
    """Remove HTML and JSX tags, keeping the text between them; raw <h2> becomes `## `."""
    out: list[str] = []
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0:
            out.append(text[position:])
            break
        out.append(text[position:start])
        match = _TAG_START_RE.match(text, start)
        end = _find_tag_end(text, match.end()) if match else None
        if match is None or end is None:
            out.append("<")
            position = start + 1
            continue
        closing, name = match.group(1) == "/", match.group(2)
        lower = name.lower()
        self_closing = text[end - 2] == "/"
        position = end
        if lower in _SKIPPED_CONTENT_TAGS and not closing and not self_closing:
            close = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(text, end)
            position = close.end() if close else len(text)
            continue
        if lower in _HEADING_TAGS and not closing:
            # A raw <h3> becomes an ATX heading on one line, whatever markup it wraps.
            close = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(text, end)
            inner = text[end : close.start()] if close else ""
            position = close.end() if close else end
            heading = collapse_whitespace(_strip_tags(inner))
            out.append(f"\n\n{'#' * _HEADING_TAGS[lower]} {heading}\n\n")
        elif lower in _HEADING_TAGS:
            out.append("\n\n")
        elif lower in _BLOCK_TAGS or name[0].isupper():
            # Block elements and JSX components end a line; their text stays.
            out.append("\n")
    return "".join(out)


def _drop_module_lines(text: str) -> str:
    """Remove MDX `import`/`export` statements, including multi-line ones."""
    kept: list[str] = []
    depth = 0
    for line in text.split("\n"):
        if depth > 0:
            depth += line.count("{") + line.count("(") - line.count("}") - line.count(")")
            continue
        if _MDX_IMPORT_RE.match(line) or _MDX_EXPORT_RE.match(line):
            depth = line.count("{") + line.count("(") - line.count("}") - line.count(")")
            continue
        kept.append(line)
    return "\n".join(kept)


def _clean_prose(text: str, spans: list[str]) -> str:
    """Remove everything that is not prose; code spans are parked in `spans` as placeholders."""

    def park(content: str) -> str:
        spans.append(collapse_whitespace(content))
        return f"\ue000{len(spans) - 1}\ue001"

    text = _HTML_COMMENT_RE.sub("", text)
    text = _ROLE_RE.sub(lambda m: park(re.sub(r"\s*<[^<>]*>$", "", m.group(2))), text)
    text = _CODE_SPAN_RE.sub(lambda m: park(m.group(2).strip()), text)
    text = _TEMPLATE_TAG_RE.sub("", text)
    text = _JSX_COMMENT_RE.sub("", text)
    text = _drop_module_lines(text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    return _strip_tags(text)


def _clean_inline(text: str, spans: list[str]) -> str:
    """Strip inline Markdown (links, images, emphasis, escapes) and restore code spans."""
    text = _IMAGE_RE.sub(r"\1", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _REFERENCE_LINK_RE.sub(r"\1", text)
    text = _FOOTNOTE_REF_RE.sub("", text)
    for _ in range(3):  # nested emphasis, e.g. **bold *and italic***
        text = _STRONG_RE.sub(r"\2", text)
    text = _STAR_EMPHASIS_RE.sub(r"\1", text)
    text = _UNDERSCORE_EMPHASIS_RE.sub(r"\1", text)
    text = _ESCAPE_RE.sub(r"\1", text)
    text = html.unescape(text)
    text = _PLACEHOLDER_RE.sub(lambda m: spans[int(m.group(1))], text)
    return collapse_whitespace(text)


def _table_cells(line: str) -> str:
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
    return " · ".join(c for c in cells if c)


# --- reading lines into sections -----------------------------------------------------------


class _Sections:
    """Collects paragraphs under the current heading path."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.headings: list[tuple[int, str]] = []
        self.paragraphs: list[str] = []
        self.first_h1: str | None = None

    def paragraph(self, text: str) -> None:
        if text:
            self.paragraphs.append(text)

    def heading(self, level: int, text: str) -> None:
        if not text:
            return  # e.g. `<h2>{{ year }}</h2>` once the template tag is gone
        self.close_section()
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))

    def close_section(self) -> None:
        if self.paragraphs:
            path = tuple(text for _, text in self.headings)
            self.blocks.append(Block(text="\n\n".join(self.paragraphs), heading_path=path))
        self.paragraphs = []


def _read_prose(lines: list[str], sections: _Sections, spans: list[str]) -> None:
    pending: list[str] = []  # lines of the paragraph being read
    table = False

    def flush() -> None:
        nonlocal table
        if pending:
            if table:
                rows = (_clean_inline(_table_cells(row), spans) for row in pending)
                sections.paragraph("\n".join(row for row in rows if row))
            else:
                sections.paragraph(_clean_inline(" ".join(pending), spans))
        pending.clear()
        table = False

    for raw in lines:
        line = _BLOCKQUOTE_RE.sub("", raw) if raw.lstrip().startswith(">") else raw
        if not line.strip():
            flush()
            continue
        heading = _ATX_HEADING_RE.match(line)
        if heading:
            flush()
            text = _HEADING_ID_RE.sub("", heading.group(2) or "")
            sections.heading(len(heading.group(1)), _clean_inline(text, spans))
            continue
        if pending and not table and _SETEXT_RE.match(line) and not _LIST_ITEM_RE.match(pending[0]):
            text = _clean_inline(" ".join(pending), spans)
            pending.clear()
            sections.heading(1 if line.strip()[0] == "=" else 2, text)
            continue
        if _THEMATIC_BREAK_RE.match(line) or _MYST_TARGET_RE.match(line):
            flush()
            continue
        if _LINK_DEFINITION_RE.match(line):
            continue
        line = _FOOTNOTE_DEFINITION_RE.sub("", line)
        if _TABLE_DELIMITER_RE.match(line) and "-" in line:
            # The row before the delimiter was the table header.
            if not table:
                header = pending[-1:] if pending and "|" in pending[-1] else []
                if header:
                    pending.pop()
                flush()
                pending.extend(header)
                table = True
            continue
        if line.lstrip().startswith("|"):
            if not table:
                flush()
                table = True
            pending.append(line)
            continue
        if table and "|" in line:
            pending.append(line)
            continue
        item = _LIST_ITEM_RE.match(line)
        if item:
            flush()
            text = _TASK_BOX_RE.sub("", item.group(3))
            pending.append(f"{item.group(2)} {text}" if item.group(2) else text)
            continue
        if table:
            flush()
        pending.append(line.strip())
    flush()


def _title_like_first_line(cleaned: str) -> str | None:
    """A short first line standing alone before a blank line reads as an unmarked title."""
    lines = [line.strip() for line in cleaned.split("\n")]
    for index, line in enumerate(lines):
        if not line:
            continue
        followed_by_blank = index + 1 < len(lines) and not lines[index + 1]
        if (
            followed_by_blank
            and len(line) < MAX_TITLE_CHARS
            and line[-1] not in ".,;:!?)"
            and not line.startswith(("#", "|", ">"))
            and not _LIST_ITEM_RE.match(line)
        ):
            return line
        return None
    return None


def extract_markdown(text: str, path: Path | None = None) -> Extraction:
    """Sections, title and front-matter metadata of a Markdown or MDX document."""
    warnings: list[str] = []
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    front, body = _split_front_matter(text, warnings)
    metadata = _normalise_metadata(front, warnings)

    spans: list[str] = []
    sections = _Sections()
    fallback_title: str | None = None
    for index, segment in enumerate(_segments(body)):
        if segment.kind == "code":
            # Code stays searchable, as one paragraph (no blank lines inside).
            sections.paragraph("\n".join(line.rstrip() for line in segment.lines if line.strip()))
            continue
        cleaned = _clean_prose("\n".join(segment.lines), spans)
        if index == 0:
            fallback_title = _title_like_first_line(cleaned)
        _read_prose(cleaned.split("\n"), sections, spans)
    sections.close_section()

    title = metadata.get("title") if isinstance(metadata.get("title"), str) else None
    title = collapse_whitespace(title) if title else None
    if not title:
        title = sections.first_h1
    if not title and fallback_title:
        title = _clean_inline(fallback_title, spans)
    if not sections.blocks:
        raise Skipped("no text content")
    return Extraction(
        format="markdown",
        title=title or None,
        blocks=sections.blocks,
        metadata=metadata,
        warnings=warnings,
    )
