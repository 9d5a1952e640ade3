"""A missing prerequisite is a skip locally and a failure under CI (tests/prerequisites.py)."""

from __future__ import annotations

import pytest

from tests import prerequisites
from tests.prerequisites import Prerequisite, in_ci, missing, needs, require

GONE = Prerequisite("needs the unobtainium probe (`make probe` installs it)", lambda: False)
HERE = Prerequisite("needs air", lambda: True)


@pytest.fixture
def fake_prerequisites(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(prerequisites.PREREQUISITES, "gone", GONE)
    monkeypatch.setitem(prerequisites.PREREQUISITES, "here", HERE)


@pytest.mark.parametrize(
    "value, expected",
    [(None, False), ("", False), ("false", False), ("0", False), ("No", False),
     ("true", True), ("1", True), ("yes", True), ("TRUE", True)],
)  # fmt: skip
def test_in_ci_reads_the_ci_variable(monkeypatch: pytest.MonkeyPatch, value, expected) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_missing_is_a_skip_with_its_reason_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the unobtainium probe"):
        missing(GONE.reason)


def test_missing_is_a_failure_with_its_reason_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"under CI.*needs the unobtainium probe"):
        missing(GONE.reason)


def test_require_passes_on_what_is_there_and_stops_at_what_is_not(
    monkeypatch: pytest.MonkeyPatch, fake_prerequisites
) -> None:
    monkeypatch.delenv("CI", raising=False)
    require("here")
    with pytest.raises(pytest.skip.Exception, match="unobtainium"):
        require("here", "gone")
    monkeypatch.setenv("CI", "true")
    require("here")
    with pytest.raises(pytest.fail.Exception, match="unobtainium"):
        require("gone")


def test_a_misspelt_prerequisite_is_an_error_not_a_mark_that_checks_nothing() -> None:
    with pytest.raises(KeyError, match="realcorpse"):
        needs("realcorpse")


def test_every_known_prerequisite_has_a_reason_and_a_check() -> None:
    assert {"realcorpus", "chromium", "playwright", "pdftotext"} <= set(prerequisites.PREREQUISITES)
    for name, prerequisite in prerequisites.PREREQUISITES.items():
        assert prerequisite.reason.startswith("needs"), name
        assert isinstance(prerequisite.available(), bool), name


# A small suite run by pytester, with the conftest hook the real suite has.
SUITE_CONFTEST = """
from tests import prerequisites

def pytest_runtest_setup(item):
    prerequisites.check_marked(item)
"""

SUITE = """
import pytest
from tests.prerequisites import needs, require

pytestmark = needs("here")

@needs("gone")
def test_marked():
    pass

class TestMarkedClass:
    pytestmark = needs("gone")

    def test_in_class(self):
        pass

def test_required_in_a_fixture(gone_fixture):
    pass

@pytest.fixture
def gone_fixture():
    require("gone")

def test_present():
    pass
"""


def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    pytester.makeconftest(SUITE_CONFTEST)
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest_inprocess("-rsE", "-p", "no:cacheprovider")


def test_a_suite_skips_missing_prerequisites_locally(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake_prerequisites
) -> None:
    result = run_suite(pytester, monkeypatch, ci=None)
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*SKIPPED*needs the unobtainium probe*"])
    assert result.ret == pytest.ExitCode.OK


def test_the_same_suite_fails_under_ci_naming_the_prerequisite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake_prerequisites
) -> None:
    result = run_suite(pytester, monkeypatch, ci="true")
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*ERROR*missing prerequisite*needs the unobtainium probe*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
