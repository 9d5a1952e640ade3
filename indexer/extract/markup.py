"""Markup out of Markdown prose: comments, template tags, MDX module lines, HTML and JSX
tags, then inline Markdown (links, images, emphasis, escapes).

Code spans are parked as placeholders while the rest is cleaned, so that nothing inside
them is taken for markup, and restored as written at the end.
"""

from __future__ import annotations

import html
import re

from .text import collapse_whitespace

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


def clean_prose(text: str, spans: list[str]) -> str:
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


def clean_inline(text: str, spans: list[str]) -> str:
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


def table_cells(line: str) -> str:
    """The cells of a table row, joined with ` · `; empty cells left out."""
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
    return " · ".join(c for c in cells if c)
