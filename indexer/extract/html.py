"""HTML pages: main content only, sectioned by headings, with the page's declared metadata.

beautifulsoup4 with the standard library's `html.parser`: no C dependency, tolerant of broken
markup and entities, and fast enough for documentation pages (the 838 KB W3C page parses in
about a second).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction
from bs4.exceptions import ParserRejectedMarkup

from .base import Extraction, Failed, Skipped
from .html_clutter import content_root, is_clutter
from .html_metadata import page_metadata
from .sections import SectionBuilder
from .text import collapse_whitespace, looks_binary

_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
# Entering or leaving these ends the paragraph being collected.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "center", "dd"),
        *("details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure"),
        *("footer", "form", "header", "hgroup", "hr", "html", "legend", "li", "main", "nav"),
        *("ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th"),
        *("thead", "tr", "ul"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_CELL_SEPARATOR = " · "
# Stands for <br> while a paragraph is collected; newlines in the source are mere whitespace.
_LINE_BREAK = "\ue002"

# A page this short around a refresh or a script redirect is a stub, not content.
_REDIRECT_STUB_MAX_CHARS = 500
_REFRESH_URL_RE = re.compile(r"^\s*\d*\s*[;,]?\s*url\s*=\s*['\"]?([^'\"]+)", re.I)
_SCRIPT_REDIRECT_RE = re.compile(
    r"\b(?:window\.|document\.|top\.)?location(?:\.href)?\s*=(?!=)|"
    r"\blocation\.(?:replace|assign)\s*\("
)

_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_SNIFF_BYTES = 2048


# --- decoding ----------------------------------------------------------------------------


def _codec(label: str) -> str | None:
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # Python also knows bytes-to-bytes codecs (hex, base64, zlib, rot13) and idna/punycode;
    # a page cannot declare those as its character set.
    if not getattr(info, "_is_text_encoding", True) or info.name in ("idna", "punycode"):
        return None
    name = info.name
    # WHATWG: latin-1 and ascii labels mean windows-1252; a UTF-16 label without a BOM is a lie.
    if name in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    if name.startswith("utf-16") or name.startswith("utf-32"):
        return "utf-8"
    return name


def decode_html(data: bytes) -> str:
    """Decode an HTML file: BOM, then a charset declared in the first 2 KB, then UTF-8, then cp1252."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    declared = _CHARSET_RE.search(data[:_SNIFF_BYTES])
    encoding = _codec(declared.group(1).decode("ascii", "replace")) if declared else None
    if encoding and encoding != "utf-8":
        try:
            return data.decode(encoding, errors="replace")
        except (LookupError, UnicodeError):  # a codec that cannot replace: fall back below
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Declared UTF-8 but is not: the usual culprit is a cp1252 editor.
        return data.decode("cp1252", errors="replace")


# --- redirects ------------------------------------------------------------------------------


def _redirect_target(soup: BeautifulSoup) -> str | None:
    """Where a redirect stub points, or None when the page is not a redirect stub."""
    refresh_url = None
    for meta in soup.find_all("meta", attrs={"http-equiv": True}):
        if str(meta["http-equiv"]).lower() == "refresh":
            match = _REFRESH_URL_RE.match(str(meta.get("content") or ""))
            if match:
                refresh_url = match.group(1).strip()
                break
    script_redirect = any(
        _SCRIPT_REDIRECT_RE.search(script.string or "") for script in soup.find_all("script")
    )
    if not refresh_url and not script_redirect:
        return None
    body = soup.find("body") or soup
    invisible = ("script", "style", "noscript", "template")
    visible = " ".join(
        str(s)
        for s in body.find_all(string=True)
        if not isinstance(s, Comment) and getattr(s.parent, "name", None) not in invisible
    )
    if len(collapse_whitespace(visible)) > _REDIRECT_STUB_MAX_CHARS:
        return None
    if refresh_url:
        return refresh_url
    # A script redirect computes its target; the fallback link or canonical URL names it.
    link = body.find("a", href=re.compile(r"^https?://")) if isinstance(body, Tag) else None
    canonical = soup.find("link", rel="canonical")
    target = (link and link.get("href")) or (canonical and canonical.get("href"))
    return str(target) if target else "another page (script)"


