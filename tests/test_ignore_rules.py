"""Every file under the corpus is accounted for: indexed, unchanged, skipped, failed or ignored.

Only dot-names and the root's `_sources/` are ignored by default; `kb.toml`'s `[index] ignore`
adds gitignore-style rules, and every ignored path is reported with the rule that matched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from indexer.build import run_index
from indexer.discover import IgnoreRules, discover
from kb.access import Principal
from kb.errors import ConfigError
from kb.library import Library
from kb.manifest import Cause
from kb.search import Searcher, SearchRequest
from kb.settings import Settings
from tests.conftest import write

POST = "---\ntitle: {title}\ntype: article\ndate: 2024-05-01\n---\n\n# {title}\n\n{body}\n"


def kb(runner, settings: Settings, *args: str):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


def statuses(report: dict) -> dict[str, tuple[str, str | None]]:
    return {f["path"]: (f["status"], f["reason"]) for f in report["files"]}


def test_underscore_folders_are_indexed(small_settings: Settings) -> None:
    """A static site's `_posts/` and `_articles/` are documents, not hidden sources."""
    corpus = small_settings.corpus
    write(corpus / "_posts/2024-05-01-reuse.md",
          POST.format(title="Reuse pilot", body="Refurbished laptops in the zephyrine pilot."))  # fmt: skip
    write(corpus / "articles/_articles/tender.md",
          POST.format(title="Tender", body="Tender text."))  # fmt: skip
    report = run_index(small_settings, workers=1).to_dict()
    files = statuses(report)
    assert files["_posts/2024-05-01-reuse.md"] == ("indexed", None)
    assert files["articles/_articles/tender.md"] == ("indexed", None)


def test_dot_files_and_sources_are_ignored_and_reported(small_settings: Settings) -> None:
    corpus = small_settings.corpus
    write(corpus / ".git/config", "[core]\n")
    write(corpus / ".git/objects/ab/cdef", "x")
    write(corpus / "guides/.draft.md", "# Draft\n\nNot yet.\n")
    write(corpus / "_sources/slides.txt", "source of a generated PDF")
    write(corpus / "guides/_sources/kept.md", "# Kept\n\nOnly the root's _sources is ignored.\n")
    report = run_index(small_settings, workers=1).to_dict()
    files = statuses(report)
    # A folder ignored as a whole is one line, its contents never read.
    assert files[".git/"] == ("ignored", "ignored: hidden (default rule `.*`)")
    assert not any(path.startswith(".git/") and path != ".git/" for path in files)
    assert files["guides/.draft.md"] == ("ignored", "ignored: hidden (default rule `.*`)")
    assert files["_sources/"] == (
        "ignored",
        "ignored: sources of generated files (default rule `/_sources/`)",
    )
    assert files["guides/_sources/kept.md"][0] == "indexed"
    assert report["summary"]["ignored"] == 3


def test_configured_rules_ignore_and_name_the_rule(small_settings: Settings) -> None:
    corpus = small_settings.corpus
    write(corpus / "kb.toml", '[index]\nignore = ["drafts/", "*.tmp", "guides/**/old-*.md"]\n')
    write(corpus / "drafts/a.md", "# A\n\nDraft.\n")
    write(corpus / "drafts/deep/b.md", "# B\n\nDraft.\n")
    write(corpus / "notes/scratch.tmp", "scratch")
    write(corpus / "guides/x/old-lifespan.md", "# Old\n\nOld text.\n")
    write(corpus / "guides/x/new-lifespan.md", "# New\n\nNew text.\n")
    report = run_index(small_settings, workers=1).to_dict()
    files = statuses(report)
    rule = "ignored: kb.toml [index] ignore rule `{}`"
    assert files["drafts/"] == ("ignored", rule.format("drafts/"))
    assert "drafts/a.md" not in files and "drafts/deep/b.md" not in files
    assert files["notes/scratch.tmp"] == ("ignored", rule.format("*.tmp"))
    assert files["guides/x/old-lifespan.md"] == ("ignored", rule.format("guides/**/old-*.md"))
    assert files["guides/x/new-lifespan.md"][0] == "indexed"


