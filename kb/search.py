"""Search: one request in, one plain-data result out, for the CLI, the web UI and benchmarks."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh.matching import CoordMatcher, IntersectionMatcher, ListMatcher, NullMatcher
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
from kb.models import LANGUAGE_NAMES, TYPE_LABELS
from kb.query import All, Filters, Node, Not, ParsedQuery, Phrase, QueryParser, Word
from kb.ranking import (
    COORDINATION,
    WEIGHT_EXACT,
    WEIGHT_GLOSSARY,
    WEIGHT_HEADING,
    WEIGHT_TEXT,
    WEIGHT_TITLE,
)
from kb.vocabulary import fold

SORTS = ("relevance", "newest")
MAX_PAGE_SIZE = 100
MAX_PAGE = 1000
PREFIX_EXPANSION_CAP = 64
PREFIX_SCAN_CAP = 5000
# Up to this many allowed passages, a filtered ranking visits only them (skipping the query's
# matcher from one to the next); above it, it walks the query's matches and drops the rest.
DOCSET_RANK_MAX = 20_000
SUGGESTIONS_KEPT = 10_000  # corrections remembered per snapshot
# Without a filter too when there are few matches, or a phrase (whoosh would check the word
# positions of every passage holding all the phrase's words; the matches are known already).
DOCSET_RANK_COMPLETE = 2_000

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


class _Within(wq.Query):
    """`query`, matching only the given passages (global document numbers) and scoring as
    `query` does: a search visits those passages alone, skipping the query's matcher from one
    to the next, instead of walking every match of the query and filtering them."""

    def __init__(self, query: wq.Query, docnums: frozenset[int]) -> None:
        self.query = query
        self.docnums = docnums
        self.boost = 1.0

    def __repr__(self) -> str:
        return f"_Within({self.query!r}, {len(self.docnums)} passages)"

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, _Within)
            and other.query == self.query
            and other.docnums == self.docnums
        )

    def __hash__(self) -> int:
        return hash((self.query, len(self.docnums)))

    def is_leaf(self) -> bool:
        return False

    def children(self):
        return iter([self.query])

    def estimate_size(self, ixreader) -> int:
        return len(self.docnums)

    def matcher(self, searcher, context=None):
        offset = 0
        parent = searcher.get_parent()
        if parent is not searcher:
            offset = next(o for sub, o in parent.leaf_searchers() if sub is searcher)
        end = offset + searcher.doc_count_all()
        ids = sorted(d - offset for d in self.docnums if offset <= d < end)
        inner = self.query.matcher(searcher, context)
        if not ids or not inner.is_active():
            return NullMatcher()
        # The passages lead: IntersectionMatcher steps its first matcher and skips the other.
        return IntersectionMatcher(_Listed(ids), inner)


class _Listed(ListMatcher):
    """Passages by number, scoring 0, never dropped by whoosh's quality optimisations."""

    def score(self) -> float:
        return 0.0

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        return math.inf

    def block_quality(self) -> float:
        return math.inf

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()


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
    q = q.copy()
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
        parsed = self.parse(snap, request)
        messages = list(parsed.messages)
        page_size = min(max(1, request.page_size), MAX_PAGE_SIZE)
        page = min(max(1, request.page), MAX_PAGE)
        sort = request.sort if request.sort in SORTS else "relevance"
        if request.sort not in SORTS and request.sort:
            messages.append(f"Unknown sort '{request.sort}'; sorted by relevance.")

        compiler = _Compiler(snap, messages)
        text_query = compiler.compile(parsed.node) if parsed.node is not None else None
        if text_query is not None:
            text_query = _prune(text_query, snap.searcher().reader())
        allowed = self._allowed(snap, parsed.filters)

        direct = matched = frozenset()
        if text_query is None:
            if parsed.has_text:
                messages.append(
                    "None of the query words can be searched (too common or too short)."
                )
            else:  # filters only: every passage they allow, newest first
                matched = allowed
                if not parsed.filters and request.q.strip():
                    messages.append(
                        "The query has no words to search for; showing the newest documents."
                    )
                if sort == "relevance":
                    sort = "newest"
        else:
            matched = self._docs(snap, text_query) & allowed
            direct = self._direct_matches(snap, parsed.node, compiler, matched)

        per_doc = Counter(snap.doc_id_of[n] for n in matched)
        total = len(per_doc)
        facets = self._facets(snap, per_doc, parsed.filters)
        start = (page - 1) * page_size

        if text_query is not None and sort == "relevance" and matched:
            ranked = self._rank_tiers(
                snap, text_query, matched, direct, start + page_size, not parsed.filters
            )[start:]
        else:
            ordered = sorted(
                per_doc,
                key=lambda d: (snap.catalogue[d].meta.date or "", d),
                reverse=True,
            )
            ranked = [(d, 0.0) for d in ordered[start : start + page_size]]

        best = self._best_passages(snap, [d for d, _ in ranked], text_query, matched, request)
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
                per_doc[doc_id],
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
            total_passages=len(matched),
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

    @staticmethod
    def _docs(snap: Snapshot, q: wq.Query) -> frozenset[int]:
        """Every passage the query matches, by set algebra over each term's postings.

        A term's postings are cached per snapshot, so the words queries share (and a query
        repeated or paged through) cost nothing the second time; whoosh's own `docs()` walks
        a matcher tree over every posting of every field, in Python, each time.
        """
        searcher = snap.searcher()

        def match(q: wq.Query) -> frozenset[int]:
            if isinstance(q, wq.Term):
                return snap.cached(("t", q.fieldname, q.text), lambda: q.docs(searcher))
            if isinstance(q, wq.Or) and not q.minmatch:
                return frozenset().union(*(match(sub) for sub in q.subqueries))
            if isinstance(q, wq.And):
                sets = sorted((match(sub) for sub in q.subqueries), key=len)
                return sets[0].intersection(*sets[1:]) if sets else frozenset()
            if isinstance(q, wq.AndNot):
                return match(q.a) - match(q.b)
            return snap.cached(("q", repr(q)), lambda: q.docs(searcher))

        return match(q)

    def _direct_matches(
        self, snap: Snapshot, node: Node, compiler: _Compiler, matched: frozenset[int]
    ) -> frozenset[int]:
        """Passages matching the words as typed, without glossary translations."""
        if not compiler.expanded:
            return matched
        direct = _Compiler(snap, [], glossary=False).compile(node)
        return self._docs(snap, direct) & matched if direct is not None else frozenset()

    def _rank_tiers(
        self,
        snap: Snapshot,
        text_query: wq.Query,
        matched: frozenset[int],
        direct: frozenset[int],
        wanted: int,
        unfiltered: bool = False,
    ) -> list[tuple[str, float]]:
        """Documents matching the typed words first; those found only through the glossary
        (another language's word for the same concept) after them.

        `unfiltered`: no filter narrowed `matched`, so it is everything the query matches.
        """
        complete = unfiltered and direct is matched
        first = self._rank_documents(snap, text_query, direct, wanted, complete) if direct else []
        if len(first) >= wanted or direct == matched:
            return first
        seen = {doc_id for doc_id, _ in first}
        rest = [
            (doc_id, score)
            for doc_id, score in self._rank_documents(
                snap, text_query, matched - direct, wanted - len(first) + len(seen)
            )
            if doc_id not in seen
        ]
        return first + rest[: wanted - len(first)]

    @staticmethod
    def _rank_documents(
        snap: Snapshot,
        text_query: wq.Query,
        matched: frozenset[int],
        wanted: int,
        complete: bool = False,
    ) -> list[tuple[str, float]]:
        """Documents ranked by their best passage: the top `wanted` of them.

        whoosh's own collapse ignores it when combined with a filter, so passages are
        collapsed here, fetching more of them until enough distinct documents are found.
        `complete`: `matched` is every passage the query matches, so no filter is needed
        (whoosh then skips blocks that cannot reach the top instead of visiting every match).
        """
        searcher = snap.searcher()
        allow = None
        if complete and len(matched) > DOCSET_RANK_COMPLETE and not _has_phrase(text_query):
            pass  # whoosh's top-k search skips the blocks that cannot make the top
        elif len(matched) <= DOCSET_RANK_MAX:
            text_query = _Within(text_query, matched)
        else:
            allow = set(matched)  # whoosh takes a set; an empty one would mean "no filter"
        limit = max(wanted * 4, 40)
        while True:
            results = searcher.search(text_query, filter=allow, limit=limit, terms=False)
            best: dict[str, float] = {}
            for docnum, score in results.items():
                best.setdefault(snap.doc_id_of[docnum], score)
            if len(best) >= wanted or limit >= len(matched):
                return list(best.items())[:wanted]
            limit *= 4

    # Filters become sets of passage numbers, cached per snapshot.
    def _allowed(self, snap: Snapshot, filters: Filters) -> frozenset[int]:
        searcher = snap.searcher()
        every = snap.cached(("every",), lambda: wq.Term(f.KIND, f.KIND_PASSAGE).docs(searcher))
        allowed = every
        for name, values in sorted(filters.include.items()):
            q = _Or([wq.Term(name, v) for v in sorted(values)])
            allowed = allowed & snap.cached(
                ("f", name, tuple(sorted(values))), lambda q=q: q.docs(searcher)
            )
        for name, values in sorted(filters.exclude.items()):
            q = _Or([wq.Term(name, v) for v in sorted(values)])
            allowed = allowed - snap.cached(
                ("f", name, tuple(sorted(values))), lambda q=q: q.docs(searcher)
            )
        return allowed

    def _facets(
        self, snap: Snapshot, per_doc: Counter, filters: Filters
    ) -> dict[str, tuple[FacetValue, ...]]:
        counts: dict[str, Counter] = {name: Counter() for name in f.FACET_FIELDS}
        for doc_id in per_doc:
            info = snap.catalogue.get(doc_id)
            if info is None:
                continue
            meta = info.meta
            counts[f.TYPE][meta.type] += 1
            if meta.year is not None:
                counts[f.YEAR][str(meta.year)] += 1
            counts[f.LANG][meta.language] += 1
            for org in meta.organisations:
                counts[f.ORG][org] += 1
            for topic in meta.topics:
                counts[f.TOPIC][topic] += 1
        vocab = snap.vocabulary
        labels = {
            f.TYPE: lambda v: TYPE_LABELS.get(v, v),
            f.YEAR: str,
            f.LANG: lambda v: LANGUAGE_NAMES.get(v, v),
            f.ORG: vocab.organisation_name,
            f.TOPIC: vocab.topic_name,
        }
        out = {}
        for name, counter in counts.items():
            chosen = filters.include.get(name, set())
            values = [FacetValue(v, labels[name](v), n, v in chosen) for v, n in counter.items()]
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
        text_query: wq.Query | None,
        matched: frozenset[int],
        request: SearchRequest,
    ) -> dict[str, list[tuple[dict, float]]]:
        """The best few passages of each shown document, scored among their own matching
        passages (or each document's first passage when there is nothing to rank by)."""
        searcher = snap.searcher()
        own = {d: snap.passages_of(d) for d in doc_ids}
        out: dict[str, list[tuple[dict, float]]] = {d: [] for d in doc_ids}
        if text_query is None:
            for d, docnums in own.items():
                if docnums:
                    out[d].append((searcher.stored_fields(min(docnums)), 0.0))
            return out
        allow = sorted({n for docnums in own.values() for n in docnums if n in matched})
        if not allow:
            return out
        scored = _scores(searcher, text_query, allow)
        # The order of a whoosh search: best score first, then by document number.
        scored.sort(key=lambda item: (-item[1], item[0]))
        for docnum, score in scored:
            doc_id = snap.doc_id_of[docnum]
            if len(out[doc_id]) < request.passages_per_doc:
                out[doc_id].append((searcher.stored_fields(docnum), score))
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
        searcher = snap.searcher()
        reader = searcher.reader()
        corrector = searcher.corrector(f.EXACT)
        replacements: dict[str, str] = {}
        # A word's correction is stable per snapshot, and costly (an edit-distance automaton).
        known: dict[str, str | None] = snap.stable(("suggestions",), dict)
        for word in _plain_words_of(node):
            folded = fold(word)
            if not 4 <= len(folded) <= 30 or reader.doc_frequency(f.EXACT, folded) > 0:
                continue
            if folded not in known:
                options = corrector.suggest(folded, limit=3, maxdist=2, prefix=1)
                if len(known) >= SUGGESTIONS_KEPT:
                    known.clear()
                known[folded] = (
                    max(options, key=lambda t: reader.doc_frequency(f.EXACT, t))
                    if options
                    else None
                )
            if known[folded] is not None:
                replacements[word] = known[folded]
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
        text_query = _prune(text_query, snap.searcher().reader())
        matched = self._docs(snap, text_query) & self._allowed(snap, parsed.filters)
        if not matched:
            return []
        direct = self._direct_matches(snap, parsed.node, compiler, matched)
        return self._rank_tiers(snap, text_query, matched, direct, limit, not parsed.filters)

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
        own = snap.cached(
            ("doc", doc_id),
            lambda: searcher.document_numbers(**{f.DOC_ID: doc_id, f.KIND: f.KIND_PASSAGE}),
        )
        text = " ".join((searcher.stored_fields(n).get(f.BODY) or "") for n in sorted(own)[:40])[
            :20000
        ]
        info = snap.catalogue[doc_id]
        text = f"{info.title} {text}"
        keys = [
            t
            for t, _ in searcher.key_terms_from_text(f.EXACT, text, numterms=20)
            if len(t) > 2 and not t.isdigit()
        ]
        if not keys:
            return []
        q = _Or([wq.Term(f.EXACT, t) for t in keys])
        candidates = (
            snap.cached(("every",), lambda: wq.Term(f.KIND, f.KIND_PASSAGE).docs(searcher)) - own
        )
        if not candidates:
            return []
        ranked = self._rank_documents(snap, q, candidates, limit)
        return [(snap.catalogue[d], round(score, 3)) for d, score in ranked if d in snap.catalogue]