# --- walking the content into sections -----------------------------------------------------


class _Collector:
    """Accumulates inline text into paragraphs, and paragraphs into heading sections."""

    def __init__(self) -> None:
        self.sections = SectionBuilder()
        self.pieces: list[str] = []

    def text(self, piece: str) -> None:
        self.pieces.append(piece)

    def cell(self) -> None:
        if "".join(self.pieces).strip():
            self.pieces.append(_CELL_SEPARATOR)

    def end_paragraph(self) -> None:
        if not self.pieces:
            return
        lines = (collapse_whitespace(line) for line in "".join(self.pieces).split(_LINE_BREAK))
        text = "\n".join(line for line in lines if line)
        self.sections.paragraph(text.strip(_CELL_SEPARATOR.strip() + " "))
        self.pieces = []

    def verbatim(self, text: str) -> None:
        self.end_paragraph()
        self.sections.paragraph(
            "\n".join(line.rstrip() for line in text.split("\n") if line.strip())
        )

    def heading(self, level: int, text: str) -> None:
        # In a page even an empty heading ends the section before it.
        self.end_section()
        self.sections.heading(level, text)

    def end_section(self) -> None:
        self.end_paragraph()
        self.sections.close_section()


_SKIPPED_STRINGS = (Comment, Declaration, Doctype, CData, ProcessingInstruction)


def _heading_text(tag: Tag) -> str:
    # Self-links ("§", "¶", "#") that documentation generators put inside headings.
    return collapse_whitespace(tag.get_text(" ")).strip("§¶#🔗 ").strip()


def _walk(root: Tag, collector: _Collector) -> None:
    """Depth-first walk with an explicit stack: deeply nested markup cannot overflow recursion."""
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            collector.end_paragraph()
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                collector.text(str(node))
            continue
        if not isinstance(node, Tag) or (node is not root and is_clutter(node, root)):
            continue
        name = node.name
        if name in _HEADING_LEVELS:
            collector.heading(_HEADING_LEVELS[name], _heading_text(node))
            continue
        if name == "pre":
            collector.verbatim(node.get_text())
            continue
        if name == "br":
            collector.text(_LINE_BREAK)
            continue
        if name == "img":
            continue
        if name in _CELL_TAGS:
            collector.cell()
        elif name in _BLOCK_TAGS:
            collector.end_paragraph()
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))


# `<!` that opens no comment, doctype or CDATA section: the standard library's parser gives up
# on some of these (`<![0`), where a browser shows them as text.
_BOGUS_DECLARATION = re.compile(r"<!(?!--|\[CDATA\[|doctype)", re.IGNORECASE)


def _parse(text: str, warnings: list[str]) -> BeautifulSoup:
    """The page parsed; a page whose stray `<!` the parser rejects is read with those shown
    as text, as a browser shows them, and the file keeps a warning."""
    try:
        return BeautifulSoup(text, "html.parser")
    except ParserRejectedMarkup:
        pass
    try:
        soup = BeautifulSoup(_BOGUS_DECLARATION.sub("&lt;!", text), "html.parser")
    except ParserRejectedMarkup as exc:
        raise Failed(f"the HTML parser rejected the page: {str(exc).splitlines()[0]}") from None
    warnings.append("malformed <! declarations read as text")
    return soup


def extract_html(data: bytes, path: Path | None = None) -> Extraction:
    """Title, metadata and heading sections of the main content of an HTML page."""
    if looks_binary(data):
        raise Skipped("binary content in a text file")
    warnings: list[str] = []
    soup = _parse(decode_html(data), warnings)

    target = _redirect_target(soup)
    if target:
        raise Skipped(f"redirect to {target}")

    root = content_root(soup)
    collector = _Collector()
    _walk(root, collector)
    collector.end_section()
    h1 = collector.sections.first_h1
    if h1 is None:
        first_h1 = soup.find("h1")
        h1 = _heading_text(first_h1) if isinstance(first_h1, Tag) else None
    title, metadata = page_metadata(soup, root, h1, warnings)
    if not collector.sections.blocks:
        raise Skipped("no text content")
    return Extraction(
        format="html",
        title=title or collector.sections.first_h1,
        blocks=collector.sections.blocks,
        metadata=metadata,
        warnings=warnings,
    )
