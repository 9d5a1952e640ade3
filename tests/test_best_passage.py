"""The passage shown for a document is the one that answers: it holds most of the query's
words, then has the words typed next to each other side by side, then names them in its
heading; the score decides only between passages equal in all that."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import run_index
from kb.access import Principal
from kb.compile import compile_query
from kb.passages import WordPlans
from kb.query import QueryParser
from kb.search import SearchRequest, open_searcher
from kb.settings import Settings
from tests.conftest import make_public, write

APRIL = "meetings/2024-04-24-forum-meeting"
SEPTEMBER = "meetings/2024-09-03-forum-meeting"
STRATEGY = "guides/strategy-for-sustainable-it"
MEMBERSHIP = "about/how-membership-works"
SV_ARTICLE = "articles/sa-kan-samverkan-mellan-inkopare-driva-omstallning"
NO_ARTICLE = "articles/klimakrav-30-prosent-i-offentlige-anskaffelser"


@pytest.fixture(scope="module")
def bundled(bundled_index):
    return open_searcher(bundled_index, Principal.shell())


def shown(searcher, q: str, doc_id: str):
    """The passage shown for `doc_id` among the results for `q` (it must be found)."""
    result = searcher.search(SearchRequest(q=q, page_size=20))
    hits = {h.doc.doc_id: h for h in result.hits}
    assert doc_id in hits, (q, list(hits))
    return hits[doc_id].best


def text(passage) -> str:
    """A shown passage's snippet without its marks, lower-cased."""
    return passage.snippet.replace("<mark>", "").replace("</mark>", "").lower()


# ---- the bundled corpus ---------------------------------------------------------------------


def test_new_members_shows_the_passage_about_a_new_member_joining(bundled):
    april = shown(bundled, "new members", APRIL)
    # Not "Members gave their approval..." under "New best practices approved": "new" is only
    # in its heading, and the two words are never side by side.
    assert april.anchor in ("forum-meeting-24-april-2024", "welcome-handelsbanken")
    assert april.heading_path[-1] != "New best practices approved"
    september = shown(bundled, "new members", SEPTEMBER)
    assert september.anchor == "welcome-skovde-municipality"
    assert "new member" in text(september)


@pytest.mark.parametrize(
    ("q", "doc_id", "heading"),
    [
        # English
        ("set targets for the strategy", STRATEGY, "Step 3: Set targets"),
        ("does membership cost anything", MEMBERSHIP, "Q&A: Does membership cost anything?"),
        ("how is compliance monitored", MEMBERSHIP, "Q&A: How is compliance monitored?"),
        ("what does a member commit to", MEMBERSHIP, "Q&A: What does a member commit to?"),
        ("engage suppliers", STRATEGY, "Step 5: Engage suppliers and users"),
        # Swedish
        ("ny medlem", SV_ARTICLE, "Ny medlem: Skövde kommun"),
        ("viktning eller skallkrav", SV_ARTICLE, "Viktning i stället för enbart skallkrav"),
        ("hur kommer man igång", SV_ARTICLE, "Så kommer du igång"),
        # (by the score alone: "Så kommer du igång", where "andel" and "upphandlingar" are
        # apart)
        (
            "självskattningen andel upphandlingar",
            SV_ARTICLE,
            "Viktning i stället för enbart skallkrav",
        ),
        # Norwegian
        ("hva betyr regelen for IT", NO_ARTICLE, "Hva betyr regelen for IT?"),
        ("erfaringene så langt med regelen", NO_ARTICLE, "Erfaringene så langt"),
        ("utfordringer med klimakrav", NO_ARTICLE, "Utfordringer"),
        # (by the score alone: "Erfaringene så langt", 63 percent of members weigh sustainability)
        ("30 prosent vekting klima", NO_ARTICLE, "Hva regelen sier"),
    ],
)
def test_real_questions_show_the_passage_that_answers(bundled, q, doc_id, heading):
    assert shown(bundled, q, doc_id).heading_path[-1] == heading


def test_a_glossary_translation_in_a_heading_does_not_name_the_query(bundled):
    # "supplier" is in the heading "Engage suppliers and users"; "roadmap" reaches the guide
    # only as the glossary's word for "strategy", which other headings hold.
    assert shown(bundled, "supplier roadmap", STRATEGY).heading_path[-1] == (
        "Step 5: Engage suppliers and users"
    )


# ---- small indexes built here ---------------------------------------------------------------