def _has_phrase(q: wq.Query) -> bool:
    return any(isinstance(leaf, wq.Phrase) for leaf in q.leaves())


def _prune(q: wq.Query, reader) -> wq.Query:
    """The query without the alternatives that occur nowhere in the index (a word's stem in
    the other languages' fields, mostly): they match nothing and add nothing to a score, but
    whoosh builds and walks a matcher for each. An alternative keeps at least two parts (a
    single one would lose the coordination bonus)."""
    if isinstance(q, wq.Or) and len(q.subqueries) > 1:
        subs = [_prune(sub, reader) for sub in q.subqueries]
        kept = [
            sub for sub in subs
            if not (isinstance(sub, wq.Term) and reader.doc_frequency(sub.fieldname, sub.text) == 0)
        ]  # fmt: skip
        if len(kept) < 2:
            kept = (kept + [sub for sub in subs if sub not in kept])[:2]
        out = q.copy()
        out.subqueries = kept
        return out
    if isinstance(q, wq.CompoundQuery):
        out = q.copy()
        out.subqueries = [_prune(sub, reader) for sub in q.subqueries]
        return out
    if isinstance(q, wq.AndNot):
        out = q.copy()
        out.a, out.b = _prune(q.a, reader), _prune(q.b, reader)
        return out
    return q


def _scores(searcher, q: wq.Query, docnums: list[int]) -> list[tuple[int, float]]:
    """(docnum, score) of those of `docnums` (sorted) that `q` matches, scored as a search
    scores them: one matcher per segment, skipped from one wanted document to the next
    rather than walked over every match in the index."""
    out: list[tuple[int, float]] = []
    context = searcher.context()
    i = 0
    for sub, offset in searcher.leaf_searchers():
        end = offset + sub.doc_count_all()
        local = []
        while i < len(docnums) and docnums[i] < end:
            local.append(docnums[i] - offset)
            i += 1
        if not local:
            continue
        m = q.matcher(sub, context)
        for n in local:
            if not m.is_active():
                break
            if m.id() < n:
                m.skip_to(n)
                if not m.is_active():
                    break
            if m.id() == n:
                out.append((n + offset, m.score()))
    return out


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
