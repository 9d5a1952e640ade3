"""A query as kb evaluates it: plain, immutable data, built by `kb.compile` and read by
`kb.engine.evaluate`.

Scoring (what `kb.engine.evaluate` computes for each form):
- `Term`: the term's BM25 in the passage (`kb.engine.bm25`) times its boost; a field that
  is not scored (type, language...) gives the term's frequency.
- `Phrase`: the words one right after the other; the sum of the words' scores, times boost.
- `AnyOf`: passages matching any clause; the sum of the matching clauses' scores, times
  boost. With `coordination`, a bonus for matching more of the plan's terms (see
  `kb.engine.evaluate.coordinate`).
- `AllOf`: passages matching every clause; the sum of their scores, times boost.
- `Excluding`: passages of `plan` that `excluded` does not match; `plan`'s scores.

Filters are values, never query text: `Filter("org", {"ikea"})` keeps passages whose `org`
field holds any of the values; with `exclude=True`, those holding none. Every filter of a
search applies (they are intersected), so restricting a search to what a reader may see is
one more `Filter` on the visibility field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Term:
    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase:
    field: str
    words: tuple[str, ...]  # analysed words, at least two
    boost: float = 1.0


@dataclass(frozen=True)
class AnyOf:
    clauses: tuple[Plan, ...]
    boost: float = 1.0
    coordination: float | None = None  # the bonus's scale; None: no bonus


@dataclass(frozen=True)
class AllOf:
    clauses: tuple[Plan, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Excluding:
    plan: Plan
    excluded: Plan


Plan = Term | Phrase | AnyOf | AllOf | Excluding


def any_of(clauses: Iterable[Plan], coordination: float | None = None) -> Plan | None:
    """The union of the clauses: the clause itself when there is one, None for none."""
    clauses = tuple(clauses)
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    return AnyOf(clauses, coordination=coordination)


def boosted(plan: Plan, factor: float) -> Plan:
    """The plan with its scores multiplied by `factor`."""
    if isinstance(plan, Excluding):
        return Excluding(boosted(plan.plan, factor), plan.excluded)
    return replace(plan, boost=plan.boost * factor)


@dataclass(frozen=True)
class Filter:
    """Passages whose `field` holds any of `values` (with `exclude`: none of them)."""

    field: str
    values: frozenset[str]
    exclude: bool = False


def filters_from(
    include: Mapping[str, Iterable[str]], exclude: Mapping[str, Iterable[str]] | None = None
) -> tuple[Filter, ...]:
    """Filters from values by field name, in a stable order."""
    out = [Filter(name, frozenset(values)) for name, values in sorted(include.items())]
    out += [
        Filter(name, frozenset(values), exclude=True)
        for name, values in sorted((exclude or {}).items())
    ]
    return tuple(out)
