"""Metadata: types, dates, organisations and topics, sidecars, and how sources are merged."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

from indexer.entities import EntityMatcher, find_organisations, find_topics
from indexer.extract.base import Block, Extraction
from indexer.inference import infer_type, title_from_filename
from indexer.metadata import describe, is_sidecar, read_sidecar, sidecar_paths
from kb.doctypes import DOC_TYPES, normalise_type
from kb.errors import ConfigError
from kb.text import infer_date
from kb.vocabulary import Organisation, Topic, Vocabulary

TODAY = dt.date(2025, 6, 1)


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary(
        organisations=(
            Organisation("ikea", "IKEA", ("Ikea", "Ingka Group")),
            Organisation("skovde-kommun", "Skövde kommun", ("Skövde municipality", "Skövde")),
            Organisation("handelsbanken", "Handelsbanken", ("Svenska Handelsbanken",)),
            Organisation(
                "dfo", "DFØ", ("DFO", "DFÖ", "Direktoratet for forvaltning og økonomistyring")
            ),
            Organisation("vattenfall", "Vattenfall", ("Vattenfall AB",)),
            Organisation("hm", "H&M", ("H&M Group", "Hennes & Mauritz")),
            Organisation("seb", "SEB", ("Skandinaviska Enskilda Banken",)),
            Organisation("scania", "Scania", ("Scania AB",)),
        ),
        topics=(
            Topic(
                "procurement",
                "Procurement",
                {"en": ("procurement", "tender"), "sv": ("upphandling",), "no": ("anskaffelse",)},
            ),
            Topic(
                "product-lifespan",
                "Product lifespan",
                {"en": ("lifespan", "extend the life", "repair"), "sv": ("livslängd", "återbruk")},
            ),
            Topic("weighting", "Weighting", {"en": ("weighting",), "sv": ("vikt", "viktning")}),
            Topic("ai", "Artificial intelligence", {"en": ("AI", "artificial intelligence")}),
            Topic(
                "circular-economy",
                "Circular economy",
                {"en": ("circular economy", "circular"), "sv": ("cirkulär ekonomi",)},
            ),
        ),
    )


@pytest.fixture
def matcher(vocab: Vocabulary) -> EntityMatcher:
    return EntityMatcher(vocab)


def extraction(
    *texts: str, title: str | None = None, fmt: str = "markdown", **metadata: object
) -> Extraction:
    return Extraction(
        format=fmt, title=title, blocks=[Block(text) for text in texts], metadata=dict(metadata)
    )


# ---- document types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("meeting", "meeting"),
        ("Meeting report", "meeting"),
        ("report", "meeting"),
        ("minutes", "meeting"),
        ("mötesrapport", "meeting"),
        ("guide", "guide"),
        ("Best practice", "guide"),
        ("best-practice", "guide"),
        ("Best-practice guide", "guide"),
        ("guidance", "guide"),
        ("vägledning", "guide"),
        ("directive", "directive"),
        ("Regulation", "directive"),
        ("rule", "directive"),
        ("law", "directive"),
        ("article", "article"),
        ("news", "article"),
        ("blog", "article"),
        ("other", "other"),
        ("GUIDES", "guide"),
        ("foo", None),
        ("", None),
    ],
)
def test_normalise_type(value: str, expected: str | None) -> None:
    assert normalise_type(value) == expected


@pytest.mark.parametrize(
    ("rel_path", "title", "expected"),
    [
        ("meetings/2024-04-24-forum-meeting.md", None, "meeting"),
        ("meeting/x.md", None, "meeting"),
        ("guides/strategy.md", None, "guide"),
        ("best-practice/strategy.md", None, "guide"),
        ("directives/no-30-percent.pdf", None, "directive"),
        ("articles/members-share.md", None, "article"),
        ("news/members-share.md", None, "article"),
        ("motesrapporter/2024.md", None, "meeting"),
        ("riktlinjer/hallbar-it.md", None, "guide"),
        ("misc/a.md", "Report from Learning Academy, October 24", "meeting"),
        ("a.md", "Minutes of the board", "meeting"),
        ("a.md", "Mötesanteckningar 24 april", "meeting"),
        ("a.md", "A guide to longer contracts", "guide"),
        ("a.md", "Best practice: take-back", "guide"),
        ("a.md", "Veileder for klimakrav", "guide"),
        ("a.md", "EU directive on ecodesign", "directive"),
        ("a.md", "Forskrift om offentlige anskaffelser", "directive"),
        ("a.md", "Lag (2016:1145) om offentlig upphandling", "directive"),
        ("a.md", "Anskaffelsesforskriften § 7-9", "directive"),
        ("a.md", "Meeting report: a new guide", "meeting"),
        ("a.md", "Members share their experiences", "other"),
        ("about/members.md", "The Leaders", "other"),
        ("a.md", None, "other"),
    ],
)
def test_infer_type(rel_path: str, title: str | None, expected: str) -> None:
    assert infer_type(rel_path, title) == expected
    assert expected in DOC_TYPES


@pytest.mark.parametrize(
    "filename",
    [
        "meetings/2024-04-24-forum-meeting.md",
        "meetings/20240424-forum.md",
        "meetings/2024_04_24_forum.md",
        "meetings/forum-24.04.2024.md",
    ],
)
def test_infer_date_from_filename(filename: str) -> None:
    assert infer_date(filename, "Report from Feb 1, 2024", "Sep 3, 2024", today=TODAY) == (
        "2024-04-24"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Report from April 24, 2024", "2024-04-24"),
        ("Report from Feb 1, 2024", "2024-02-01"),
        ("Report from  meeting Sep 3, 2024", "2024-09-03"),
        ("Forum meeting, 24 April 2024: the annual review", "2024-04-24"),
        ("Mötet hölls den 24 april 2024 i Stockholm.", "2024-04-24"),
        ("Møtet ble holdt 24. april 2024 i Oslo.", "2024-04-24"),
        ("Mødet blev holdt den 3. marts 2024.", "2024-03-03"),
        ("Kokous pidettiin 24. huhtikuuta 2024 Helsingissä.", "2024-04-24"),
        ("Réunion du 24 avril 2024 à Paris", "2024-04-24"),
        ("Sitzung am 3. März 2024", "2024-03-03"),
        ("Vergadering van 12 mrt 2024", "2024-03-12"),
        ("Published 1 Dec. 2023", "2023-12-01"),
        ("Date: 24.04.2024", "2024-04-24"),
        ("Date: 24/04/2024", "2024-04-24"),
        ("Date: 2024-04-24", "2024-04-24"),
        ("In March 2024 the members met.", "2024-03"),
        ("No date here, only 42 and 2024 numbers.", None),
        ("On 31 April 2024 nothing happened.", None),
    ],
)
def test_infer_date_from_text(text: str, expected: str | None) -> None:
    assert infer_date("notes/forum.md", None, text, today=TODAY) == expected


def test_infer_date_prefers_title_over_text() -> None:
    assert infer_date("x/a.md", "Report from Feb 1, 2024", "Sep 3, 2024", today=TODAY) == (
        "2024-02-01"
    )


def test_infer_date_reads_only_the_start_of_the_text() -> None:
    late = "x " * 400 + "24 April 2024"
    assert infer_date("x/a.md", None, late, today=TODAY) is None


def test_infer_date_completes_a_partial_date_from_the_path() -> None:
    assert infer_date("reports/2024/forum.md", None, "April 24, 2024", today=TODAY) == (
        "2024-04-24"
    )
    # The text's date contradicts the path: the path wins, as far as it goes.
    assert infer_date("reports/2019/07/forum.md", None, "senast den 30 april 2020") == "2019-07"


def test_infer_date_passes_over_target_years() -> None:
    assert infer_date("x/gameplan-2030.md", "Gameplan 2030", "", today=TODAY) is None
    assert (
        infer_date("x/gameplan-2030.md", "Gameplan 2030", "Kick-off 3 Sep 2024", today=TODAY)
        == "2024-09-03"
    )


# ---- organisations ---------------------------------------------------------------------------


def test_finds_organisations_in_order_of_first_mention(matcher: EntityMatcher) -> None:
    text = "Vattenfall presented first. Later IKEA and Vattenfall again, then Handelsbanken."
    assert matcher.organisations(text) == ("vattenfall", "ikea", "handelsbanken")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IKEA's roadmap", "ikea"),
        ("IKEA’s roadmap", "ikea"),
        ("Ikeas färdplan", "ikea"),
        ("IKEA:n tiekartta", "ikea"),
        ("Skövde kommuns arbete", "skovde-kommun"),
        ("Skovde kommun joined", "skovde-kommun"),
        ("SKÖVDE KOMMUN", "skovde-kommun"),
        ("Skövde municipality", "skovde-kommun"),
        ("Handelsbankens omställningsplan", "handelsbanken"),
        ("Vattenfalls mål", "vattenfall"),
        ("DFØs veileder", "dfo"),
        ("DFÖ berättade", "dfo"),
        ("DFO said", "dfo"),
        ("H&M:s leverantörer", "hm"),
        ("H&M presented", "hm"),
        ("Hennes  &\nMauritz", "hm"),
        ("SEB:s bank", "seb"),
        ("SEBs bank", "seb"),
        ("Direktoratet for forvaltning og økonomistyring", "dfo"),
        ("Scanias lastbilar", "scania"),
    ],
)
def test_finds_inflected_and_folded_names(matcher: EntityMatcher, text: str, expected: str) -> None:
    assert matcher.organisations(text) == (expected,)


@pytest.mark.parametrize(
    "text",
    [
        "seb and dfo in lower case are other words",
        "The Transcania project",
        "Scandinavian buyers",
        "Hikea is not a company",
        "AH&MB",
        "SEBX",
    ],
)
def test_avoids_false_organisation_matches(matcher: EntityMatcher, text: str) -> None:
    assert matcher.organisations(text) == ()


def test_longest_name_wins(matcher: EntityMatcher) -> None:
    assert matcher.organisations("Skövde kommun and Svenska Handelsbanken AB") == (
        "skovde-kommun",
        "handelsbanken",
    )


def test_find_organisations_wrapper(vocab: Vocabulary) -> None:
    assert find_organisations("Ikeas och DFØs", vocab) == ("ikea", "dfo")
    assert find_organisations("anything", Vocabulary()) == ()


# ---- topics ----------------------------------------------------------------------------------


def test_topics_need_min_hits(matcher: EntityMatcher) -> None:
    assert matcher.topics("One tender.") == ()
    assert matcher.topics("One tender and another tender.") == ("procurement",)
    assert matcher.topics("One tender.", min_hits=1) == ("procurement",)


def test_topic_keywords_are_prefix_tolerant(matcher: EntityMatcher) -> None:
    text = "Upphandlingar och upphandlingen; livslängden och livslängd."
    assert set(matcher.topics(text)) == {"procurement", "product-lifespan"}


def test_short_keywords_are_not_matched_inside_other_words(matcher: EntityMatcher) -> None:
    # `vikt` (weight) allows `vikten` but not `viktig` (important).
    assert matcher.topics("Det är viktigt och viktig.") == ()
    assert matcher.topics("Vikten och vikt.") == ("weighting",)
    # `AI` must be written as such: French "j'ai" and "air" are not about AI.
    assert matcher.topics("J'ai dit; air; aid.", min_hits=1) == ()
    assert matcher.topics("AI and more AI.") == ("ai",)


def test_topics_match_phrases_across_line_breaks(matcher: EntityMatcher) -> None:
    assert matcher.topics("a circular\neconomy and cirkulär  ekonomi") == ("circular-economy",)


def test_one_title_hit_is_enough(matcher: EntityMatcher) -> None:
    assert matcher.topics("Nothing relevant here.", title="Repair first") == ("product-lifespan",)


def test_topics_ordered_by_hits(matcher: EntityMatcher) -> None:
    text = "repair, tender, repair, tender, repair, AI, AI, AI, AI"
    assert matcher.topics(text) == ("ai", "product-lifespan", "procurement")


def test_find_topics_wrapper(vocab: Vocabulary) -> None:
    assert find_topics("tender", vocab, title="Procurement guide") == ("procurement",)
    assert find_topics("tender tender", vocab, min_hits=3) == ()


def test_matcher_survives_pickling(matcher: EntityMatcher) -> None:
    # Worker processes may receive the matcher instead of building their own.
    copy = pickle.loads(pickle.dumps(matcher))
    assert copy.organisations("IKEA's") == ("ikea",)


# ---- sidecars --------------------------------------------------------------------------------


def test_sidecar_paths_and_names(tmp_path: Path) -> None:
    doc = tmp_path / "report.pdf"
    assert [p.name for p in sidecar_paths(doc)] == [
        "report.pdf.meta.toml",
        "report.pdf.meta.yaml",
        "report.pdf.meta.yml",
    ]
    assert is_sidecar(tmp_path / "report.pdf.meta.toml")
    assert is_sidecar(tmp_path / "report.pdf.meta.yml")
    assert not is_sidecar(doc)
    assert not is_sidecar(tmp_path / "organisations.toml")


def test_read_sidecar_none(tmp_path: Path) -> None:
    assert read_sidecar(tmp_path / "report.pdf") == {}


def test_read_sidecar_toml(tmp_path: Path) -> None:
    (tmp_path / "report.pdf.meta.toml").write_text(
        'title = "Lifespan"\ndate = 2023-06-15\ntopics = ["product-lifespan"]\n', encoding="utf-8"
    )
    data = read_sidecar(tmp_path / "report.pdf")
    assert data == {
        "title": "Lifespan",
        "date": dt.date(2023, 6, 15),
        "topics": ["product-lifespan"],
    }


@pytest.mark.parametrize("suffix", [".meta.yaml", ".meta.yml"])
def test_read_sidecar_yaml(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"report.pdf{suffix}").write_text(
        "title: Lifespan\ntype: guide\n", encoding="utf-8"
    )
    assert read_sidecar(tmp_path / "report.pdf") == {"title": "Lifespan", "type": "guide"}


def test_read_sidecar_empty_yaml(tmp_path: Path) -> None:
    (tmp_path / "report.pdf.meta.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert read_sidecar(tmp_path / "report.pdf") == {}


def test_invalid_toml_sidecar_names_file_and_error(tmp_path: Path) -> None:
    sidecar = tmp_path / "report.pdf.meta.toml"
    sidecar.write_text('title = "unterminated\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_sidecar(tmp_path / "report.pdf")
    message = str(info.value)
    assert str(sidecar) in message
    assert "invalid TOML" in message
    assert "line 1" in message


def test_invalid_yaml_sidecar_names_file_and_error(tmp_path: Path) -> None:
    sidecar = tmp_path / "report.pdf.meta.yaml"
    sidecar.write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        read_sidecar(tmp_path / "report.pdf")
    assert str(sidecar) in str(info.value)


def test_sidecar_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "report.pdf.meta.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="found a list"):
        read_sidecar(tmp_path / "report.pdf")


def test_two_sidecars_are_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "report.pdf.meta.toml").write_text('title = "a"\n', encoding="utf-8")
    (tmp_path / "report.pdf.meta.yaml").write_text("title: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="more than one metadata sidecar"):
        read_sidecar(tmp_path / "report.pdf")


# ---- describe --------------------------------------------------------------------------------


def test_sidecar_beats_front_matter_beats_inference(matcher: EntityMatcher) -> None:
    ex = extraction(
        "Report from April 24, 2024. The members met.",
        title="Heading title",
        type="guide",
        date="2024-05-01",
        language="sv",
        author="Front matter author",
    )
    sidecar = {"title": "Sidecar title", "type": "directive"}
    meta, warnings = describe("meetings/2024-04-24-forum.md", ex, sidecar, matcher)
    assert meta.title == "Sidecar title"  # sidecar
    assert meta.type == "directive"  # sidecar
    assert meta.date == "2024-05-01"  # front matter, over the file name
    assert meta.language == "sv"  # front matter, over detection
    assert meta.author == "Front matter author"
    assert warnings == []


def test_inference_when_nothing_is_declared(matcher: EntityMatcher) -> None:
    ex = extraction(
        "Mötet inleddes med en runda där varje medlem berättade om sitt arbete sedan förra "
        "gången. Därefter presenterade Skövde kommun sina erfarenheter av upphandling, och "
        "IKEA:s representant talade om hur upphandlingar kan förlänga livslängden."
    )
    meta, warnings = describe("meetings/2024-04-24-forum-meeting.md", ex, {}, matcher)
    assert meta.title == "Forum meeting 2024-04-24"
    assert meta.type == "meeting"
    assert meta.date == "2024-04-24"
    assert meta.language == "sv"
    assert meta.organisations == ("skovde-kommun", "ikea")
    assert meta.topics == ("procurement",)
    assert meta.sample is False
    assert warnings == []


def test_title_falls_back_to_extracted_title(matcher: EntityMatcher) -> None:
    meta, _ = describe("guides/x.md", extraction("text", title="  A   heading "), {}, matcher)
    assert meta.title == "A heading"


def test_title_from_filename() -> None:
    assert title_from_filename("meetings/2024-04-24-forum-meeting.md") == "Forum meeting 2024-04-24"
    assert title_from_filename("guides/extend_lifespan-of-IT.pdf") == "Extend lifespan of IT"
    assert title_from_filename("x/20240424.md") == "20240424"


def test_unknown_type_is_reported_and_inferred(matcher: EntityMatcher) -> None:
    meta, warnings = describe("guides/x.md", extraction("text", type="foo"), {}, matcher)
    assert meta.type == "guide"
    assert warnings == ["unknown type 'foo' in front matter, inferred 'guide'"]


def test_unknown_type_in_sidecar_falls_back_to_front_matter(matcher: EntityMatcher) -> None:
    ex = extraction("text", fmt="html", type="Meeting report")
    meta, warnings = describe("x.html", ex, {"type": "memo"}, matcher)
    assert meta.type == "meeting"
    assert warnings == ["unknown type 'memo' in sidecar, used 'meeting' from HTML metadata"]


def test_friendly_type_values(matcher: EntityMatcher) -> None:
    meta, _ = describe("x.md", extraction("text"), {"type": "best practice"}, matcher)
    assert meta.type == "guide"


def test_invalid_date_is_reported(matcher: EntityMatcher) -> None:
    ex = extraction("Report from Feb 1, 2024.")
    meta, warnings = describe("x.md", ex, {"date": "2024-02-31"}, matcher)
    assert meta.date == "2024-02-01"
    assert warnings == ["invalid date '2024-02-31' in sidecar, inferred '2024-02-01'"]


def test_sidecar_date_object(matcher: EntityMatcher) -> None:
    meta, _ = describe("x.pdf", extraction("t", fmt="pdf"), {"date": dt.date(2023, 6, 15)}, matcher)
    assert meta.date == "2023-06-15"


def test_language_values_are_normalised(matcher: EntityMatcher) -> None:
    for value, expected in [("sv-SE", "sv"), ("nb", "no"), ("nn", "no"), ("Swedish", "sv")]:
        meta, _ = describe("x.md", extraction("The text is English."), {"lang": value}, matcher)
        assert meta.language == expected


def test_unknown_language_is_reported_and_detected(matcher: EntityMatcher) -> None:
    text = "Nettverket møttes i Oslo for å diskutere hvordan vi kan stille bedre krav til leverandørene, og hva som skjer etter bruk."
    meta, warnings = describe("x.md", extraction(text, language="xx"), {}, matcher)
    assert meta.language == "no"
    assert warnings == ["unknown language 'xx' in front matter, detected 'no'"]


def test_declared_organisations_come_first_then_found_ones(matcher: EntityMatcher) -> None:
    ex = extraction("Vattenfalls mål och IKEA:s arbete.", organisations=["dfo"])
    sidecar = {"organisations": ["Handelsbanken", "SKÖVDE", "Acme Corp"]}
    meta, warnings = describe("x.md", ex, sidecar, matcher)
    assert meta.organisations == ("handelsbanken", "skovde-kommun", "vattenfall", "ikea")
    assert warnings == ["unknown organisation 'Acme Corp' in sidecar, ignored"]


def test_organisations_as_comma_separated_string(matcher: EntityMatcher) -> None:
    meta, _ = describe("x.md", extraction("text", organisations="ikea, seb"), {}, matcher)
    assert meta.organisations == ("ikea", "seb")


def test_organisations_found_in_title(matcher: EntityMatcher) -> None:
    meta, _ = describe("x.md", extraction("text", title="Report from Handelsbanken"), {}, matcher)
    assert meta.organisations == ("handelsbanken",)


def test_declared_topics_then_keywords_then_found(matcher: EntityMatcher) -> None:
    ex = extraction(
        "We discussed repair, repair and tender.",
        topics=["Circular economy", "no-such-topic"],
        keywords=["Artificial intelligence", "not a topic", "procurement"],
    )
    meta, warnings = describe("x.md", ex, {}, matcher)
    assert meta.topics == ("circular-economy", "ai", "procurement", "product-lifespan")
    assert warnings == ["unknown topic 'no-such-topic' in front matter, ignored"]


def test_source_url_author_description_sample(matcher: EntityMatcher) -> None:
    sidecar = {
        "url": "https://example.org/report",
        "authors": ["Ann", "Bo"],
        "description": "  A short\n summary ",
        "sample": "yes",
    }
    meta, warnings = describe("x.pdf", extraction("t", fmt="pdf"), sidecar, matcher)
    assert meta.source_url == "https://example.org/report"
    assert meta.author == "Ann, Bo"
    assert meta.description == "A short summary"
    assert meta.sample is True
    assert warnings == []


def test_source_key_and_source_url_precedence(matcher: EntityMatcher) -> None:
    ex = extraction("t", source="https://a.example", source_url="https://b.example")
    meta, _ = describe("x.md", ex, {}, matcher)
    assert meta.source_url == "https://b.example"


def test_unknown_sidecar_key_is_reported(matcher: EntityMatcher) -> None:
    _, warnings = describe("x.md", extraction("t"), {"titel": "Oops", "sample": True}, matcher)
    assert warnings == ["unknown key 'titel' in sidecar, ignored"]


def test_unknown_front_matter_keys_are_quietly_ignored(matcher: EntityMatcher) -> None:
    _, warnings = describe("x.md", extraction("t", layout="post", weight=3), {}, matcher)
    assert warnings == []


def test_invalid_sample_flag(matcher: EntityMatcher) -> None:
    meta, warnings = describe("x.md", extraction("t"), {"sample": "maybe"}, matcher)
    assert meta.sample is False
    assert warnings == ["invalid sample flag 'maybe' in sidecar, ignored"]
