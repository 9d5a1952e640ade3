"""The writer's own analysis of text fields gives exactly the postings whoosh's analysers give."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from indexer.build import run_index
from kb import schema as f
from kb.schema import build_schema
from kb.settings import Settings
from kb.store import IndexStore
from kb.writer import fast_schema
from tests.conftest import BUNDLED_CORPUS

SCHEMA = build_schema()
FAST = fast_schema(SCHEMA)
TEXT_FIELDS = [f.TITLE, f.HEADING, f.EXACT, *f.TEXT_FIELDS]

SAMPLES = [
    "",
    "   ",
    "The the THE and of",  # only English stop words
    "the start is a stop word, and so is the end: the",
    "Skövde kommuns återbruk av IT-utrustning (H&M's policy) — bærekraft, Straße, ﬁnal",
    "Cirkulär ekonomi i offentlig upphandling: är det möjligt? Ja, och det är bra.",
    "Numérique responsable : l'écoconception des services numériques, c'est l'avenir.",
    "Ympäristöystävällinen hankinta ja kiertotalous; sähkö 7-9 §12 2024-05-29",
    "Nachhaltige Beschaffung für öffentliche Auftraggeber — die Vergabestelle",
    "repeat repeat repeat words words, running runner runs ran",
    "O’Brien’s rock&roll d'Artagnan 3.141 under_score x²",
    # compounds (split when the Hunspell word lists are installed): their parts join them
    "Klimatkrav och hållbarhetskraven i inköpskrav för mobiltelefoner",
    "klimakrav og miljøkravene for klimagassutslipp; indkøbspolitik og klimakrav",
]


def whoosh_postings(field_name: str, value: str) -> list[tuple]:
    return list(SCHEMA[field_name].index(value))


def fast_postings(field_name: str, value: str) -> list[tuple]:
    return list(FAST[field_name].index(value))


def test_every_text_field_has_the_fast_analysis() -> None:
    for name in TEXT_FIELDS:
        assert FAST[name].index is not SCHEMA[name].index, name
    assert FAST[f.DOC_ID] is SCHEMA[f.DOC_ID]  # ids and keywords are left to whoosh


@pytest.mark.parametrize("field_name", TEXT_FIELDS)
@pytest.mark.parametrize("value", SAMPLES)
def test_same_postings_as_whoosh(field_name: str, value: str) -> None:
    assert fast_postings(field_name, value) == whoosh_postings(field_name, value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200), st.sampled_from(TEXT_FIELDS))
def test_same_postings_as_whoosh_on_any_text(value: str, field_name: str) -> None:
    assert fast_postings(field_name, value) == whoosh_postings(field_name, value)


def all_postings(index_dir: Path) -> dict:
    ix = whoosh_index.open_dir(str(index_dir))
    try:
        with ix.reader() as reader:
            out = {}
            for field_name, btext in reader.all_terms():
                m = reader.postings(field_name, btext)
                positional = field_name in TEXT_FIELDS
                out[field_name, btext] = (
                    list(m.items_as("positions")) if positional else list(m.all_ids())
                )
            return out
    finally:
        ix.close()


def test_an_index_written_fast_equals_one_written_by_whoosh(tmp_path: Path, monkeypatch) -> None:
    fast = Settings.resolve(BUNDLED_CORPUS, tmp_path / "fast")
    run_index(fast, workers=1)
    monkeypatch.setattr("kb.writer.fast_schema", lambda schema: None)
    plain = Settings.resolve(BUNDLED_CORPUS, tmp_path / "plain")
    run_index(plain, workers=1)
    fast_postings_ = all_postings(IndexStore(fast.index).current().path)
    assert fast_postings_ == all_postings(IndexStore(plain.index).current().path)
    assert len(fast_postings_) > 1000


# --- segments after incremental commits -------------------------------------------------------


def segments_of(settings: Settings) -> list[tuple[int, int]]:
    """(documents, live documents) of each segment of the current generation."""
    ix = whoosh_index.open_dir(str(IndexStore(settings.index).current().path))
    try:
        return [(s.doc_count_all(), s.doc_count()) for s in ix._segments()]
    finally:
        ix.close()


def edit(path: Path, n: int) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n\nEdit number {n}.\n", encoding="utf-8")


def test_a_file_edited_again_and_again_leaves_no_dead_segments(small_index: Settings) -> None:
    guide = small_index.corpus / "guides/lifespan.md"
    for n in range(6):
        edit(guide, n)
        assert run_index(small_index, workers=1).summary["updated"] == 1
    segments = segments_of(small_index)
    assert len(segments) == 2, segments  # the first build's, and the latest edit's
    assert all(live > 0 for _, live in segments)


def test_segments_stay_bounded_and_every_document_stays_found(small_index: Settings) -> None:
    from kb.writer import MAX_SEGMENTS

    corpus = small_index.corpus
    for n in range(MAX_SEGMENTS + 4):
        (corpus / f"notes/note-{n}.txt").write_text(f"Note {n} about refurbished laptops.\n")
        assert run_index(small_index, workers=1).summary["added"] == 1
    segments = segments_of(small_index)
    assert len(segments) <= MAX_SEGMENTS
    assert sum(live for _, live in segments) == sum(
        1 + f.passages for f in run_index(small_index, workers=1).files if f.status != "skipped"
    )


def test_an_update_leaves_a_full_builds_large_segments_as_they_are(small_index: Settings,
                                                                    monkeypatch) -> None:  # fmt: skip
    import kb.writer
    from kb.writer import MAX_SEGMENTS

    (built,) = segments_of(small_index)
    monkeypatch.setattr(kb.writer, "LARGE_SEGMENT", built[1])  # the build's segment is large
    corpus = small_index.corpus
    for n in range(MAX_SEGMENTS + 4):
        (corpus / f"notes/note-{n}.txt").write_text(f"Note {n} about refurbished laptops.\n")
        assert run_index(small_index, workers=1).summary["added"] == 1
    segments = segments_of(small_index)
    assert segments[0] == built  # never merged, never rewritten
    assert len(segments) == MAX_SEGMENTS + 1  # the small ones are bounded as before
    monkeypatch.setattr(kb.writer, "LARGE_SEGMENT", built[1] + 1)
    (corpus / "notes/one-more.txt").write_text("One more note.\n")
    run_index(small_index, workers=1)
    assert len(segments_of(small_index)) <= MAX_SEGMENTS  # counted again: merged with the rest


# --- writing a changed document over its previous version ----------------------------------------


def live_content(settings: Settings) -> tuple[dict, dict]:
    """Stored fields of every live record by passage id, and every term's live postings
    (passage ids, with positions in the text fields): what searches can see."""
    ix = whoosh_index.open_dir(str(IndexStore(settings.index).current().path))
    try:
        with ix.reader() as reader:
            pid = {n: reader.stored_fields(n)[f.PASSAGE_ID] for n in reader.all_doc_ids()}
            stored = {pid[n]: reader.stored_fields(n) for n in pid}
            postings = {}
            for field_name, btext in reader.all_terms():
                m = reader.postings(field_name, btext)
                if field_name in TEXT_FIELDS:
                    items = sorted((pid[d], v) for d, v in m.items_as("positions") if d in pid)
                else:
                    items = sorted(pid[d] for d in m.all_ids() if d in pid)
                if items:
                    postings[field_name, btext] = items
            return stored, postings
    finally:
        ix.close()


LONG = """---
title: Procurement handbook
type: guide
date: 2024-01-15
---
# Procurement handbook

