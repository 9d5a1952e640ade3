"""The `kb` command, driven through click's CliRunner on a temporary corpus and index."""

from __future__ import annotations

import json

from cli import main


def kb(runner, settings, *args):
    return runner.invoke(
        main, ["--corpus", str(settings.corpus), "--index", str(settings.index), *args]
    )


def test_index_then_search_json(runner, small_settings):
    result = kb(runner, small_settings, "index", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["summary"]["indexed"] == 4
    assert {f["path"] for f in report["files"]} == {
        "meetings/2024-04-24-forum-meeting.md", "guides/lifespan.md",
        "articles/upphandling.md", "notes/readme.txt",
    }  # fmt: skip

    result = kb(runner, small_settings, "search", "weighting climate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"] == "weighting climate"
    assert data["total"] >= 1
    first = data["results"][0]
    for key in (
        "doc_id",
        "title",
        "type",
        "date",
        "language",
        "passage_id",
        "anchor",
        "page",
        "snippet",
        "score",
    ):
        assert key in first
    assert first["doc_id"] == "meetings/2024-04-24-forum-meeting"
    assert first["anchor"] == "weighting-of-climate-criteria"
    assert "<mark>" in first["snippet"]
    assert set(data["facets"]) == {"type", "year", "lang", "org", "topic"}


def test_search_text_output(runner, small_index):
    result = kb(runner, small_index, "search", "lifespan")
    assert result.exit_code == 0, result.output
    assert "Extend the lifespan of IT products" in result.output
    assert "guides/lifespan#repair-and-refurbish" in result.output
    assert "[lifespan]" in result.output  # highlighted without colours when not a terminal


def test_search_filters_from_options(runner, small_index):
    result = kb(runner, small_index, "search", "--type", "guide", "--json")
    data = json.loads(result.output)
    assert [r["doc_id"] for r in data["results"]] == ["guides/lifespan"]


def test_search_explains_bad_query(runner, small_index):
    result = kb(runner, small_index, "search", "year:abc", '"unbalanced')
    assert result.exit_code == 0
    assert "missing closing quote" in result.output
    assert "year: expects a year" in result.output


def test_second_run_is_up_to_date(runner, small_index):
    result = kb(runner, small_index, "index")
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_show_document(runner, small_index):
    result = kb(runner, small_index, "show", "meetings/2024-04-24-forum-meeting")
    assert result.exit_code == 0, result.output
    assert "Forum meeting 24 April 2024" in result.output
    assert "2024-04-24" in result.output
    assert "#annual-review" in result.output
    data = json.loads(kb(runner, small_index, "show", "guides/lifespan", "--json").output)
    assert data["type"] == "guide"
    assert data["passages"][0]["anchor"] == "repair-and-refurbish"


def test_show_unknown_document(runner, small_index):
    result = kb(runner, small_index, "show", "nope/nothing")
    assert result.exit_code == 1
    assert "no document with id 'nope/nothing'" in result.output


def test_search_without_index_says_what_to_do(runner, small_settings):
    result = kb(runner, small_settings, "search", "x")
    assert result.exit_code == 2
    assert "kb index" in result.output


def test_status(runner, small_index):
    result = kb(runner, small_index, "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 4
    assert data["by_type"]["meeting"] == 1
    assert data["by_language"]["sv"] == 1


def test_check_writes_nothing(runner, small_settings):
    result = kb(runner, small_settings, "check", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["indexed"] == 4
    assert not small_settings.index.exists()


def test_env_variables_configure_paths(runner, small_index, monkeypatch):
    monkeypatch.setenv("KB_CORPUS", str(small_index.corpus))
    monkeypatch.setenv("KB_INDEX", str(small_index.index))
    result = runner.invoke(main, ["search", "upphandling", "--json"])
    assert json.loads(result.output)["results"][0]["doc_id"] == "articles/upphandling"


def test_index_help_documents_exit_codes(runner):
    result = runner.invoke(main, ["index", "--help"])
    assert "Exit codes" in result.output
    assert "2  nothing written" in result.output


def test_corpus_config_is_read_not_indexed(runner, small_settings):
    (small_settings.corpus / "kb.toml").write_text('[visibility]\ndefault = "public"\n')
    result = kb(runner, small_settings, "index", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert "kb.toml" not in {f["path"] for f in report["files"]}
    assert report["summary"]["skipped"] == 0


def test_library_errors_become_a_message_and_an_exit_code_in_one_place(runner):
    """The group maps every subcommand's KbError: NotFound exits 1, any other 2, each as
    `Error: <message>` on stderr; a command may add a hint to NotFound."""
    from cli import KbGroup
    from kb.errors import ConfigError, NotFound

    group = KbGroup()

    @group.command("missing")
    def missing() -> None:
        raise NotFound("no document with id 'x'")

    @group.command("lost", not_found_hint="see `kb lists` for the lists there are")
    def lost() -> None:
        raise NotFound("no reading list 'y'")

    @group.command("broken")
    def broken() -> None:
        raise ConfigError("topics.toml: invalid TOML")

    result = runner.invoke(group, ["missing"])
    assert (result.exit_code, result.stderr) == (1, "Error: no document with id 'x'\n")
    result = runner.invoke(group, ["lost"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no reading list 'y'; see `kb lists` for the lists there are\n"
    result = runner.invoke(group, ["broken"])
    assert (result.exit_code, result.stderr) == (2, "Error: topics.toml: invalid TOML\n")
    assert result.stdout == ""


def test_unknown_list_says_where_to_look(runner, small_index):
    result = kb(runner, small_index, "lists", "nope")
    assert result.exit_code == 1
    assert "Error: no reading list 'nope'; see `kb lists` for the lists there are" in result.stderr


def test_status_without_an_index_names_the_process_writing_one(runner, small_settings):
    import os

    from kb.store import IndexStore

    with IndexStore(small_settings.index).writer_lock():
        result = kb(runner, small_settings, "status")
    assert result.exit_code == 2
    assert "kb index" in result.stderr
    assert f"(process {os.getpid()} is writing the index now)" in result.stderr
