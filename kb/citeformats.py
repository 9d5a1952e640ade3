"""Citation formats: one `CiteFormat` entry each, with the renderer that writes it.

Plain text and Markdown (written by a citation style of `kb.citestyles`, APA 7 by default),
BibTeX, RIS and CSL-JSON. An entry gives the format's label (the web's cite menu), file
extension and media type (downloads) and its renderer: a function from a `kb.cite.Citation`
(and, for a styled format, a style) to text. A new format is a renderer and one entry; the
CLI's `--format` choices, the web's cite menu and page and `/api/cite` all list `CITE_FORMATS`.
Only the standard library is imported here (the CSL processor when a style first writes), so
the CLI can build its choices quickly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.citestyles import DEFAULT_STYLE, MarkdownFormatter, cite_style, render_style
from kb.doctypes import type_entry

if TYPE_CHECKING:
    from kb.cite import Citation

# ISO 639-1 -> the name babel/polyglossia knows, for biblatex's `langid`
_LANGID = {
    "en": "english",
    "sv": "swedish",
    "no": "norsk",
    "da": "danish",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "nl": "dutch",
}


# ---- plain text and Markdown, written by a citation style -----------------------------------


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#!~])")
# A line starting with `-`, `+` or `1.` would become a list item; a backslash escapes the
# punctuation (CommonMark escapes ASCII punctuation only: `\1.` would show the backslash).
_MD_LIST_MARK = re.compile(r"^(\d*)([-+.)])")


def _escape_chars(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _escape_list_mark(text: str) -> str:
    match = _MD_LIST_MARK.match(text)
    if match and (match[1] or match[2] in "-+"):
        return f"{match[1]}\\{match[2]}{text[match.end() :]}"
    return text


def markdown_escape(text: str) -> str:
    """Escape text so Markdown shows it literally (emphasis, links, HTML, entities, and a
    list marker at its start)."""
    return _escape_list_mark(_escape_chars(text))


def render_text(c: Citation, style: str = DEFAULT_STYLE, locale: str | None = None) -> str:
    """The reference-list entry as the style writes it, then the in-text citation with its
    locator: `In text: (Author, 2024, p. 3)`. `locale`: the CSL locale of the style's words."""
    styled = render_style(c, style, locale=locale)
    return f"{styled.reference}\nIn text: {styled.in_text}"


def render_markdown(c: Citation, style: str = DEFAULT_STYLE, locale: str | None = None) -> str:
    """Like the text form, in Markdown: the style's italics kept, the permalink a link, every
    text from the document escaped."""
    styled = render_style(c, style, MarkdownFormatter, escape=_escape_chars, locale=locale)
    # An autolink shows the address as it is, and works.
    reference = styled.reference.replace(c.permalink, f"<{c.permalink}>", 1)
    reference = _escape_list_mark(reference)  # Vancouver's `1. ` is no list
    return f"{reference}\n\nIn text: {styled.in_text}"


# ---- BibTeX ----------------------------------------------------------------------------------

_BIB_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _braces_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def bibtex_escape(text: str) -> str:
    """Escape LaTeX's special characters; non-ASCII letters (å, ø, ä) stay UTF-8.

    BibTeX counts `\\{` and `\\}` when it balances braces, so a lone brace is written as
    `\\textbraceleft{}` / `\\textbraceright{}` instead; balanced pairs stay `\\{ \\}`.
    """
    balanced = _braces_balanced(text)
    out = []
    for ch in " ".join(text.split()):
        if ch in _BIB_ESCAPES:
            out.append(_BIB_ESCAPES[ch])
        elif ch in "{}":
            if balanced:
                out.append("\\" + ch)
            else:
                out.append(r"\textbraceleft{}" if ch == "{" else r"\textbraceright{}")
        else:
            out.append(ch)
    # Break TeX's ligatures so the text reads back as typed: -- and --- (dashes), '' and ``
    # (curly quotes), ?` and !` (inverted marks).
    escaped = "".join(out).replace("`", "{`}")
    return re.sub(r"-(?=-)", "-{}", re.sub(r"'(?=')", "'{}", escaped))


