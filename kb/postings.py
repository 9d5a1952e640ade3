"""Query evaluation over postings arrays: every match of a query, and its score, at once.

whoosh evaluates a query as a tree of matchers stepping through postings one at a time in
Python; a typed word compiles to dozens of terms (each language's stemmed field, the exact,
title and heading fields, glossary translations), so a common word cost tens of milliseconds
of CPU per thousand passages. Here each term's postings are read once per snapshot into numpy
arrays (passage numbers and their BM25 score in that field) and a query is evaluated
term-at-a-time into dense arrays over the whole index: which passages match, their score,
and how many of the query's terms each contains.

Scores are exactly whoosh's for the same query tree (`kb.ranking.PassageBM25F` per term,
sums through Or and And, boosts, the coordination bonus of `kb.search._Or`), so a passage
ranks the same as through `searcher.search`; `tests/test_postings.py` checks this against
whoosh on many queries. Phrases need word positions: they are matched and scored by whoosh,
once per snapshot, and then combined here like any term.
"""

from __future__ import annotations

import itertools
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh import formats
from whoosh import query as wq
from whoosh.util.numeric import byte_to_length

# Postings kept per snapshot, in entries (a passage number and a score: 12 bytes each, or a
# word position: 8 bytes): at most about 30 MB. A common word's postings at 100,000 passages
# are tens of thousands of entries; the 210 queries of benchmarks/query.py fill about 2 million.
CACHE_ENTRIES = 2_500_000
# Postings larger than this are used once and not kept (they would evict everything else).
UNCACHED_ABOVE = CACHE_ENTRIES // 4

_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY_DOCS = np.empty(0, dtype=np.int32)
_EMPTY_SCORES = np.empty(0, dtype=np.float64)


@dataclass(frozen=True)
class TermPostings:
    """One term's live postings over the whole index, in passage-number order."""

    docs: np.ndarray  # int32 global document numbers
    scores: np.ndarray  # float64: the term's score in each, before any boost
    terms: int  # how many whoosh term matchers it counts as (0: matches nothing)

    @property
    def size(self) -> int:
        return len(self.docs)


_NOTHING = TermPostings(_EMPTY_DOCS, _EMPTY_SCORES, 0)


@dataclass(frozen=True)
class WordPositions:
    """Every occurrence of a word in a field: passage (sorted) and position, both int32."""

    docs: np.ndarray
    positions: np.ndarray

    @property
    def size(self) -> int:
        return len(self.docs)


@dataclass
class Evaluated:
    """A query over the whole index: dense arrays indexed by document number."""

    mask: np.ndarray  # bool: the passage matches
    score: np.ndarray  # float64: its score (0 where it does not match)
    count: np.ndarray  # int32: how many of the query's terms it contains
    terms: int  # how many terms the query counts (for the coordination bonus)

    def docnums(self) -> np.ndarray:
        return np.flatnonzero(self.mask)