def test_a_new_rule_takes_documents_out_of_the_index(small_settings: Settings) -> None:
    corpus = small_settings.corpus
    run_index(small_settings, workers=1)
    write(corpus / "kb.toml", '[index]\nignore = ["guides/"]\n')
    report = run_index(small_settings, workers=1)
    lines = [f for f in report.to_dict()["files"] if f["path"].startswith("guides/")]
    assert [(f["path"], f["status"]) for f in lines] == [("guides/", "ignored")]
    searcher = Searcher(Library(small_settings), Principal.shell())
    assert searcher.search(SearchRequest(q="lifespan")).total == 0


def test_every_file_is_accounted_for(small_settings: Settings) -> None:
    """Each file on disk is a report line itself, or lies under an ignored folder's line, or
    is configuration (kb.toml, the vocabularies, reading lists, sidecars)."""
    corpus = small_settings.corpus
    write(corpus / ".hidden/x.md", "# X\n")
    write(corpus / "_posts/p.md", POST.format(title="P", body="Post."))
    write(corpus / "notes/image.png", "not really a png")
    write(corpus / "notes/backup.md~", "# Backup\n")
    report = run_index(small_settings, workers=1).to_dict()
    lines = statuses(report)
    folders = tuple(path for path in lines if path.endswith("/"))
    config = {"kb.toml", "organisations.toml", "topics.toml", "glossary.toml"}
    for path in (p for p in corpus.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus).as_posix()
        if rel in config or rel.startswith("reading-lists/") or ".meta." in rel:
            continue
        assert rel in lines or rel.startswith(folders), rel
    assert lines["notes/image.png"] == ("skipped", "unsupported file type: .png")
    assert lines["notes/backup.md~"] == ("skipped", "unsupported file type: .md~")


def test_index_json_and_check_output(runner, small_settings: Settings) -> None:
    corpus = small_settings.corpus
    write(corpus / "kb.toml", '[index]\nignore = ["*.tmp"]\n')
    write(corpus / "notes/a.tmp", "scratch")
    write(corpus / ".DS_Store", "binary")
    result = kb(runner, small_settings, "index", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    ignored = [f for f in report["files"] if f["status"] == "ignored"]
    assert {f["path"] for f in ignored} == {"notes/a.tmp", ".DS_Store"}
    assert set(ignored[0]) == set(report["files"][0])  # the same keys as every other line
    assert report["summary"]["ignored"] == 2

    result = kb(runner, small_settings, "check")
    assert result.exit_code == 0, result.output
    assert " ignored  .DS_Store: ignored: hidden (default rule `.*`)" in result.output
    assert " ignored  notes/a.tmp: ignored: kb.toml [index] ignore rule `*.tmp`" in result.output
    assert "2 ignored" in result.output.splitlines()[-1]

    result = kb(runner, small_settings, "index")
    assert "ignored  notes/a.tmp" not in result.output  # counted, not listed, by `kb index`


@pytest.mark.parametrize(
    "config",
    ['[index]\nignore = "drafts/"\n', "[index]\nignore = [1]\n", "[index]\nignor = []\n"],
)
def test_a_broken_rule_is_an_error_not_ignore_nothing(tmp_path: Path, config: str) -> None:
    write(tmp_path / "kb.toml", config)
    with pytest.raises(ConfigError, match=r"\[index\]"):
        discover(tmp_path)


def test_discover_reports_ignored_paths_with_their_cause(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "# A\n")
    write(tmp_path / "skip/b.md", "# B\n")
    files, problems = discover(tmp_path, IgnoreRules.of(["skip/"]))
    assert [f.rel for f in files] == ["a.md"]
    assert [(p.rel, p.cause) for p in problems] == [("skip/", Cause.IGNORED)]
