"""Which part of an HTML page is its own text: the content root, and the page chrome inside
it (navigation, banners, cookie notices, hidden elements, skip links) to pass over.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, NavigableString, Tag

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
_HEADING_NAMES = [f"h{level}" for level in range(1, 7)]


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


def content_root(soup: BeautifulSoup) -> Tag:
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


def is_clutter(tag: Tag, root: Tag) -> bool:
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
            (isinstance(child, Tag) and child.name != "summary" and not is_clutter(child, root))
            or (
                isinstance(child, NavigableString)
                and not isinstance(child, Comment)
                and child.strip()
            )
            for child in tag.children
        )
    return False
