"""With `whoosh_schema`, the one place that reads whoosh's internals: postings blocks, stored
field lengths, word positions and segment readers here; the schema's field table in
`whoosh_schema`, which writing an index needs without numpy (and named here too).

whoosh decodes postings one at a time in Python; reading its blocks, length columns and
pickled positions directly is what makes evaluating a query over arrays fast. Those are
private structures of one whoosh release, so this module refuses to load with any whoosh it
was not written for: a silent change in them would give wrong scores, not an error.
"""

from __future__ import annotations

import io
import itertools
import pickle
import struct
import zlib
from collections.abc import Iterator

import numpy as np
import whoosh
from whoosh import formats
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

# The writer's part of whoosh's internals (no numpy there), named here too: this module is
# where readers of the index find every one of them.
from kb.engine.whoosh_schema import (  # noqa: F401
    WRITTEN_FOR,
    UnsupportedWhoosh,
    check_version,
    schema_fields,
    schema_with_fields,
)

check_version(whoosh.versionstring())

# A stored length byte -> the field length whoosh scores with.
LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)

Block = tuple[np.ndarray, np.ndarray, list[bytes] | None]


def term_info(reader, fieldname: str, btext: bytes):
    """A term's entry in one segment's term table (where its postings are, how many
    passages hold it, deleted ones included), or None when the segment does not hold it:
    one look-up of the table, where `in`, `doc_frequency` and a matcher make one each."""
    terms = getattr(reader, "_terms", None)
    if terms is None:  # an empty index's reader has no term table: it holds no term
        return None
    try:
        return terms.term_info(fieldname, btext)
    except TermNotFound:
        return None


def term_blocks(
    reader,
    fieldname: str,
    btext: bytes,
    fmt,
    with_values: bool,
    wanted: np.ndarray | None = None,
    info=None,
) -> Iterator[Block]:
    """A term's postings in one segment, block by block: (ids, weights, encoded values or
    None), deleted documents included (callers keep the live ones). With `wanted` (sorted
    segment-local numbers), blocks holding none of them are skipped by their headers,
    without being read. `info`: the term's entry (`term_info`), when already looked up."""
    if info is None:
        info = reader._terms.term_info(fieldname, btext)  # TermNotFound when absent
    if not info.is_inlined():
        yield from _stored_blocks(reader, info, fmt, with_values, wanted)
        return
    # A term of few postings keeps them in its entry: whoosh's matcher lists them.
    m = reader._terms.matcher(fieldname, btext, fmt)
    after = -1  # the highest id of the blocks before
    while m.is_active():
        if wanted is not None:
            first = np.searchsorted(wanted, after, side="right")
            if first >= len(wanted):
                return
            if wanted[first] > m._maxid:
                after = m._maxid
                m._next_block()
                continue
        ids, weights = _block_arrays(m)
        if with_values and m._values is None:
            m._read_values()
        yield ids, weights, (m._values if with_values else None)
        after = m._maxid
        m._next_block()


_BLOCK_LENGTH = struct.Struct("!i")  # a block's byte length, negative for the last block


def _stored_blocks(
    reader, info, fmt, with_values: bool, wanted: np.ndarray | None
) -> Iterator[Block]:
    """A term's postings blocks as whoosh's postings writer lays them out, read from the
    postings file in one piece (its extent is in the term's entry) and split here: whoosh's
    matcher reads each block's length, header and data by separate small reads.

    After a 4-byte tag, each block is its length, a pickled header (postings, highest id,
    highest weight, compression, shortest and longest field length bytes) and its data: a
    pickled, optionally zlib-compressed (id deltas, weights, values)."""
    offset, length = info.extent()
    if isinstance(length, tuple):  # whoosh reads the stored length back as a 1-tuple
        (length,) = length
    buf = reader._terms._postfile.get(offset, length)
    if buf[: len(WHOOSH3_HEADER_MAGIC)] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"postings block tag error at {offset}")
    stream = io.BytesIO(buf)
    fixed = fmt.fixed_value_size()
    pos = len(WHOOSH3_HEADER_MAGIC)
    after = -1  # the highest id of the blocks before
    while pos < len(buf):
        (size,) = _BLOCK_LENGTH.unpack_from(buf, pos)
        end = pos + _INT_SIZE + abs(size)
        stream.seek(pos + _INT_SIZE)
        count, maxid, _, compression, _, _ = pickle.load(stream)
        if not count:
            return
        skip = False
        if wanted is not None:
            first = np.searchsorted(wanted, after, side="right")
            if first >= len(wanted):
                return
            skip = wanted[first] > maxid
        if not skip:
            data = buf[stream.tell() : end]
            stored_ids, stored_weights, stored_values = pickle.loads(
                zlib.decompress(data) if compression else data
            )
            ids, weights = _arrays(stored_ids, stored_weights, count, False)
            values = _values(stored_values, fixed, count) if with_values else None
            yield ids, weights, values
        after = maxid
        if size < 0:
            return
        pos = end


