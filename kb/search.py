"""Search: one request in, one plain-data result out, for the CLI, the web UI and benchmarks."""

from __future__ import annotations

import copy
import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh.matching import CoordMatcher
from whoosh.query.compound import DefaultOr

from kb import schema as f
from kb.analysis import (
    folded_analyzer,
    plain_analyzer,
    stem,
    stemmed_analyzer,
    stopwords,
)
from kb.highlight import HighlightTerms, snippet
from kb.library import DocInfo, Library, Snapshot
from kb.models import TYPE_LABELS
from kb.postings import Evaluated, PostingsIndex
from kb.query import All, Filters, Node, Not, ParsedQuery, Phrase, QueryParser, Word
from kb.ranking import (
    COORDINATION,
    WEIGHT_EXACT,
    WEIGHT_GLOSSARY,
    WEIGHT_HEADING,
    WEIGHT_TEXT,
    WEIGHT_TITLE,
)
from kb.spelling import Speller
from kb.text import LANGUAGE_NAMES, fold

SORTS = ("relevance", "newest")
MAX_PAGE_SIZE = 100
MAX_PAGE = 1000
PREFIX_EXPANSION_CAP = 64
PREFIX_SCAN_CAP = 5000

# ---- request and result ---------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # e.g. {"type": ("guide",)}
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    passages_per_doc: int = 3
    snippet_chars: int = 280


@dataclass(frozen=True)
class PassageHit:
    anchor: str
    heading_path: tuple[str, ...]
    page: int | None
    snippet: str  # HTML: escaped text with <mark> around matches
    score: float
    text_hash: str


@dataclass(frozen=True)
class DocumentHit:
    doc: DocInfo
    score: float
    passages: tuple[PassageHit, ...]
    matching_passages: int

    @property
    def best(self) -> PassageHit | None:
        return self.passages[0] if self.passages else None

    @property
    def more_passages(self) -> int:
        return max(0, self.matching_passages - 1)


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class SearchResult:
    query: str
    read_as: str
    messages: tuple[str, ...]
    total: int
    total_passages: int
    page: int
    page_size: int
    sort: str
    hits: tuple[DocumentHit, ...]
    facets: dict[str, tuple[FacetValue, ...]]
    selected: dict[str, tuple[str, ...]]
    suggestion: str | None
    elapsed_ms: float
    generation: str

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


class _Or(wq.Or):
    """whoosh's Or, always matched as a tree of union matchers.

    On small indexes whoosh otherwise pre-loads every clause into arrays the size of the
    index, which for the nested alternatives a query compiles to (word x field x language)
    costs far more than matching them.
    """

    matcher_type = wq.Or.DEFAULT_MATCHER

    def _matcher(self, subs, searcher, context):
        m = DefaultOr(subs, boost=self.boost, minmatch=self.minmatch).matcher(searcher, context)
        if self.scale and any(m.term_matchers()):
            m = _Coordination(m, scale=self.scale)
        return m


class _Coordination(CoordMatcher):
    """whoosh's coordination bonus with the number of query terms fixed when the search starts.

    whoosh's own CoordMatcher recounts the terms whenever a search replaces exhausted
    sub-matchers, so a passage's score depended on where it sits in the index and on which
    other passages were visited before it (a filtered and an unfiltered search scored the same
    passage differently). Fixed, a passage scores the same however it is reached.
    """

    def __init__(self, child, scale=1.0, termcount=None):
        self.child = child
        self.boost = 1.0
        self._scale = scale
        self._termcount = len(list(child.term_matchers())) if termcount is None else termcount

    def copy(self):
        return _Coordination(self.child.copy(), self._scale, self._termcount)

    def _replacement(self, newchild):
        return _Coordination(newchild, self._scale, self._termcount)


# ---- compiling the query tree into whoosh queries -------------------------------------------


