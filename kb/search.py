"""Search: one request in, one plain-data result out, for the CLI, the web UI and benchmarks.

A request is parsed (`kb.query`), compiled into a plan (`kb.compile`), evaluated over the
snapshot's postings with its filters as masks (`kb.engine`), ranked (`kb.rank`) and counted
by facet (`kb.facets`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from kb import plancache
from kb import schema as f
from kb.access import Principal
from kb.compile import PREFIX_EXPANSION_CAP, Compiled
from kb.didyoumean import Suggestion, suggest
from kb.engine import plan as p
from kb.engine.evaluate import Evaluator
from kb.explain import Explanation, explain
from kb.facets import FacetValue, facets, tables
from kb.highlight import HighlightTerms, snippet
from kb.library import DocInfo, Library
from kb.query import ParsedQuery, QueryParser
from kb.rank import best_passages, rank_tiers, top_documents
from kb.view import View, view_of

__all__ = [
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "PREFIX_EXPANSION_CAP",
    "SORTS",
    "DocumentHit",
    "FacetValue",
    "PassageHit",
    "SearchRequest",
    "SearchResult",
    "Searcher",
    "open_searcher",
]

SORTS = ("relevance", "newest")
MAX_PAGE_SIZE = 100
MAX_PAGE = 1000

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
    # When the query as typed finds (almost) nothing and a correction finds plenty, show the
    # correction's results (kb.didyoumean); False searches the words exactly as typed.
    autocorrect: bool = True


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
    # The query whose results these are when they are a correction's (`suggestion`) rather
    # than those of the query as typed (`query`); None otherwise.
    corrected: str | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


# ---- the search itself ----------------------------------------------------------------------


class Searcher:
    """Answers one reader's SearchRequests from a Library (the current index): every answer
    is computed over what `principal` may read (`kb.view`), never filtered afterwards."""

    def __init__(self, library: Library, principal: Principal) -> None:
        if not isinstance(principal, Principal):
            raise TypeError(f"Searcher needs the reader's Principal, not {principal!r}")
        self.library = library
        self.principal = principal

    def view(self) -> View:
        """What the reader sees of the current snapshot."""
        return view_of(self.library.snapshot(), self.principal)

    def parse(self, view: View, request: SearchRequest) -> ParsedQuery:
        """The request's query text parsed, with its filters resolved value by value."""
        return QueryParser(view.vocabulary).parse(request.q, request.filters)

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        view = self.view()
        snap = view.snap
        table = tables(snap)
        evaluator = view.evaluator
        parsed = self.parse(view, request)
        messages = list(parsed.messages)
        page_size = min(max(1, request.page_size), MAX_PAGE_SIZE)
        page = min(max(1, request.page), MAX_PAGE)
        sort = request.sort if request.sort in SORTS else "relevance"
        if request.sort not in SORTS and request.sort:
            messages.append(f"Unknown sort '{request.sort}'; sorted by relevance.")

        compiled = plancache.compiled(view, parsed.node, messages)
        # The reader's mask is where the search starts: totals, pages, facets, tiers and
        # passages are all computed over visible passages only.
        allowed = evaluator.restrict(view.mask, _filters(parsed))
        suggestion = self._suggest(view, request.q, parsed, allowed)
        if suggestion is not None and suggestion.shown and request.autocorrect:
            shown = self.search(replace(request, q=suggestion.text, autocorrect=False))
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            return replace(
                shown,
                query=request.q,
                suggestion=suggestion.text,
                corrected=suggestion.text,
                elapsed_ms=elapsed,
            )
        score: np.ndarray | None = None
        if compiled.plan is None:
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
            evaluated = evaluator.evaluate(compiled.plan)
            score = evaluated.score
            matched = evaluated.mask & allowed
            direct = _direct_matches(evaluator, compiled, matched)

        per_doc = table.passages_per_document(matched)  # matching passages per document
        present = per_doc > 0
        # A facet's own values are alternatives (OR): each chosen facet counts its values as
        # if it were not chosen, so more of them can be added; the other facets still apply.
        present_for = {
            name: table.passages_per_document(
                evaluator.restrict(view.mask, _filters(parsed, without=name))
                & (evaluated.mask if score is not None else True)
            )
            > 0
            for name in parsed.filters.include
            if name in f.FACET_FIELDS and (score is not None or not parsed.has_text)
        }
        total = int(np.count_nonzero(present))
        start = (page - 1) * page_size

        if score is not None and sort == "relevance" and total:
            ranked = rank_tiers(table, score, matched, direct, start + page_size)[start:]
        else:
            ordinals = table.newest_first(present, start, start + page_size)
            ranked = [(table.doc_ids[i], 0.0) for i in ordinals]

        best = best_passages(
            snap,
            [d for d, _ in ranked],
            score,
            matched,
            request.passages_per_doc,
            (evaluator, compiled.units),
        )
        hits = tuple(
            DocumentHit(
                view.catalogue[doc_id],
                round(doc_score, 4),
                tuple(
                    _passage_hit(
                        stored,
                        pscore,
                        compiled.highlight,
                        view.catalogue[doc_id].meta.language,
                        request,
                    )
                    for stored, pscore in best.get(doc_id, [])
                ),
                int(per_doc[table.ordinal[doc_id]]),
            )
            for doc_id, doc_score in ranked
            if doc_id in view.catalogue
        )
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
            facets=facets(table, present, parsed.filters.include, present_for),
            selected=selected,
            suggestion=suggestion.text if suggestion is not None else None,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            generation=snap.generation.name,
        )

    def _suggest(
        self, view: View, raw: str, parsed: ParsedQuery, allowed: np.ndarray
    ) -> Suggestion | None:
        """ "Did you mean": the query with its unknown words corrected into words of its own
        languages, when that finds clearly more (kb.didyoumean); computed from what the reader
        may see, over the passages the filters `allowed`."""
        if parsed.node is None:
            return None
        return suggest(view, raw, parsed.node, allowed)

    def rank(self, q: str, limit: int = 1000) -> list[tuple[str, float]]:
        """Document ids and scores for a query, best first: the ranking `search` pages through,
        without facets or snippets (for evaluation against relevance judgements)."""
        view = self.view()
        snap = view.snap
        parsed = QueryParser(snap.vocabulary).parse(q)
        compiled = plancache.compiled(view, parsed.node, [])
        if compiled.plan is None:
            return []
        evaluator = view.evaluator
        table = tables(snap)
        evaluated = evaluator.evaluate(compiled.plan)
        matched = evaluated.mask & evaluator.restrict(view.mask, _filters(parsed))
        if not matched.any():
            return []
        direct = _direct_matches(evaluator, compiled, matched)
        return rank_tiers(table, evaluated.score, matched, direct, limit)

    def explain(self, request: SearchRequest) -> Explanation:
        """How the request's query is read for this reader (`kb search --explain`, the search
        page's "How was my search read?")."""
        view = self.view()
        return explain(view, self.principal, self.parse(view, request))

    def highlight_terms(self, q: str) -> HighlightTerms:
        """The words a query would highlight, for marking them in a whole document."""
        view = self.view()
        parsed = QueryParser(view.vocabulary).parse(q)
        return plancache.compiled(view, parsed.node, []).highlight

    # ---- documents ------------------------------------------------------------------------

    def related(self, doc_id: str, limit: int = 5) -> list[tuple[DocInfo, float]]:
        """Documents the reader may see most similar to `doc_id` (one they may see), by its
        most distinctive words."""
        view = self.view()
        snap = view.snap
        if doc_id not in view.catalogue:
            return []
        own = snap.passages_of(doc_id)

        def key_terms() -> list[str]:
            text = " ".join((snap.stored(n).get(f.BODY) or "") for n in own[:40])[:20000]
            text = f"{snap.catalogue[doc_id].title} {text}"
            found = snap.searcher().key_terms_from_text(f.EXACT, text, numterms=20)
            return [t for t, _ in found if len(t) > 2 and not t.isdigit()]

        # The document's words and the index's statistics decide them, never the reader:
        # worked out once per snapshot (whoosh's pure-Python scoring took most of a page view).
        keys = sorted(snap.cached(("related-keys", doc_id), key_terms))
        if not keys:
            return []
        table = tables(snap)
        evaluated = view.evaluator.evaluate(p.any_of(p.Term(f.EXACT, t) for t in keys))
        candidates = evaluated.mask & view.mask
        candidates[np.asarray(own, dtype=np.int64)] = False
        ranked = top_documents(table, evaluated.score, candidates, limit)
        return [(view.catalogue[d], round(score, 3)) for d, score in ranked if d in view.catalogue]


def _filters(parsed: ParsedQuery, without: str | None = None) -> tuple[p.Filter, ...]:
    """The query's filters as the engine's, leaving out the values chosen for `without`."""
    include = {k: v for k, v in parsed.filters.include.items() if k != without}
    return p.filters_from(include, parsed.filters.exclude)


def _direct_matches(evaluator: Evaluator, compiled: Compiled, matched: np.ndarray) -> np.ndarray:
    """Passages matching the words as typed, without glossary translations."""
    if not compiled.expanded:
        return matched
    if compiled.direct is None:
        return np.zeros_like(matched)
    return evaluator.evaluate(compiled.direct).mask & matched


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


def open_searcher(settings, principal: Principal) -> Searcher:
    """A searcher over the index of `settings`, answering as `principal` reads."""
    return Searcher(Library(settings), principal)
