"""Each term's postings as numpy arrays, read once per snapshot and kept in a bounded cache.

whoosh evaluates a query as a tree of matchers stepping through postings one at a time in
Python; a typed word compiles to dozens of terms (each language's stemmed field, the exact,
title and heading fields, glossary translations), so a common word cost tens of milliseconds
of CPU per thousand passages. Here a term's live postings are read block by block
(`kb.engine.codec`) into passage numbers and their BM25 score (`kb.engine.bm25`); phrases are
matched over word positions read the same way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from kb.engine import codec
from kb.engine.bm25 import Statistics

# Postings kept per snapshot, in entries (a passage number and a score: 12 bytes each, or a
# word position: 8 bytes): at most about 30 MB. A common word's postings at 100,000 passages
# are tens of thousands of entries; the 210 queries of benchmarks/query.py fill about 2 million.
CACHE_ENTRIES = 2_500_000
# Postings larger than this fraction of the cache are used once and not kept (they would
# evict everything else).
UNCACHED_FRACTION = 4

_EMPTY_DOCS = np.empty(0, dtype=np.int32)
_EMPTY_SCORES = np.empty(0, dtype=np.float64)


@dataclass(frozen=True)
class TermPostings:
    """One term's (or phrase's) live postings over the whole index, in passage order."""

    docs: np.ndarray  # int32 passage numbers
    scores: np.ndarray  # float64: the score in each, before any boost
    terms: int  # how many of a query's terms it counts as (0: not in the index)
    idf: float = 0.0  # the idf the scores were computed with (0: not scored by BM25)

    @property
    def size(self) -> int:
        return len(self.docs)


NOTHING = TermPostings(_EMPTY_DOCS, _EMPTY_SCORES, 0)


@dataclass(frozen=True)
class WordPositions:
    """Every occurrence of a word in a field: passage (sorted) and position, both int32."""

    docs: np.ndarray
    positions: np.ndarray

    @property
    def size(self) -> int:
        return len(self.docs)


class PostingsIndex:
    """Postings arrays of one snapshot, read on demand and kept in a bounded cache.

    Thread-safe: arrays are read through the calling thread's whoosh searcher (each thread
    has its own file handles) and shared through the cache.
    """

    def __init__(self, searcher_of_thread, doc_count: int) -> None:
        self._searcher = searcher_of_thread  # () -> this thread's whoosh Searcher
        self.size = doc_count
        self.statistics = Statistics(searcher_of_thread)
        self._cache: OrderedDict[tuple, TermPostings | WordPositions] = OrderedDict()
        self._entries = 0
        self._lengths: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # ---- the cache --------------------------------------------------------------------------

    def term(self, fieldname: str, text: str) -> TermPostings:
        key = ("t", fieldname, text)
        return self._cached(key, lambda: self._read_term(fieldname, text))

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> TermPostings:
        key = ("p", fieldname, words)
        return self._cached(key, lambda: self._read_phrase(fieldname, words))

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
        if postings.size > CACHE_ENTRIES // UNCACHED_FRACTION:
            return
        with self._lock:
            if key not in self._cache:
                self._cache[key] = postings
                self._entries += postings.size
            while self._entries > CACHE_ENTRIES and self._cache:
                _, dropped = self._cache.popitem(last=False)
                self._entries -= dropped.size

    # ---- reading ----------------------------------------------------------------------------

    def _read_term(self, fieldname: str, text: str, values: dict | None = None) -> TermPostings:
        """A term's postings; with `values`, also each segment's encoded posting values (word
        positions), by segment offset: (ids, values), deleted documents included."""
        searcher = self._searcher()
        if fieldname not in searcher.schema:
            return NOTHING
        field = searcher.schema[fieldname]
        try:
            btext = field.to_bytes(text)
        except ValueError:
            return NOTHING
        # Each segment's entry for the term, looked up once: the sum of their document
        # frequencies is the term's (what the idf needs before any segment is scored).
        found = []
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            info = codec.term_info(reader, fieldname, btext)
            if info is not None:
                found.append((reader, offset, info))
        if not found:
            return NOTHING
        idf = 0.0
        if field.scorable:
            idf = self.statistics.idf_of(sum(info.doc_frequency() for _, _, info in found))
        docs_parts, score_parts = [], []
        for reader, offset, info in found:
            ids, weights, encoded = codec.raw_postings(
                reader, fieldname, btext, field.format, values is not None, info
            )
            if values is not None:
                values[offset] = (ids, encoded)
            if not len(ids):
                continue
            scores = weights  # a field that is not scored: the term's frequency
            if field.scorable:
                lengths = self._field_lengths(reader, offset, fieldname)[ids]
                scores = self.statistics.scores_with_idf(fieldname, idf, weights, lengths)
            deleted = reader.deleted_docs_set if reader.has_deletions() else None
            if deleted:
                keep = ~np.isin(ids, np.fromiter(deleted, dtype=np.int64))
                ids, scores = ids[keep], scores[keep]
            docs_parts.append((ids + offset).astype(np.int32))
            score_parts.append(scores.astype(np.float64))
        terms = 1
        if not docs_parts:
            return TermPostings(_EMPTY_DOCS, _EMPTY_SCORES, terms)
        return TermPostings(np.concatenate(docs_parts), np.concatenate(score_parts), terms, idf)

    def _field_lengths(self, reader, offset: int, fieldname: str) -> np.ndarray:
        """Every document's length of a field in the segment at `offset` (all threads' readers
        of a snapshot have the same segments), as the index stores it: one byte, decoded."""
        key = f"{offset}:{fieldname}"
        found = self._lengths.get(key)
        if found is None:
            found = codec.LENGTHS[codec.length_bytes(reader, fieldname)]
            with self._lock:
                found = self._lengths.setdefault(key, found)
        return found

    def _read_phrase(self, fieldname: str, words: tuple[str, ...]) -> TermPostings:
        """Passages where the words occur one right after the other, scored as the sum of
        each word's score in the passage.

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
            return NOTHING  # a word that is not in the index: the phrase counts no terms
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
            info = codec.term_info(reader, fieldname, btext)
            if info is None:
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
                blocks = codec.term_blocks(
                    reader, fieldname, btext, field.format, True, wanted, info
                )
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
            counts, positions = codec.decode_positions(field.format, values)
            doc_parts.append(np.repeat(np.concatenate(id_parts) + offset, counts))
            pos_parts.append(positions)
        if not doc_parts:
            return WordPositions(_EMPTY_DOCS, _EMPTY_DOCS)
        return WordPositions(
            np.concatenate(doc_parts).astype(np.int32), np.concatenate(pos_parts).astype(np.int32)
        )


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
