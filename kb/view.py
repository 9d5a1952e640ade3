"""What one reader sees of a snapshot: the passages they may read (a mask over every passage
number) and the catalogue of the documents they may read.

Everything that produces data for a reader (search and its totals, facets and pages, the
glossary tier, best passages, related documents, did-you-mean, suggestions, documents,
citations, reading lists, the home page's counts) works from a `View`, never from the
snapshot itself: a document outside the view is then absent everywhere at once, and answers
exactly like a document that does not exist.

A view is computed once per snapshot and readable set (kb.access.readable), and kept with
the snapshot: members of one organisation share one view, anonymous visitors another.

Scores are computed from the view too: a term's idf counts the visible passages holding it,
and a word only hidden passages hold matches nothing and adds nothing to the coordination
bonus, so a visible document's score never depends on what hidden documents contain. What
stays index-wide: the average length of a field, and which words a prefix that matches very
many is cut down to (the most common over the whole index). Neither tells which words a
hidden document holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from kb import schema as f
from kb.access import EVERYTHING, Principal, readable, visibility_tokens
from kb.facets import tables
from kb.library import DocInfo, Snapshot
from kb.vocabulary import Vocabulary


class View:
    """One readable set's view of one snapshot. Shared by the server's threads: read-only."""

    def __init__(self, snap: Snapshot, allowed: frozenset[str]) -> None:
        self.snap = snap
        self.readable = allowed
        self.everything = EVERYTHING in allowed
        table = tables(snap)
        if self.everything:
            catalogue = dict(snap.catalogue)
            mask = table.every.copy()
        else:
            catalogue = {
                doc_id: info
                for doc_id, info in snap.catalogue.items()
                if not allowed.isdisjoint(visibility_tokens(info.meta.visibility))
            }
            # A passage is visible when its own record carries a readable token AND its
            # document is in the readable catalogue: the two are written together from the
            # same value, and a passage record that disagreed would be hidden, not shown.
            shown = np.zeros(len(table.doc_ids) + 1, dtype=bool)  # last slot: no document
            for doc_id in catalogue:
                shown[table.ordinal[doc_id]] = True
            by_record = snap.evaluator().matching(f.VISIBILITY, sorted(allowed))
            mask = table.every & by_record & shown[table.document_of]
        mask.flags.writeable = False  # shared: every search intersects it, none may change it
        self.mask: np.ndarray = mask
        # Scores computed from what this view holds only (kb.engine.evaluate.Evaluator).
        evaluator = snap.evaluator()
        self.evaluator = evaluator if self.everything else evaluator.for_readers(mask)
        self.catalogue: Mapping[str, DocInfo] = MappingProxyType(catalogue)
        # As the catalogue counts them (the snapshot's own count, for everything).
        self.passage_count = sum(d.passages for d in catalogue.values())
        # The languages of what this reader sees: a query is read and weighted among these
        # (kb.querylang, kb.compile), so a language only hidden documents use changes nothing.
        self.languages: tuple[str, ...] = tuple(
            sorted({d.meta.language for d in catalogue.values()})
        )

    @property
    def vocabulary(self) -> Vocabulary:
        return self.snap.vocabulary

    def can_see(self, doc_id: str) -> bool:
        return doc_id in self.catalogue

    def passages_of(self, doc_id: str) -> tuple[int, ...]:
        """The passage numbers of a visible document, in index order; () for any other."""
        return self.snap.passages_of(doc_id) if doc_id in self.catalogue else ()

    def doc_frequency(self, fieldname: str, term: str) -> int:
        """In how many visible passages `term` occurs: a word only hidden documents hold
        counts as unknown (it is never suggested nor said to exist)."""
        if self.everything:
            return self.snap.searcher().reader().doc_frequency(fieldname, term)
        docs = self.snap.postings().term(fieldname, term).docs
        return int(np.count_nonzero(self.mask[docs])) if len(docs) else 0

    def derived(self, key: tuple, compute):
        """A value derived from this view once (suggestion candidates...), then kept with
        the snapshot under this view's readable set."""
        return self.snap.stable(("view", self.readable, *key), compute)


def view_of(snap: Snapshot, principal: Principal) -> View:
    """What `principal` sees of `snap`, computed on first use for each readable set."""
    if not isinstance(principal, Principal):
        raise TypeError(f"a reader's Principal is required, not {principal!r}")
    allowed = readable(principal)
    return snap.stable(("view", allowed), lambda: View(snap, allowed))


def checked(view: object) -> View:
    """`view` itself: reader-facing functions take a View, never a bare snapshot (that would
    show everything to whoever is asking)."""
    if not isinstance(view, View):
        raise TypeError(
            "a reader's View is required (kb.view.view_of(snapshot, principal)), "
            f"not {type(view).__name__}"
        )
    return view
