"""Citation styles: golden strings per style for a meeting report, a guide, a PDF page and a
passage, each checked against the style's published examples (the rule each checks is named
beside it), plus the style registry, locales, escaping and concurrency."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from importlib import resources

import pytest

from kb.cite import Citation
from kb.citeformats import render
from kb.citestyles import (
    CITE_STYLE_IDS,
    CITE_STYLES,
    DEFAULT_STYLE,
    StyledCitation,
    UnknownStyle,
    cite_style,
    csl_locale,
    render_style,
)

BASE = "https://kb.example.org"
PUBLISHER = "Nordic Procurement Network"

# A meeting report published by the network under its own name (the corporate author).
MEETING = Citation(
    doc_id="meetings/2024-04-24-forum",
    anchor=None,
    passage_id=None,
    title="Forum meeting, 24 April 2024: circular IT in public tenders",
    authors=(PUBLISHER,),
    date="2024-04-24",
    year=2024,
    type="meeting",
    type_label="Meeting report",
    section=None,
    page=None,
    permalink=f"{BASE}/doc/meetings/2024-04-24-forum",
    text_hash=None,
    accessed="2025-01-15",
    language="en",
    source_url=None,
    key="npn2024forum-1a2b3c",
    publisher=PUBLISHER,
)
# A guide by a named author, published by the network.
GUIDE = replace(
    MEETING,
    doc_id="guides/extend-lifespan",
    title="Extend the lifespan of your IT products",
    authors=("Åsa Öberg",),
    date="2023-06",
    year=2023,
    type="guide",
    type_label="Best-practice guide",
    permalink=f"{BASE}/doc/guides/extend-lifespan",
    key="ao2023extend-4d5e6f",
)
# Page 3 of a PDF guide.
PAGE = replace(
    GUIDE,
    authors=(PUBLISHER,),
    anchor="p3",
    passage_id="guides/extend-lifespan#p3",
    page=3,
    section="Extend the lifespan › Make repair the normal route",
    text_hash="ebf3045ba339",
    permalink=f"{BASE}/doc/guides/extend-lifespan?v=ebf3045ba339#p3",
    key="npn2023extend-4d5e6f-p3",
)
# A passage of the meeting report: its section is the locator.
PASSAGE = replace(
    MEETING,
    anchor="decisions",
    passage_id="meetings/2024-04-24-forum#decisions",
    section="Forum meeting, 24 April 2024 › Decisions",
    text_hash="a6745d8750fb",
    permalink=f"{BASE}/doc/meetings/2024-04-24-forum?v=a6745d8750fb#decisions",
    key="npn2024forum-1a2b3c-decisions",
)
M_TITLE = "Forum meeting, 24 April 2024: circular IT in public tenders"
M_TITLE_HEADLINE = "Forum Meeting, 24 April 2024: Circular IT in Public Tenders"
G_TITLE = "Extend the lifespan of your IT products"

GOLDEN: dict[str, dict[str, tuple[str, str]]] = {
    # APA 7 (reports and grey literature by a group author): "Author. (Year). Title
    # [Description]. URL", the publisher left out when it is the author, no "Retrieved"
    # date for a dated work; in text "(Author, Year, p. 3)", and a work without pages cited
    # by its section (the style file writes "Section Decisions").
    "apa": {
        "meeting": (
            f"{PUBLISHER}. (2024). {M_TITLE} [Meeting report]. {MEETING.permalink}",
            f"({PUBLISHER}, 2024)",
        ),
        "guide": (
            f"Åsa Öberg. (2023). {G_TITLE} [Best-practice guide]. {PUBLISHER}. {GUIDE.permalink}",
            "(Åsa Öberg, 2023)",
        ),
        "page": (
            f"{PUBLISHER}. (2023). {G_TITLE} [Best-practice guide]. {PAGE.permalink}",
            f"({PUBLISHER}, 2023, p. 3)",
        ),
        "passage": (
            f"{PUBLISHER}. (2024). {M_TITLE} [Meeting report]. {PASSAGE.permalink}",
            f"({PUBLISHER}, 2024, Section Decisions)",
        ),
    },
    # Cite Them Right (Harvard), online sources: "Author (Year) Title. Available at: URL
    # (Accessed: 15 January 2025)." with the date in British order; in text
    # "(Author, Year, p. 3)"; the style file abbreviates a section to "sect.".
    "harvard-cite-them-right": {
        "meeting": (
            f"{PUBLISHER} (2024) {M_TITLE}. Meeting report. Available at: "
            f"{MEETING.permalink} (Accessed: 15 January 2025).",
            f"({PUBLISHER}, 2024)",
        ),
        "guide": (
            f"Åsa Öberg (2023) {G_TITLE}. Best-practice guide. {PUBLISHER}. Available at: "
            f"{GUIDE.permalink} (Accessed: 15 January 2025).",
            "(Åsa Öberg, 2023)",
        ),
        "page": (
            f"{PUBLISHER} (2023) {G_TITLE}. Best-practice guide. Available at: "
            f"{PAGE.permalink} (Accessed: 15 January 2025).",
            f"({PUBLISHER}, 2023, p. 3)",
        ),
        "passage": (
            f"{PUBLISHER} (2024) {M_TITLE}. Meeting report. Available at: "
            f"{PASSAGE.permalink} (Accessed: 15 January 2025).",
            f"({PUBLISHER}, 2024, sect. Decisions)",
        ),
    },
    # Chicago author-date (CMOS 18): "Author. Year. Title." with English titles in headline
    # case, the URL last and followed by a period; in text "(Author Year, page)" with no
    # comma before the year and no "p.", a section as "sec.".
    "chicago-author-date": {
        "meeting": (
            f"{PUBLISHER}. 2024. {M_TITLE_HEADLINE}. Meeting report. {MEETING.permalink}.",
            f"({PUBLISHER} 2024)",
        ),
        "guide": (
            f"Åsa Öberg. 2023. Extend the Lifespan of Your IT Products. Best-practice guide. "
            f"{PUBLISHER}. {GUIDE.permalink}.",
            "(Åsa Öberg 2023)",
        ),
        "page": (
            f"{PUBLISHER}. 2023. Extend the Lifespan of Your IT Products. Best-practice guide. "
            f"{PAGE.permalink}.",
            f"({PUBLISHER} 2023, 3)",
        ),
        "passage": (
            f"{PUBLISHER}. 2024. {M_TITLE_HEADLINE}. Meeting report. {PASSAGE.permalink}.",
            f"({PUBLISHER} 2024, sec. Decisions)",
        ),
    },
    # IEEE Reference Guide: "[1] Author, “Title,” ..., Mon. Year. Accessed: Mon. DD, YYYY.
    # [Online]. Available: URL", the comma inside the closing quote; in text "[1, p. 3]"
    # and "[1, Sec. X]".
    "ieee": {
        "meeting": (
            f"[1] {PUBLISHER}, “{M_TITLE},” Meeting report, Apr. 2024. Accessed: Jan. 15, "
            f"2025. [Online]. Available: {MEETING.permalink}",
            "[1]",
        ),
        "guide": (
            f"[1] Åsa Öberg, “{G_TITLE},” {PUBLISHER}, Best-practice guide, Jun. 2023. "
            f"Accessed: Jan. 15, 2025. [Online]. Available: {GUIDE.permalink}",
            "[1]",
        ),
        "page": (
            f"[1] {PUBLISHER}, “{G_TITLE},” Best-practice guide, Jun. 2023. Accessed: Jan. 15, "
            f"2025. [Online]. Available: {PAGE.permalink}",
            "[1, p. 3]",
        ),
        "passage": (
            f"[1] {PUBLISHER}, “{M_TITLE},” Meeting report, Apr. 2024. Accessed: Jan. 15, "
            f"2025. [Online]. Available: {PASSAGE.permalink}",
            "[1, Sec. Decisions]",
        ),
    },
    # Vancouver (ICMJE / Citing Medicine): "1. Author. Title [Internet]. Publisher; Year Mon
    # [cited YYYY Mon D]. Available from: URL"; in text the number in parentheses, which is
    # all the style file writes (it has no locator; the month is the locale's, "June").
    "vancouver": {
        "meeting": (
            f"1. {PUBLISHER}. {M_TITLE} [Internet]. 2024 Apr [cited 2025 Jan 15]. "
            f"Available from: {MEETING.permalink}",
            "(1)",
        ),
        "guide": (
            f"1. Åsa Öberg. {G_TITLE} [Internet]. {PUBLISHER}; 2023 June [cited 2025 Jan 15]. "
            f"Available from: {GUIDE.permalink}",
            "(1)",
        ),
        "page": (
            f"1. {PUBLISHER}. {G_TITLE} [Internet]. 2023 June [cited 2025 Jan 15]. "
            f"Available from: {PAGE.permalink}",
            "(1)",
        ),
        "passage": (
            f"1. {PUBLISHER}. {M_TITLE} [Internet]. 2024 Apr [cited 2025 Jan 15]. "
            f"Available from: {PASSAGE.permalink}",
            "(1)",
        ),
    },
}
CASES = {"meeting": MEETING, "guide": GUIDE, "page": PAGE, "passage": PASSAGE}


@pytest.mark.parametrize("style", CITE_STYLE_IDS)
@pytest.mark.parametrize("case", CASES)
def test_golden(style: str, case: str) -> None:
    reference, in_text = GOLDEN[style][case]
    assert render_style(CASES[case], style) == StyledCitation(reference, in_text)
    assert render(CASES[case], "text", style) == f"{reference}\nIn text: {in_text}"


def test_every_style_has_golden_strings() -> None:
    assert set(GOLDEN) == set(CITE_STYLE_IDS)
    assert [s.id for s in CITE_STYLES] == list(CITE_STYLE_IDS)
    assert DEFAULT_STYLE == "apa" == CITE_STYLE_IDS[0]


def test_markdown_keeps_the_styles_italics_and_links_the_permalink() -> None:
    # APA 7: the title of a stand-alone work (a report) is in italics.
    assert render(PAGE, "markdown") == (
        f"{PUBLISHER}. (2023). *{G_TITLE}* [Best-practice guide]. <{PAGE.permalink}>\n\n"
        f"In text: ({PUBLISHER}, 2023, p. 3)"
    )
    # Vancouver's entry starts with its number, which Markdown must not take for a list.
    assert render(MEETING, "markdown", "vancouver").startswith(f"1\\. {PUBLISHER}. {M_TITLE}")


def test_a_slide_is_labelled_as_a_slide() -> None:
    # CSL has no slide locator; APA 7 cites one as "Slide 4", IEEE inside its brackets.
    slide = replace(PAGE, page=4, page_unit="slide")
    assert render_style(slide, "apa").in_text == f"({PUBLISHER}, 2023, Slide 4)"
    assert render_style(slide, "ieee").in_text == "[1, Slide 4]"
    assert render_style(slide, "chicago-author-date").in_text == f"({PUBLISHER} 2023, slide 4)"


def test_a_section_keeps_its_hyphens_and_numbers() -> None:
    # A heading is not a page range: "Step-by-step, 2 of 3" is neither "Step–by–step" nor plural.
    heading = replace(PASSAGE, section="Forum › Step-by-step, 2 of 3")
    assert (
        render_style(heading, "apa").in_text == f"({PUBLISHER}, 2024, Section Step-by-step, 2 of 3)"
    )
    assert render_style(heading, "ieee").in_text == "[1, Sec. Step-by-step, 2 of 3]"


def test_locale_gives_the_styles_words_in_another_language() -> None:
    # The style's words and dates in Swedish (the CSL sv-SE locale), the work's own as written.
    slide = replace(PAGE, page_unit="slide")
    swedish = render_style(slide, "harvard-cite-them-right", locale="sv-SE")
    assert swedish == StyledCitation(
        f"{PUBLISHER} (2023) {G_TITLE}. Best-practice guide. Tillgänglig vid: "
        f"{PAGE.permalink} (Åtkomstdatum: 15 januari 2025).",
        f"({PUBLISHER}, 2023, bild 3)",
    )
    assert render_style(slide, "ieee", locale="sv-SE").in_text == "[1, Bild 3]"
    norwegian = render(slide, "text", "apa", locale=csl_locale("nb"))
    assert norwegian.endswith(f"\nIn text: ({PUBLISHER}, 2023, Lysbilde 3)")


def test_csl_locale_of_a_language() -> None:
    assert [csl_locale(lang) for lang in ("sv", "no", "nb", "da", "fi", "en", "en-GB", None)] == [
        "sv-SE",
        "nb-NO",
        "nb-NO",
        "da-DK",
        "fi-FI",
        None,
        None,
        None,
    ]
    assert csl_locale("xx") is None


def test_the_works_language_decides_title_case() -> None:
    # Chicago writes English titles in headline case and leaves titles in other languages
    # in their own capitalisation: the item carries the document's language.
    swedish = replace(GUIDE, title="Så förlänger du livslängden på it-produkter", language="sv")
    assert render_style(swedish, "chicago-author-date").reference.startswith(
        "Åsa Öberg. 2023. Så förlänger du livslängden på it-produkter. Best-practice guide."
    )
    english = render_style(GUIDE, "chicago-author-date").reference
    assert "Extend the Lifespan of Your IT Products." in english


def test_the_documents_own_quotes_and_apostrophes_stay_as_written() -> None:
    # IEEE moves a comma inside the title's closing quote (US usage), and only there.
    quoted = replace(MEETING, title="The ”green” choice, buyers’, and “circular IT”")
    assert render_style(quoted, "ieee").reference.startswith(
        f"[1] {PUBLISHER}, “The ”green” choice, buyers’, and “circular IT”,” Meeting report,"
    )


def test_without_an_author_the_title_is_named_once() -> None:
    untitled = replace(MEETING, authors=(), publisher=None)
    # Cite Them Right: "Title (Year)" in the author's place, not repeated after it.
    reference = render_style(untitled, "harvard-cite-them-right").reference
    assert reference.startswith(f"{M_TITLE} (2024). Meeting report. Available at: ")
    assert reference.count(M_TITLE) == 1


def test_document_text_is_escaped_in_markdown_and_literal_in_text() -> None:
    hostile = replace(
        GUIDE,
        title="*Bold* [x](javascript:alert(1)) <script>a_b</script> & co",
        authors=("Evil_Corp <img src=x>",),
    )
    markdown = render(hostile, "markdown")
    assert r"\*Bold\* \[x\](javascript:alert(1)) \<script\>a\_b\</script\> \& co" in markdown
    assert r"Evil\_Corp \<img src=x\>" in markdown
    outside_the_link = markdown.replace(f"<{GUIDE.permalink}>", "")
    assert not re.search(r"(?<!\\)<", outside_the_link)  # no HTML
    assert not re.search(r"(?<!\\)\]\(", outside_the_link)  # no link
    # Plain text is the text as written; the web shows it through autoescaping templates.
    assert "<script>a_b</script> & co" in render(hostile, "text")


def test_unknown_style_lists_the_styles() -> None:
    with pytest.raises(UnknownStyle) as raised:
        cite_style("mla")
    assert str(raised.value) == (
        "unknown citation style 'mla'; choose one of "
        "apa, harvard-cite-them-right, chicago-author-date, ieee, vancouver"
    )
    with pytest.raises(ValueError, match="unknown citation style 'mla'"):
        render(MEETING, "bibtex", "mla")  # wrong whatever the format
    assert render(MEETING, "bibtex", "ieee") == render(MEETING, "bibtex")


def test_concurrent_renderings_do_not_mix() -> None:
    # A web server renders for several readers at once; each rendering has its own style.
    jobs = [(style, case) for style in CITE_STYLE_IDS for case in CASES] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: render_style(CASES[job[1]], job[0]), jobs))
    for (style, case), result in zip(jobs, results, strict=True):
        assert result == StyledCitation(*GOLDEN[style][case]), (style, case)


def test_every_style_file_is_bundled_with_its_licence() -> None:
    folder = resources.files("kb") / "data" / "csl"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".csl"))
    assert files == sorted(f"{s.id}.csl" for s in CITE_STYLES)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 3.0" in readme and "citation-style-language/styles" in readme
    for name in files:
        text = (folder / name).read_text(encoding="utf-8")
        # The official files, unchanged: their own rights statement and identifier.
        assert '<rights license="http://creativecommons.org/licenses/by-sa/3.0/">' in text
        assert f"<id>http://www.zotero.org/styles/{name[:-4]}</id>" in text
        assert f"`{name}`" in readme
