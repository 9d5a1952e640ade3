"""Markdown bodies split into prose and code, so that nothing inside a code fence is ever
taken for a heading, a tag or a template directive.

MyST directives (```` ```{note} ````) are fences too, but their content is prose and goes back
into the prose stream; directives whose content is generated at build time are dropped, and
colon fences (`:::note Title`) keep only their title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


@dataclass
class Segment:
    """A run of prose lines, or one code block kept verbatim."""

    kind: str  # "prose" | "code"
    lines: list[str] = field(default_factory=list)


@dataclass
class _Fence:
    marker: str  # the backticks or tildes that opened it
    kind: str  # "code" | "prose" | "drop"


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


def segments(body: str) -> list[Segment]:
    """Split the body into prose and code; unwrap prose directives into the prose."""
    segments: list[Segment] = [Segment("prose")]
    fences: list[_Fence] = []
    directive_start = False  # just inside a directive: its `:option:` lines come first

    def prose(line: str) -> None:
        if segments[-1].kind != "prose":
            segments.append(Segment("prose"))
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
                segments.append(Segment("code"))
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
