"""What a document's path and title give away when it declares nothing: its type and a
readable title.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from kb.doctypes import normalise_type
from kb.text import fold, parse_date

# Title words that give a document's type away, tried on the folded title; the earliest
# match in the title wins ("Meeting report: a new guide" is a meeting).
_TITLE_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "meeting",
        re.compile(
            r"\breport from\b|\bmeetings?\b|\bminutes\b|\bmotes(?:anteckningar|rapport)"
            r"|\bmote(?:referat|protokoll)|\breferat\b|\bprotokoll\b|\bkokous|\bcompte rendu\b"
        ),
    ),
    (
        "guide",
        re.compile(
            r"\bguides?\b|\bguidelines?\b|\bbest[- ]practices?\b|\bhandbo(?:ok|k)\b"
            r"|\bvagledning|\bveiled(?:er|ning)|\bvejledning|\briktlinjer\b|\bhow to\b"
            r"|\bchecklists?\b|\bleitfaden\b|\bhandleiding\b"
        ),
    ),
    (
        "directive",
        re.compile(
            r"\bdirectives?\b|\bregulations?\b|\bforskrift|\bforeskrift|\bforordning"
            r"|\bdirektiv|\brichtlini?e|\blag\b|\blov om\b|§"
        ),
    ),
)
_LEADING_DATE = re.compile(r"^(\d{4}[-_.]?\d{2}[-_.]?\d{2})[-_. ]+(.+)$")


def infer_type(rel_path: str, title: str | None) -> str:
    """Guess the type from the folders of the path (`meetings/`, `riktlinjer/`), else from
    words in the title ("Report from...", "guide", "forskrift"), else "other".

    "article" is only ever given by a folder: nothing in a title says "article".
    """
    for folder in PurePosixPath(rel_path.replace("\\", "/")).parts[:-1]:
        doc_type = normalise_type(folder)
        if doc_type is not None and doc_type != "other":
            return doc_type
    folded = fold(title or "")
    earliest: tuple[int, str] | None = None
    for doc_type, pattern in _TITLE_TYPE_PATTERNS:
        match = pattern.search(folded)
        if match and (earliest is None or match.start() < earliest[0]):
            earliest = (match.start(), doc_type)
    return earliest[1] if earliest else "other"


def title_from_filename(rel_path: str) -> str:
    """A readable title from the file name: `2024-04-24-forum-meeting.md` ->
    "Forum meeting 2024-04-24"."""
    stem = PurePosixPath(rel_path.replace("\\", "/")).stem
    date = None
    match = _LEADING_DATE.match(stem)
    if match and (date := parse_date(match.group(1).replace("_", "-").replace(".", "-"))):
        stem = match.group(2)
    words = " ".join(re.split(r"[-_\s]+", stem)).strip()
    title = words[:1].upper() + words[1:]
    if date:
        title = f"{title} {date}".strip()
    return title or stem