def build(tmp_path: Path, sections: str) -> Settings:
    """An index of one guide with `sections` (markdown), and four documents about batteries
    and screens, so that those words are common and "firmware" is rare."""
    corpus = tmp_path / "corpus"
    make_public(corpus)
    write(
        corpus / "guides/laptop-care.md",
        "---\ntitle: Laptop care\ntype: guide\ndate: 2024-01-10\n---\n# Laptop care\n\n" + sections,
    )
    for name in ("phones", "tablets", "monitors", "headsets"):
        write(
            corpus / f"articles/{name}.md",
            f"""
            ---
            title: Caring for {name}
            date: 2024-02-01
            ---
            # Caring for {name}

            A battery wears out; charge the battery to 80 percent. The screen needs a case.
            Keep the battery cool and the screen clean.
            """,
        )
    settings = Settings.resolve(corpus, tmp_path / "index")
    report = run_index(settings, workers=1)
    assert report.summary["failed"] == 0, report.to_dict()
    return settings


def shown_in(settings: Settings, q: str, doc_id: str = "guides/laptop-care"):
    searcher = open_searcher(settings, Principal.shell())
    result = searcher.search(SearchRequest(q=q, passages_per_doc=5))
    hit = next(h for h in result.hits if h.doc.doc_id == doc_id)
    return hit.passages


# Each case: the guide's sections, the query, the section that answers and the section the
# score alone would have shown (it scores higher).
BEATS_THE_SCORE = {
    "a passage with every word beats one repeating the rarest": (
        """
## Updates

Firmware first: firmware, firmware, firmware.

## Yearly check

Once a year the IT team walks through every laptop in the office, runs the vendor's
diagnostic tool, writes down what it finds in the asset register, cleans the keyboard and
the fan, tests the battery and installs the firmware.
""",
        "battery firmware",
        "Yearly check",
        "Updates",
    ),
    "words typed next to each other side by side win": (
        """
## Materials

The screen is made of glass. Glass, glass and more glass; every screen has it.

## Repairs

When a laptop is dropped and a cracked glass screen is what comes back to the service desk,
it is replaced for free within the first three years of the contract.
""",
        "glass screen",
        "Repairs",
        "Materials",
    ),
    "a heading naming the words wins among passages holding them": (
        """
## Notes

Firmware upgrade: firmware upgrade, firmware upgrade.

## Firmware upgrade

Plug the laptop in, close every program, save your documents and wait until the machine
restarts by itself; this can take twenty minutes on older models, so plan it for a quiet
afternoon.
""",
        "firmware upgrade",
        "Firmware upgrade",
        "Notes",
    ),
}


@pytest.mark.parametrize("case", BEATS_THE_SCORE, ids=list(BEATS_THE_SCORE))
def test_the_passage_that_answers_is_shown_over_a_higher_score(tmp_path, case):
    sections, q, answers, outscores = BEATS_THE_SCORE[case]
    passages = shown_in(build(tmp_path, sections), q)
    assert [p.heading_path[-1] for p in passages] == [answers, outscores]
    assert passages[1].score > passages[0].score


def test_function_words_do_not_choose_the_passage(tmp_path):
    settings = build(
        tmp_path,
        """
## Firmware

The firmware is in the laptop and the firmware of the laptop is kept up to date.

## Screens

The screen of the laptop is one of the parts of the laptop that is in use the most.
""",
    )
    # "of", "the" and "is" are held by both passages; "firmware" only by the first.
    passages = shown_in(settings, "the firmware of the")
    assert passages[0].heading_path[-1] == "Firmware"


def test_choosing_the_passage_leaves_the_search_as_compiled(bundled, monkeypatch):
    """The query's words are compiled again, one by one, on a copy of the compiler: what the
    search reads from the compiled query (plans, highlights, notes, the glossary tier) is
    what it would be without."""
    view = bundled.view()
    node = QueryParser(view.vocabulary).parse("återbruk new members").node
    messages: list[str] = []
    compiled = compile_query(view, node, messages)
    assert len(compiled.units.words) == 3 and len(compiled.units.pairs) == 2
    # A heading is searched by the words as typed, not by the glossary's ("reuse").
    assert set().union(*(t.words for t in compiled.units.terms)) == {"aterbruk", "new", "members"}
    monkeypatch.setattr("kb.compile.word_plans", lambda compiler, node: WordPlans())
    alone: list[str] = []
    plain = compile_query(view, node, alone)
    assert compiled.expanded and "reuse" in compiled.highlight.words
    assert (compiled.plan, compiled.direct, compiled.expanded, compiled.highlight, messages) == (
        plain.plan,
        plain.direct,
        plain.expanded,
        plain.highlight,
        alone,
    )
