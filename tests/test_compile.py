"""Compiling the query tree into the engine's plan (kb.compile)."""

from __future__ import annotations

from kb.access import Principal
from kb.compile import compile_query, every_passage
from kb.engine import plan as p
from kb.library import Library
from kb.query import QueryParser
from kb.ranking import COORDINATION, WEIGHT_GLOSSARY
from kb.view import view_of


def _compiled(snap, text: str):
    view = view_of(snap, Principal.shell())
    return compile_query(view, QueryParser(snap.vocabulary).parse(text).node, [])


def _terms(plan) -> set[tuple[str, str]]:
    if isinstance(plan, p.Term):
        return {(plan.field, plan.text)}
    if isinstance(plan, p.Phrase):
        return {(plan.field, " ".join(plan.words))}
    if isinstance(plan, p.Excluding):
        return _terms(plan.plan) | _terms(plan.excluded)
    return set().union(*(_terms(c) for c in plan.clauses))


def test_the_direct_plan_is_the_plan_without_translations(bundled_index):
    snap = Library(bundled_index).snapshot()
    compiled = _compiled(snap, "procurement repair")
    assert compiled.expanded
    full, direct = _terms(compiled.plan), _terms(compiled.direct)
    assert direct < full
    assert ("exact", "upphandling") in full - direct
    assert {text for _, text in direct} <= {"procurement", "procur", "repair"}
    assert isinstance(compiled.plan, p.AnyOf) and compiled.plan.coordination == COORDINATION
    word = compiled.plan.clauses[0]
    assert any(c.boost == WEIGHT_GLOSSARY for c in word.clauses)


def test_without_glossary_words_both_plans_are_one(bundled_index):
    snap = Library(bundled_index).snapshot()
    compiled = _compiled(snap, "title:forum -qqqzzz")
    assert not compiled.expanded
    assert compiled.plan == compiled.direct
    assert isinstance(compiled.plan, p.Excluding)
    assert compiled.plan.plan == p.Term("title", "forum")
    assert ("exact", "qqqzzz") in _terms(compiled.plan.excluded)
    only_excluded = _compiled(snap, "-qqqzzz").plan
    assert isinstance(only_excluded, p.Excluding) and only_excluded.plan == every_passage()
