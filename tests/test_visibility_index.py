"""Each document's visibility as the indexer decides it: the sidecar, the file's own
declaration (front matter, `<meta name="kb-visibility">`), the corpus's kb.toml defaults;
precedence, errors (the file is not indexed, nothing else is lost), `kb check`, `kb add`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from cli import main
from indexer.build import run_index
from indexer.entities import EntityMatcher
from indexer.extract.base import Block, Extraction
from indexer.extract.html import extract_html
from indexer.extract.markdown import extract_markdown
from indexer.metadata import describe
from kb import schema as f
from kb.access import Visibility, VisibilityConfig, parse_visibility
from kb.errors import InvalidVisibility
from kb.settings import Settings
from kb.store import IndexStore
from kb.vocabulary import load_vocabulary
from tests.conftest import BUNDLED_CORPUS, SMALL_ORGS, write


@pytest.fixture(scope="module")
def matcher(tmp_path_factory) -> EntityMatcher:
    corpus = tmp_path_factory.mktemp("vocab")
    write(corpus / "organisations.toml", SMALL_ORGS)
    return EntityMatcher(load_vocabulary(corpus))


def markdown(**declared: object) -> Extraction:
    return Extraction(format="markdown", title="A note", blocks=[Block("Plain words.")],
                      metadata=dict(declared))  # fmt: skip


def visibility_of(matcher, rel="notes/a.md", sidecar=None, config=None, **declared) -> str:
    meta, _ = describe(rel, markdown(**declared), sidecar or {}, matcher, config)
    return meta.visibility


CONFIG = VisibilityConfig(
    Visibility.public(),
    {"internal": Visibility.members(), "internal/ikea": Visibility.organisation("ikea")},
)


# ---- sources and precedence ------------------------------------------------------------------


def test_without_any_configuration_a_document_is_members_only(matcher) -> None:
    assert visibility_of(matcher) == "members"
    assert visibility_of(matcher, config=VisibilityConfig()) == "members"


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("a.md", "public"),
        ("notes/a.md", "public"),
        ("internal/a.md", "members"),
        ("internal/deeper/a.md", "members"),
        ("internal/ikea/a.md", "organisation:ikea"),  # the deepest listed folder wins
        ("internal/ikea/x/a.md", "organisation:ikea"),
        ("internalised/a.md", "public"),  # a folder, not a prefix of a name
    ],
)
def test_the_folder_default_applies_when_the_document_says_nothing(matcher, rel, expected):
    assert visibility_of(matcher, rel, config=CONFIG) == expected


def test_sidecar_beats_front_matter_beats_the_folder_default(matcher) -> None:
    rel = "internal/a.md"
    assert visibility_of(matcher, rel, config=CONFIG, visibility="public") == "public"
    sidecar = {"visibility": "organisation:ikea"}
    assert visibility_of(matcher, rel, sidecar, CONFIG, visibility="public") == "organisation:ikea"
    assert visibility_of(matcher, "a.md", {"visibility": "members"}, CONFIG) == "members"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public", "public"),
        ("  Members ", "members"),
        ("organisation:ikea", "organisation:ikea"),
        ("Organisation: Inter IKEA", "organisation:ikea"),  # an alias
        ("organization:Skövde kommun, ikea", "organisation:ikea,skovde-kommun"),  # sorted ids
        ("organisation:ikea,IKEA", "organisation:ikea"),
    ],
)
def test_values_are_stored_in_canonical_form(matcher, value, expected) -> None:
    assert visibility_of(matcher, visibility=value) == expected
    assert visibility_of(matcher, sidecar={"visibility": value}) == expected
    assert visibility_of(matcher, sidecar={"Visibility": value}) == expected  # any key case


# ---- errors: the file fails, clearly -------------------------------------------------------------

BAD_VALUES = [
    "secret",
    "private",
    "public,members",
    "organisation:",
    "organisation:nobody",
    "organisation:ikea,nobody",
    "organisation:ikea,",
    "group:ikea",
    "",
    "   ",
    None,
    3,
    True,
    ["members"],
    {"level": "members"},
    "x" * 3000,
]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_an_invalid_value_fails_the_file_naming_where_it_is(matcher, value) -> None:
    with pytest.raises(InvalidVisibility, match="visibility in front matter"):
        visibility_of(matcher, config=CONFIG, visibility=value)
    with pytest.raises(InvalidVisibility, match="visibility in sidecar"):
        visibility_of(matcher, sidecar={"visibility": value}, config=CONFIG)


def test_a_bad_value_fails_the_file_even_when_the_sidecar_overrides_it(matcher) -> None:
    # Which of the two the author meant is unknown: never guess about who may read.
    with pytest.raises(InvalidVisibility, match="front matter"):
        visibility_of(matcher, sidecar={"visibility": "members"}, visibility="organisation:x")


def test_an_unknown_organisation_is_named(matcher) -> None:
    with pytest.raises(InvalidVisibility, match="unknown organisation 'nobody'"):
        visibility_of(matcher, visibility="organisation:ikea,nobody")


@pytest.mark.parametrize("key", ["visiblity", "Visibilty", "visability", "kb-visibility",
                                 "kb_visibility", "VISIBILTY"])  # fmt: skip
def test_a_misspelt_key_fails_the_file_rather_than_falling_back_to_the_default(matcher, key):
    with pytest.raises(InvalidVisibility, match="did you mean `visibility`"):
        visibility_of(matcher, config=CONFIG, sidecar={key: "members"})
    extraction = markdown(**{key: "members"})
    with pytest.raises(InvalidVisibility, match="front matter"):
        describe("a.md", extraction, {}, matcher, CONFIG)


def test_keys_that_only_look_alike_are_other_metadata(matcher) -> None:
    meta, _ = describe("a.md", markdown(visible=True, version="2"), {}, matcher, CONFIG)
    assert meta.visibility == "public"


def test_two_spellings_of_the_key_with_different_values_fail(matcher) -> None:
    both = {"visibility": "public", "Visibility": "organisation:ikea"}
    with pytest.raises(InvalidVisibility, match="two different visibility values"):
        describe("a.md", markdown(**both), {}, matcher, CONFIG)
    same = {"visibility": "members", "Visibility": "members"}
    assert describe("a.md", markdown(**same), {}, matcher, CONFIG)[0].visibility == "members"


# ---- what files declare ------------------------------------------------------------------------


def html(*metas: str) -> bytes:
    tags = "".join(f'<meta name="kb-visibility" content="{m}">' for m in metas)
    return (f"<!doctype html><html lang='en'><head><title>Page</title>{tags}</head>"
            "<body><main><h1>Page</h1><p>Plain words about laptops.</p></main></body></html>"
            ).encode()  # fmt: skip


def test_html_declares_its_visibility_in_a_meta_tag(matcher) -> None:
    ex = extract_html(html("organisation:ikea"))
    assert describe("about/a.html", ex, {}, matcher, CONFIG)[0].visibility == "organisation:ikea"
    ex = extract_html(html("members", "members"))
    assert describe("about/a.html", ex, {}, matcher, CONFIG)[0].visibility == "members"


@pytest.mark.parametrize("metas", [("members", "public"), ("",), ("everyone",)])
def test_conflicting_or_bad_html_declarations_fail(matcher, metas) -> None:
    with pytest.raises(InvalidVisibility, match="HTML metadata"):
        describe("about/a.html", extract_html(html(*metas)), {}, matcher, CONFIG)


@pytest.mark.parametrize(
    "text",
    [
        # invalid YAML elsewhere in the block
        "---\ntitle: [broken\nvisibility: organisation:ikea\n---\n# Note\n\nWords.\n",
        # tabs and a colon in a value: still not YAML
        "---\ntitle: a: b: c\n\tx\nvisibility: 'organisation:ikea' # only IKEA\n---\n# N\n\nW.\n",
        # TOML front matter with an error
        '+++\nvisibility = "organisation:ikea"\ntitle = \n+++\n# Note\n\nWords.\n',
        # the closing line forgotten
        "---\ntitle: Note\nvisibility: organisation:ikea\n\n# Note\n\nWords.\n",
    ],
)
def test_broken_front_matter_still_keeps_its_visibility(matcher, text) -> None:
    ex = extract_markdown(text)
    assert describe("a.md", ex, {}, matcher, CONFIG)[0].visibility == "organisation:ikea"


def test_broken_front_matter_with_a_bad_or_misspelt_visibility_fails(matcher) -> None:
    for line in ("visibility: secret", "visiblity: members"):
        ex = extract_markdown(f"---\ntitle: [broken\n{line}\n---\n# Note\n\nWords.\n")
        with pytest.raises(InvalidVisibility):
            describe("a.md", ex, {}, matcher, CONFIG)


def test_a_thematic_break_opening_a_file_is_not_taken_for_front_matter(matcher) -> None:
    ex = extract_markdown("---\n\nVisibility: good in the market.\n\nMore words.\n")
    assert describe("a.md", ex, {}, matcher, CONFIG)[0].visibility == "public"


# ---- fuzzing: any value is either a valid visibility or a clear refusal --------------------------

VALUE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["public", "members", "organisation:ikea", "organisation:skovde-kommun,ikea",
                     "Organisation:IKEA", "organization: Skövde", "PUBLIC ", "organisation:x"]),
    st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(["organisation", "public", "members",
                                                         "org"]), st.text(max_size=30)),
    st.none(), st.booleans(), st.integers(), st.lists(st.text(max_size=10), max_size=3),
)  # fmt: skip


def _expected(value: object, matcher: EntityMatcher) -> str | None:
    try:
        return str(parse_visibility(value, matcher.vocab))
    except InvalidVisibility:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(value=VALUE, in_sidecar=st.booleans())
@example(value="public ", in_sidecar=False)
@example(value="organisation:ikea\n", in_sidecar=True)
def test_fuzz_declared_values(matcher, value, in_sidecar) -> None:
    expected = _expected(value, matcher)
    sidecar = {"visibility": value} if in_sidecar else {}
    declared = {} if in_sidecar else {"visibility": value}
    try:
        got = visibility_of(matcher, "internal/a.md", sidecar, CONFIG, **declared)
    except InvalidVisibility:
        assert expected is None
        return
    assert got == expected
    assert got != "public" or str(value).strip().lower() == "public"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(value=VALUE)
def test_fuzz_front_matter_text(matcher, value) -> None:
    """The value written into a real front matter block, as a coordinator's editor would."""
    block = yaml.safe_dump({"title": "Note", "visibility": value}, allow_unicode=True)
    text = f"---\n{block}---\n# Note\n\nPlain words.\n"
    try:
        got = describe("internal/a.md", extract_markdown(text), {}, matcher, CONFIG)[0].visibility
    except InvalidVisibility:
        return
    # Whatever was accepted is a valid value, and public only when the author wrote public.
    assert got == str(parse_visibility(got, matcher.vocab))
    assert got != "public" or str(value).strip().lower() == "public"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(value=st.text(max_size=60), key=st.sampled_from(["visibility", "Visibility", "VISIBILITY"]))