## Criteria

Climate criteria weigh at least thirty percent in public procurement.

## Suppliers

Suppliers report their emissions every year.

## Repair

Repairable laptops and phones last longer.

## Reuse

Refurbished equipment goes back into use.
"""


def test_an_edit_rewrites_only_the_passages_it_touches(small_index: Settings) -> None:
    handbook = small_index.corpus / "guides/handbook.md"
    handbook.write_text(LONG, encoding="utf-8")
    run_index(small_index, workers=1)
    handbook.write_text(LONG.replace("every year", "every quarter"), encoding="utf-8")
    assert run_index(small_index, workers=1).summary["updated"] == 1
    newest = segments_of(small_index)[-1]
    assert newest == (2, 2)  # the document's record and the one passage that changed
    stored, _ = live_content(small_index)
    texts = [s.get(f.BODY) for s in stored.values() if s.get(f.DOC_ID) == "guides/handbook"]
    assert "Suppliers report their emissions every quarter." in texts
    assert not any("every year" in (t or "") for t in texts)


@pytest.mark.parametrize(
    "edit_handbook",
    [
        lambda text: text.replace("every year", "every quarter"),  # one passage
        lambda text: text + "\n## Recycling\n\nWhat cannot be reused is recycled.\n",  # added
        lambda text: text.replace(
            "## Suppliers\n\nSuppliers report their emissions every year.\n", ""
        ),
        lambda text: text.replace(
            "## Criteria", "## Introduction\n\nNew first section.\n\n## Criteria"
        ),
        lambda text: text.replace("title: Procurement handbook", "title: Buying handbook"),
        lambda text: text.replace("type: guide", "type: article").replace(
            "2024-01-15", "2023-02-02"
        ),
        lambda text: text + "\nNågra ord på svenska om hållbar upphandling och återbruk.\n" * 40,
        lambda text: "",  # now empty: skipped, and its old version leaves the index
    ],
)
def test_an_updated_index_equals_a_rebuilt_one(
    small_index: Settings, tmp_path: Path, edit_handbook
) -> None:
    corpus = small_index.corpus
    handbook = corpus / "guides/handbook.md"
    handbook.write_text(LONG, encoding="utf-8")
    run_index(small_index, workers=1)
    handbook.write_text(edit_handbook(LONG), encoding="utf-8")
    guide = corpus / "guides/lifespan.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "\nReuse first.\n", encoding="utf-8")
    (corpus / "notes/readme.txt").unlink()
    run_index(small_index, workers=1)
    rebuilt = Settings.resolve(corpus, tmp_path / "rebuilt")
    run_index(rebuilt, workers=1)
    assert live_content(small_index) == live_content(rebuilt)
