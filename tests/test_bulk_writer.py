"""A full build's segments (`kb.engine.bulk`) are the files whoosh's own writer writes."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from benchmarks.synthetic import Generator
from indexer.segments import commit_segments, write_segments
from kb import schema as f
from kb.engine.bulk import MemoryPool, bulk_writer
from kb.fastanalysis import SINGLE_POSITIONS
from kb.models import Document, Passage
from kb.schema import build_schema
from kb.writer import add_document, open_writer

SEGMENT_FILES = (".pst", ".trm", ".col", ".seg")


class _Gen:
    """The little of kb.generation.Generation that commit_segments uses."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def open_index(self, *, mmap: bool = True):
        return whoosh_index.open_dir(str(self.path))


def _documents() -> list[Document]:
    """Synthetic documents in five languages (terms with one posting and with several
    blocks of them, keyword fields, visibilities), and passages that are edge cases."""
    docs = list(Generator().documents(700))
    base = docs[0]
    odd = [
        "",  # no words at all
        "the of and",  # only stop words
        " ".join(["repeat"] * 300),  # one word many times: a long position list
        " ".join(f"w{i % 50}" for i in range(SINGLE_POSITIONS + 200)),  # past the memo
    ]
    passages = tuple(
        dataclasses.replace(base.passages[0], anchor=f"odd{i}", text=text, ordinal=i)
        for i, text in enumerate(odd)
    )
    docs.append(dataclasses.replace(base, doc_id=base.doc_id + "-odd", passages=passages))
    return docs


def _files(folder: Path) -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in folder.iterdir() if p.suffix in SEGMENT_FILES}


