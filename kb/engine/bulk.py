"""Writing a new segment's postings from memory, in whoosh's own file format.

whoosh's writer sends every posting through its sorting pool: each one is pickled into a
sorted run on disk, read back, merged, and handed to the postings writer one call at a
time, which asks the per-document reader for the document's field length. On a full build
that was most of the writer's time (about 13 µs a posting). `bulk_writer` gives a whoosh
SegmentWriter a `MemoryPool` instead: the postings go into flat arrays (term number,
document number, weight, encoded value), are ordered once with numpy when the segment is
written, and each block of up to 128 postings goes to whoosh's own postings writer whole.
The files are those whoosh writes: `tests/test_bulk_writer.py` compares a term of several
blocks byte for byte with whoosh's postings writer, and a whole segment as whoosh reads it
back (term statistics, every posting, every block's statistics) with one whoosh wrote.

The pool holds the segment in memory (about 30 bytes a posting, plus about as much while it
is written): a caller writing many documents starts a new segment once `len(writer.pool)`
passes its limit (`indexer.segments`). Fields with spelling or term vectors are left to
whoosh's pool: kb's schema has none.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
import pickle
import struct
import zlib
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING

from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

# What W3Codec writes with: postings per block, zlib level, the header of a term's blocks,
# and the layout of a W3TermInfo (flags, weight, doc freq, min and max length bytes, max
# weight, first and last document).
BLOCK = 128
COMPRESSION = 3
BLOCKS_MAGIC = b"W3Bl"
TERMINFO = struct.Struct("!BfIBBfII")

if TYPE_CHECKING:
    import numpy as np


class MemoryPool:
    """The postings of one segment, for a `bulk_writer` (its `add_document` fills it)."""

    def __init__(self) -> None:
        self._terms: dict[str, dict[bytes, int]] = {}
        self.keys: list[tuple[str, bytes]] = []  # term number -> (field, term)
        self.tids = array("I")
        self.docs = array("I")
        # whoosh keeps weights as float32 in its blocks; kb's are whole numbers (frequencies),
        # which float32 holds exactly, so the blocks' maximum weights are whoosh's too.
        self.weights = array("f")
        self.ends = array("I")  # where each posting's value ends in `values`
        self.values = bytearray()
        # field -> each document's length as the length column gives it back
        self.lengths: dict[str, array] = {}

    def __len__(self) -> int:
        return len(self.tids)

    def add_field(self, fieldname: str, docnum: int, postings: Iterable[tuple]) -> int:
        """Add one field's postings (tbytes, freq, weight, vbytes) of document `docnum`;
        returns the sum of their frequencies (the field's length in the document)."""
        terms = self._terms.get(fieldname)
        if terms is None:
            terms = self._terms[fieldname] = {}
        get = terms.get
        keys, tids, weights, ends = self.keys, self.tids, self.weights, self.ends
        values = self.values
        count = length = 0
        for tbytes, freq, weight, vbytes in postings:
            tid = get(tbytes)
            if tid is None:
                tid = terms[tbytes] = len(keys)
                keys.append((fieldname, tbytes))
            tids.append(tid)
            weights.append(weight)
            if vbytes:
                values += vbytes
            ends.append(len(values))
            count += 1
            length += freq
        self.docs.extend(itertools.repeat(docnum, count))
        return length

    def note_length(self, fieldname: str, docnum: int, length: int) -> None:
        """Remember a document's length of a field, as the stored length byte decodes."""
        column = self.lengths.get(fieldname)
        if column is None:
            column = self.lengths[fieldname] = array("I")
        if len(column) < docnum:
            column.extend(itertools.repeat(0, docnum - len(column)))
        column.append(byte_to_length(length_to_byte(length)))

    def cleanup(self) -> None:
        self.__init__()


def add_document(writer, **fields) -> None:
    """whoosh's SegmentWriter.add_document for a writer with a MemoryPool (see
    `bulk_writer`): the same stored fields, lengths and columns, each field's postings
    handed to the pool at once. Field and document boosts (`_boost`) are not supported."""
    perdoc = writer.perdocwriter
    schema = writer.schema
    pool = writer.pool
    docnum = writer.docnum
    perdoc.start_doc(docnum)
    try:
        for fieldname in sorted(fields):
            value = fields[fieldname]
            if value is None:
                continue
            if fieldname.startswith("_"):
                raise ValueError(f"{fieldname}: boosts and custom stored values are whoosh's")
            field = schema[fieldname]
            length = 0
            if field.indexed:
                length = pool.add_field(fieldname, docnum, field.index(value))
                if not field.scorable:
                    length = 0
                elif length:
                    pool.note_length(fieldname, docnum, length)
            perdoc.add_field(fieldname, field, value if field.stored else None, length)
            column = field.column_type
            if column:
                perdoc.add_column_value(fieldname, column, field.to_column_value(value))
    except BaseException:
        perdoc.cancel_doc()
        raise
    perdoc.finish_doc()
    writer._added = True
    writer.docnum += 1


def bulk_writer(ix, **kwargs):
    """A whoosh SegmentWriter for `ix` (kwargs as for SegmentWriter) whose postings are held
    in a MemoryPool and written by `flush_segment`."""
    from whoosh.writing import SegmentWriter

    writer = SegmentWriter(ix, **kwargs)
    fields = writer.schema._fields.values()
    if any(field.vector or field.separate_spelling() for field in fields):
        return writer  # whoosh's pool handles those
    writer.pool.cleanup()
    writer.pool = MemoryPool()
    # whoosh's scratch folder is named after the index, the same for every writer: the
    # per-document writer's column files are there, and writers in other processes may be
    # using it. What this writer removes when it finishes is a folder of its own.
    writer._tempstorage = ix.storage.temp_storage(f"bulk-{writer.newsegment.segment_id()}.tmp")
    writer._flush_segment = functools.partial(flush_segment, writer)
    writer.add_document = functools.partial(add_document, writer)
    writer.add_reader = _no_merging
    return writer


def _no_merging(reader) -> None:
    raise NotImplementedError("a bulk writer writes new documents only; merge with whoosh's")


def flush_segment(writer) -> None:
    """SegmentWriter._flush_segment for a writer with a MemoryPool: close the per-document
    files, then write the postings and the term table."""
    writer.perdocwriter.close()
    _write_postings(writer.fieldwriter, writer.schema, writer.pool, writer.docnum)
    writer.fieldwriter.close()


def _write_postings(fieldwriter, schema, pool: MemoryPool, doccount: int) -> None:
    """Order the pool's postings by (field, term, document) and write each term as whoosh's
    W3FieldWriter does: its blocks to the postings file, its W3TermInfo to the term table."""
    import numpy as np

    if not len(pool):
        return
    keys = pool.keys
    ranked = sorted(range(len(keys)), key=keys.__getitem__)  # (field, term) order
    rank = np.empty(len(keys), dtype=np.uint32)
    rank[np.asarray(ranked, dtype=np.int64)] = np.arange(len(keys), dtype=np.uint32)
    tids = np.frombuffer(pool.tids, dtype=np.uint32)
    docs = np.frombuffer(pool.docs, dtype=np.uint32)
    ranks = rank[tids]
    del rank
    bounds = np.concatenate(([0], np.cumsum(np.bincount(ranks, minlength=len(keys))))).tolist()
    order = np.lexsort((docs, ranks)).astype(np.uint32)  # by term, then document
    del ranks
    ends = np.frombuffer(pool.ends, dtype=np.uint32)
    postings = _Sorted(
        docs=docs[order],
        weights=np.frombuffer(pool.weights, dtype=np.float32)[order],
        vstarts=np.concatenate((np.zeros(1, dtype=np.uint32), ends[:-1]))[order],
        vends=ends[order],
        values=bytes(pool.values),
    )
    del order
    lengths_of = pool.lengths
    pool.cleanup()  # the sorted copies are all that is needed from here on
    postfile = fieldwriter._postfile
    tindex = fieldwriter._tindex
    current = None
    for position, tid in enumerate(ranked):
        fieldname, tbytes = keys[tid]
        if fieldname != current:
            if current is not None:
                fieldwriter.finish_field()
            current = fieldname
            fieldwriter.start_field(fieldname, schema[fieldname])
            prefix = pack_ushort(fieldwriter._fieldid)
            column = lengths_of.get(fieldname, ())
            lengths = [*column, *itertools.repeat(0, doccount - len(column))]
            fixedsize = schema[fieldname].format.fixed_value_size()
        info = _write_term(postfile, postings, bounds[position], bounds[position + 1],
                           lengths, fixedsize)  # fmt: skip
        tindex.add(prefix + tbytes, info)
    fieldwriter.finish_field()


@dataclasses.dataclass
class _Sorted:
    """The pool's postings in (field, term, document) order: documents, weights, and where
    each one's value starts and ends in `values`."""

    docs: np.ndarray
    weights: np.ndarray
    vstarts: np.ndarray
    vends: np.ndarray
    values: bytes


def _write_term(postfile, postings: _Sorted, start: int, end: int, lengths: list[int],
                fixedsize: int | None) -> bytes:  # fmt: skip
    """Write the postings start:end of one term as W3PostingsWriter writes them (a header,
    then blocks of up to BLOCK postings, the last one's length negative) and return the
    term's W3TermInfo bytes (statistics over the blocks, where its postings are)."""
    offset = postfile.tell()
    postfile.write(BLOCKS_MAGIC)
    weight = 0
    minlength = None
    maxlength = maxweight = 0
    minid = None
    maxid = 0
    values = postings.values
    for first in range(start, end, BLOCK):
        last = min(first + BLOCK, end)
        ids = postings.docs[first:last].tolist()
        weights = postings.weights[first:last].tolist()
        block_maxweight = max(0, max(weights))
        known = list(filter(None, map(lengths.__getitem__, ids)))
        block_min = min(known) if known else None
        block_max = max(known) if known else 0
        if fixedsize == 0:
            vs = None
        else:
            vs = tuple(
                filter(
                    None,
                    map(
                        values.__getitem__,
                        map(
                            slice,
                            postings.vstarts[first:last].tolist(),
                            postings.vends[first:last].tolist(),
                        ),
                    ),
                )
            )
            if fixedsize is not None and fixedsize > 0:
                vs = b"".join(vs)
        count = len(ids)
        if weights.count(1.0) == count:
            mini_weights = None
        elif weights.count(weights[0]) == count:
            mini_weights = weights[0]
        else:
            mini_weights = tuple(weights)
        previous = [0, *ids[:-1]]
        data = zlib.compress(
            pickle.dumps((tuple(map(operator.sub, ids, previous)), mini_weights, vs), 2),
            COMPRESSION,
        )
        head = pickle.dumps((count, ids[-1], block_maxweight, COMPRESSION,
                             length_to_byte(block_min), length_to_byte(block_max)), 2)  # fmt: skip
        size = len(head) + len(data)
        postfile.write(pack_int(-size if last == end else size) + head + data)
        # W3TermInfo.add_block
        weight += sum(weights)
        minlength = block_min if minlength is None else min(minlength, block_min)
        maxlength = max(maxlength, block_max)
        maxweight = max(maxweight, block_maxweight)
        if minid is None:
            minid = ids[0]
        maxid = ids[-1]
    return TERMINFO.pack(
        False, weight, end - start, 0 if minlength is None else length_to_byte(minlength),
        length_to_byte(maxlength), maxweight, minid, maxid,
    ) + pack_long(offset) + pack_int(postfile.tell() - offset)  # fmt: skip