class _Compiler:
    def __init__(self, snap: Snapshot, messages: list[str], glossary: bool = True) -> None:
        self.snap = snap
        self.messages = messages
        self.use_glossary = glossary
        self.expanded = False  # whether the glossary added anything
        self.languages = snap.languages or ("en",)
        self.words: set[str] = set()
        self.stems: set[tuple[str, str]] = set()
        self.prefixes: list[str] = []
        self.concepts = snap.stable(("concepts",), lambda: _concepts_by_term(snap))

    def highlight_terms(self) -> HighlightTerms:
        return HighlightTerms(frozenset(self.words), frozenset(self.stems), tuple(self.prefixes))

    def compile(self, node: Node) -> wq.Query | None:
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Not):
            inner = self.compile(node.node)
            return wq.AndNot(self.every(), inner) if inner is not None else None
        positives, negatives = [], []
        # A word typed twice adds nothing but cost.
        for child in dict.fromkeys(node.nodes):
            if isinstance(child, Not):
                q = self._silent(child.node)
                if q is not None:
                    negatives.append(q)
            else:
                q = self.compile(child)
                if q is not None:
                    positives.append(q)
        if not positives and not negatives:
            return None
        if isinstance(node, All):
            base = wq.And(positives) if positives else self.every()
        elif positives:
            base = (
                positives[0]
                if len(positives) == 1
                else _Or(positives, scale=None if node.explicit else COORDINATION)
            )
        else:
            base = self.every()
        if negatives:
            return wq.AndNot(base, negatives[0] if len(negatives) == 1 else _Or(negatives))
        return base

    def _silent(self, node: Node) -> wq.Query | None:
        """Compile without collecting highlight terms (for excluded words)."""
        saved = (set(self.words), set(self.stems), list(self.prefixes))
        q = self.compile(node)
        self.words, self.stems, self.prefixes = saved
        return q

    def every(self) -> wq.Query:
        return wq.Term(f.KIND, f.KIND_PASSAGE)

    def _is_stopword(self, word: str) -> bool:
        return any(word in stopwords(lang) for lang in self.languages)

    def word(
        self, node: Word, expand: bool = True, langs: tuple[str, ...] | None = None
    ) -> wq.Query | None:
        low = node.text.lower()
        folded = fold(low)
        if node.prefix:
            return self.prefix(folded, node.field)
        subs: list[wq.Query] = []
        if node.field == "title":
            subs.append(wq.Term(f.TITLE, folded))
        else:
            for lang in self.languages if langs is None else langs:
                fieldname = f"text_{lang}" if lang != "xx" else f.UNSTEMMED_TEXT
                tokens = [t.text for t in _analyzer_for(fieldname)(node.text)]
                if len(tokens) == 1:
                    subs.append(wq.Term(fieldname, tokens[0], boost=WEIGHT_TEXT))
                    self.stems.add((lang, stem(low, lang)))
            if not self._is_stopword(low) or not subs:
                subs.append(wq.Term(f.EXACT, folded, boost=WEIGHT_EXACT))
                subs.append(wq.Term(f.TITLE, folded, boost=WEIGHT_TITLE))
                subs.append(wq.Term(f.HEADING, folded, boost=WEIGHT_HEADING))
            if expand:
                subs.extend(self.glossary(folded))
        self.words.add(folded)
        return _Or(subs) if len(subs) > 1 else (subs[0] if subs else None)

    def phrase(
        self, node: Phrase, expand: bool = True, langs: tuple[str, ...] | None = None
    ) -> wq.Query | None:
        subs: list[wq.Query] = []
        fields = [(f.TITLE, 1.0)] if node.field == "title" else [
            *((f"text_{lang}", WEIGHT_TEXT) for lang in (self.languages if langs is None else langs)),
            (f.EXACT, WEIGHT_EXACT),
        ]  # fmt: skip
        for fieldname, boost in fields:
            tokens = [t.text for t in _analyzer_for(fieldname)(" ".join(node.words))]
            if len(tokens) > 1:
                subs.append(wq.Phrase(fieldname, tokens, boost=boost))
            elif tokens:
                subs.append(wq.Term(fieldname, tokens[0], boost=boost))
        for w in node.words:
            self.words.add(fold(w))
        if expand and node.field is None:
            subs.extend(self.glossary(fold(" ".join(node.words))))
        return _Or(subs) if len(subs) > 1 else (subs[0] if subs else None)

    def glossary(self, folded: str) -> list[wq.Query]:
        """Other languages' words for the same concept, weighted below the typed word."""
        out = []
        if not self.use_glossary:
            return out
        for concept in self.concepts.get(folded, ()):
            for lang, term in concept.terms_by_language():
                if fold(term) == folded:
                    continue
                # A translation is only looked up in its own language's stemmed field
                # (and the shared exact field): "klimat" is Swedish, not an English word.
                langs = (lang,) if lang in self.languages else ()
                parts = tuple(term.split())
                node = Phrase(parts) if len(parts) > 1 else Word(parts[0])
                q = (
                    self.phrase(node, expand=False, langs=langs)
                    if len(parts) > 1
                    else self.word(node, expand=False, langs=langs)
                )
                if q is not None:
                    out.append(_boosted(q, WEIGHT_GLOSSARY))
                    self.expanded = True
        return out

    def prefix(self, folded: str, field_name: str | None) -> wq.Query | None:
        fieldname = f.TITLE if field_name == "title" else f.EXACT
        key = ("prefix", fieldname, folded)
        searcher = self.snap.searcher()

        def expand():
            reader = searcher.reader()
            found = []
            for i, term in enumerate(reader.expand_prefix(fieldname, folded)):
                if i >= PREFIX_SCAN_CAP:
                    break
                found.append(term.decode("utf-8") if isinstance(term, bytes) else term)
            return found

        terms = sorted(self.snap.cached(key, expand))  # frozenset of terms, cached
        if len(terms) > PREFIX_EXPANSION_CAP:
            reader = searcher.reader()
            terms = sorted(terms, key=lambda t: -reader.doc_frequency(fieldname, t))[
                :PREFIX_EXPANSION_CAP
            ]
            self.messages.append(
                f"'{folded}*' matches many words; searched for the {PREFIX_EXPANSION_CAP} most common."
            )
        self.prefixes.append(folded)
        if not terms:
            return None
        return _Or([wq.Term(fieldname, t) for t in terms])


