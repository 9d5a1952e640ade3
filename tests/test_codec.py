"""kb.engine.codec reads whoosh's postings blocks, length columns and word positions
directly: what it reads must equal what whoosh's own (slow) API returns."""

from __future__ import annotations

import importlib.util
import random

import numpy as np
import pytest
import whoosh
from whoosh import fields, formats, index
from whoosh.util.numeric import length_to_byte

from kb.engine import codec

DOCS = 700  # several postings blocks of whoosh's 128 postings each


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    schema = fields.Schema(body=fields.TEXT(phrase=True), other=fields.TEXT())
    ix = index.create_in(tmp_path_factory.mktemp("codec"), schema)
    writer = ix.writer()
    for i in range(DOCS):
        words = ["common"] * (1 + i % 5) + (["rare", "common"] if i % 97 == 3 else [])
        extra = {"other": "several other words"} if i < 5 else {}
        writer.add_document(body=" ".join([*words, f"w{i}"]), **extra)
    writer.commit()
    with ix.reader() as r:
        yield r


def _whoosh_positions(reader, word: str) -> dict[int, list[int]]:
    m = reader.postings("body", word)
    return dict(m.items_as("positions"))


def test_postings_and_positions_equal_whoosh(reader):
    fmt = reader.schema["body"].format
    ids, weights, values = codec.raw_postings(reader, "body", b"common", fmt, True)
    expected = _whoosh_positions(reader, "common")
    assert ids.tolist() == sorted(expected)
    assert weights.tolist() == [float(len(expected[i])) for i in ids.tolist()]
    counts, positions = codec.decode_positions(fmt, values)
    assert counts.tolist() == [len(expected[i]) for i in ids.tolist()]
    assert positions.tolist() == [p for i in ids.tolist() for p in expected[i]]


def test_blocks_without_wanted_documents_are_skipped(reader):
    fmt = reader.schema["body"].format
    every = list(codec.term_blocks(reader, "body", b"common", fmt, True))
    assert len(every) > 3
    wanted = np.array([3, 600], dtype=np.int64)
    some = list(codec.term_blocks(reader, "body", b"common", fmt, True, wanted))
    assert len(some) == 2
    assert all(any(w in ids for w in wanted) for ids, _, _ in some)
    rare = _whoosh_positions(reader, "rare")
    _, _, values = codec.raw_postings(reader, "body", b"rare", fmt, True)
    _, positions = codec.decode_positions(fmt, values)
    assert positions.tolist() == [p for i in sorted(rare) for p in rare[i]]  # one each


def test_lengths_equal_whoosh(reader):
    lengths = codec.length_bytes(reader, "body")
    assert lengths.tolist() == [
        length_to_byte(reader.doc_field_length(d, "body")) for d in range(DOCS)
    ]
    short = codec.length_bytes(reader, "other")  # stored for the first 5 documents only
    assert short[:5].tolist() == [length_to_byte(3)] * 5
    assert not short[5:].any() and len(short) == DOCS
    assert not codec.length_bytes(reader, "missing").any()


def test_a_whoosh_not_written_for_is_refused(monkeypatch):
    """The codec reads whoosh's private structures: an unknown version fails at import."""
    with pytest.raises(codec.UnsupportedWhoosh, match=r"written for whoosh 2\.7\.5"):
        codec.check_version("2.8.0")
    codec.check_version(whoosh.versionstring())
    monkeypatch.setattr(whoosh, "versionstring", lambda: "3.0.0")
    spec = importlib.util.spec_from_file_location("codec_again", codec.__file__)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match=r"whoosh 3\.0\.0 is installed"):
        spec.loader.exec_module(module)


def _unpickled(values: list[bytes]) -> tuple[list[int], list[int]]:
    """Counts and positions of posting values the way whoosh decodes them, one by one."""
    fmt = formats.Positions()
    lists = [fmt.decode_positions(v) for v in values]
    return [len(p) for p in lists], [p for positions in lists for p in positions]


def test_positions_of_every_shape_decode_as_whoosh_decodes_them():
    """Deltas under 256 are read from the bytes; 16- and 32-bit deltas, empty and one-item
    lists, and lists of over 1000 items (pickled in batches) in between them are unpickled."""
    fmt, rng = formats.Positions(), random.Random(20)
    for _ in range(200):
        values = []
        for _ in range(rng.randint(1, 200)):
            n, top = rng.choice([(0, 9), (1, 200), (2, 200), (5, 250), (1, 3000), (2, 70000),
                                 (3, 2**31 - 1), (1001, 5000), (2500, 10**6)])  # fmt: skip
            values.append(fmt.encode(sorted(rng.sample(range(top), min(n, top)))))
        counts, positions = codec.decode_positions(fmt, values)
        assert (counts.tolist(), positions.tolist()) == _unpickled(values)


def test_short_deltas_are_read_without_unpickling(monkeypatch):
    fmt = formats.Positions()
    values = [fmt.encode(p) for p in ([], [0], [3, 7], [255], list(range(0, 600, 5)))]
    expected = _unpickled(values)
    monkeypatch.setattr(codec.pickle, "loads", lambda data: pytest.fail("unpickled"))
    counts, positions = codec.decode_positions(fmt, values)
    assert (counts.tolist(), positions.tolist()) == expected