def _bib_url(url: str) -> str:
    # Permalinks are percent-encoded, so only braces could upset BibTeX; `\url` copes with % and #.
    return url.replace("{", "%7B").replace("}", "%7D")


def render_bibtex(c: Citation) -> str:
    """A BibTeX entry; without an author, no `author` field (styles then sort by title), and
    the publisher as `institution` (reports) or `organization`."""
    entry_type = type_entry(c.type).bibtex
    fields: list[tuple[str, str]] = []
    if c.authors:
        # Each name braced: a corporate name, not "Last, First and …".
        names = " and ".join(f"{{{bibtex_escape(a)}}}" for a in c.authors)
        fields.append(("author", names))
    fields.append(("title", f"{{{bibtex_escape(c.title)}}}"))  # braced: keep the capitals
    publisher = bibtex_escape(c.publisher) if c.publisher else None
    if entry_type == "techreport":
        if publisher:
            fields.append(("institution", publisher))
        fields.append(("type", bibtex_escape(c.type_label)))
    else:
        if publisher:
            fields.append(("organization", publisher))
        fields.append(("howpublished", bibtex_escape(c.type_label)))
    if c.year:
        fields.append(("year", str(c.year)))
    if c.date and re.fullmatch(r"\d{4}(-\d{2}){0,2}", c.date):
        fields.append(("date", c.date))
    if c.page is not None and c.page_unit == "page":
        fields.append(("pages", str(c.page)))
    note = []
    if c.page is not None and c.page_unit != "page":  # BibTeX knows pages, not slides
        note.append(f"{c.page_unit.capitalize()} {c.page}")
    if c.section:
        note.append(f"Section: {c.section}")
    if c.text_hash:
        note.append(f"passage version {c.text_hash}")
    if c.source_url:
        note.append(f"original: {c.source_url}")
    if note:
        fields.append(("note", bibtex_escape("; ".join(note))))
    fields += [("url", _bib_url(c.permalink)), ("urldate", c.accessed)]
    if c.language in _LANGID:
        fields.append(("langid", _LANGID[c.language]))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry_type}{{{c.key},\n{body}\n}}"


# ---- RIS -------------------------------------------------------------------------------------


def _ris_date(iso: str) -> str:
    """RIS dates are `YYYY/MM/DD/`; missing parts stay empty."""
    parts = [*iso.split("-"), "", ""]
    return f"{parts[0]}/{parts[1]}/{parts[2]}/"


def render_ris(c: Citation) -> str:
    """RIS: `TY` first, `ER` last, one `XX  - value` per line; one `AU` per author, none
    without an author."""
    lines: list[tuple[str, str]] = [
        ("TY", type_entry(c.type).ris),
        ("ID", c.key),
        ("TI", c.title),
        *(("AU", author) for author in c.authors),
    ]
    if c.publisher:
        lines.append(("PB", c.publisher))
    lines.append(("M3", c.type_label))
    if c.year:
        lines.append(("PY", str(c.year)))
    if c.date and re.fullmatch(r"\d{4}(-\d{2}){0,2}", c.date):
        lines.append(("DA", _ris_date(c.date)))
    if c.section:
        lines.append(("SE", c.section))
    if c.page is not None and c.page_unit == "page":
        lines.append(("SP", str(c.page)))
    elif c.page is not None:
        lines.append(("N1", f"{c.page_unit.capitalize()} {c.page}"))
    lines += [("LA", c.language), ("UR", c.permalink), ("Y2", _ris_date(c.accessed))]
    if c.text_hash:
        lines.append(("N1", f"Passage version {c.text_hash}"))
    if c.source_url:
        lines.append(("N1", f"Original: {c.source_url}"))
    out = [f"{tag}  - {' '.join(value.split())}" for tag, value in lines]
    out.append("ER  - ")
    return "\n".join(out)


# ---- CSL-JSON --------------------------------------------------------------------------------


