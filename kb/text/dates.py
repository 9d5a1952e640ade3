"""Dates: one parser for every declared date, and the search for one in a name or text.

Everything ends up as ISO text: `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when that is all that
is known. Accepted wherever a date is declared (sidecar, front matter, HTML meta tags, PDF
info): ISO (`2024-04-24`, `2024-04`, `2024`), PDF and compact dates, `24.04.2024`,
`24. desember 2023`, `24 april 2024`, `April 24, 2024`, `24. huhtikuuta 2024`, in English,
Swedish, Norwegian, Danish, Finnish, French, German and Dutch. Numeric dates are read day
first, as written in the Nordic countries and most of Europe.
"""

from __future__ import annotations

import datetime as dt
import re

from kb.text.folding import strip_accents

MIN_YEAR = 1990
MAX_YEAR = 2100

# Month names and abbreviations in en, sv, no, da, fi, fr, de, nl; folded (lower case, no
# accents), so `février`, `März` and `Mär` are looked up as `fevrier`, `marz`, `mar`.
_MONTH_NAMES: tuple[tuple[int, str], ...] = (
    (1, "january jan januari januar janvier janv jänner tammikuu tammi"),
    (2, "february feb febr februari februar fevrier fevr fev helmikuu helmi"),
    (3, "march mar mars marts marz maerz maart mrt maaliskuu maalis"),
    (4, "april apr avril avr huhtikuu huhti"),
    (5, "may maj mai mei toukokuu touko"),
    (6, "june jun juni juin kesakuu kesa"),
    (7, "july jul juli juillet juil heinakuu heina"),
    (8, "august aug augusti aout augustus elokuu elo"),
    (9, "september sep sept septembre syyskuu syys"),
    (10, "october oct oktober okt octobre lokakuu loka"),
    (11, "november nov novembre marraskuu marras"),
    (12, "december dec desember des dezember dez decembre joulukuu joulu"),
)

_NUMBERED = r"(?<![\w.])"  # a number must not continue a longer number or word


def _month_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for number, names in _MONTH_NAMES:
        for name in strip_accents(names).split():
            table[name] = number
            if name.endswith("kuu"):
                # Finnish writes "24. huhtikuuta 2024" and "huhtikuussa 2024".
                table[name + "ta"] = number
                table[name + "ssa"] = number
    return table


_MONTHS = _month_table()
# Longest first, so that `marraskuuta` is not read as `mar`.
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_YEAR = r"(?P<year>\d{4})(?!\d)"
_DAY = r"(?P<day>\d{1,2})"

# 24.04.2024, 24/04/2024, 24-04-2024, 24.4.2024
_NUMERIC_DAY_FIRST = re.compile(r"(?<![\d.])" + _DAY + r"([./-])(?P<month>\d{1,2})\2" + _YEAR)
# Full dates, in the order they are tried; each is searched in folded text.
_FULL_PATTERNS: tuple[re.Pattern[str], ...] = (
    # 2024-04-24, 2024_04_24, 2024.04.24, 2024/04/24
    re.compile(r"(?<!\d)(?P<year>\d{4})([-_./])(?P<month>\d{1,2})\2(?P<day>\d{1,2})(?!\d)"),
    # 24 april 2024, 24. april 2024, den 24 april 2024, 1er mai 2024, 24th of April, 2024
    re.compile(
        _NUMBERED + _DAY + r"(?:\.|st|nd|rd|th|er)?\s*(?:of\s+)?\b" + _MONTH + r",?\s+" + _YEAR
    ),
    # April 24, 2024, Feb 1 2024, Sep 3rd, 2024
    re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r"(?:st|nd|rd|th)?\b,?\s+" + _YEAR),
    _NUMERIC_DAY_FIRST,
)
# Only in file names: 20240424, where an eight-digit number is almost always a date.
_COMPACT = re.compile(r"(?<!\d)(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?!\d)")
# Partial dates: april 2024; 2024-04 (file names and titles only).
_MONTH_YEAR = re.compile(r"\b" + _MONTH + r"\s+" + _YEAR)
_YEAR_MONTH = re.compile(r"(?<!\d)(?P<year>\d{4})[-_./](?P<month>\d{1,2})(?![\d]|[-_./]\d)")
_YEAR_ONLY = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d|2100)(?!\d)")

# 20240424, or a PDF time stamp that lost its `D:` (20240424103000+02'00').
_STAMP = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:\d{4}(?:\d{2})?)?(?:[Z+-].*)?$"
)
_PDF_DATE = re.compile(r"^D:\s*(\d{4})(\d{2})?(\d{2})?")
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")

# How far into the text a date still says something about the document itself.
FIRST_TEXT_CHARS = 500


def _fold(text: str) -> str:
    # Not the cached `fold`: these are whole names and paragraphs, seen once each.
    return strip_accents(text.lower())