class PostingsIndex:
    """Postings arrays of one snapshot, read on demand and kept in a bounded cache.

    Thread-safe: arrays are read through the calling thread's whoosh searcher (each thread
    has its own file handles) and shared through the cache.
    """

    def __init__(self, searcher_of_thread, doc_count: int) -> None:
        self._searcher = searcher_of_thread  # () -> this thread's whoosh Searcher
        self.size = doc_count
        self._cache: OrderedDict[tuple, TermPostings | WordPositions] = OrderedDict()
        self._entries = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # ---- reading postings -------------------------------------------------------------------

    def term(self, fieldname: str, text: str) -> TermPostings:
        key = ("t", fieldname, text)
        return self._cached(key, lambda: self._read_term(fieldname, text))

    def phrase(self, q: wq.Phrase) -> TermPostings:
        key = ("p", q.fieldname, tuple(q.words), q.slop)
        if q.slop != 1 or len(q.words) < 2:
            plain = wq.Phrase(q.fieldname, q.words, slop=q.slop)
            return self._cached(key, lambda: self._read_whoosh(plain))
        return self._cached(key, lambda: self._read_phrase(q.fieldname, tuple(q.words)))

    def other(self, q: wq.Query) -> TermPostings:
        key = ("q", repr(q))
        return self._cached(key, lambda: self._read_whoosh(q))

    def _cached(self, key: tuple, read) -> TermPostings:
        found = self._lookup(key)
        if found is None:
            found = read()
            self._store(key, found)
        return found

    def _lookup(self, key: tuple):
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _store(self, key: tuple, postings: TermPostings | WordPositions) -> None:
        if postings.size > UNCACHED_ABOVE:
            return
        with self._lock:
            if key not in self._cache:
                self._cache[key] = postings
                self._entries += postings.size
            while self._entries > CACHE_ENTRIES and self._cache:
                _, dropped = self._cache.popitem(last=False)
                self._entries -= dropped.size

    def _read_term(self, fieldname: str, text: str, values: dict | None = None) -> TermPostings:
        """A term's postings; with `values`, also each segment's encoded posting values (word
        positions), by segment offset: (ids, values), deleted documents included."""
        searcher = self._searcher()
        if fieldname not in searcher.schema:
            return _NOTHING
        field = searcher.schema[fieldname]
        try:
            btext = field.to_bytes(text)
        except ValueError:
            return _NOTHING
        docs_parts, score_parts = [], []
        terms = 0
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            if (fieldname, btext) not in reader:
                continue
            terms = 1
            ids, weights, encoded = _raw_postings(
                reader, fieldname, btext, field.format, values is not None
            )
            if values is not None:
                values[offset] = (ids, encoded)
            if not len(ids):
                continue
            scores = weights
            if field.scorable:
                scorer = sub.weighting.scorer(sub, fieldname, text)
                lengths = self._field_lengths(reader, offset, fieldname)[ids]
                scores = _bm25(scorer, weights, lengths)
                if scores is None:  # another weighting model: let whoosh score each posting
                    return self._read_whoosh(wq.Term(fieldname, text))
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            if deleted:
                keep = ~np.isin(ids, np.fromiter(deleted, dtype=np.int64))
                ids, scores = ids[keep], scores[keep]
            docs_parts.append((ids + offset).astype(np.int32))
            score_parts.append(scores.astype(np.float64))
        if not docs_parts:
            return TermPostings(_EMPTY_DOCS, _EMPTY_SCORES, terms)
        return TermPostings(np.concatenate(docs_parts), np.concatenate(score_parts), terms)

    def _field_lengths(self, reader, offset: int, fieldname: str) -> np.ndarray:
        """Every document's length of a field in the segment at `offset` (all threads' readers
        of a snapshot have the same segments), as whoosh stores it: one byte, decoded."""
        key = f"{offset}:{fieldname}"
        found = self._lengths.get(key)
        if found is None:
            found = _LENGTHS[_length_bytes(reader, fieldname)]
            with self._lock:
                found = self._lengths.setdefault(key, found)
        return found

    def _read_phrase(self, fieldname: str, words: tuple[str, ...]) -> TermPostings:
        """Passages where the words occur one right after the other, scored as whoosh scores
        a phrase: the sum of each word's score in the passage.

        Only the passages holding every word are looked at: a position p of word i there
        becomes the key (passage, p - i), and the phrase occurs where a key is shared by all
        the words.
        """
        postings = []
        read: dict[str, dict] = {}  # word -> its positions, when its postings were read here
        for word in words:
            key = ("t", fieldname, word)
            found = self._lookup(key)
            if found is None:
                read[word] = {}
                found = self._read_term(fieldname, word, read[word])
                self._store(key, found)
            postings.append(found)
        if any(not p.terms for p in postings):
            return _NOTHING  # whoosh matches nothing when a word is not in the index
        candidates = postings[0].docs
        for p in postings[1:]:
            candidates = _intersect_sorted(candidates, p.docs)
        keys = None
        if len(candidates):
            positions = {
                word: self._positions(fieldname, word, read.get(word), candidates, p.size)
                for word, p in zip(words, postings, strict=True)
            }
            for i, word in enumerate(words):
                occurs = positions[word]
                keep = _contains_sorted(candidates, occurs.docs) & (occurs.positions >= i)
                docs = occurs.docs[keep].astype(np.int64)
                word_keys = (docs << 32) | (occurs.positions[keep] - i)
                keys = word_keys if keys is None else _intersect_sorted(keys, word_keys)
                if not len(keys):
                    break
        if keys is None or not len(keys):
            return TermPostings(_EMPTY_DOCS, _EMPTY_SCORES, len(words))
        docs = keys >> 32  # sorted: one entry per occurrence
        docs = docs[np.concatenate(([True], docs[1:] != docs[:-1]))].astype(np.int32)
        scores = np.zeros(len(docs), dtype=np.float64)
        for p in postings:
            scores += p.scores[np.searchsorted(p.docs, docs)]
        return TermPostings(docs, scores, len(words))

    def _positions(
        self, fieldname: str, word: str, read: dict | None, candidates: np.ndarray, postings: int
    ) -> WordPositions:
        """A word's occurrences in (at least) the candidate passages.

        A word found in many of the candidates has all its occurrences decoded and kept like
        postings: the common words of phrases ("of the") recur from one phrase to the next.
        For a few candidates among many postings, only those are decoded (skipping the
        blocks of postings that hold none of them), and nothing is kept. `read`: the word's
        posting values, when they were just read with its postings (by segment offset).
        """
        key = ("pos", fieldname, word)
        found = self._lookup(key)
        if found is not None:
            return found
        if len(candidates) * 4 < postings:
            return self._read_positions(fieldname, word, read, candidates)
        found = self._read_positions(fieldname, word, read)
        self._store(key, found)
        return found

    def _read_positions(
        self, fieldname: str, word: str, read: dict | None, only: np.ndarray | None = None
    ) -> WordPositions:
        searcher = self._searcher()
        field = searcher.schema[fieldname]
        btext = field.to_bytes(word)
        doc_parts: list[np.ndarray] = []
        pos_parts: list[np.ndarray] = []
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            if (fieldname, btext) not in reader:
                continue
            wanted = None
            if only is not None:
                end = offset + reader.doc_count_all()
                wanted = only[(only >= offset) & (only < end)].astype(np.int64) - offset
                if not len(wanted):
                    continue
            if read is not None and offset in read:
                ids, encoded = read[offset]
                blocks = [(ids, None, encoded)]
            else:
                blocks = _blocks(reader, fieldname, btext, field.format, True, wanted)
            id_parts: list[np.ndarray] = []
            values: list[bytes] = []
            for ids, _, block_values in blocks:
                if wanted is None:
                    id_parts.append(ids)
                    values.extend(block_values)
                else:
                    hit = np.flatnonzero(_contains_sorted(wanted, ids))
                    id_parts.append(ids[hit])
                    values.extend([block_values[j] for j in hit.tolist()])
            if not values:
                continue
            counts, positions = _decode_positions(field.format, values)
            doc_parts.append(np.repeat(np.concatenate(id_parts) + offset, counts))
            pos_parts.append(positions)
        if not doc_parts:
            return WordPositions(_EMPTY_DOCS, _EMPTY_DOCS)
        return WordPositions(
            np.concatenate(doc_parts).astype(np.int32), np.concatenate(pos_parts).astype(np.int32)
        )

    def _read_whoosh(self, q: wq.Query) -> TermPostings:
        """Matches and scores of a query whoosh must evaluate itself (a phrase needs word
        positions): walked once, then used like a term's postings."""
        searcher = self._searcher()
        docs: list[int] = []
        scores: list[float] = []
        terms = 0
        context = searcher.context()
        for sub, offset in searcher.leaf_searchers():
            m = q.matcher(sub, context)
            terms = max(terms, len(list(m.term_matchers())))
            while m.is_active():
                docs.append(m.id() + offset)
                scores.append(m.score())
                m.next()
        return TermPostings(
            np.array(docs, dtype=np.int32), np.array(scores, dtype=np.float64), terms
        )

    # ---- evaluating a query -----------------------------------------------------------------

    def evaluate(self, q: wq.Query) -> Evaluated:
        """Every passage `q` matches with its score, as whoosh's matchers would score it."""
        if isinstance(q, wq.Or) and not q.minmatch:
            subs = q.subqueries
            if not subs:
                return self._empty()
            if len(subs) == 1:  # whoosh ignores the boost and the scale of a single clause
                return self.evaluate(subs[0])
            out = self._empty()
            self._add_union(out, q, 1.0)
            scale = getattr(q, "scale", None)
            if q.boost != 1.0:
                out.score *= q.boost
            if scale and out.terms:
                _coordinate(out, scale)
            return out
        if isinstance(q, wq.And):
            subs = q.subqueries
            if not subs:
                return self._empty()
            if len(subs) == 1:
                return self.evaluate(subs[0])
            parts = [self.evaluate(sub) for sub in subs]
            out = parts[0]
            for part in parts[1:]:
                out.mask &= part.mask
                out.score += part.score
                out.count += part.count
                out.terms += part.terms
            out.score[~out.mask] = 0.0
            out.count[~out.mask] = 0
            if q.boost != 1.0:
                out.score *= q.boost
            return out
        if isinstance(q, wq.AndNot):
            out = self.evaluate(q.a)
            excluded = self.evaluate(q.b)
            out.mask &= ~excluded.mask
            out.score[~out.mask] = 0.0
            out.count[~out.mask] = 0
            out.terms += excluded.terms
            return out
        out = self._empty()
        self._add_leaf(out, q, 1.0)
        return out

    def _add_union(self, out: Evaluated, q: wq.Or, factor: float) -> None:
        """Add an Or's clauses into `out`: nested plain Ors are summed straight in, their
        boosts folded into `factor`, instead of each getting arrays of its own."""
        for sub in q.subqueries:
            if (
                isinstance(sub, wq.Or)
                and not sub.minmatch
                and not getattr(sub, "scale", None)
                and len(sub.subqueries) > 1
            ):
                self._add_union(out, sub, factor * sub.boost)
            elif isinstance(sub, (wq.Term, wq.Phrase)):
                self._add_leaf(out, sub, factor)
            else:
                part = self.evaluate(sub)
                out.mask |= part.mask
                out.score += part.score * factor if factor != 1.0 else part.score
                out.count += part.count
                out.terms += part.terms

    def _add_leaf(self, out: Evaluated, q: wq.Query, factor: float) -> None:
        if isinstance(q, wq.Term):
            postings = self.term(q.fieldname, q.text)
        elif isinstance(q, wq.Phrase):
            postings = self.phrase(q)
        else:
            postings = self.other(q)
        out.terms += postings.terms
        if not postings.size:
            return
        boost = factor * (q.boost if isinstance(q, (wq.Term, wq.Phrase)) else 1.0)
        docs = postings.docs
        out.mask[docs] = True
        out.score[docs] += postings.scores * boost if boost != 1.0 else postings.scores
        out.count[docs] += 1 if not isinstance(q, wq.Phrase) else postings.terms

    def _empty(self) -> Evaluated:
        n = self.size
        return Evaluated(
            np.zeros(n, dtype=bool), np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.int32), 0
        )


