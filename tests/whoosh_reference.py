"""The reference kb's evaluator is checked against: the same plan run by whoosh's own
matchers, term by term, with kb's BM25 (`kb.engine.bm25`) as whoosh's weighting model.

Two of whoosh's behaviours are replaced here, as kb defines them:
- coordination counts the plan's terms found anywhere in the index, fixed for the whole
  search (whoosh counts per segment, and recounts whenever it replaces exhausted matchers);
- with one such term there is nothing to coordinate, and the term keeps its own score
  (whoosh's factor (n - 1) / n would make every score 0).
"""

from __future__ import annotations

from whoosh import query as wq
from whoosh import scoring
from whoosh.matching import CoordMatcher
from whoosh.query.compound import DefaultOr

from kb.engine import plan as p
from kb.engine.bm25 import Statistics, bm25, field_b
from kb.ranking import K1


def to_whoosh(plan: p.Plan) -> wq.Query:
    """The whoosh query tree of a plan."""
    if isinstance(plan, p.Term):
        return wq.Term(plan.field, plan.text, boost=plan.boost)
    if isinstance(plan, p.Phrase):
        return wq.Phrase(plan.field, list(plan.words), boost=plan.boost)
    if isinstance(plan, p.AllOf):
        return wq.And([to_whoosh(c) for c in plan.clauses], boost=plan.boost)
    if isinstance(plan, p.Excluding):
        return wq.AndNot(to_whoosh(plan.plan), to_whoosh(plan.excluded))
    assert len(plan.clauses) > 1, "kb's plans never hold a union of one clause"
    return CoordinatedOr(
        [to_whoosh(c) for c in plan.clauses], boost=plan.boost, scale=plan.coordination
    )


def scores(snap, plan: p.Plan) -> dict[int, float]:
    """Every passage whoosh matches for the plan, with its score."""
    searcher = snap.index.searcher(weighting=ReferenceBM25())
    try:
        return dict(searcher.search(to_whoosh(plan), limit=None, terms=False).items())
    finally:
        searcher.close()


class ReferenceBM25(scoring.WeightingModel):
    """kb's BM25 as a whoosh weighting model, scoring one posting at a time."""

    use_final = False

    def __init__(self) -> None:
        self._statistics: dict[int, Statistics] = {}

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        parent = searcher.get_parent()
        stats = self._statistics.setdefault(id(parent), Statistics(lambda: parent))
        return _Scorer(
            searcher, fieldname, stats.idf(fieldname, text), stats.average_length(fieldname)
        )


class _Scorer(scoring.BaseScorer):
    def __init__(self, searcher, fieldname: str, idf: float, avgfl: float) -> None:
        self._length = lambda docnum: searcher.doc_field_length(docnum, fieldname, 1)
        self._idf, self._avgfl, self._b = idf, avgfl, field_b(fieldname)

    def supports_block_quality(self) -> bool:
        return False

    def score(self, matcher) -> float:
        length = self._length(matcher.id())
        return float(bm25(self._idf, matcher.weight(), length, self._avgfl, self._b, K1))


class CoordinatedOr(wq.Or):
    """whoosh's Or, always matched as a tree of union matchers, with kb's coordination."""

    matcher_type = wq.Or.DEFAULT_MATCHER

    def _matcher(self, subs, searcher, context):
        m = DefaultOr(subs, boost=self.boost).matcher(searcher, context)
        if self.scale:
            termcount = terms_in_index(self, searcher.get_parent().reader())
            if termcount > 1:
                m = _Coordination(m, self.scale, termcount)
        return m


class _Coordination(CoordMatcher):
    """whoosh's coordination bonus with the number of terms given, not recounted."""

    def __init__(self, child, scale: float, termcount: int) -> None:
        self.child = child
        self.boost = 1.0
        self._scale = scale
        self._termcount = termcount

    def copy(self):
        return _Coordination(self.child.copy(), self._scale, self._termcount)

    def _replacement(self, newchild):
        return _Coordination(newchild, self._scale, self._termcount)


def terms_in_index(q: wq.Query, reader) -> int:
    """How many of the query's terms the index holds (a phrase counts its words, when the
    index holds them all)."""
    if isinstance(q, wq.Term):
        return int(q.fieldname in reader.schema and (q.fieldname, q.text) in reader)
    if isinstance(q, wq.Phrase):
        found = all((q.fieldname, w) in reader for w in q.words)
        return len(q.words) if q.fieldname in reader.schema and found else 0
    if isinstance(q, wq.AndNot):
        return terms_in_index(q.a, reader) + terms_in_index(q.b, reader)
    return sum(terms_in_index(sub, reader) for sub in q.subqueries)
