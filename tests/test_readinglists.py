"""Reading lists: loading, sections, validation against the index, slugs, the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from cli import main
from kb.access import Principal
from kb.errors import ConfigError, NotFound
from kb.library import Library
from kb.listformats import list_dict, render_markdown, render_text
from kb.readinglists import (
    ListProblem,
    get_reading_list,
    load_reading_lists,
    resolve,
    sections,
    validate,
)
from kb.settings import Settings
from kb.view import view_of
from tests.conftest import write

BASE = "http://127.0.0.1:5000"
MEETING = "meetings/2024-04-24-forum-meeting"

ONBOARDING = f"""
title = "Onboarding"
audience = "New members"
description = "Read these first."

[[item]]
ref = "{MEETING}"
note = "The latest meeting."
section = "Meetings"
minutes = 5

[[item]]
ref = "{MEETING}#weighting-of-climate-criteria"
note = "The 30 percent rule."
section = "Meetings"
minutes = 3

[[item]]
ref = "guides/lifespan"
note = "The guide."
section = "Guides"

[[item]]
ref = "articles/upphandling"
note = "In Swedish."
"""

BROKEN_REFS = f"""
title = "Broken refs"
audience = "Coordinators"
description = "Two items that do not resolve."
estimated_minutes = 20

[[item]]
ref = "guides/lifespan"
note = "Fine."

[[item]]
ref = "guides/no-such-guide"
note = "Deleted since."