def test_fuzz_sidecar_file(matcher, tmp_path_factory, value, key) -> None:
    """The value written into a real sidecar file, read as `kb index` reads it."""
    from indexer.metadata import read_sidecar
    from indexer.sidecars import sidecar_text

    doc = tmp_path_factory.mktemp("sidecar") / "report.pdf"
    doc.with_name("report.pdf.meta.toml").write_text(sidecar_text({key: value}), encoding="utf-8")
    expected = _expected(value, matcher)
    try:
        got = visibility_of(matcher, "internal/a.md", read_sidecar(doc), CONFIG)
    except InvalidVisibility:
        assert expected is None
        return
    assert got == expected and (got != "public" or value.strip().lower() == "public")


# ---- index runs ----------------------------------------------------------------------------------


def stored_visibility(settings: Settings) -> dict[str, set[str]]:
    """doc id -> the visibility values stored on its records (doc and passages)."""
    ix = whoosh_index.open_dir(str(IndexStore(settings.index).current().path))
    seen: dict[str, set[str]] = {}
    with ix.reader() as reader:
        for n in reader.all_doc_ids():
            stored = reader.stored_fields(n)
            seen.setdefault(stored[f.DOC_ID], set()).add(stored[f.VISIBILITY])
    return seen


def kb(runner, settings: Settings, *args: str):
    return runner.invoke(main, ["--corpus", str(settings.corpus), "--index",
                                str(settings.index), *args])  # fmt: skip


