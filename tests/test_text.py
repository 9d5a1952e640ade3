"""Shared text conventions: accent folding, dates and language codes (kb.text)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.text import fold, normalise_language, parse_date, strip_accents

# ---- folding ---------------------------------------------------------------------------------


def test_strip_accents_keeps_case() -> None:
    assert strip_accents("Skövde DFØ Æble straße") == "Skovde DFO AEble strasse"


def test_fold_lowers_and_strips_accents() -> None:
    assert fold("SKÖVDE") == fold("Skövde") == "skovde"
    assert fold("Bærekraft Øst straße") == "baerekraft ost strasse"


# ---- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 4, 24), "2024-04-24"),
        (dt.datetime(2024, 4, 24, 15, 30), "2024-04-24"),
        ("2024-04-24", "2024-04-24"),
        ("2024-04-24T10:00:00+02:00", "2024-04-24"),
        ("2024-04", "2024-04"),
        ("2024", "2024"),
        (2024, "2024"),
        ("D:20240424103000+02'00'", "2024-04-24"),
        ("D:202404", "2024-04"),
        ("20240424", "2024-04-24"),
        ("April 24, 2024", "2024-04-24"),
        ("24. april 2024", "2024-04-24"),
        ("den 24 april 2024", "2024-04-24"),
        ("24.04.2024", "2024-04-24"),
        ("24/04/2024", "2024-04-24"),
        ("2024-02-30", None),
        ("2024-13-01", None),
        ("31.04.2024", None),
        ("1850-01-01", None),
        ("2101", None),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_date(value: object, expected: str | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 23, 59), "2024-03-05"),
        ("2024-03-05", "2024-03-05"),
        ("2024-3-5", "2024-03-05"),
        ("2024-03-05T10:00:00Z", "2024-03-05"),
        ("2024-03-05T23:30:00-05:00", "2024-03-05"),
        ("2024-03-05 10:00", "2024-03-05"),
        ("2024/03/05", "2024-03-05"),
        ("D:20211108161356+01'00'", "2021-11-08"),
        ("20211108", "2021-11-08"),
        ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10"),
        ("10 November 2022", "2022-11-10"),
        ("November 10, 2022", "2022-11-10"),
        ("1er mars 2024", "2024-03-01"),
        ("15 maj 2023", "2023-05-15"),
        ("2024-02-30", None),
        ("03/04/2024", None),
        ("2024", None),
        ("soon", None),
        ("", None),
        (None, None),
        (20240305, None),
    ],
)
def test_embedded_dates_are_full_and_unambiguous(value: object, expected: str | None) -> None:
    assert parse_date(value, embedded=True) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("24. desember 2023", "2023-12-24"),  # Norwegian
        ("24 april 2024", "2024-04-24"),
        ("24 oktober 2023", "2023-10-24"),  # Swedish
        ("1. maj 2024", "2024-05-01"),  # Danish
        ("24. marts 2024", "2024-03-24"),
        ("24. huhtikuuta 2024", "2024-04-24"),  # Finnish
        ("3. maaliskuuta 2024", "2024-03-03"),
        ("huhtikuu 2024", "2024-04"),
        ("huhtikuussa 2024", "2024-04"),
        ("3. Jänner 2024", "2024-01-03"),  # a month name with an accent of its own
        ("20240424103000+02'00'", "2024-04-24"),  # a PDF time stamp without `D:`
    ],
)
def test_parse_date_nordic_month_names(value: str, expected: str) -> None:
    assert parse_date(value) == expected
    if len(expected) == len("YYYY-MM-DD"):
        assert parse_date(value, embedded=True) == expected


def test_embedded_numeric_dates_that_read_one_way_are_kept() -> None:
    assert parse_date("24.04.2024", embedded=True) == "2024-04-24"
    assert parse_date("04/04/2024", embedded=True) == "2024-04-04"


_ISO_SHAPES = (len("YYYY"), len("YYYY-MM"), len("YYYY-MM-DD"))


@given(st.text(max_size=200))
def test_parse_date_never_raises(value: str) -> None:
    found = parse_date(value)
    assert found is None or (len(found) in _ISO_SHAPES and found[:4].isdigit())
    embedded = parse_date(value, embedded=True)
    assert embedded is None or (len(embedded) == len("YYYY-MM-DD") and found is not None)


# ---- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sv", "sv"),
        ("sv-SE", "sv"),
        ("SV_se", "sv"),
        ("nb", "no"),
        ("nn-NO", "no"),
        ("nob", "no"),
        ("Swedish", "sv"),
        ("svenska", "sv"),
        ("Norsk", "no"),
        ("da-DK", "da"),
        ("français", "fr"),
        ("en-GB", "en"),
        ("es", None),
        ("", None),
    ],
)
def test_normalise_language_names(value: str, expected: str | None) -> None:
    assert normalise_language(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sv-SE", "sv"),
        ("fr_FR", "fr"),
        ("EN", "en"),
        ("nb", "no"),
        ("nn-NO", "no"),
        ("no", "no"),
        ("x-default", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_language_tags(value: object, expected: str | None) -> None:
    assert normalise_language(value) == expected