[[item]]
ref = "{MEETING}#no-such-anchor"
note = "Renamed heading."
"""


@pytest.fixture
def lists_index(small_index: Settings) -> Settings:
    """The small indexed corpus with two reading lists beside it."""
    folder = small_index.corpus / "reading-lists"
    write(folder / "onboarding.toml", ONBOARDING)
    write(folder / "broken-refs.toml", BROKEN_REFS)
    return small_index


def kb(runner, settings: Settings, *args: str):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


# ---- the bundled lists ------------------------------------------------------------------------


def test_bundled_lists_load_and_resolve(bundled_index: Settings) -> None:
    lists, problems = load_reading_lists(bundled_index.corpus)
    assert problems == []
    assert [r.slug for r in lists] == ["procurement-weighting", "start-here"]
    assert validate(bundled_index.corpus, Library(bundled_index).snapshot()) == []
    start = lists[1]
    assert start.title == "Start here" and start.audience == "New members"
    assert start.estimated_minutes == 55 and start.path == "reading-lists/start-here.toml"
    refs = [i.ref for i in start.items]
    assert refs[:2] == ["about/statement-of-commitment", "about/how-membership-works"]
    assert {"guides/extend-lifespan-of-it-products", "guides/strategy-for-sustainable-it"} <= set(
        refs
    )
    assert "meetings/2024-10-24-learning-academy" in refs
    weighting = lists[0]
    assert any("#" in i.ref for i in weighting.items), "the list points at passages too"
    assert all(i.note for lst in lists for i in lst.items)


# ---- loading ------------------------------------------------------------------------------------


def test_items_keep_order_sections_and_fields(lists_index: Settings) -> None:
    r = get_reading_list(lists_index.corpus, "onboarding")
    assert r.slug == "onboarding" and r.title == "Onboarding"
    assert r.path == "reading-lists/onboarding.toml"
    assert [i.number for i in r.items] == [1, 2, 3, 4]
    assert [i.section for i in r.items] == ["Meetings", "Meetings", "Guides", None]
    assert [i.minutes for i in r.items] == [5, 3, None, None]
    assert r.items[1].ref == f"{MEETING}#weighting-of-climate-criteria"
    assert r.items[1].note == "The 30 percent rule."
    # No estimated_minutes in the file: the sum of the items' minutes.
    assert r.estimated_minutes == 8
    resolved = resolve(r, view_of(Library(lists_index).snapshot(), Principal.shell()))
    groups = sections(resolved)
    assert [(title, [x.item.number for x in items]) for title, items in groups] == [
        ("Meetings", [1, 2]),
        ("Guides", [3]),
        (None, [4]),
    ]
    assert resolved[1].passage is not None and resolved[1].passage.anchor == (
        "weighting-of-climate-criteria"
    )
    assert all(x.problem is None and x.doc is not None for x in resolved)


def test_lists_sorted_by_slug(lists_index: Settings) -> None:
    lists, problems = load_reading_lists(lists_index.corpus)
    assert [r.slug for r in lists] == ["broken-refs", "onboarding"]
    assert problems == []


def test_a_list_file_is_parsed_again_only_when_it_changed(tmp_path: Path, monkeypatch) -> None:
    corpus = tmp_path / "corpus"
    item = '\n[[item]]\nref = "guides/lifespan"\n'
    path = write(corpus / "reading-lists/onboarding.toml", 'title = "Onboarding"\n' + item)
    parsed = []
    real = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parsed.append(text) or real(text))
    first, _ = load_reading_lists(corpus)
    again, problems = load_reading_lists(corpus)
    assert [rl.title for rl in again] == ["Onboarding"] == [rl.title for rl in first]
    assert len(parsed) == 1 and problems == []
    write(path, 'title = "Start here"\n' + item)  # an edit shows at once, no re-index
    assert [rl.title for rl in load_reading_lists(corpus)[0]] == ["Start here"]
    write(path, "title = [broken\n")
    lists, problems = load_reading_lists(corpus)
    assert lists == [] and "invalid TOML" in problems[0].problem
    problems.clear()  # what a caller does with its list is not kept
    assert len(load_reading_lists(corpus)[1]) == 1 and len(parsed) == 3


def test_no_lists_folder(tmp_path: Path) -> None:
    assert load_reading_lists(tmp_path) == ([], [])


# ---- validation -------------------------------------------------------------------------------


def test_missing_refs_reported_with_file_item_and_ref(lists_index: Settings) -> None:
    snap = Library(lists_index).snapshot()
    problems = validate(lists_index.corpus, snap)
    assert problems == [
        ListProblem(
            "reading-lists/broken-refs.toml",
            2,
            "guides/no-such-guide",
            "no document 'guides/no-such-guide'",
        ),
        ListProblem(
            "reading-lists/broken-refs.toml",
            3,
            f"{MEETING}#no-such-anchor",
            f"no passage '#no-such-anchor' in {MEETING}",
        ),
    ]
    assert str(problems[0]) == (
        "reading-lists/broken-refs.toml item 2 (guides/no-such-guide): "
        "no document 'guides/no-such-guide'"
    )
    assert problems[0].to_dict()["item"] == 2


def test_list_with_missing_items_is_still_shown(lists_index: Settings) -> None:
    snap = Library(lists_index).snapshot()
    r = get_reading_list(lists_index.corpus, "broken-refs")
    resolved = resolve(r, view_of(snap, Principal.shell()))
    assert [x.item.number for x in resolved] == [1, 2, 3]
    assert resolved[0].problem is None
    assert resolved[1].doc is None and resolved[1].problem == "no document 'guides/no-such-guide'"
    assert resolved[2].doc is not None and resolved[2].passage is None
    text = render_text(r, resolved)
    assert "[missing: no document 'guides/no-such-guide']" in text
    assert "Extend the lifespan of IT products" in text
    md = render_markdown(r, resolved, BASE)
    assert "\\[missing: no passage '\\#no-such-anchor'" in md
    data = list_dict(r, resolved, BASE)
    assert data["missing"] == 2
    assert [i["missing"] for i in data["items"]] == [
        None,
        "no document 'guides/no-such-guide'",
        f"no passage '#no-such-anchor' in {MEETING}",
    ]


def test_invalid_toml_is_reported_and_other_lists_load(lists_index: Settings) -> None:
    folder = lists_index.corpus / "reading-lists"
    write(folder / "broken.toml", 'title = "Unclosed\n[[item]]\nref = "x"\n')
    lists, problems = load_reading_lists(lists_index.corpus)
    assert [r.slug for r in lists] == ["broken-refs", "onboarding"]
    assert len(problems) == 1
    assert problems[0].file == "reading-lists/broken.toml" and problems[0].item == 0
    assert problems[0].problem.startswith("invalid TOML")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        get_reading_list(lists_index.corpus, "broken")
    file_problems = validate(lists_index.corpus, Library(lists_index).snapshot())
    assert ("reading-lists/broken.toml", 0) in {(p.file, p.item) for p in file_problems}


def test_invalid_items_and_fields_are_reported(lists_index: Settings) -> None:
    write(
        lists_index.corpus / "reading-lists/sloppy.toml",
        """
        title = "Sloppy"
        estimated_minutes = "an hour"
        colour = "blue"

        [[item]]
        note = "No ref at all."

        [[item]]
        ref = "guides/lifespan"
        note = "Fine, but minutes are words."
        minutes = "ten"
        """,
    )
    lists, problems = load_reading_lists(lists_index.corpus)
    sloppy = next(r for r in lists if r.slug == "sloppy")
    assert [(i.number, i.ref, i.minutes) for i in sloppy.items] == [(2, "guides/lifespan", None)]
    assert sloppy.estimated_minutes is None
    found = {(p.item, p.problem.split(":")[0].split(";")[0]) for p in problems}
    assert (0, "`estimated_minutes` must be a positive whole number") in found
    assert (0, "unknown key(s) colour") in found
    assert (1, "needs a `ref`") in found
    assert (2, "`minutes` must be a positive whole number") in found


def test_file_without_title_is_invalid(lists_index: Settings) -> None:
    write(lists_index.corpus / "reading-lists/untitled.toml", '[[item]]\nref = "guides/lifespan"\n')
    lists, problems = load_reading_lists(lists_index.corpus)
    assert "untitled" not in [r.slug for r in lists]
    assert problems == [
        ListProblem("reading-lists/untitled.toml", 0, "", "needs a `title` (a non-empty string)")
    ]


# ---- slugs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug", ["", "../onboarding", "onboarding/../onboarding", "Onboarding", "on boarding", "-x"]
)
def test_malformed_slugs_are_not_found(lists_index: Settings, slug: str) -> None:
    with pytest.raises(NotFound):
        get_reading_list(lists_index.corpus, slug)


def test_unknown_slug_is_not_found(lists_index: Settings) -> None:
    with pytest.raises(NotFound, match="no reading list 'nope'"):
        get_reading_list(lists_index.corpus, "nope")


def test_file_name_that_is_not_a_slug_is_reported(lists_index: Settings) -> None:
    write(lists_index.corpus / "reading-lists/My List.toml", 'title = "Mine"\n')
    lists, problems = load_reading_lists(lists_index.corpus)
    assert "My List" not in [r.slug for r in lists]
    assert problems[0].file == "reading-lists/My List.toml"
    assert "lower-case letters" in problems[0].problem


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_lists_overview(runner, lists_index: Settings) -> None:
    result = kb(runner, lists_index, "lists")
    assert result.exit_code == 0, result.output
    assert "onboarding" in result.output and "Onboarding" in result.output
    assert "For: New members · 4 items · about 8 min" in result.output
    data = json.loads(kb(runner, lists_index, "lists", "--json").output)
    assert [x["slug"] for x in data["lists"]] == ["broken-refs", "onboarding"]
    assert data["lists"][1] == {
        "slug": "onboarding",
        "title": "Onboarding",
        "audience": "New members",
        "description": "Read these first.",
        "estimated_minutes": 8,
        "item_count": 4,
        "path": "reading-lists/onboarding.toml",
    }
    assert data["problems"] == []


def test_cli_lists_warns_about_invalid_files(runner, lists_index: Settings) -> None:
    write(lists_index.corpus / "reading-lists/broken.toml", "title = \n")
    result = kb(runner, lists_index, "lists")
    assert result.exit_code == 0
    assert "warning: reading-lists/broken.toml: invalid TOML" in result.stderr


def test_cli_list_text(runner, lists_index: Settings) -> None:
    result = kb(runner, lists_index, "lists", "onboarding")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Onboarding\nFor: New members")
    assert out.index("Meetings") < out.index("Guides") < out.index(" 4. ")
    assert " 2. Forum meeting 24 April 2024 (Meeting report, 2024-04-24, § Weighting" in out
    assert "    The 30 percent rule." in out


def test_cli_list_marks_missing_items(runner, lists_index: Settings) -> None:
    text = kb(runner, lists_index, "lists", "broken-refs").output
    assert " 2. [missing: no document 'guides/no-such-guide']" in text
    assert "    guides/no-such-guide" in text
    md = kb(runner, lists_index, "lists", "broken-refs", "--format", "markdown").output
    assert md.startswith("# Broken refs\n")
    assert "2. \\[missing: no document 'guides/no-such-guide'\\]" in md
    assert (
        "1. [Extend the lifespan of IT products](http://127.0.0.1:5000/doc/guides/lifespan)" in md
    )
    data = json.loads(kb(runner, lists_index, "lists", "broken-refs", "--format", "json").output)
    assert data["slug"] == "broken-refs" and data["missing"] == 2
    assert data["items"][1]["missing"] == "no document 'guides/no-such-guide'"
    assert data["items"][0]["permalink"] == "http://127.0.0.1:5000/doc/guides/lifespan"
    assert data["sections"] == [{"title": None, "items": [1, 2, 3]}]


def test_cli_list_json_flag_and_passages(runner, lists_index: Settings) -> None:
    data = json.loads(kb(runner, lists_index, "lists", "onboarding", "--json").output)
    item = data["items"][1]
    assert item["anchor"] == "weighting-of-climate-criteria"
    assert item["permalink"] == f"{BASE}/doc/{MEETING}#weighting-of-climate-criteria"
    assert item["heading_path"][-1] == "Weighting of climate criteria"
    assert data["sections"][0] == {"title": "Meetings", "items": [1, 2]}


def test_cli_unknown_list_exits_1(runner, lists_index: Settings) -> None:
    result = kb(runner, lists_index, "lists", "nope")
    assert result.exit_code == 1
    assert "no reading list 'nope'" in result.stderr
    assert kb(runner, lists_index, "lists", "../etc").exit_code == 1


def test_cli_list_without_index_exits_2(runner, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "reading-lists/onboarding.toml", ONBOARDING)
    settings = Settings.resolve(corpus, tmp_path / "no-index")
    assert kb(runner, settings, "lists").exit_code == 0
    result = kb(runner, settings, "lists", "onboarding")
    assert result.exit_code == 2
    assert "kb index" in result.stderr


def test_index_and_check_report_unresolved_list_items(runner, small_settings):
    lists = small_settings.corpus / "reading-lists"
    lists.mkdir()
    (lists / "broken.toml").write_text(
        'title = "Broken"\n'
        '[[item]]\nref = "guides/lifespan"\nnote = "fine"\n'
        '[[item]]\nref = "guides/nothing-here"\nnote = "gone"\n'
        '[[item]]\nref = "guides/lifespan#no-such-anchor"\nnote = "moved"\n',
        encoding="utf-8",
    )
    base = ["--corpus", str(small_settings.corpus), "--index", str(small_settings.index)]
    for command in (["check", "--json"], ["index", "--json"]):
        result = runner.invoke(main, [*base, *command])
        data = json.loads(result.output)
        problems = {(p["file"], p["item"], p["ref"]) for p in data["reading_list_problems"]}
        assert problems == {
            ("reading-lists/broken.toml", 2, "guides/nothing-here"),
            ("reading-lists/broken.toml", 3, "guides/lifespan#no-such-anchor"),
        }, command
    # An unchanged corpus still reports them (from the manifest), in text too.
    result = runner.invoke(main, [*base, "index"])
    assert "reading-lists/broken.toml item 2 (guides/nothing-here): no document" in result.output
    # The list is still shown, with the missing items marked.
    shown = runner.invoke(main, [*base, "lists", "broken"])
    assert shown.exit_code == 0
    assert "missing" in shown.output.lower()