KB_TOML = """
[visibility]
default = "public"
[visibility.folders]
"internal" = "members"
"""


@pytest.fixture
def mixed(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    write(corpus / "organisations.toml", SMALL_ORGS)
    write(corpus / "kb.toml", KB_TOML)
    write(corpus / "notes/open.md", "# Open\n\nA public heron note.\n")
    write(corpus / "internal/plan.md", "# Plan\n\nA members heron plan.\n")
    write(corpus / "notes/ikea.md", "---\nvisibility: organisation:IKEA\n---\n# Ikea\n\nHeron.\n")
    write(corpus / "notes/pdf-like.md", "# Sidecar\n\nHeron by sidecar.\n")
    write(corpus / "notes/pdf-like.md.meta.toml", 'visibility = "organisation:skovde-kommun"\n')
    write(corpus / "notes/typo.md", "---\nvisibilty: members\n---\n# Typo\n\nHeron typo.\n")
    write(corpus / "notes/secret.md", "---\nvisibility: secret\n---\n# Secret\n\nHeron.\n")
    write(corpus / "notes/nobody.md", "---\nvisibility: organisation:nobody\n---\n# N\n\nHeron.\n")
    return Settings.resolve(corpus, tmp_path / "index")


BAD_FILES = {"notes/typo.md", "notes/secret.md", "notes/nobody.md"}


def test_an_index_run_stores_each_documents_visibility_and_fails_only_bad_files(mixed) -> None:
    report = run_index(mixed, workers=1)
    failed = {f.path: f.reason for f in report.files if f.status == "failed"}
    assert set(failed) == BAD_FILES
    assert "did you mean `visibility`" in failed["notes/typo.md"]
    assert "invalid visibility in front matter" in failed["notes/secret.md"]
    assert "unknown organisation 'nobody'" in failed["notes/nobody.md"]
    assert report.summary["indexed"] == 4 and report.exit_code == 1
    # The report (`kb index --json`) says who may read each indexed file.
    assert {r.path: r.visibility for r in report.files if r.status == "indexed"} == {
        "notes/open.md": "public", "internal/plan.md": "members",
        "notes/ikea.md": "organisation:ikea", "notes/pdf-like.md": "organisation:skovde-kommun",
    }  # fmt: skip
    assert stored_visibility(mixed) == {  # failed files have no record at all
        "notes/open": {"public"},
        "internal/plan": {"members"},
        "notes/ikea": {"organisation:ikea"},
        "notes/pdf-like": {"organisation:skovde-kommun"},
    }


def test_a_document_that_gets_a_bad_value_leaves_the_index(mixed) -> None:
    run_index(mixed, workers=1)
    assert stored_visibility(mixed)["notes/ikea"] == {"organisation:ikea"}
    write(mixed.corpus / "notes/ikea.md", "---\nvisibility: organisation:IKEA,\n---\n# I\n\nH.\n")
    report = run_index(mixed, workers=1)
    assert "notes/ikea.md" in {f.path for f in report.files if f.status == "failed"}
    assert "notes/ikea" not in stored_visibility(mixed)


def test_a_file_fixed_later_is_indexed_then(mixed) -> None:
    run_index(mixed, workers=1)
    write(mixed.corpus / "notes/secret.md", "---\nvisibility: members\n---\n# Secret\n\nHeron.\n")
    report = run_index(mixed, workers=1)
    assert "notes/secret.md" not in {f.path for f in report.files if f.status == "failed"}
    assert stored_visibility(mixed)["notes/secret"] == {"members"}


def test_parallel_workers_decide_the_same(mixed, tmp_path) -> None:
    for i in range(20):  # enough files for worker processes
        write(mixed.corpus / f"internal/n{i}.md", f"# N{i}\n\nHeron {i}.\n")
    report = run_index(mixed, workers=2)
    assert report.workers == 2
    seen = stored_visibility(mixed)
    assert all(seen[f"internal/n{i}"] == {"members"} for i in range(20))
    assert seen["notes/open"] == {"public"}
    assert {f.path for f in report.files if f.status == "failed"} == BAD_FILES


def test_kb_check_reports_bad_visibility_per_file(runner, mixed) -> None:
    result = kb(runner, mixed, "check", "--json")
    assert result.exit_code == 1, result.output
    failed = {f["path"]: f["reason"] for f in json.loads(result.output)["files"]
              if f["status"] == "failed"}  # fmt: skip
    assert set(failed) == BAD_FILES
    assert all("visibility" in reason for reason in failed.values())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[visibility]\ndefault = "everyone"\n', "unknown visibility 'everyone'"),
        ('[visibility]\ndefualt = "public"\n', "unknown key(s) in [visibility]: defualt"),
        ('[visibility.folders]\n"notes" = "organisation:nobody"\n', "unknown organisation"),
        ("[visibility\n", "kb.toml"),
        ('[visibility.folders]\n"../x" = "public"\n', "must be a path under the corpus"),
    ],
)
def test_a_broken_kb_toml_stops_the_run_before_anything_is_written(runner, mixed, config,
                                                                    message):  # fmt: skip
    assert kb(runner, mixed, "index").exit_code == 1  # the bad files
    before = IndexStore(mixed.index).current().name
    seen = stored_visibility(mixed)
    write(mixed.corpus / "kb.toml", config)
    for command in ("index", "check"):
        result = kb(runner, mixed, command)
        assert result.exit_code == 2, result.output
        assert message in result.output and "kb.toml" in result.output
    assert IndexStore(mixed.index).current().name == before
    assert stored_visibility(mixed) == seen  # the previous index keeps serving, unchanged


