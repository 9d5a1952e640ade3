"""Passages: bounded length, paragraph boundaries, stable anchors."""

from __future__ import annotations

from indexer.discover import doc_id_for
from indexer.extract.base import Block
from indexer.passages import chunk, slugify, split_passages, text_hash


def test_slugify_folds_accents():
    assert slugify("Förläng livslängden på IT-produkter!") == "forlang-livslangden-pa-it-produkter"
    assert slugify("§§§") == "section"


def test_chunks_break_between_paragraphs_and_stay_bounded():
    paras = [f"Paragraph {i} " + "word " * 60 for i in range(10)]
    chunks = chunk("\n\n".join(paras), limit=800)
    assert all(len(c) <= 800 for c in chunks)
    assert len(chunks) > 1
    # Every paragraph survives whole, in order.
    joined = "\n\n".join(chunks)
    assert [p.split()[1] for p in joined.split("\n\n")] == [str(i) for i in range(10)]


def test_a_huge_paragraph_is_cut_at_sentences():
    text = " ".join(f"Sentence number {i} ends here." for i in range(200))
    chunks = chunk(text, limit=500)
    assert all(len(c) <= 500 for c in chunks)
    assert all(c.endswith(".") for c in chunks)


def test_anchors_from_headings_and_pages():
    blocks = [
        Block("Intro text.", ()),
        Block("About weighting.", ("Report", "Weighting")),
        Block("More on weighting.", ("Report", "Weighting")),
        Block("Page three.", ("Guide",), page=3),
        Block("Again weighting, second section.", ("Other", "Weighting")),
    ]
    passages = split_passages("d", blocks)
    assert [p.anchor for p in passages] == ["top", "weighting", "p3", "weighting--2"]
    assert passages[1].heading_path == ("Report", "Weighting")
    assert passages[2].page == 3
    assert [p.ordinal for p in passages] == [0, 1, 2, 3]
    assert passages[1].text_hash == text_hash("About weighting.\n\nMore on weighting.")


def test_editing_one_section_keeps_other_anchors():
    def doc(middle: str):
        return split_passages(
            "d",
            [
                Block("A " * 300, ("One",)),
                Block(middle, ("Two",)),
                Block("C " * 900, ("Three",)),
            ],
            limit=400,
        )

    before, after = doc("short"), doc("much longer text " * 100)
    keep = lambda ps: [(p.anchor, p.text_hash) for p in ps if p.heading_path != ("Two",)]  # noqa: E731
    assert keep(before) == keep(after)
    assert len(after) > len(before)


def test_doc_ids():
    assert doc_id_for("meetings/2024-04-24-forum-meeting.md") == "meetings/2024-04-24-forum-meeting"
    assert doc_id_for("a.b/README") == "a.b/README"


def test_a_heading_repeating_the_title_is_not_part_of_the_path():
    blocks = [
        Block("Opening words.", ("Forum meeting 24 April 2024",)),
        Block("Review text.", ("Forum meeting 24 April 2024", "Annual review")),
    ]
    passages = split_passages("d", blocks, title="Forum meeting 24 April 2024")
    assert [(p.anchor, p.heading_path) for p in passages] == [
        ("top", ()),
        ("annual-review", ("Annual review",)),
    ]


def test_a_long_sentence_is_cut_without_copying_its_rest():
    """Splitting walks a long sentence with indices: copying the rest on every cut made a
    49 MB text without full stops take 15 minutes (quadratic). The copy shows as memory: the
    rest is as large as the text at the first cut, while walking needs only one piece at a time.
    """
    import tracemalloc

    from indexer.passages import _pieces

    text = ("word " * 400_000).strip()  # 2 MB, one sentence
    tracemalloc.start()
    try:
        pieces = 0
        for piece in _pieces(text, 1200):
            assert len(piece) <= 1200
            pieces += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pieces >= len(text) // 1200
    assert peak < len(text) // 10, f"splitting held {peak:,} bytes for a {len(text):,}-char text"


def test_cutting_long_sentences_keeps_every_word_in_order():
    words = [f"w{i}" for i in range(5000)]
    text = " ".join(words) + ". " + "x" * 3000 + " tail. end"
    pieces = chunk(text, limit=100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
