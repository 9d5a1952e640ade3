"""Shared fixtures: settings on temporary corpora and indexes, the Flask app and client."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.build import run_index
from kb.settings import Settings
from tests import prerequisites
from tests.prerequisites import REALCORPUS  # noqa: F401  (the tests import it from here)

pytest_plugins = ["pytester"]  # tests/test_prerequisites.py runs small suites with it

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = ROOT / "corpus"
EVAL = ROOT.parent / "shared" / "eval"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{prerequisites.MARKER}(*names): needs these prerequisites (tests/prerequisites.py); "
        "skipped when missing, a failure under CI",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    prerequisites.check_marked(item)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


SMALL_ORGS = """
[[organisation]]
id = "ikea"
name = "IKEA"
aliases = ["Ikea", "Inter IKEA"]

[[organisation]]
id = "skovde-kommun"
name = "Skövde kommun"
aliases = ["Skövde municipality", "Skövde"]
"""

# The corpus configuration of fixture corpora that tests read as anonymous web visitors. Without
# a kb.toml every document is `members` (kb/access.py), which an anonymous reader cannot see.
PUBLIC_CONFIG = """
# A test corpus: every document is public, so anonymous web readers see all of them.
[visibility]
default = "public"
"""


def make_public(corpus: Path) -> Path:
    """Give a fixture corpus a kb.toml that makes its documents public (PUBLIC_CONFIG)."""
    return write(corpus / "kb.toml", PUBLIC_CONFIG)


SMALL_TOPICS = """
[[topic]]
id = "product-lifespan"
name = "Product lifespan"
[topic.keywords]
en = ["lifespan", "repair"]
sv = ["livslängd"]
"""


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A four-document corpus in three languages, written in code."""
    corpus = tmp_path / "corpus"
    write(corpus / "organisations.toml", SMALL_ORGS)
    write(corpus / "topics.toml", SMALL_TOPICS)
    make_public(corpus)  # served to anonymous readers by the web and server tests
    write(
        corpus / "meetings/2024-04-24-forum-meeting.md",
        """
        ---
        title: Forum meeting 24 April 2024
        type: meeting
        date: 2024-04-24
        ---
        # Forum meeting 24 April 2024

        ## Weighting of climate criteria

        The Norwegian rule says climate and environmental criteria weigh at least 30 percent
        in public procurement. IKEA shared how they engage suppliers.

        ## Annual review

        Members reported an average sustainability weighting of 23 percent.
        """,
    )
    write(
        corpus / "guides/lifespan.md",
        """
        ---
        title: Extend the lifespan of IT products
        type: guide
        date: 2023-11-01
        ---
        # Extend the lifespan of IT products

        ## Repair and refurbish

        Repairing laptops and phones extends their lifespan and lowers emissions.
        Circular economy practices such as refurbishing matter most.
        """,
    )
    write(
        corpus / "articles/upphandling.md",
        """
        ---
        title: Hållbar upphandling i Skövde
        language: sv
        date: 2024-09-03
        ---
        # Hållbar upphandling i Skövde

        Skövde kommun har ökad fokus på hållbarhet i sina upphandlingar av IT och
        förlänger livslängden på datorer genom cirkulär ekonomi och återbruk.
        """,
    )
    write(
        corpus / "notes/readme.txt",
        "Plain notes\n\nA text file about mobile phones and circular economy.\n",
    )
    return corpus


@pytest.fixture
def small_settings(small_corpus: Path, tmp_path: Path) -> Settings:
    return Settings.resolve(small_corpus, tmp_path / "index")


@pytest.fixture
def small_index(small_settings: Settings) -> Settings:
    report = run_index(small_settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return small_settings


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory) -> Settings:
    """The bundled corpus, copied and indexed once for the whole session."""
    base = tmp_path_factory.mktemp("bundled")
    corpus = base / "corpus"
    shutil.copytree(BUNDLED_CORPUS, corpus)
    settings = Settings.resolve(corpus, base / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, [f for f in report.files if f.status == "failed"]
    return settings


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def bundled_app(bundled_index: Settings):
    from webui import create_app

    app = create_app(bundled_index, check_interval=0)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(bundled_app):
    return bundled_app.test_client()