def _values(stored, fixed: int | None, count: int):
    """A block's posting values as whoosh's matcher gives them (`_read_values`)."""
    if fixed is None or fixed < 0:
        return stored
    if fixed == 0:
        return (None,) * count
    return tuple(stored[i : i + fixed] for i in range(0, len(stored), fixed))


def raw_postings(
    reader, fieldname: str, btext: bytes, fmt, with_values: bool = False, info=None
) -> tuple[np.ndarray, np.ndarray, list[bytes] | None]:
    """A term's postings in one segment, deleted documents included: (ids, weights, encoded
    values or None). `info`: the term's entry (`term_info`), when already looked up."""
    id_parts, weight_parts, values = [], [], [] if with_values else None
    blocks = term_blocks(reader, fieldname, btext, fmt, with_values, info=info)
    for ids, weights, block_values in blocks:
        id_parts.append(ids)
        weight_parts.append(weights)
        if values is not None:
            values.extend(block_values)
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), values
    return np.concatenate(id_parts), np.concatenate(weight_parts), values


def _block_arrays(m) -> tuple[np.ndarray, np.ndarray]:
    """The ids and weights of a postings block as arrays: the block's stored id deltas
    summed and its weights converted in compiled code, instead of whoosh decoding them one
    by one in Python (most of the time of reading a common word's postings)."""
    if m._data is None:
        m._read_data()
    if m._byteids or m._ids is not None:
        if m._ids is None:
            m._read_ids()
        return _arrays(m._ids, m._data[1], m._blocklength, True)
    return _arrays(m._data[0], m._data[1], m._blocklength, False)


def _arrays(
    stored_ids, stored_weights, count: int, absolute: bool
) -> tuple[np.ndarray, np.ndarray]:
    """A block's ids (`stored_ids`: the ids themselves when `absolute`, else their deltas)
    and weights (None: all 1; a float: all that; else one per posting) as arrays."""
    if absolute:
        ids = np.asarray(stored_ids, dtype=np.int64)
    else:
        ids = np.cumsum(np.asarray(stored_ids, dtype=np.int64))
    if stored_weights is None:
        weights = np.ones(count, dtype=np.float64)
    elif isinstance(stored_weights, float):
        weights = np.full(count, stored_weights, dtype=np.float64)
    else:
        weights = np.asarray(stored_weights, dtype=np.float64)
    return ids, weights


_PICKLE_HEAD = b"\x80\x02"  # protocol 2, as the Positions format writes each list
# A posting's value: its position count (4 bytes, big-endian), then the pickled list of deltas:
# PROTO 2, EMPTY_LIST, BINPUT 0, then MARK, the items and APPENDS (two or more items), the item
# and APPEND (one), or nothing (none); STOP. A delta under 256 is BININT1: "K" and one byte.
_VALUE_HEAD = np.frombuffer(_PICKLE_HEAD + b"]q\x00", dtype=np.uint8)
_HEAD_END = _INT_SIZE + len(_VALUE_HEAD)
_BYTE_OF = {c: ord(c) for c in "K(ea."}