def _valid_year(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """ISO text for a date, or None when it cannot exist (31 April, year 1850)."""
    if not _valid_year(year):
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _month_number(value: str) -> int | None:
    return int(value) if value.isdigit() else _MONTHS.get(value.rstrip("."))


def _from_match(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    month = _month_number(groups["month"]) if groups.get("month") else None
    day = int(groups["day"]) if groups.get("day") else None
    year = int(groups["year"])
    found = _iso(year, month, day)
    if found is None and day is not None and month is not None and month > 12 >= day:
        # 04/24/2024 cannot be day first; read it the American way rather than lose it.
        found = _iso(year, day, month)
    return found


def _search(
    patterns: tuple[re.Pattern[str], ...],
    text: str,
    latest_year: int = MAX_YEAR,
    *,
    either_way: bool = True,
) -> str | None:
    """The earliest valid date any of the patterns finds in `text`.

    With `either_way` False, a numeric date that reads both ways (03/04/2024) is passed over.
    """
    best: tuple[int, str] | None = None
    for pattern in patterns:
        for match in pattern.finditer(text):
            if not either_way and pattern is _NUMERIC_DAY_FIRST and _reads_both_ways(match):
                continue
            found = _from_match(match)
            if found is not None and int(found[:4]) <= latest_year:
                if best is None or match.start() < best[0]:
                    best = (match.start(), found)
                break
    return best[1] if best else None


def _reads_both_ways(match: re.Match[str]) -> bool:
    day, month = int(match["day"]), int(match["month"])
    return day != month and day <= 12 and month <= 12


def _without_full_dates(text: str) -> str:
    """`text` with every full-date shape blanked out, so that a partial pattern cannot take
    "April 2024" out of an impossible "31 April 2024"."""
    for pattern in _FULL_PATTERNS:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def parse_date(value: object, *, embedded: bool = False) -> str | None:
    """Normalise a declared date (date, datetime, ISO or PDF string, "24 April 2024").

    Returns `YYYY-MM-DD`, `YYYY-MM` or `YYYY`, or None when the value is not a possible
    date between 1990 and 2100.

    `embedded` is for dates that software wrote into a file (HTML meta tags, PDF info):
    there only a full date counts, and a numeric date that reads both ways (`03/04/2024`)
    is refused, since web pages and PDF producers write month first as often as day first.
    A person's declaration (sidecar, front matter) may be partial and is read day first.
    """
    found = _parse(value, either_way=not embedded)
    if embedded and found is not None and len(found) < len("YYYY-MM-DD"):
        return None
    return found


def _parse(value: object, *, either_way: bool) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _iso(value.year, value.month, value.day)
    if isinstance(value, int):
        return _iso(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    pdf = _PDF_DATE.match(text)
    if pdf:
        year, month, day = (int(g) if g else None for g in pdf.groups())
        return _iso(year, month, day) if year is not None else None
    iso = _ISO.match(text)
    if iso:
        year, month, day = (int(g) if g else None for g in iso.groups())
        return _iso(year, month, day) if year is not None else None
    stamp = _STAMP.match(text)
    if stamp:
        return _from_match(stamp)
    # A declared date is meant to be one, so words around it ("den 24 april 2024",
    # "Spring 2024", "Tue, 10 Jun 2003 04:00:00 GMT") may be ignored.
    folded = _fold(text)
    full = _search(_FULL_PATTERNS, folded, either_way=either_way)
    if full:
        return full
    rest = _without_full_dates(folded)
    return _search((_MONTH_YEAR, _YEAR_MONTH), rest) or _search((_YEAR_ONLY,), rest)


def infer_date(
    filename: str, title: str | None, first_text: str, *, today: dt.date | None = None
) -> str | None:
    """Find the document's date in its file name, else its title, else its first lines.

    A full date wins over a partial one from a more trusted place when they agree
    (`2024/` in the path and "April 24, 2024" in the text give 2024-04-24). A bare year
    is only taken from the file name or title. Dates more than a year after `today` are
    targets ("Agenda 2030", "by June 2030"), not the document's date, and are passed over.
    """
    latest = (today or dt.date.today()).year + 1
    name = _fold(filename.replace("\\", "/"))
    title_text = _fold(title or "")
    text = _fold(first_text[:FIRST_TEXT_CHARS])
    for source in (name, title_text):
        found = _search((*_FULL_PATTERNS, _COMPACT), source, latest)
        if found:
            return found
    partial = None
    for source in (name, title_text):
        rest = _without_full_dates(source)
        partial = (
            partial
            or _search((_MONTH_YEAR, _YEAR_MONTH), rest, latest)
            or _search((_YEAR_ONLY,), rest, latest)
        )
    full_in_text = _search(_FULL_PATTERNS, text, latest)
    if partial is None:
        return full_in_text or _search((_MONTH_YEAR,), _without_full_dates(text), latest)
    if full_in_text and full_in_text.startswith(partial):
        return full_in_text
    return partial
