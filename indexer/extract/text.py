"""Plain-text extraction, plus the small text helpers every format extractor shares.

The helpers live here rather than in a `utils` module because they are all about turning
bytes and loosely formatted values into plain text: decoding, whitespace, dates, language tags.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from .base import Block, Extraction, Skipped

# A title longer than this is a paragraph that happens to come first, not a title.
MAX_TITLE_CHARS = 120

# How much of a file to inspect when deciding whether it is text at all.
_SNIFF_BYTES = 64 * 1024

# Control characters other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13))

# Zero-width characters and stray BOMs carry no text but break tokens apart.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE_RE = re.compile(r"\s+")
_BLANK_LINES_RE = re.compile(r"\n[ \t\f\v\r\u00a0]*\n\s*")


def _utf16_bom(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def looks_binary(data: bytes) -> bool:
    """True when `data` is not text: NUL bytes or many control characters in its head.

    UTF-16 text (recognised by its BOM) is full of NUL bytes, so it is checked first.
    """
    if _utf16_bom(data):
        return False
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    # Real text has next to no control characters; a few percent means a binary format.
    return controls / len(head) > 0.05


def decode_text(data: bytes) -> str:
    """Decode the bytes of a Markdown or plain-text file.

    UTF-8 (with or without BOM) first, then UTF-16 by BOM, then cp1252, which maps
    nearly every byte and matches what Western European editors produce when not UTF-8.
    Raises `Skipped` for binary content behind a text extension.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if _utf16_bom(data):
        return data.decode("utf-16", errors="replace")
    if looks_binary(data):
        raise Skipped("binary content in a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace (including no-break spaces) to one space; zero-width characters out."""
    return _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", text)).strip()


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, each with its lines joined and whitespace collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    paragraphs = (collapse_whitespace(chunk) for chunk in _BLANK_LINES_RE.split(text))
    return [p for p in paragraphs if p]


# --- dates -----------------------------------------------------------------------------

_ISO_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T\s_])")
_SLASH_DATE_RE = re.compile(r"^\s*(\d{4})[/.](\d{1,2})[/.](\d{1,2})\b")
_COMPACT_DATE_RE = re.compile(r"^\s*(?:D:)?(\d{4})(\d{2})(\d{2})")
_DAY_FIRST_NAMED_RE = re.compile(r"^\s*(\d{1,2})(?:er|st|nd|rd|th)?\s+([^\W\d]+)\.?,?\s+(\d{4})\b")
_MONTH_FIRST_NAMED_RE = re.compile(r"^\s*([^\W\d]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")

# English, French and Swedish month names (and the usual abbreviations): the corpus languages.
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "january jan janvier janv januari",
            "february feb février fevrier févr fevr februari",
            "march mar mars",
            "april apr avril avr",
            "may mai maj",
            "june jun juin juni",
            "july jul juillet juil juli",
            "august aug août aout augusti",
            "september sep sept septembre",
            "october oct octobre oktober okt",
            "november nov novembre",
            "december dec décembre decembre déc",
        ],
        start=1,
    )
    for name in names.split()
}


def _valid_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def normalise_date(value: Any) -> str | None:
    """`YYYY-MM-DD` from a date, datetime or a date-like string; None when it is not a full date.

    Accepts ISO 8601 (with or without time and zone; the date is taken as written),
    `YYYY/MM/DD`, PDF dates (`D:20211108161356+01'00'`), RFC 2822 (`Tue, 10 Jun 2003 ...`)
    and "10 November 2022" / "November 10, 2022" in English, French or Swedish.
    Purely numeric day-first or month-first forms (`03/04/2024`) are ambiguous and refused.
    """
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    for pattern in (_ISO_DATE_RE, _SLASH_DATE_RE, _COMPACT_DATE_RE):
        match = pattern.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _valid_date(year, month, day)
    match = _DAY_FIRST_NAMED_RE.match(text)
    if match and match.group(2).lower() in _MONTHS:
        return _valid_date(
            int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1))
        )
    match = _MONTH_FIRST_NAMED_RE.match(text)
    if match and match.group(1).lower() in _MONTHS:
        return _valid_date(
            int(match.group(3)), _MONTHS[match.group(1).lower()], int(match.group(2))
        )
    # Weekday names only occur in RFC 2822-style dates; try that parser last, it is strict.
    if "," in text:
        try:
            return parsedate_to_datetime(text).date().isoformat()
        except (TypeError, ValueError, IndexError):
            return None
    return None


# --- languages ---------------------------------------------------------------------------

_LANGUAGE_RE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")
# Norwegian has two written standards and a macro-language code; search treats them as one.
_LANGUAGE_ALIASES = {"nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no"}


def normalise_language(value: Any) -> str | None:
    """Primary language subtag in lower case: `sv-SE` -> `sv`, `fr_FR` -> `fr`, `nb` -> `no`."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_RE.match(value.strip())
    if not match:
        return None
    primary = match.group(1).lower()
    return _LANGUAGE_ALIASES.get(primary, primary)


# --- the plain-text extractor -------------------------------------------------------------


def extract_text(text: str, path: Path | None = None) -> Extraction:
    """One block of paragraphs (split on blank lines); the first line is the title when short."""
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise Skipped("no text content")
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = collapse_whitespace(first_line) if len(first_line) < MAX_TITLE_CHARS else None
    return Extraction(
        format="text",
        title=title or None,
        blocks=[Block(text="\n\n".join(paragraphs))],
    )
