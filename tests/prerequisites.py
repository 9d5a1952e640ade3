"""What some tests need from the machine, and what happens when it is missing.

Locally a test whose prerequisite is missing is skipped, with a reason that says what is
missing and how to get it. Under CI (`CI` set, as CI runs `bash .ci/run`), the same reason
is a failure: a suite that passes by skipping proves nothing.

Every prerequisite skip of the suite goes through here:

- `needs("realcorpus", ...)` marks a test, a class or a module (`pytestmark`); the check
  runs when the test is set up (tests/conftest.py calls `check_marked`);
- `require("pdftotext")` checks inside a fixture or a test;
- `missing(reason)` for a prerequisite found missing on the spot (a tmpfs that cannot be
  mounted, a checkout that is not a git work tree).

The real corpus is looked for at ../shared/realcorpus next to the checkout; `KB_REALCORPUS`
names another folder (a checkout elsewhere, or a deliberately wrong one to see the check).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALCORPUS = Path(os.environ.get("KB_REALCORPUS") or ROOT.parent / "shared" / "realcorpus")
CHROMIUM = Path("/usr/bin/chromium")
# axe-core, the accessibility checker the browser tests inject (`make browser` installs it).
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
MARKER = "needs"
# Values of CI that mean "not in CI" (GitHub, GitLab and most others set CI=true).
_NOT_CI = {"", "0", "false", "no", "off"}


def in_ci() -> bool:
    """Whether the tests run in CI: the CI variable is set to anything but an off value."""
    return os.environ.get("CI", "").strip().lower() not in _NOT_CI


def missing(reason: str) -> NoReturn:
    """End the current test for a missing prerequisite: a skip locally, a failure in CI."""
    if in_ci():
        pytest.fail(f"missing prerequisite (a failure, not a skip, under CI): {reason}",
                    pytrace=False)  # fmt: skip
    pytest.skip(reason)


@dataclass(frozen=True)
class Prerequisite:
    """Something a test needs from the machine: a check, and what to say when it fails."""

    reason: str
    available: Callable[[], bool]


def _importable(module: str) -> Callable[[], bool]:
    return lambda: importlib.util.find_spec(module) is not None


def _on_path(program: str) -> Callable[[], bool]:
    return lambda: shutil.which(program) is not None


def _tesseract_packs() -> set[str]:
    """The language packs the installed Tesseract has (none when it is missing)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return set()
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return set(out.stdout.split()[1:]) if out.returncode == 0 else set()


PREREQUISITES: dict[str, Prerequisite] = {
    "realcorpus": Prerequisite(
        f"needs the real corpus at {REALCORPUS} (../shared/realcorpus next to the checkout, "
        "or KB_REALCORPUS=<folder>)",
        REALCORPUS.is_dir,
    ),
    "chromium": Prerequisite(
        f"needs Debian's Chromium at {CHROMIUM} (`make browser` installs it)", CHROMIUM.exists
    ),
    "playwright": Prerequisite(
        "needs the playwright package (`make install-test` installs it)",
        _importable("playwright"),
    ),
    "axe-core": Prerequisite(
        f"needs the npm package axe-core at {AXE.relative_to(ROOT)} (`make browser` installs "
        "it with npm)",
        AXE.is_file,
    ),
    "oidc-provider-mock": Prerequisite(
        "needs the oidc-provider-mock package (`make install-test` installs it)",
        _importable("oidc_provider_mock"),
    ),
    "pdftotext": Prerequisite(
        "needs pdftotext (poppler-utils; `make browser` installs it)", _on_path("pdftotext")
    ),
    "tesseract": Prerequisite(
        "needs Tesseract with the eng, swe, nor and dan packs, and pdftoppm (tesseract-ocr, "
        "tesseract-ocr-{eng,swe,nor,dan}, poppler-utils; `make browser` installs them)",
        lambda: _tesseract_packs() >= {"eng", "swe", "nor", "dan"} and _on_path("pdftoppm")(),
    ),
    "recoll": Prerequisite(
        "needs Recoll's indexer (recollcmd; `make browser` installs it)", _on_path("recollindex")
    ),
    "hunspell": Prerequisite(
        "needs the Hunspell word lists for Swedish, Norwegian and Danish (hunspell-sv, "
        "hunspell-no, hunspell-da; `make browser` installs them)",
        lambda: all(
            Path("/usr/share/hunspell", f"{name}.dic").is_file()
            for name in ("sv_SE", "nb_NO", "da_DK")
        ),
    ),
    "make": Prerequisite("needs make", _on_path("make")),
    "git": Prerequisite("needs git", _on_path("git")),
    "setitimer": Prerequisite(
        "needs signal.setitimer (a POSIX system)", lambda: hasattr(signal, "setitimer")
    ),
}


def require(*names: str) -> None:
    """Check the named prerequisites now; the first missing one ends the test (`missing`)."""
    for name in names:
        prerequisite = PREREQUISITES[name]
        if not prerequisite.available():
            missing(prerequisite.reason)


def needs(*names: str) -> pytest.MarkDecorator:
    """A mark: the test needs the named prerequisites (checked when it is set up)."""
    unknown = [name for name in names if name not in PREREQUISITES]
    if unknown:  # a typo must not quietly mark nothing
        raise KeyError(f"unknown prerequisite {unknown}; known: {sorted(PREREQUISITES)}")
    return getattr(pytest.mark, MARKER)(*names)


def check_marked(item: pytest.Item) -> None:
    """Check every prerequisite the item's `needs` marks name (tests/conftest.py calls it
    from pytest_runtest_setup)."""
    for mark in item.iter_markers(MARKER):
        require(*mark.args)