def _date_parts(iso: str | None) -> dict | None:
    if not iso:
        return None
    parts = [int(p) for p in re.findall(r"\d+", iso)[:3]]
    return {"date-parts": [parts]} if parts else None


def csl_item(c: Citation) -> dict:
    """One CSL-JSON item (the CSL data schema's `id` and `type`, plus what styles need).
    Without an author there is no `author`: CSL styles then put the title in its place."""
    item: dict = {
        "id": c.key,
        "citation-key": c.key,
        "type": type_entry(c.type).csl,
        "title": c.title,
    }
    if c.authors:
        item["author"] = [{"literal": a} for a in c.authors]
    if c.publisher:
        item["publisher"] = c.publisher
    item |= {
        "genre": c.type_label,
        "language": c.language,
        "URL": c.permalink,
        "accessed": _date_parts(c.accessed),
    }
    issued = _date_parts(c.date)
    if issued:
        item["issued"] = issued
    if c.section:
        item["section"] = c.section
    if c.page is not None and c.page_unit == "page":
        item["page"] = str(c.page)
    note = []
    if c.page is not None and c.page_unit != "page":
        note.append(f"{c.page_unit.capitalize()} {c.page}")
    if c.text_hash:
        note.append(f"Passage version {c.text_hash}")
    if c.source_url:
        note.append(f"Original: {c.source_url}")
    if note:
        item["note"] = "; ".join(note)
    return item


def render_csl_json(c: Citation) -> str:
    """A CSL-JSON document: an array holding the one item."""
    return json.dumps([csl_item(c)], ensure_ascii=False, indent=2)


# ---- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CiteFormat:
    """One citation format: how it is offered, downloaded and written."""

    id: str  # the value of `--format` and of `/api/cite?format=`
    label: str  # the web's cite menu and page
    extension: str  # of a downloaded citation, without the dot
    media_type: str  # of a downloaded citation
    # The citation as text, without a trailing newline; a styled format's renderer also takes
    # the citation style (kb.citestyles), the others take the citation only.
    renderer: Callable[..., str]
    styled: bool = False  # written by a citation style


# The order is the order of the web's cite menu and of `kb cite --all`.
CITE_FORMATS: tuple[CiteFormat, ...] = (
    CiteFormat("text", "Plain text", "txt", "text/plain", render_text, styled=True),
    CiteFormat("markdown", "Markdown", "md", "text/markdown", render_markdown, styled=True),
    CiteFormat("bibtex", "BibTeX", "bib", "application/x-bibtex", render_bibtex),
    CiteFormat("ris", "RIS", "ris", "application/x-research-info-systems", render_ris),
    CiteFormat(
        "csl-json", "CSL-JSON", "json", "application/vnd.citationstyles.csl+json", render_csl_json
    ),
)
CITE_FORMAT_IDS: tuple[str, ...] = tuple(f.id for f in CITE_FORMATS)


def cite_format(format_id: str) -> CiteFormat:
    """The entry of a format id; ValueError naming the formats there are for another id."""
    for entry in CITE_FORMATS:
        if entry.id == format_id:
            return entry
    raise ValueError(
        f"unknown citation format '{format_id}'; choose one of {', '.join(CITE_FORMAT_IDS)}"
    )


def render(
    citation: Citation, format_id: str, style: str = DEFAULT_STYLE, locale: str | None = None
) -> str:
    """The citation in one of CITE_FORMATS (no trailing newline), the text and Markdown ones in
    a citation style of kb.citestyles, its words in `locale` (a CSL locale such as `sv-SE`,
    see `kb.citestyles.csl_locale`; the style's own English when None); ValueError for another
    format or style."""
    entry = cite_format(format_id)
    if entry.styled:
        return entry.renderer(citation, style, locale)
    cite_style(style)  # an unknown style is an error whatever the format
    return entry.renderer(citation)


def file_name(citation: Citation, format_id: str) -> str:
    """Download file name, e.g. `alfc2024forum-5b28a1.bib`."""
    return f"{citation.key}.{cite_format(format_id).extension}"