def test_changing_kb_toml_describes_the_documents_again(runner, mixed) -> None:
    run_index(mixed, workers=1)
    assert stored_visibility(mixed)["internal/plan"] == {"members"}
    write(mixed.corpus / "kb.toml", KB_TOML.replace('"members"', '"organisation:ikea"'))
    report = run_index(mixed, workers=1)
    assert any("kb.toml" in note for note in report.notes)
    seen = stored_visibility(mixed)
    assert seen["internal/plan"] == {"organisation:ikea"}
    assert seen["notes/open"] == {"public"}
    (mixed.corpus / "kb.toml").unlink()  # no configuration at all: members, never public
    run_index(mixed, workers=1)
    seen = stored_visibility(mixed)
    assert seen["notes/open"] == seen["internal/plan"] == {"members"}
    assert seen["notes/ikea"] == {"organisation:ikea"}


# ---- the bundled corpus --------------------------------------------------------------------------


def test_the_bundled_corpus_exercises_every_level(bundled_index: Settings) -> None:
    seen = stored_visibility(bundled_index)
    private = {"meetings/2024-12-11-forum-meeting": {"members"},
               "self-assessments/2025-skovde-kommun": {"organisation:skovde-kommun"}}  # fmt: skip
    assert {d: seen[d] for d in private} == private
    # Everything from the network's public web page stays public.
    assert all(v == {"public"} for d, v in seen.items() if d not in private), seen
    assert len(seen) - len(private) == 16
    for doc_id in private:
        path = next(BUNDLED_CORPUS.glob(f"{doc_id}.*"))
        text = path.read_text(encoding="utf-8")
        assert "sample: true" in text and "*Sample content:" in text, doc_id


