"""Nordic words as members type them: compounds, hyphenated words, function words, glossary
terms without quotes, and queries searched in their own language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.build import run_index
from kb import compounds
from kb.access import Principal
from kb.analysis import stem
from kb.search import SearchRequest, open_searcher
from kb.settings import Settings
from tests.conftest import make_public, write
from tests.prerequisites import needs

NORWEGIAN_ARTICLE = "articles/klimakrav-30-prosent-i-offentlige-anskaffelser"
SWEDISH_ARTICLE = "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning"


def search(settings: Settings, q: str, **kw):
    return open_searcher(settings, Principal.shell()).search(SearchRequest(q=q, **kw))


def ids(result) -> list[str]:
    return [h.doc.doc_id for h in result.hits]


def marked(result) -> set[str]:
    """Every word the result's snippets mark."""
    return {
        m.lower()
        for hit in result.hits
        for p in hit.passages
        for m in re.findall(r"<mark>(.*?)</mark>", p.snippet)
    }


# ---- compound words -----------------------------------------------------------------------


@needs("hunspell")
@pytest.mark.parametrize(
    ("word", "language", "parts"),
    [
        ("klimatkrav", "sv", ("klimat", "krav")),
        ("hållbarhetskrav", "sv", ("hållbarhet", "krav")),  # linking -s-
        ("inköpskrav", "sv", ("inköp", "krav")),
        ("klimakrav", "no", ("klima", "krav")),
        ("miljøkravene", "no", ("miljø", "krav")),  # inflected: split after stemming
        ("klimagassutslipp", "no", ("klima", "gass", "utslipp")),
        ("indkøbspolitik", "da", ("indkøb", "politik")),
    ],
)
def test_compounds_split_into_dictionary_words(word, language, parts):
    assert compounds.split(stem(word, language), language) == parts


@needs("hunspell")
@pytest.mark.parametrize(
    ("word", "language"),
    [("kontroll", "no"), ("transport", "no"), ("transport", "da"), ("bedrift", "no"),
     ("upphandling", "sv"), ("leverantör", "sv"), ("krav", "sv")],
)  # fmt: skip
def test_ordinary_words_stay_whole(word, language):
    assert compounds.split(stem(word, language), language) == ()


@pytest.fixture
def word_lists_in(monkeypatch):
    """Point kb.compounds at another folder of word lists (one without any: none at all);
    its caches start empty and are emptied again afterwards."""

    def use(folder: Path) -> None:
        monkeypatch.delenv("KB_HUNSPELL_DIR", raising=False)
        monkeypatch.setattr(compounds, "DICTIONARY_DIRS", (folder,))
        monkeypatch.setattr(compounds, "_lexicons", {})
        compounds.split.cache_clear()

    yield use
    compounds.split.cache_clear()


def test_without_a_dictionary_nothing_is_split(word_lists_in, tmp_path):
    word_lists_in(tmp_path)
    assert compounds.split("klimatkrav", "sv") == ()
    assert not compounds.available("sv")


@needs("hunspell")
@pytest.mark.parametrize("q", ["klimakrav", "klimatkrav"])
def test_a_compound_finds_the_article_about_its_parts(bundled_index, q):
    """The Norwegian article speaks of `klima- og miljøkrav`; neither spelling of the
    compound occurs in it, yet both find it, through its parts (and the glossary's `klima`
    for the Swedish `klimat`)."""
    result = search(bundled_index, q)
    assert NORWEGIAN_ARTICLE in ids(result)[:3], ids(result)