def decode_positions(fmt, values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Word positions from posting values: (positions per posting, all positions).

    The Positions format stores a posting as its position count and a pickled list of
    position deltas. Decoding thousands one by one is most of a phrase search's time. Lists
    whose deltas are all under 256 (nearly all: passages are short) are read straight from
    their bytes with array operations, checked opcode by opcode; the others are unpickled,
    all in one call.
    """
    if type(fmt) is not formats.Positions:
        raise TypeError(f"word positions are read from a Positions field, not {fmt!r}")
    if not values:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    n = len(values)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    buf = np.frombuffer(b"".join(values), dtype=np.uint8)
    counts = _fast_counts(buf, starts, ends, lengths)
    fast = counts >= 0
    first = starts + _HEAD_END + (counts >= 2)  # each posting's first item
    while True:  # again without the postings whose items are not all one-byte ints
        taken = np.where(fast, counts, 0)
        item = np.repeat(first, taken) + 2 * _within(taken)
        ops_ok = buf[item] == _BYTE_OF["K"]
        if ops_ok.all():
            deltas = buf[item + 1].astype(np.int64)
            break
        fast &= np.bincount(np.repeat(np.arange(n), taken)[~ops_ok], minlength=n) == 0
    slow = np.flatnonzero(~fast)
    if not len(slow):
        counts_all = counts
        flat = deltas
    else:
        slow_counts, slow_flat = _unpickle([values[i] for i in slow.tolist()])
        counts_all = counts.copy()
        counts_all[slow] = slow_counts
        flat = np.empty(int(counts_all.sum()), dtype=np.int64)
        offsets = np.cumsum(counts_all) - counts_all
        for where, sizes, part in ((np.flatnonzero(fast), counts[fast], deltas),
                                   (slow, slow_counts, slow_flat)):  # fmt: skip
            flat[np.repeat(offsets[where], sizes) + _within(sizes)] = part
    positions = np.cumsum(flat)
    # Each posting's deltas start again from 0: remove what the postings before it added.
    first_of = np.cumsum(counts_all) - counts_all
    before = np.concatenate(([0], positions))[first_of]
    return counts_all, positions - np.repeat(before, counts_all)


def _within(sizes: np.ndarray) -> np.ndarray:
    """For consecutive groups of `sizes` items, each item's number within its group."""
    return np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _fast_counts(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Each posting's position count when its value has the shape of a list of one-byte ints
    (the count the value states, its length, its head and its tail agree), else -1."""
    last_byte = len(buf) - 1  # a value too short to hold a list reads clipped, and fails below

    def byte(at: int) -> np.ndarray:
        return buf[np.minimum(starts + at, last_byte)]

    counts = np.zeros(len(starts), dtype=np.int64)
    for at in range(_INT_SIZE):
        counts = (counts << 8) | byte(at)
    one, many = counts == 1, counts >= 2
    shaped = lengths == np.where(many, _HEAD_END + 3 + 2 * counts, _HEAD_END + 1 + 3 * one)
    for at, expected in enumerate(_VALUE_HEAD.tolist(), start=_INT_SIZE):
        shaped &= byte(at) == expected
    last = buf[ends - 1]
    before_last = buf[np.maximum(ends - 2, starts)]
    after_head = byte(_HEAD_END)
    shaped &= last == _BYTE_OF["."]
    shaped &= ~many | ((after_head == _BYTE_OF["("]) & (before_last == _BYTE_OF["e"]))
    shaped &= ~one | (before_last == _BYTE_OF["a"])
    return np.where(shaped, counts, -1)


def _unpickle(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(counts, deltas) of posting values by unpickling them, joined into one pickled list of
    lists and loaded in one call."""
    body = b"".join([v[_INT_SIZE + 2 : -1] for v in values])
    deltas = pickle.loads(_PICKLE_HEAD + b"](" + body + b"e.")
    if len(deltas) != len(values):
        raise ValueError("word positions could not be decoded")
    counts = np.fromiter(map(len, deltas), dtype=np.int64, count=len(deltas))
    flat = np.fromiter(itertools.chain.from_iterable(deltas), dtype=np.int64, count=counts.sum())
    return counts, flat


def length_bytes(reader, fieldname: str) -> np.ndarray:
    """Every document's stored length byte for a field in one segment (0 where the segment
    has no lengths for the field, as whoosh reads it)."""
    n = reader.doc_count_all()
    column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    out = np.full(n, LENGTHS_COLUMN.default_value(), dtype=np.uint8)
    if column is None:
        return out
    stored = min(column._count, n)  # documents after the last one with the field: default
    if stored:
        out[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), np.uint8)
    return out


def segment_reader(storage, schema, segment) -> SegmentReader:
    """A reader of one segment of an index being written (to merge it into the new one)."""
    return SegmentReader(storage, schema, segment)
