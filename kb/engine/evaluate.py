"""The one evaluator: a plan (`kb.engine.plan`) over a snapshot's postings, term at a time,
into dense arrays over every passage: which match, their score, and how many of the plan's
terms each contains. Filters become masks the same way.

`tests/test_postings.py` checks the scores against whoosh's own matchers on the same query
(`tests/whoosh_reference.py`), so a passage ranks as a whoosh search would rank it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kb.engine.bm25 import lucene_idf
from kb.engine.plan import AllOf, AnyOf, Excluding, Filter, Phrase, Plan, Term
from kb.engine.postings import NOTHING, PostingsIndex, TermPostings

# Terms whose visibility an evaluator for readers remembers (a few dozen bytes each).
SEEN_KEPT = 100_000


@dataclass
class Evaluated:
    """A plan over the whole index: dense arrays indexed by passage number."""

    mask: np.ndarray  # bool: the passage matches
    score: np.ndarray  # float64: its score (0 where it does not match)
    count: np.ndarray  # int32: how many of the plan's terms it contains
    terms: int  # how many terms of the plan are in the index (for the coordination bonus)

    def docnums(self) -> np.ndarray:
        return np.flatnonzero(self.mask)


class Evaluator:
    """Evaluates plans and filters over one snapshot's postings.

    With `visible` (a mask over passage numbers: what one group of readers may see), terms
    are scored as if the index held only those passages: a term's idf counts the visible
    passages holding it among all visible passages, and a term found only outside them
    matches nothing and counts for nothing in the coordination bonus. The visible passages'
    scores then depend on nothing those readers may not see. Passages outside the mask may
    still be marked in the result: callers intersect it with the mask, as every search does
    (`Evaluator.restrict`). Average field lengths stay index-wide: they say nothing of which
    words a passage holds.
    """

    def __init__(self, postings: PostingsIndex, visible: np.ndarray | None = None) -> None:
        self.postings = postings
        self.visible = visible
        self.visible_passages = int(np.count_nonzero(visible)) if visible is not None else 0
        # (field, text) -> (whether a visible passage holds the term, its idf correction)
        self._seen: OrderedDict[tuple[str, str], tuple[bool, float]] = OrderedDict()
        self._lock = threading.Lock()

    def for_readers(self, visible: np.ndarray) -> Evaluator:
        """This snapshot's evaluator for the readers who see the passages of `visible`."""
        return Evaluator(self.postings, visible)

    def evaluate(self, plan: Plan) -> Evaluated:
        """Every passage `plan` matches, with its score."""
        if isinstance(plan, AnyOf):
            if len(plan.clauses) == 1:  # nothing to coordinate
                out = self.evaluate(plan.clauses[0])
            else:
                out = self._empty()
                self._add_union(out, plan, 1.0)
            if plan.boost != 1.0:
                out.score *= plan.boost
            if plan.coordination and len(plan.clauses) > 1:
                coordinate(out, plan.coordination)
            return out
        if isinstance(plan, AllOf):
            parts = [self.evaluate(clause) for clause in plan.clauses]
            out = parts[0]
            for part in parts[1:]:
                out.mask &= part.mask
                out.score += part.score
                out.count += part.count
                out.terms += part.terms
            out.score[~out.mask] = 0.0
            out.count[~out.mask] = 0
            if plan.boost != 1.0:
                out.score *= plan.boost
            return out
        if isinstance(plan, Excluding):
            out = self.evaluate(plan.plan)
            excluded = self.evaluate(plan.excluded)
            out.mask &= ~excluded.mask
            out.score[~out.mask] = 0.0
            out.count[~out.mask] = 0
            out.terms += excluded.terms  # the excluded terms count for coordination too
            return out
        out = self._empty()
        self._add_leaf(out, plan, 1.0)
        return out

    def _add_union(self, out: Evaluated, plan: AnyOf, factor: float) -> None:
        """Add a union's clauses into `out`: nested uncoordinated unions are summed straight
        in, their boosts folded into `factor`, instead of each getting arrays of its own."""
        for clause in plan.clauses:
            if isinstance(clause, AnyOf) and not clause.coordination and len(clause.clauses) > 1:
                self._add_union(out, clause, factor * clause.boost)
            elif isinstance(clause, (Term, Phrase)):
                self._add_leaf(out, clause, factor)
            else:
                part = self.evaluate(clause)
                out.mask |= part.mask
                out.score += part.score * factor if factor != 1.0 else part.score
                out.count += part.count
                out.terms += part.terms

    def _add_leaf(self, out: Evaluated, leaf: Term | Phrase, factor: float) -> None:
        if isinstance(leaf, Term):
            postings = self.postings.term(leaf.field, leaf.text)
            if self.visible is not None:
                present, correction = self._seen_term(leaf.field, leaf.text, postings)
                if not present:
                    return  # only hidden passages hold it: as if the index did not
                factor *= correction
        elif self.visible is None:
            postings = self.postings.phrase(leaf.field, leaf.words)
        else:
            postings = self._seen_phrase(leaf.field, leaf.words)
        out.terms += postings.terms
        if not postings.size:
            return
        boost = factor * leaf.boost
        docs = postings.docs
        out.mask[docs] = True
        out.score[docs] += postings.scores * boost if boost != 1.0 else postings.scores
        out.count[docs] += 1 if isinstance(leaf, Term) else postings.terms

    def _seen_term(self, field: str, text: str, postings: TermPostings) -> tuple[bool, float]:
        """Whether a visible passage holds the term, and the factor that turns its idf over
        the whole index into its idf over the visible passages. Passages outside the view
        keep their postings here: every search masks them out afterwards."""
        key = (field, text)
        with self._lock:
            found = self._seen.get(key)
            if found is not None:
                self._seen.move_to_end(key)
                return found
        holding = int(np.count_nonzero(self.visible[postings.docs])) if postings.size else 0
        correction = 1.0
        if holding and postings.idf:
            correction = lucene_idf(self.visible_passages, holding) / postings.idf
        found = (holding > 0, correction)
        with self._lock:
            self._seen[key] = found
            while len(self._seen) > SEEN_KEPT:
                self._seen.popitem(last=False)
        return found

    def _seen_phrase(self, field: str, words: tuple[str, ...]) -> TermPostings:
        """A phrase's matches, each scored as the sum of its words' scores with their visible
        idf; no terms when a word occurs in no visible passage."""
        # The phrase first: it reads its words' postings together with their positions.
        matches = self.postings.phrase(field, words)
        parts = [self.postings.term(field, word) for word in words]
        seen = [self._seen_term(field, w, part) for w, part in zip(words, parts, strict=True)]
        if not all(present for present, _ in seen):
            return NOTHING
        scores = np.zeros(matches.size, dtype=np.float64)
        for part, (_, correction) in zip(parts, seen, strict=True):
            scores += part.scores[np.searchsorted(part.docs, matches.docs)] * correction
        return TermPostings(matches.docs, scores, len(words))

    def matching(self, field: str, values: Iterable[str]) -> np.ndarray:
        """The passages whose `field` holds any of `values`."""
        mask = np.zeros(self.postings.size, dtype=bool)
        for value in values:
            mask[self.postings.term(field, value).docs] = True
        return mask

    def restrict(self, within: np.ndarray, filters: Iterable[Filter]) -> np.ndarray:
        """The passages of `within` that every filter allows."""
        allowed = within
        for flt in filters:
            found = self.matching(flt.field, sorted(flt.values))
            allowed = allowed & (~found if flt.exclude else found)
        return allowed

    def _empty(self) -> Evaluated:
        n = self.postings.size
        return Evaluated(
            np.zeros(n, dtype=bool), np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.int32), 0
        )


def coordinate(out: Evaluated, scale: float) -> None:
    """The coordination bonus ("SQR", from Apple's V-Twin): passages containing more of the
    plan's terms score higher, by `(score + (matched - 1) / (terms - scale) ** 2) * (terms -
    1) / terms`, with `terms` the plan's terms found anywhere in the index (fixed for the
    whole search, so a passage scores the same however it is reached).

    With one term (the others occur nowhere) there is nothing to reward: the factor would
    be 0 and every passage score 0, so the scores stay the term's own.
    """
    termcount = out.terms
    if termcount <= 1:
        return
    where = out.mask
    bonus = (out.count[where] - 1) / (termcount - scale) ** 2
    out.score[where] = (out.score[where] + bonus) * ((termcount - 1) / termcount)