def _contents(folder: Path) -> tuple[list, dict]:
    """Every record's stored fields and every scorable field's lengths, as whoosh reads them."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.reader() as reader:
            stored = [reader.stored_fields(n) for n in range(reader.doc_count_all())]
            lengths = {
                name: [reader.doc_field_length(n, name, 0) for n in range(reader.doc_count_all())]
                for name in ix.schema.names()
                if ix.schema[name].scorable
            }
            return stored, lengths
    finally:
        ix.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, list[Document]]:
    docs = _documents()
    theirs = tmp_path_factory.mktemp("whoosh")
    ix = whoosh_index.create_in(str(theirs), build_schema())
    writer = open_writer(ix, compound=False)
    for doc in docs:
        add_document(writer, doc)
    writer.commit()
    ix.close()

    ours = tmp_path_factory.mktemp("bulk")
    whoosh_index.create_in(str(ours), build_schema()).close()
    commit_segments(_Gen(ours), write_segments(str(ours), docs, compound=False))
    return ours, theirs, docs


def _postings(folder: Path) -> dict:
    """Every term's statistics and postings, with its blocks' statistics at each posting, as
    whoosh's reader reads them from the segment's files."""
    ix = whoosh_index.open_dir(str(folder))
    out = {}
    try:
        with ix.reader() as reader:
            for fieldname, text in reader.all_terms():
                info = reader.term_info(fieldname, text)
                stats = (info.weight(), info.doc_frequency(), info.min_length(),
                         info.max_length(), info.max_weight(), info.min_id(), info.max_id())  # fmt: skip
                matcher = reader.postings(fieldname, text)
                postings = []
                while matcher.is_active():
                    postings.append((matcher.id(), matcher.weight(), matcher.value(),
                                     matcher.block_min_length(), matcher.block_max_length(),
                                     matcher.block_max_weight()))  # fmt: skip
                    matcher.next()
                out[fieldname, text] = (stats, postings)
    finally:
        ix.close()
    return out


def test_the_postings_and_terms_are_whooshs(built) -> None:
    # Byte for byte when whoosh's pool spills to disk; when it does not, whoosh pickles a
    # value object shared by several postings of a block once (the writer's analysis shares
    # one-position values), so the comparison is of what whoosh reads back.
    ours, theirs, _ = built
    mine, whooshs = _files(ours), _files(theirs)
    assert set(mine) == set(whooshs) == {".pst", ".trm", ".col"}
    assert len(mine[".pst"]) > 1_000_000  # many blocks, not a token sample
    read = _postings(ours)
    assert read == _postings(theirs)
    assert max(len(postings) for _, postings in read.values()) > 3 * 128  # several blocks


def test_a_term_of_several_blocks_has_the_bytes_of_whooshs_postings_writer() -> None:
    from kb.engine.bulk import _Sorted, _write_term

    class _File(bytearray):
        def tell(self) -> int:
            return len(self)

        write = bytearray.extend

        def write_int(self, n: int) -> None:
            self.extend(struct.pack("!i", n))

    # One term with three blocks, lengths and weights varying, values of several sizes.
    import numpy as np
    from whoosh import formats
    from whoosh.codec.whoosh3 import W3PostingsWriter, W3TermInfo

    docs = list(range(3, 3 + 3 * 300, 3))
    weights = [float(1 + i % 4) for i in range(len(docs))]
    fmt = formats.Positions()
    values = [fmt.encode(list(range(0, int(w) * 2, 2))) for w in weights]
    lengths = [0] * (docs[-1] + 1)
    for i, d in enumerate(docs):
        lengths[d] = 5 + i % 70
    theirs = _File(b"xx")
    writer = W3PostingsWriter(theirs, blocklimit=128)
    writer.start_postings(fmt, W3TermInfo())
    for d, w, v in zip(docs, weights, values, strict=True):
        writer.add_posting(d, w, v, lengths[d])
    info = writer.finish_postings()
    ours = _File(b"xx")
    ends = np.cumsum([len(v) for v in values]).astype(np.uint64)
    sorted_ = _Sorted(docs=np.array(docs, dtype=np.uint32), weights=np.array(weights, dtype=np.float32),
                      vstarts=np.concatenate(([0], ends[:-1])).astype(np.uint64), vends=ends,
                      values=b"".join(values))  # fmt: skip
    assert _write_term(ours, sorted_, 0, len(docs), lengths, None) == info.to_bytes()
    assert bytes(ours) == bytes(theirs)


def test_stored_fields_and_lengths_are_whooshs(built) -> None:
    # The per-document files are whoosh's own writing in both; their order inside the file
    # follows a set's iteration, which changes with Python's hash seed: compare the values.
    ours, theirs, _ = built
    assert _contents(ours) == _contents(theirs)


def test_searches_find_the_same_passages(built) -> None:
    from whoosh.qparser import QueryParser

    ours, theirs, _ = built
    answers = []
    for folder in (ours, theirs):
        ix = whoosh_index.open_dir(str(folder))
        try:
            with ix.searcher() as searcher:
                parser = QueryParser(f.EXACT, ix.schema)
                answers.append([
                    [(hit[f.PASSAGE_ID], round(hit.score, 6)) for hit in searcher.search(
                        parser.parse(q), limit=50)]
                    for q in ("repeat", '"w1 w2"', "w7", "the", "procurement OR upphandling")
                ])  # fmt: skip
        finally:
            ix.close()
    assert answers[0] == answers[1]
    assert any(answers[0])


def test_a_segment_is_written_every_limit_postings(tmp_path) -> None:
    docs = _documents()[:60]
    whoosh_index.create_in(str(tmp_path), build_schema()).close()
    segments = write_segments(str(tmp_path), docs, limit=20_000)
    assert len(segments) > 2
    commit_segments(_Gen(tmp_path), segments)
    ix = whoosh_index.open_dir(str(tmp_path))
    try:
        with ix.reader() as reader:
            ids = [reader.stored_fields(n)[f.PASSAGE_ID] for n in range(reader.doc_count_all())]
    finally:
        ix.close()
    # Records are numbered in the order of the documents, across the segments.
    expected = []
    for doc in docs:
        expected += [doc.doc_id, *(p.passage_id for p in doc.passages)]
    assert ids == expected


def test_a_pool_keeps_each_fields_terms_apart_and_returns_the_length() -> None:
    pool = MemoryPool()
    assert pool.add_field("b", 0, [(b"x", 2, 2.0, b"v1"), (b"y", 1, 1.0, b"")]) == 3
    assert pool.add_field("a", 1, [(b"x", 1, 1.0, b"v22")]) == 1
    assert len(pool) == 3
    assert pool.keys == [("b", b"x"), ("b", b"y"), ("a", b"x")]  # one term per field
    assert list(pool.tids) == [0, 1, 2] and list(pool.docs) == [0, 0, 1]
    assert bytes(pool.values) == b"v1v22" and list(pool.ends) == [2, 2, 5]
    pool.cleanup()
    assert len(pool) == 0 and pool.keys == []


def test_a_writer_given_boosts_refuses_them(tmp_path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    writer = bulk_writer(ix)
    try:
        with pytest.raises(ValueError, match="_boost"):
            writer.add_document(**{f.KIND: "passage", "_boost": 2.0})
    finally:
        writer.cancel()
        ix.close()


def test_passage_records_hold_no_field_the_bulk_writer_refuses() -> None:
    doc = _documents()[0]
    passage: Passage = doc.passages[0]
    from kb.writer import document_record, passage_record

    for record in (document_record(doc), passage_record(doc, passage)):
        assert not [name for name in record if name.startswith("_")]