def test_the_bundled_kb_toml_is_valid_and_never_public_by_default() -> None:
    from kb.access import load_visibility_config

    config = load_visibility_config(BUNDLED_CORPUS)
    assert str(config.default) == "members"
    assert str(config.default_for("self-assessments/x.md")) == "members"
    assert tomllib.loads((BUNDLED_CORPUS / "kb.toml").read_text())["visibility"]["folders"]


# ---- kb add --visibility -------------------------------------------------------------------------


@pytest.fixture
def addable(mixed, tmp_path) -> Settings:
    for bad in BAD_FILES:
        (mixed.corpus / bad).unlink()
    assert run_index(mixed, workers=1).exit_code == 0
    return mixed


def test_kb_add_visibility_is_checked_and_written_to_the_sidecar(runner, addable, tmp_path):
    source = write(tmp_path / "in/assessment.md", "# Our assessment\n\nA heron assessment.\n")
    result = kb(runner, addable, "add", str(source), "--type", "guide",
                "--visibility", "Organisation: Inter IKEA")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "guides/assessment" in result.output and "(organisation:ikea)" in result.output
    sidecar = addable.corpus / "guides/assessment.md.meta.toml"
    assert tomllib.loads(sidecar.read_text())["visibility"] == "organisation:ikea"
    assert stored_visibility(addable)["guides/assessment"] == {"organisation:ikea"}
    # Changing only the visibility of a document already in the corpus.
    placed = addable.corpus / "guides/assessment.md"
    result = kb(runner, addable, "add", str(placed), "--visibility", "members", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"][0]["status"] == "described"
    assert json.loads(result.output)["sources"][0]["visibility"] == "members"
    assert stored_visibility(addable)["guides/assessment"] == {"members"}


@pytest.mark.parametrize("value", ["everyone", "organisation:nobody", "", "organisation:"])
def test_kb_add_refuses_a_bad_visibility_before_touching_the_corpus(runner, addable, tmp_path,
                                                                     value):  # fmt: skip
    source = write(tmp_path / "in/note.md", "# Note\n\nA heron.\n")
    before = sorted(p.relative_to(addable.corpus) for p in addable.corpus.rglob("*"))
    result = kb(runner, addable, "add", str(source), "--visibility", value)
    assert result.exit_code == 2, result.output
    assert "--visibility" in result.output
    assert sorted(p.relative_to(addable.corpus) for p in addable.corpus.rglob("*")) == before


def test_kb_add_refuses_a_file_whose_own_visibility_is_bad(runner, addable, tmp_path) -> None:
    source = write(tmp_path / "in/note.md", "---\nvisibility: secret\n---\n# Note\n\nA heron.\n")
    before = sorted(p.relative_to(addable.corpus) for p in addable.corpus.rglob("*"))
    for extra in ((), ("--visibility", "members")):  # an override does not excuse it
        result = kb(runner, addable, "add", str(source), *extra)
        assert result.exit_code == 2, result.output
        assert "invalid visibility in front matter" in result.output
    assert sorted(p.relative_to(addable.corpus) for p in addable.corpus.rglob("*")) == before
