"""Highlighted snippets: what gets marked, and the shortcut that keeps marking fast."""

from __future__ import annotations

import html as html_module
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import schema as f
from kb.analysis import STEMMED_LANGUAGES, stem
from kb.highlight import HighlightTerms, mark_all, snippet
from kb.library import Library
from kb.text import fold
from tests.conftest import REALCORPUS
from tests.prerequisites import needs

TRICKY = [
    "lying", "dying", "skies", "ugly", "news", "über", "Größe", "Ökad", "élection", "été",
    "c’est", "l'économie", "aa", "es", "BB", "ØKONOMI", "æble", "Åtgärder", "ijs", "ÿ",
]  # fmt: skip


def _assert_stems_keep_initial(words) -> None:
    for word in words:
        low = word.lower()
        for lang in STEMMED_LANGUAGES:
            assert fold(stem(low, lang))[:1] == fold(low)[:1], (word, lang, stem(low, lang))


def test_a_stem_keeps_its_words_first_letter():
    """The highlighter only stems tokens starting like one of the query's stems; that is
    only safe if stemming never changes a word's first letter (accents folded)."""
    _assert_stems_keep_initial(TRICKY)


def test_a_stem_keeps_its_words_first_letter_on_the_bundled_index(bundled_index):
    reader = Library(bundled_index).snapshot().searcher().reader()
    words = [t.decode("utf-8") for t in reader.lexicon(f.EXACT)]
    assert len(words) > 1000
    _assert_stems_keep_initial(words)


@pytest.mark.realcorpus
@needs("realcorpus")
def test_a_stem_keeps_its_words_first_letter_on_real_documents():
    import re

    from kb.analysis import TOKEN_PATTERN

    words: set[str] = set()
    for path in sorted(REALCORPUS.rglob("*.md"))[:300]:
        words.update(re.findall(TOKEN_PATTERN, path.read_text(encoding="utf-8", errors="ignore")))
    assert len(words) > 5000
    _assert_stems_keep_initial(words)


def _terms(words=(), stems=(), prefixes=()) -> HighlightTerms:
    return HighlightTerms(frozenset(words), frozenset(stems), tuple(prefixes))


def test_marks_words_stems_folded_spellings_and_prefixes():
    terms = _terms(
        words={"repair", "okad"},
        stems={("en", stem("repair", "en")), ("sv", stem("ökad", "sv"))},
        prefixes=("circ",),
    )
    html, count = mark_all("Repairing & repairs; ökad <b>Circular</b> lifespan", terms, "en")
    assert html == (
        "<mark>Repairing</mark> &amp; <mark>repairs</mark>; <mark>ökad</mark> "
        "&lt;b&gt;<mark>Circular</mark>&lt;/b&gt; lifespan"
    )
    assert count == 4


def test_stems_match_only_in_the_passages_language():
    terms = _terms(stems={("sv", stem("upphandling", "sv"))})
    assert mark_all("upphandlingar", terms, "sv")[1] == 1
    assert mark_all("upphandlingar", terms, "en")[1] == 0


def test_snippet_is_the_densest_window_escaped():
    text = ("filler " * 80) + "climate <criteria> and climate targets " + ("more " * 80)
    out = snippet(text, _terms(words={"climate", "criteria"}), "en", width=120)
    assert "<mark>climate</mark> &lt;<mark>criteria</mark>&gt;" in out
    assert out.startswith("… ") and out.endswith(" …")
    assert "<criteria>" not in out


# ---- snippets start and end between words ---------------------------------------------------

NORDIC_WORDS = [
    "hållbar",
    "upphandling",
    "återbruk",
    "förlänga",
    "livslängden",
    "miljö-krav",
    "økonomi-styring",
    "kretsløp",
    "bærekraft",
    "større",
    "på",
    "är",
    "även",
    "e-post",
    "IT-produkter",
    "energieffektivitet",
]


def _window(text: str, out: str) -> tuple[int, int]:
    """Where the snippet's text lies in the (whitespace-collapsed) passage."""
    plain = html_module.unescape(re.sub(r"</?mark>", "", out))
    body = plain.removeprefix("… ").removesuffix(" …")
    start = text.find(body)
    assert start >= 0, (body, text)
    assert plain.startswith("… ") == (start > 0) and plain.endswith(" …") == (
        start + len(body) < len(text)
    )
    return start, start + len(body)


def _assert_whole_words(text: str, out: str) -> None:
    start, end = _window(text, out)
    assert start == 0 or text[start - 1] == " ", (
        f"starts mid-word: {text[start - 15 : start + 15]!r}"
    )
    assert end == len(text) or text[end] == " ", f"ends mid-word: {text[end - 15 : end + 15]!r}"


def test_snippet_far_into_a_long_passage_starts_with_a_whole_word() -> None:
    # A compound longer than the distance the window keeps before its match.
    compound = "miljöanpassningsupphandlingsförfarandeutvärderingsmodellernaskvalitetssäkringsprocessöversynen"
    text = (
        " ".join(NORDIC_WORDS * 40)
        + f" {compound} klimatkrav i kommunen "
        + " ".join(NORDIC_WORDS * 40)
    )
    out = snippet(text, _terms(words={"klimatkrav"}), "sv")
    _assert_whole_words(text, out)
    assert f" {compound} <mark>klimatkrav</mark> i kommunen " in out


def test_snippet_ends_with_a_whole_hyphenated_word() -> None:
    chain = "-".join(["kretsløp", "bærekraft", "økonomi", "styring"] * 6)  # no space inside
    text = f"Klimat i {chain} " + " ".join(NORDIC_WORDS * 30)
    out = snippet(text, _terms(words={"klimat"}), "no", width=120)
    _assert_whole_words(text, out)
    # Longer than the window: shown whole rather than cut.
    assert out == f"<mark>Klimat</mark> i {chain} …"


@given(
    words=st.lists(
        st.sampled_from(NORDIC_WORDS) | st.text("åäöøæxyz-", min_size=1, max_size=120),
        min_size=30,
        max_size=150,
    ),
    where=st.floats(0, 1),
    width=st.sampled_from([60, 120, 280]),
)
@settings(max_examples=150, deadline=None)
def test_snippets_never_start_or_end_mid_word(words: list[str], where: float, width: int):
    words = [w.strip("-") or "x" for w in words]
    words[int(where * (len(words) - 1))] = "klimat"
    text = " ".join(words)
    out = snippet(text, _terms(words={"klimat"}), "sv", width=width)
    _assert_whole_words(text, out)
    assert "<mark>klimat</mark>" in out
