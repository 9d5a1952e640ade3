"""HTML pages: main content only, sectioned by headings, with the page's declared metadata.

beautifulsoup4 with the standard library's `html.parser`: no C dependency, tolerant of broken
markup and entities, and fast enough for documentation pages (the 838 KB W3C page parses in
about a second).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction

from kb.text import parse_date

from .base import Extraction, Skipped
from .sections import SectionBuilder
from .text import collapse_whitespace, declared_language, looks_binary

# Elements that never hold the page's own text.
_CLUTTER_TAGS = (
    "nav",
    "header",
    "footer",
    "aside",
    "script",
    "style",
    "noscript",
    "template",
    "form",
    "svg",
    "iframe",
    "object",
    "embed",
    "canvas",
    "button",
    "select",
    "dialog",
    "label",
    "input",
    "textarea",
    "link",
    "meta",
)
_CLUTTER_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
_CLUTTER_ATTRIBUTE_RE = re.compile(r"cookie|consent|gdpr|banner", re.I)
_SKIP_LINK_CLASS_RE = re.compile(r"skip|evitement|sr-only|visually-hidden", re.I)
_SKIP_LINK_TEXT_RE = re.compile(
    r"^(skip|jump|go|aller|passer|acc[eé]der|hoppa|g[åa]|direkt)\b.*"
    r"\b(content|main|navigation|menu|contenu|principal|innehåll|huvudinnehåll|menyn?)\b",
    re.I,
)
# Elements never dropped by the cookie/banner attribute rule, however they are classed.
_STRUCTURAL_TAGS = frozenset({"html", "body", "main", "article"})

_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_HEADING_NAMES = list(_HEADING_LEVELS)
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

# Separators between a page title and the site name ("Page | Site", "Page – Site").
_TITLE_SEPARATOR_RE = re.compile(r"\s+(?:\||–|—|-|::|·|•|»)\s+")

# JSON-LD node types that describe the site, a person or navigation, never the page itself.
_JSONLD_NON_PAGE_TYPES = frozenset(
    {
        "BreadcrumbList",
        "ListItem",
        "Organization",
        "Person",
        "WebSite",
        "ImageObject",
        "SiteNavigationElement",
        "SearchAction",
        "Offer",
        "Audience",
        "Place",
        "PostalAddress",
        "ContactPoint",
        "Brand",
        "GovernmentOrganization",
    }
)
_DATE_META_NAMES = (
    "article:published_time",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.date",
    "dcterms.issued",
    "dcterms.created",
    "citation_publication_date",
    "pubdate",
    "publish-date",
)
_LATE_DATE_META_NAMES = ("og:updated_time", "article:modified_time", "dcterms.modified")


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


# --- metadata ------------------------------------------------------------------------------


def _meta_content(soup: BeautifulSoup, names: Iterable[str]) -> str | None:
    """The first non-empty `<meta name|property=...>` content among `names`, in that order."""
    wanted = [n.lower() for n in names]
    found: dict[str, str] = {}
    for meta in soup.find_all("meta"):
        key = str(meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = collapse_whitespace(str(meta.get("content") or ""))
        if key in wanted and content and key not in found:
            found[key] = content
    return next((found[n] for n in wanted if n in found), None)


def _jsonld_nodes(soup: BeautifulSoup, warnings: list[str]) -> Iterator[dict[str, Any]]:
    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.I)):
        try:
            data = json.loads(script.string or "")
        except (ValueError, RecursionError):
            warnings.append("JSON-LD block is not valid JSON, ignored")
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack[:0] = item
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack[:0] = [item["@graph"]]
                yield item


def _jsonld_page(soup: BeautifulSoup, warnings: list[str]) -> dict[str, Any]:
    """The JSON-LD node describing the page itself (an article, a creative work...)."""
    for node in _jsonld_nodes(soup, warnings):
        types = node.get("@type")
        types = set(types) if isinstance(types, list) else {types}
        if (
            types
            and not types <= _JSONLD_NON_PAGE_TYPES
            and (node.get("headline") or node.get("name"))
        ):
            return node
    return {}


def _jsonld_text(value: Any) -> str | None:
    """A JSON-LD value as text: strings as they are, {"name": ...} objects by name, lists joined."""
    if isinstance(value, str):
        return collapse_whitespace(value) or None
    if isinstance(value, dict):
        return _jsonld_text(value.get("name"))
    if isinstance(value, list):
        parts = [t for t in (_jsonld_text(v) for v in value) if t]
        return ", ".join(parts) or None
    return None


def _strip_site_name(title: str, h1: str | None) -> str:
    """ "Page | Site" -> "Page" when the page's h1 shows which side is the page's own title."""
    if not h1:
        return title
    wanted = h1.casefold()
    for separator in _TITLE_SEPARATOR_RE.finditer(title):
        prefix, suffix = title[: separator.start()], title[separator.end() :]
        if collapse_whitespace(prefix).casefold() == wanted:
            return prefix.strip()
        if collapse_whitespace(suffix).casefold() == wanted:
            return suffix.strip()  # "Site | Page"
    return title


def _page_metadata(
    soup: BeautifulSoup, content: Tag, h1: str | None, warnings: list[str]
) -> tuple[str | None, dict[str, Any]]:
    jsonld = _jsonld_page(soup, warnings)
    metadata: dict[str, Any] = {}

    title = _jsonld_text(jsonld.get("headline")) or _jsonld_text(jsonld.get("name"))
    if not title:
        og_title = _meta_content(soup, ["og:title"])
        title_tag = soup.find("title")
        page_title = collapse_whitespace(title_tag.get_text()) if title_tag else ""
        title = _strip_site_name(og_title or page_title, h1) if (og_title or page_title) else h1

    date = _embedded_date(_meta_content(soup, ["article:published_time"]))
    date = date or _embedded_date(jsonld.get("datePublished"))
    date = date or _embedded_date(_meta_content(soup, _DATE_META_NAMES))
    date = date or _embedded_date(jsonld.get("dateCreated"))
    date = date or _embedded_date(_meta_content(soup, _LATE_DATE_META_NAMES))
    if not date:
        time_tag = content.find("time", attrs={"datetime": True})
        date = _embedded_date(str(time_tag["datetime"])) if time_tag else None
    if date:
        metadata["date"] = date

    description = _meta_content(soup, ["description", "og:description", "dc.description"])
    description = description or _jsonld_text(jsonld.get("description"))
    if description:
        metadata["description"] = description

    html_tag = soup.find("html")
    language = declared_language(
        [
            html_tag.get("lang") if html_tag else None,
            _meta_content(soup, ["content-language", "dc.language"]),
            _meta_content(soup, ["og:locale"]),
            jsonld.get("inLanguage"),
        ]
    )
    if language:
        metadata["language"] = language

    author = _meta_content(soup, ["author", "dc.creator", "citation_author"])
    author = author or _jsonld_text(jsonld.get("author"))
    if author and not author.startswith(("http://", "https://")):
        metadata["author"] = author

    keywords = _meta_content(soup, ["keywords"]) or _jsonld_text(jsonld.get("keywords"))
    if keywords:
        metadata["keywords"] = [k.strip() for k in keywords.split(",") if k.strip()]

    canonical = soup.find("link", rel="canonical")
    url = str(canonical.get("href") or "") if canonical else ""
    url = url or _meta_content(soup, ["og:url"]) or ""
    if url.startswith(("http://", "https://")):
        metadata["source_url"] = url
    return _unquote(title) if title else None, metadata


def _embedded_date(value: object) -> str | None:
    return parse_date(value, embedded=True)


def _unquote(title: str) -> str:
    """Titles of cited works sometimes arrive wrapped in quotes: "Title" or «Title»."""
    for opening, closing in ('""', "«»", "“”", "''"):
        if len(title) > 2 and title[0] == opening and title[-1] == closing:
            return title[1:-1].strip()
    return title


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


# --- choosing and cleaning the content ------------------------------------------------------


def _is_hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    style = str(tag.get("style", "")).replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _attribute_text(tag: Tag) -> str:
    classes = tag.get("class") or []
    if isinstance(classes, str):
        classes = [classes]
    return " ".join([str(tag.get("id") or ""), *map(str, classes)])


def _content_root(soup: BeautifulSoup) -> Tag:
    """`<main>`, else the only `<article>`, else `[role=main]`, else `<body>`."""
    body = soup.find("body") or soup
    candidates: list[Tag] = [m for m in soup.find_all("main") if not _is_hidden(m)]
    articles = soup.find_all("article")
    if len(articles) == 1:
        candidates.append(articles[0])
    candidates.extend(soup.find_all(attrs={"role": "main"}))
    body_chars = len(body.get_text(" ", strip=True))
    for candidate in candidates:
        # An empty <main> used as a script's mount point must not hide a body full of text.
        chars = len(candidate.get_text(" ", strip=True))
        if chars >= 200 or chars * 5 >= body_chars:
            return candidate
    return body


def _text_prefix(tag: Tag, limit: int = 80) -> str:
    """The start of a tag's text: enough to recognise a "skip to content" link, without
    walking a whole subtree (nested links would make that quadratic)."""
    parts: list[str] = []
    size = 0
    stack = list(reversed(tag.contents))
    budget = 200  # nodes visited; bs4's own iterators first measure the whole subtree
    while stack and size < limit and budget > 0:
        node = stack.pop()
        budget -= 1
        if isinstance(node, Tag):
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, Comment):
            piece = node.strip()
            if piece:
                parts.append(piece)
                size += len(piece) + 1
    return " ".join(parts)


def _is_clutter(tag: Tag, root: Tag) -> bool:
    """Whether `tag` (inside the content root) is page chrome rather than the page's text.

    Decided while walking, without changing the tree: bs4's `decompose()` plus its
    `decomposed` check turn quadratic on deeply nested markup.
    """
    name = tag.name
    if name in _CLUTTER_TAGS:
        # An article's own <header> holds its h1 and date; only a site header is clutter.
        return not (name == "header" and root.name != "body" and tag.find(_HEADING_NAMES))
    if name in _STRUCTURAL_TAGS:
        return False
    if (
        _is_hidden(tag)
        or str(tag.get("role", "")).lower() in _CLUTTER_ROLES
        or _CLUTTER_ATTRIBUTE_RE.search(_attribute_text(tag))
    ):
        return True
    if name == "a" and str(tag.get("href", "")).startswith("#"):
        text = _text_prefix(tag)
        return bool(
            _SKIP_LINK_CLASS_RE.search(_attribute_text(tag)) or _SKIP_LINK_TEXT_RE.match(text)
        )
    if name == "details":
        # Only a <summary> besides chrome: the wrapper of a removed form or widget.
        return not any(
            (isinstance(child, Tag) and child.name != "summary" and not _is_clutter(child, root))
            or (
                isinstance(child, NavigableString)
                and not isinstance(child, Comment)
                and child.strip()
            )
            for child in tag.children
        )
    return False


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
        if not isinstance(node, Tag) or (node is not root and _is_clutter(node, root)):
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


def extract_html(data: bytes, path: Path | None = None) -> Extraction:
    """Title, metadata and heading sections of the main content of an HTML page."""
    if looks_binary(data):
        raise Skipped("binary content in a text file")
    warnings: list[str] = []
    soup = BeautifulSoup(decode_html(data), "html.parser")

    target = _redirect_target(soup)
    if target:
        raise Skipped(f"redirect to {target}")

    root = _content_root(soup)
    collector = _Collector()
    _walk(root, collector)
    collector.end_section()
    h1 = collector.sections.first_h1
    if h1 is None:
        first_h1 = soup.find("h1")
        h1 = _heading_text(first_h1) if isinstance(first_h1, Tag) else None
    title, metadata = _page_metadata(soup, root, h1, warnings)
    if not collector.sections.blocks:
        raise Skipped("no text content")
    return Extraction(
        format="html",
        title=title or collector.sections.first_h1,
        blocks=collector.sections.blocks,
        metadata=metadata,
        warnings=warnings,
    )
