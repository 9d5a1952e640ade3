"""Compiled queries kept per snapshot and readable set.

A query's plan (`kb.compile`) depends on the query tree, the snapshot (its languages,
glossary, the index's words) and what the reader may see (a prefix expands only to words of
visible passages, a query's languages are read from visible passages). Compiling is pure
Python: a typed word becomes dozens of terms, every glossary translation and compound part
looked up. A query asked again (the next page, another reader of the same organisation, a
popular question) reuses its plan.

Plans are kept with the snapshot under the readable set they were compiled for, never
shared with another readable set: a plan built from one reader's view tells which words
that view holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

from kb.compile import Compiled, compile_query
from kb.query import Node
from kb.view import View

PLANS_KEPT = 256  # per snapshot and readable set; a plan is a few KB


class PlanCache:
    """The most recently used plans of one readable set over one snapshot."""

    def __init__(self, size: int = PLANS_KEPT) -> None:
        self.size = size
        self._plans: OrderedDict[Node, tuple[Compiled, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._plans)

    def get(self, node: Node) -> tuple[Compiled, tuple[str, ...]] | None:
        with self._lock:
            found = self._plans.get(node)
            if found is not None:
                self._plans.move_to_end(node)
            return found

    def put(self, node: Node, entry: tuple[Compiled, tuple[str, ...]]) -> None:
        with self._lock:
            self._plans[node] = entry
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)


def plan_cache(view: View) -> PlanCache:
    """The plans kept for the readers of `view` (its snapshot and readable set)."""
    return view.snap.stable(("plans", view.readable), PlanCache)


def compiled(view: View, node: Node | None, messages: list[str]) -> Compiled:
    """`kb.compile.compile_query` for the reader of `view`, reused when the same query tree
    was compiled for the same readable set of the same snapshot; its notes to the reader (a
    prefix cut short) are added to `messages` either way."""
    if node is None:
        return compile_query(view, None, messages)
    plans = plan_cache(view)
    found = plans.get(node)
    if found is None:
        notes: list[str] = []
        found = (compile_query(view, node, notes), tuple(notes))
        plans.put(node, found)
    messages.extend(found[1])
    return _fresh(found[0])


def _fresh(plan: Compiled) -> Compiled:
    """`plan` with highlight terms of its own: they remember the words of the passages they
    marked (`HighlightTerms.flags`), which a kept plan would otherwise accumulate for as
    long as it is kept."""
    units = plan.units
    return replace(
        plan,
        highlight=replace(plan.highlight),
        units=replace(units, terms=tuple(replace(terms) for terms in units.terms)),
    )
