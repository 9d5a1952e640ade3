"""What an HTML page declares about itself: title, date, description, language, author,
keywords and canonical URL, from JSON-LD, `<meta>` tags, `<title>` and `<html lang>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from bs4 import BeautifulSoup, Tag

from kb.text import parse_date

from .text import collapse_whitespace, declared_language

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


def page_metadata(
    soup: BeautifulSoup, content: Tag, h1: str | None, warnings: list[str]
) -> tuple[str | None, dict[str, Any]]:
    """The page's title and declared metadata; `content` is searched for a `<time>`, `h1`
    decides which side of "Page | Site" is the page's own title."""
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

    visibility = _declared_visibility(soup)
    if visibility is not None:
        metadata["visibility"] = visibility

    canonical = soup.find("link", rel="canonical")
    url = str(canonical.get("href") or "") if canonical else ""
    url = url or _meta_content(soup, ["og:url"]) or ""
    if url.startswith(("http://", "https://")):
        metadata["source_url"] = url
    return _unquote(title) if title else None, metadata


def _declared_visibility(soup: BeautifulSoup) -> str | list[str] | None:
    """`<meta name="kb-visibility" content="members">`: who may read the page (checked when
    the page is described). Every such tag counts, empty ones too: several different values
    are a list, which the check refuses, rather than the first one silently winning."""
    values = [
        collapse_whitespace(str(meta.get("content") or ""))
        for meta in soup.find_all("meta")
        if str(meta.get("name") or meta.get("property") or "").strip().lower() == "kb-visibility"
    ]
    distinct = list(dict.fromkeys(values))
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else distinct


def _embedded_date(value: object) -> str | None:
    return parse_date(value, embedded=True)


def _unquote(title: str) -> str:
    """Titles of cited works sometimes arrive wrapped in quotes: "Title" or «Title»."""
    for opening, closing in ('""', "«»", "“”", "''"):
        if len(title) > 2 and title[0] == opening and title[-1] == closing:
            return title[1:-1].strip()
    return title
