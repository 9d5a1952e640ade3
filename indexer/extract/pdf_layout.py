"""Page layout that is not text: running headers and footers, and lone list markers.

A PDF repeats its running header and footer on every page ("Guide to green IT | Page 3 of
5", the document's title, a bare page number); read as text they interrupt a paragraph that
runs over a page break and fill passages and snippets with noise. A line is taken for one
when it recurs, with its numbers normalised, among the first or last lines of a large share
of the pages. A line that appears on one page only is always kept.

Word and PowerPoint draw a list's bullet as a separate glyph, which pdftotext and pypdf often
put on a line of its own ("•", then the item on the next line). A lone marker joins the line
that follows, so the item reads "• item" and starts a paragraph of its own.

Both work on the page text as the extractor read it (pdftotext or pypdf), line by line,
before `indexer.extract.pdf.clean_page_text` joins the lines into paragraphs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

# Lines counted at each end of a page: a header or footer may take two or three lines.
EDGE_LINES = 3
# A line recurring at the edges of at least this share of the pages (with text) is running.
RUNNING_SHARE = 0.5
# ... and on at least this many pages (page numbers and "Page N of M": on at least two).
MIN_RUNNING_PAGES = 3
MIN_PAGE_NUMBER_PAGES = 2

# Bullets, dashes, check boxes and arrows that word processors draw as a glyph of their own.
LONE_MARKERS = frozenset("•▪‣◦●■□▢☐➢►▶✓✔→➔-–—−*·o")
_SYMBOL_FONT = range(0xF000, 0xF100)  # Symbol/Wingdings glyphs, read as private-use code points
# A second-level "o" reads as the hollow bullet it stands for.
_SHOWN_AS = {"o": "◦"}

_ITEM_ENDS = (".", ";", ":", "!", "?", ",", "…")
_DIGITS_RE = re.compile(r"\d+")
_PAGE_NUMBER_RE = re.compile(
    r"(?:page|p\.|sida|side|seite|sivu|pagina|página)?\s*[-–(]?\s*#\s*[-–)]?"
    r"(?:\s*(?:of|av|af|sur|de|von|van|/|\|)\s*#)?",
)


def _key(line: str) -> str:
    """A line as it recurs from page to page: case, spacing and every number ignored."""
    return _DIGITS_RE.sub("#", " ".join(line.split()).casefold())


def _is_page_number(key: str) -> bool:
    return bool(_PAGE_NUMBER_RE.fullmatch(key))


def _could_run(key: str) -> bool:
    """Running headers are phrases or page numbers. A lone word (a table's "High", "Moyen" at
    the foot of many pages) or number ("4.1", a criterion that starts many pages) is content."""
    return len(key.split()) >= 2 or _is_page_number(key)


def _edges(lines: list[str]) -> list[int]:
    """Indices of the first and last EDGE_LINES non-blank lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:EDGE_LINES] + filled[-EDGE_LINES:]))


Signature = tuple[str, str, object]  # ("=", key, its numbers) or ("+", key, number - page)


def _signatures(line: str, page: int) -> list[Signature]:
    """How a line can recur: word for word (numbers included), or with a number that follows
    the page number ("Page 3 of 5" on the third page, "Page 4 of 5" on the fourth)."""
    key = _key(line)
    if not _could_run(key):
        return []
    numbers = tuple(int(n) for n in _DIGITS_RE.findall(line) if len(n) < 7)
    return [("=", key, numbers), *(("+", key, n - page) for n in numbers)]


def running_lines(pages: Sequence[str | None]) -> frozenset[Signature]:
    """The signatures (`_signatures`) of the lines that run at the top or bottom of a large
    share of the pages: running headers, footers and page numbers. A line whose numbers
    neither repeat nor follow the page ("Section 2" at the top of one page, "Section 5" of
    the next) is content. None is a page that could not be read."""
    counts: Counter[Signature] = Counter()
    with_text = 0
    for page, text in enumerate(pages):
        if not text or not text.strip():
            continue
        with_text += 1
        lines = text.split("\n")
        counts.update({sig for i in _edges(lines) for sig in _signatures(lines[i], page)})
    needed = math.ceil(RUNNING_SHARE * with_text)
    running = set()
    for sig, count in counts.items():
        if count < needed:
            continue
        if count >= MIN_RUNNING_PAGES or (
            _is_page_number(sig[1]) and count >= MIN_PAGE_NUMBER_PAGES
        ):
            running.add(sig)
    return frozenset(running)


def without_running_lines(text: str, page: int, running: frozenset[Signature]) -> str:
    """The page (0-based `page`) without the running lines among its first and last lines."""
    if not running:
        return text
    lines = text.split("\n")
    drop = {i for i in _edges(lines) if not running.isdisjoint(_signatures(lines[i], page))}
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def is_lone_marker(line: str) -> bool:
    """A line holding nothing but a list marker: "•", "▪", "-", "–", "*", "o", "▢"..."""
    stripped = line.strip()
    return len(stripped) == 1 and (stripped in LONE_MARKERS or ord(stripped) in _SYMBOL_FONT)


def _shown(marker: str) -> str:
    # A Symbol-font glyph means nothing outside its font: it is shown as a bullet.
    if ord(marker) in _SYMBOL_FONT:
        return "•"
    return _SHOWN_AS.get(marker, marker)


def join_lone_bullets(text: str) -> str:
    """Join each lone marker to the next non-blank line ("•" + "item" -> "• item"), after a
    blank line so that the item starts a paragraph.

    A run of markers (a list whose bullets were read as a column before its items) is paired
    with as many following items, in order; a line starting in lower case continues the item
    before it unless that one ended (";", ".", ":"...). A marker left without an item (the page ends, or
    the line starts with a digit, like a table's "-" for "none" before a number) stays as it
    is."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not is_lone_marker(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        markers: list[str] = []  # the run, blank lines between its markers skipped
        j = i
        while j < len(lines) and (not lines[j].strip() or is_lone_marker(lines[j])):
            if lines[j].strip():
                markers.append(lines[j].strip())
            j += 1
        items: list[str] = []
        while len(items) < len(markers) and j < len(lines):
            item = lines[j].strip()
            if item and (item[0].isdigit() or is_lone_marker(item)):
                break
            if item and items and item[0].islower() and not items[-1].endswith(_ITEM_ENDS):
                items[-1] = f"{items[-1]} {item}"  # the previous item wraps onto this line
            elif item:
                items.append(item)
            j += 1
        out += markers[len(items) :]  # left without an item: kept as they were
        for marker, item in zip(markers, items, strict=False):
            out += ["", f"{_shown(marker)} {item}"]
        i = j
    return "\n".join(out)


def tidy_pages(pages: Sequence[str | None]) -> list[str | None]:
    """Every page without its running headers and footers, and with its lone list markers
    joined to their items. None (a page that could not be read) stays None."""
    running = running_lines(pages)
    return [
        None if text is None else join_lone_bullets(without_running_lines(text, page, running))
        for page, text in enumerate(pages)
    ]