def _bm25(scorer, weights: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """kb.ranking's BM25 per posting, vectorised: whoosh.scoring.bm25's formula with the
    scorer's own idf, average length and parameters (None for any other scorer)."""
    params = [getattr(scorer, name, None) for name in ("idf", "avgfl", "B", "K1")]
    if None in params or getattr(scorer, "qf", 1) != 1 or not hasattr(scorer, "dfl"):
        return None
    idf, avgfl, b, k1 = params
    return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))


def _coordinate(out: Evaluated, scale: float) -> None:
    """whoosh's coordination bonus (CoordMatcher's "SQR"), with the number of the query's
    terms fixed for the whole search."""
    termcount = out.terms
    where = out.mask
    if termcount == scale:
        out.score[where] = 0.0
        return
    bonus = (out.count[where] - 1) / (termcount - scale) ** 2
    out.score[where] = (out.score[where] + bonus) * ((termcount - 1) / termcount)


def _raw_postings(reader, fieldname: str, btext: bytes, fmt, with_values: bool = False):
    """A term's postings in one segment, deleted documents included: (ids, weights, encoded
    values or None)."""
    id_parts, weight_parts, values = [], [], [] if with_values else None
    for ids, weights, block_values in _blocks(reader, fieldname, btext, fmt, with_values):
        id_parts.append(ids)
        weight_parts.append(weights)
        if values is not None:
            values.extend(block_values)
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), values
    return np.concatenate(id_parts), np.concatenate(weight_parts), values