def _concepts_by_term(snap: Snapshot) -> dict[str, list]:
    concepts: dict[str, list] = {}
    for concept in snap.vocabulary.concepts:
        for term in concept.all_terms:
            concepts.setdefault(fold(term), []).append(concept)
    return concepts


def _boosted(q: wq.Query, factor: float) -> wq.Query:
    q = copy.copy(q)  # whoosh's own copy() is a deep copy of the whole subtree
    q.boost = q.boost * factor
    return q


def _analyzer_for(fieldname: str):
    if fieldname in (f.EXACT, f.TITLE, f.HEADING):
        return folded_analyzer()
    if fieldname == f.UNSTEMMED_TEXT:
        return plain_analyzer()
    return stemmed_analyzer(fieldname.removeprefix("text_"))


# ---- the search itself ----------------------------------------------------------------------


class Searcher:
    """Answers SearchRequests from a Library (the current index)."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def parse(self, snap: Snapshot, request: SearchRequest) -> ParsedQuery:
        parser = QueryParser(snap.vocabulary)
        extra = " ".join(
            f'{name}:"{value}"'
            for name, values in request.filters.items()
            for value in values
            if value
        )
        return parser.parse(f"{request.q} {extra}".strip() if extra else request.q)

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        snap = self.library.snapshot()
        tables = _tables(snap)
        parsed = self.parse(snap, request)
        messages = list(parsed.messages)
        page_size = min(max(1, request.page_size), MAX_PAGE_SIZE)
        page = min(max(1, request.page), MAX_PAGE)
        sort = request.sort if request.sort in SORTS else "relevance"
        if request.sort not in SORTS and request.sort:
            messages.append(f"Unknown sort '{request.sort}'; sorted by relevance.")

        compiler = _Compiler(snap, messages)
        text_query = compiler.compile(parsed.node) if parsed.node is not None else None
        allowed = self._allowed(snap, parsed.filters)

        evaluated: Evaluated | None = None
        if text_query is None:
            matched = allowed if not parsed.has_text else np.zeros_like(allowed)
            if parsed.has_text:
                messages.append(
                    "None of the query words can be searched (too common or too short)."
                )
            else:  # filters only: every passage they allow, newest first
                if not parsed.filters and request.q.strip():
                    messages.append(
                        "The query has no words to search for; showing the newest documents."
                    )
                if sort == "relevance":
                    sort = "newest"
            direct = matched
        else:
            evaluated = _postings(snap).evaluate(text_query)
            matched = evaluated.mask & allowed
            direct = self._direct_matches(snap, parsed.node, compiler, matched)

        per_doc = tables.passages_per_document(matched)  # matching passages per document
        present = per_doc > 0
        total = int(np.count_nonzero(present))
        facets = self._facets(snap, tables, present, parsed.filters)
        start = (page - 1) * page_size

        if evaluated is not None and sort == "relevance" and total:
            ranked = _rank_tiers(tables, evaluated.score, matched, direct, start + page_size)[
                start:
            ]
        else:
            ordinals = tables.newest_first(present, start, start + page_size)
            ranked = [(tables.doc_ids[i], 0.0) for i in ordinals]

        best = self._best_passages(
            snap, [d for d, _ in ranked], evaluated, matched, request.passages_per_doc
        )
        terms = compiler.highlight_terms()
        hits = tuple(
            DocumentHit(
                snap.catalogue[doc_id],
                round(score, 4),
                tuple(
                    self._passage_hit(
                        stored, pscore, terms, snap.catalogue[doc_id].meta.language, request
                    )
                    for stored, pscore in best.get(doc_id, [])
                ),
                int(per_doc[tables.ordinal[doc_id]]),
            )
            for doc_id, score in ranked
            if doc_id in snap.catalogue
        )
        suggestion = None
        if parsed.node is not None:
            suggestion = self._suggest(snap, request.q, parsed.node)
        selected = {name: tuple(sorted(values)) for name, values in parsed.filters.include.items()}
        return SearchResult(
            query=request.q,
            read_as=parsed.read_as,
            messages=tuple(dict.fromkeys(messages)),
            total=total,
            total_passages=int(np.count_nonzero(matched)),
            page=page,
            page_size=page_size,
            sort=sort,
            hits=hits,
            facets=facets,
            selected=selected,
            suggestion=suggestion,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            generation=snap.generation.name,
        )

    def _direct_matches(
        self, snap: Snapshot, node: Node, compiler: _Compiler, matched: np.ndarray
    ) -> np.ndarray:
        """Passages matching the words as typed, without glossary translations."""
        if not compiler.expanded:
            return matched
        direct = _Compiler(snap, [], glossary=False).compile(node)
        if direct is None:
            return np.zeros_like(matched)
        return _postings(snap).evaluate(direct).mask & matched

    # Filters become masks over passage numbers, kept per snapshot.
    def _allowed(self, snap: Snapshot, filters: Filters) -> np.ndarray:
        tables = _tables(snap)
        allowed = tables.every
        for name, values in sorted(filters.include.items()):
            allowed = allowed & self._facet_mask(snap, name, values)
        for name, values in sorted(filters.exclude.items()):
            allowed = allowed & ~self._facet_mask(snap, name, values)
        return allowed

    @staticmethod
    def _facet_mask(snap: Snapshot, name: str, values) -> np.ndarray:
        postings = _postings(snap)
        return postings.evaluate(_Or([wq.Term(name, v) for v in sorted(values)])).mask

    def _facets(
        self, snap: Snapshot, tables: _Tables, present: np.ndarray, filters: Filters
    ) -> dict[str, tuple[FacetValue, ...]]:
        out = {}
        for name in f.FACET_FIELDS:
            chosen = filters.include.get(name, set())
            values = [
                FacetValue(v, label, n, v in chosen)
                for v, label, n in tables.facet_counts(name, present)
            ]
            if name == f.YEAR:
                values.sort(key=lambda fv: fv.value, reverse=True)
            else:
                values.sort(key=lambda fv: (-fv.count, fv.label.lower()))
            out[name] = tuple(values)
        return out

    @staticmethod
    def _best_passages(
        snap: Snapshot,
        doc_ids: list[str],
        evaluated: Evaluated | None,
        matched: np.ndarray,
        per_doc: int,
    ) -> dict[str, list[tuple[dict, float]]]:
        """The best few passages of each shown document among its own matching passages
        (or its first passage when there is nothing to rank by), best first; equal scores in
        index order, as a whoosh search orders them."""
        out: dict[str, list[tuple[dict, float]]] = {d: [] for d in doc_ids}
        for doc_id in doc_ids:
            own = snap.passages_of(doc_id)
            if not own:
                continue
            if evaluated is None:
                out[doc_id].append((snap.stored(own[0]), 0.0))
                continue
            nums = np.asarray(own, dtype=np.int64)
            nums = nums[matched[nums]]
            scores = evaluated.score[nums]
            order = np.lexsort((nums, -scores))[:per_doc]
            out[doc_id] = [
                (snap.stored(int(nums[i])), float(scores[i])) for i in order
            ]
        return out

    @staticmethod
    def _passage_hit(
        stored: dict, score: float, terms: HighlightTerms, language: str, request: SearchRequest
    ) -> PassageHit:
        heading = stored.get(f.HEADING) or ""
        return PassageHit(
            anchor=stored[f.ANCHOR],
            heading_path=tuple(heading.split(f.HEADING_SEP)) if heading else (),
            page=stored.get(f.PAGE),
            snippet=snippet(stored.get(f.BODY) or "", terms, language, request.snippet_chars),
            score=round(score, 4),
            text_hash=stored.get(f.TEXT_HASH) or "",
        )

    def _suggest(self, snap: Snapshot, raw: str, node: Node) -> str | None:
        """ "Did you mean": replace unknown words by the closest frequent corpus word."""
        reader = snap.searcher().reader()
        speller = snap.stable(("speller",), lambda: Speller(reader, f.EXACT))
        replacements: dict[str, str] = {}
        for word in _plain_words_of(node):
            folded = fold(word)
            if not 4 <= len(folded) <= 30 or reader.doc_frequency(f.EXACT, folded) > 0:
                continue
            better = speller.correct(folded, reader)
            if better is not None:
                replacements[word] = better
        if not replacements:
            return None
        suggestion = raw
        for word, better in replacements.items():
            suggestion = _replace_word(suggestion, word, better)
        return suggestion if suggestion != raw else None

    def rank(self, q: str, limit: int = 1000) -> list[tuple[str, float]]:
        """Document ids and scores for a query, best first: the ranking `search` pages through,
        without facets or snippets (for evaluation against relevance judgements)."""
        snap = self.library.snapshot()
        parsed = QueryParser(snap.vocabulary).parse(q)
        if parsed.node is None:
            return []
        compiler = _Compiler(snap, [])
        text_query = compiler.compile(parsed.node)
        if text_query is None:
            return []
        evaluated = _postings(snap).evaluate(text_query)
        matched = evaluated.mask & self._allowed(snap, parsed.filters)
        if not matched.any():
            return []
        direct = self._direct_matches(snap, parsed.node, compiler, matched)
        return _rank_tiers(_tables(snap), evaluated.score, matched, direct, limit)

    def highlight_terms(self, q: str) -> HighlightTerms:
        """The words a query would highlight, for marking them in a whole document."""
        snap = self.library.snapshot()
        parsed = QueryParser(snap.vocabulary).parse(q)
        compiler = _Compiler(snap, [])
        if parsed.node is not None:
            compiler.compile(parsed.node)
        return compiler.highlight_terms()

    # ---- documents ------------------------------------------------------------------------

    def related(self, doc_id: str, limit: int = 5) -> list[tuple[DocInfo, float]]:
        """Documents most similar to `doc_id`, by its most distinctive words."""
        snap = self.library.snapshot()
        if doc_id not in snap.catalogue:
            return []
        searcher = snap.searcher()
        own = snap.passages_of(doc_id)
        text = " ".join((snap.stored(n).get(f.BODY) or "") for n in own[:40])[:20000]
        info = snap.catalogue[doc_id]
        text = f"{info.title} {text}"
        keys = [
            t
            for t, _ in searcher.key_terms_from_text(f.EXACT, text, numterms=20)
            if len(t) > 2 and not t.isdigit()
        ]
        if not keys:
            return []
        tables = _tables(snap)
        evaluated = _postings(snap).evaluate(_Or([wq.Term(f.EXACT, t) for t in keys]))
        candidates = evaluated.mask & tables.every
        candidates[np.asarray(own, dtype=np.int64)] = False
        ranked = _top_documents(tables, evaluated.score, candidates, limit)
        return [(snap.catalogue[d], round(score, 3)) for d, score in ranked if d in snap.catalogue]


# ---- per-snapshot tables and ranking over score arrays --------------------------------------


def _postings(snap: Snapshot) -> PostingsIndex:
    return snap.stable(
        ("postings",), lambda: PostingsIndex(snap.searcher, snap.searcher().doc_count_all())
    )


def _tables(snap: Snapshot) -> _Tables:
    return snap.stable(("tables",), lambda: _Tables(snap))


class _Tables:
    """What a search needs to know about every passage and document of a snapshot, as arrays:
    which numbers are live passages, the document each belongs to, documents newest first,
    and each document's facet values."""

    def __init__(self, snap: Snapshot) -> None:
        searcher = snap.searcher()
        size = searcher.doc_count_all()
        passages = _postings(snap).term(f.KIND, f.KIND_PASSAGE).docs
        self.every = np.zeros(size, dtype=bool)
        self.every[passages] = True
        self.doc_ids: list[str] = sorted(snap.catalogue)
        self.ordinal = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        # Passage number -> document ordinal (-1: not a live passage of a catalogued document).
        self.document_of = np.full(size, -1, dtype=np.int64)
        doc_id_of = snap.doc_id_of
        ordinal = self.ordinal
        for docnum in passages.tolist():
            self.document_of[docnum] = ordinal.get(doc_id_of[docnum], -1)
        self.every &= self.document_of >= 0
        # Newest first; equal dates by document id, descending (as the web UI always sorted).
        by_date = sorted(
            range(len(self.doc_ids)),
            key=lambda i: (snap.catalogue[self.doc_ids[i]].meta.date or "", self.doc_ids[i]),
            reverse=True,
        )
        self.newest = np.asarray(by_date, dtype=np.int64)
        vocab = snap.vocabulary
        label_of = {
            f.TYPE: lambda v: TYPE_LABELS.get(v, v),
            f.YEAR: str,
            f.LANG: lambda v: LANGUAGE_NAMES.get(v, v),
            f.ORG: vocab.organisation_name,
            f.TOPIC: vocab.topic_name,
        }
        self._facets: dict[str, tuple[list[str], list[str], np.ndarray, np.ndarray]] = {}
        for name in f.FACET_FIELDS:
            values: dict[str, int] = {}
            docs, ids = [], []
            for i, doc_id in enumerate(self.doc_ids):
                for value in _facet_values(snap.catalogue[doc_id], name):
                    docs.append(i)
                    ids.append(values.setdefault(value, len(values)))
            self._facets[name] = (
                list(values),
                [label_of[name](v) for v in values],
                np.asarray(docs, dtype=np.int64),
                np.asarray(ids, dtype=np.int64),
            )

    def passages_per_document(self, mask: np.ndarray) -> np.ndarray:
        """How many of the masked passages each document has, by document ordinal."""
        owners = self.document_of[mask]
        return np.bincount(owners[owners >= 0], minlength=len(self.doc_ids))

    def newest_first(self, present: np.ndarray, start: int, stop: int) -> np.ndarray:
        return self.newest[present[self.newest]][start:stop]

    def facet_counts(self, name: str, present: np.ndarray) -> list[tuple[str, str, int]]:
        """(value, label, documents) of a facet's values among the present documents."""
        values, labels, docs, ids = self._facets[name]
        counts = np.bincount(ids[present[docs]], minlength=len(values))
        return [(values[i], labels[i], int(n)) for i, n in enumerate(counts.tolist()) if n]