@pytest.fixture
def swedish_pair(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    make_public(corpus)
    filler = "Inköpare i kommuner och regioner delar erfarenheter om upphandling av datorer. "
    write(
        corpus / "a-whole.md",
        "---\ntitle: Om upphandling\nlanguage: sv\n---\n\n"
        + filler * 3
        + "Vi ställer klimatkrav i varje upphandling av datorer.\n",
    )
    write(
        corpus / "b-parts.md",
        "---\ntitle: Om inköp\nlanguage: sv\n---\n\n"
        + filler * 3
        + "Vi ställer krav på leverantörerna och följer upp deras klimat arbete.\n",
    )
    settings = Settings.resolve(corpus, tmp_path / "index")
    assert run_index(settings, workers=1).summary["failed"] == 0
    return settings


@needs("hunspell")
def test_the_exact_compound_ranks_above_its_parts(swedish_pair):
    result = search(swedish_pair, "klimatkrav")
    assert ids(result) == ["a-whole", "b-parts"]
    assert result.hits[0].score > result.hits[1].score
    # and a part alone finds the compound
    assert "a-whole" in ids(search(swedish_pair, "krav"))


# ---- hyphenated and slashed words ---------------------------------------------------------


def test_a_hyphenated_word_is_not_a_strict_phrase(bundled_index):
    result = search(bundled_index, "cirkulära IT-inköp")
    assert result.read_as == "cirkulära IT-inköp"
    assert '"' not in result.read_as
    assert result.total > 1
    assert ids(result)[0] == SWEDISH_ARTICLE


def test_a_slashed_word_searches_its_parts(bundled_index):
    result = search(bundled_index, "klima-/miljøkrav")
    assert result.read_as == "klima-/miljøkrav"
    assert ids(result)[0] == NORWEGIAN_ARTICLE


def test_the_whole_hyphenated_word_ranks_first(bundled_index):
    """`e-waste`: passages with the whole word rank above those with only `waste`."""
    whole = search(bundled_index, "e-waste")
    parts = search(bundled_index, "waste")
    assert set(ids(parts)) <= set(ids(whole)) or whole.total >= parts.total


# ---- function words -----------------------------------------------------------------------


def test_function_words_neither_count_nor_light_up(bundled_index):
    with_av = search(bundled_index, "gjenbruk av mobiltelefoner")
    without = search(bundled_index, "gjenbruk mobiltelefoner")
    assert ids(with_av)[0] == NORWEGIAN_ARTICLE
    assert "av" not in marked(with_av)
    assert [(h.doc.doc_id, h.score) for h in with_av.hits] == [
        (h.doc.doc_id, h.score) for h in without.hits
    ]


def test_function_words_count_when_there_is_nothing_else(bundled_index):
    assert search(bundled_index, "och").total > 0


def test_a_function_word_of_another_language_is_searched(bundled_index):
    """`man` is a Swedish function word, but in an English query it is a word."""
    english = search(bundled_index, "man power")
    assert "man" not in [w.lower() for w in re.findall(r"\w+", english.read_as)] or (
        english.read_as == "man power"
    )


# ---- the glossary without quotes ----------------------------------------------------------


def test_a_glossary_term_works_without_quotes(bundled_index):
    quoted = search(bundled_index, '"cirkulär ekonomi"')
    plain = search(bundled_index, "cirkulär ekonomi")
    assert quoted.total > 1
    assert plain.total >= quoted.total
    assert ids(plain)[0] == SWEDISH_ARTICLE  # the direct match first, translations after


def test_an_index_run_says_when_compounds_cannot_be_split(word_lists_in, tmp_path):
    word_lists_in(tmp_path / "none")
    corpus = tmp_path / "corpus"
    write(corpus / "sv.md", "---\ntitle: Klimatkrav\nlanguage: sv\n---\n\nVi ställer klimatkrav.\n")
    write(corpus / "en.md", "---\ntitle: Climate\nlanguage: en\n---\n\nClimate criteria.\n")
    report = run_index(Settings.resolve(corpus, tmp_path / "index"), workers=1)
    assert report.notes == [
        "Swedish compound words are not split: install the Hunspell word list "
        "(hunspell-sv) and run `kb index --rebuild`"
    ]


@needs("hunspell")
def test_translated_compound_parts_rank_below_direct_matches(bundled_index):
    """`klimatkrav`'s parts through the glossary (`climate`, `requirements`) are glossary
    matches: the Swedish article holding `klimat` and `krav` itself ranks above the English
    directive that only holds their translations."""
    for q in ("klimatkrav", "upphandling klimatkrav"):
        assert ids(search(bundled_index, q))[0] == SWEDISH_ARTICLE, q


def test_a_language_only_hidden_documents_use_changes_nothing_for_a_reader(tmp_path):
    """The query's languages are read among what the reader sees: a members-only Finnish
    document must not change how an anonymous reader's Finnish-looking query is weighted."""

    def build(name: str, with_hidden: bool):
        corpus = tmp_path / name
        make_public(corpus)
        write(
            corpus / "en.md", "---\ntitle: Climate\nlanguage: en\n---\n\nClimate criteria ja on.\n"
        )
        write(
            corpus / "sv.md", "---\ntitle: Klimat\nlanguage: sv\n---\n\nKlimatkrav och kriterier.\n"
        )
        if with_hidden:
            write(
                corpus / "fi.md",
                "---\ntitle: Ilmasto\nlanguage: fi\nvisibility: members\n---\n\n"
                "Ilmasto ja hankinta on tärkeä asia.\n",
            )
        settings = Settings.resolve(corpus, tmp_path / f"{name}-index")
        assert run_index(settings, workers=1).summary["failed"] == 0
        return settings

    plain, hidden = build("plain", False), build("hidden", True)
    for q in ("ja on climate", "climate kriterier", "ilmasto"):
        answers = []
        for settings in (plain, hidden):
            searcher = open_searcher(settings, Principal.anonymous())
            result = searcher.search(SearchRequest(q=q))
            explanation = searcher.explain(SearchRequest(q=q))
            answers.append(
                (
                    # Scores may differ in the last digits: average field lengths are counted
                    # over the whole index (kb.view), which says nothing of hidden words.
                    [h.doc.doc_id for h in result.hits],
                    result.total,
                    result.suggestion,
                    explanation.languages,
                    explanation.others,
                )
            )
        assert answers[0] == answers[1], q


def test_a_damaged_word_list_splits_nothing_and_stops_nothing(word_lists_in, tmp_path):
    (tmp_path / "sv_SE.aff").write_text("SET NO-SUCH-ENCODING\nFLAG long\n")
    (tmp_path / "sv_SE.dic").write_bytes(b"2\nklimat/AB\nkrav/CD\n")
    word_lists_in(tmp_path)
    assert compounds.split("klimatkrav", "sv") == ()
    assert not compounds.available("sv")