def _blocks(reader, fieldname: str, btext: bytes, fmt, with_values: bool, wanted=None):
    """A term's postings in one segment, block by block: (ids, weights, encoded values or
    None), deleted documents included (callers keep the live ones). With `wanted` (sorted
    segment-local numbers), blocks holding none of them are skipped by their headers,
    without being read."""
    m = reader._terms.matcher(fieldname, btext, fmt) if hasattr(reader, "_terms") else None
    if m is None:
        m = reader.postings(fieldname, btext)
    if hasattr(m, "_read_values") and hasattr(m, "_next_block"):  # whoosh 3 codec
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
        return
    ids, weights, values = [], [], []
    while m.is_active():  # any other matcher: one posting at a time
        ids.append(m.id())
        weights.append(m.weight())
        if with_values:
            values.append(m.value())
        m.next()
    yield (
        np.asarray(ids, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
        values if with_values else None,
    )


def _block_arrays(m) -> tuple[np.ndarray, np.ndarray]:
    """The ids and weights of a whoosh 3 postings block as arrays: the block's stored id
    deltas summed and its weights converted in compiled code, instead of whoosh decoding
    them one by one in Python (most of the time of reading a common word's postings)."""
    if m._data is None:
        m._read_data()
    stored_ids, stored_weights = m._data[0], m._data[1]
    count = m._blocklength
    if m._byteids or m._ids is not None:
        if m._ids is None:
            m._read_ids()
        ids = np.asarray(m._ids, dtype=np.int64)
    else:
        ids = np.cumsum(np.asarray(stored_ids, dtype=np.int64))
    if stored_weights is None:
        weights = np.ones(count, dtype=np.float64)
    elif isinstance(stored_weights, float):
        weights = np.full(count, stored_weights, dtype=np.float64)
    else:
        weights = np.asarray(stored_weights, dtype=np.float64)
    return ids, weights


def _intersect_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The common values of two sorted arrays of unique values, sorted."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    return a[_contains_sorted(b, a)]


def _contains_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, whether the sorted `haystack` holds it."""
    if not len(haystack):
        return np.zeros(len(needles), dtype=bool)
    at = np.searchsorted(haystack, needles)
    at[at == len(haystack)] = 0
    return haystack[at] == needles


_PICKLE_HEAD = b"\x80\x02"  # protocol 2, as whoosh's Positions format writes each list


def _decode_positions(fmt, values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Word positions from whoosh posting values: (positions per posting, all positions).

    whoosh's Positions format stores a posting as its position count and a pickled list of
    position deltas. Decoding thousands one by one is most of a phrase search's time, so
    the pickled lists are joined into one pickled list of lists and loaded in one call.
    """
    size = 4  # whoosh.system._INT_SIZE: the count in front of each list
    deltas = None
    if type(fmt) is formats.Positions and values and values[0][size : size + 2] == _PICKLE_HEAD:
        body = b"".join([v[size + 2 : -1] for v in values])
        try:
            deltas = pickle.loads(_PICKLE_HEAD + b"](" + body + b"e.")
        except Exception:
            deltas = None
        if not isinstance(deltas, list) or len(deltas) != len(values):
            deltas = None
    if deltas is None:  # another encoding: whoosh decodes each value
        deltas = [_deltas(fmt.decode_positions(v)) for v in values]
    counts = np.fromiter(map(len, deltas), dtype=np.int64, count=len(deltas))
    flat = np.fromiter(itertools.chain.from_iterable(deltas), dtype=np.int64, count=counts.sum())
    positions = np.cumsum(flat)
    # Each posting's deltas start again from 0: remove what the postings before it added.
    starts = np.cumsum(counts) - counts
    before = np.concatenate(([0], positions))[starts]
    return counts, positions - np.repeat(before, counts)


def _deltas(positions: list[int]) -> list[int]:
    return [b - a for a, b in zip([0, *positions[:-1]], positions, strict=True)]


def _length_bytes(reader, fieldname: str) -> np.ndarray:
    """Every document's stored length byte for a field in one segment."""
    n = reader.doc_count_all()
    column = None
    perdoc = getattr(reader, "_perdoc", None)
    if perdoc is not None and hasattr(perdoc, "_cached_reader"):
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        out = np.zeros(n, dtype=np.uint8)
        for docnum in range(n):
            length = reader.doc_field_length(docnum, fieldname, 0) or 0
            out[docnum] = _byte_of(length)
        return out
    try:
        if column._fixedlen == 1 and column._typecode == "B":
            stored = min(column._count, n)
            raw = column._dbfile.get(column._basepos, stored) if stored else b""
            out = np.full(n, column._default or 0, dtype=np.uint8)
            out[:stored] = np.frombuffer(raw, dtype=np.uint8)
            return out
    except AttributeError:
        pass
    return np.fromiter((column[d] for d in range(n)), dtype=np.uint8, count=n)


def _byte_of(length: int) -> int:
    from whoosh.util.numeric import length_to_byte

    return length_to_byte(length)
