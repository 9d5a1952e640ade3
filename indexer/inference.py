"""What a document's path and title give away when it declares nothing: its type and a
readable title.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import PurePosixPath

from kb.doctypes import TYPES, normalise_type
from kb.text import fold, parse_date

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
    for doc_type, pattern in _title_patterns():
        match = pattern.search(folded)
        if match and (earliest is None or match.start() < earliest[0]):
            earliest = (match.start(), doc_type)
    return earliest[1] if earliest else "other"


@cache
def _title_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each type's title words, compiled, in the order of the types (the first wins a tie)."""
    return tuple((t.id, re.compile(t.title_words)) for t in TYPES if t.title_words)


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