def _facet_values(info: DocInfo, name: str) -> tuple[str, ...]:
    meta = info.meta
    if name == f.TYPE:
        return (meta.type,)
    if name == f.YEAR:
        return (str(meta.year),) if meta.year is not None else ()
    if name == f.LANG:
        return (meta.language,)
    if name == f.ORG:
        return tuple(dict.fromkeys(meta.organisations))
    if name == f.TOPIC:
        return tuple(dict.fromkeys(meta.topics))
    return ()


def _rank_tiers(
    tables: _Tables,
    score: np.ndarray,
    matched: np.ndarray,
    direct: np.ndarray,
    wanted: int,
) -> list[tuple[str, float]]:
    """Documents matching the typed words first; those found only through the glossary
    (another language's word for the same concept) after them."""
    first = _top_documents(tables, score, direct, wanted)
    rest_mask = matched & ~direct
    if len(first) >= wanted or not rest_mask.any():
        return first
    seen = {doc_id for doc_id, _ in first}
    rest = [
        (doc_id, s)
        for doc_id, s in _top_documents(tables, score, rest_mask, wanted - len(first) + len(seen))
        if doc_id not in seen
    ]
    return first + rest[: wanted - len(first)]


def _top_documents(
    tables: _Tables, score: np.ndarray, mask: np.ndarray, wanted: int
) -> list[tuple[str, float]]:
    """The `wanted` documents whose best masked passage scores highest, with that score.

    Passages are ordered as a whoosh search orders them (score descending, then passage
    number); a document ranks where its first passage in that order does. Only the best
    few passages are sorted: enough to find `wanted` distinct documents.
    """
    candidates = np.flatnonzero(mask)
    if not len(candidates) or wanted <= 0:
        return []
    scores = score[candidates]
    limit = max(wanted * 4, 40)
    while True:
        if limit < len(candidates):
            # The `limit` best passages and every passage tying with the last of them: a
            # prefix of the full order, whatever the ties.
            cutoff = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            chosen = np.flatnonzero(scores >= cutoff)
        else:
            chosen = np.arange(len(candidates))
        order = chosen[np.lexsort((candidates[chosen], -scores[chosen]))]
        owners = tables.document_of[candidates[order]]
        _, first = np.unique(owners, return_index=True)
        first.sort()
        if len(first) >= wanted or len(chosen) == len(candidates):
            return [
                (tables.doc_ids[owners[i]], float(scores[order[i]]))
                for i in first[:wanted]
                if owners[i] >= 0
            ]
        limit *= 4


def _plain_words_of(node: Node) -> list[str]:
    if isinstance(node, Word):
        return [] if node.prefix else [node.text]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Not):
        return []
    return [w for child in node.nodes for w in _plain_words_of(child)]


def _replace_word(text: str, word: str, better: str) -> str:
    return re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", better, text, count=1, flags=re.IGNORECASE)


def open_searcher(settings) -> Searcher:
    return Searcher(Library(settings))
