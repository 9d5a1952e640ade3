"""Which of a document's matching passages answers the query: the one holding most of the
query's words, then the one where words typed next to each other stand side by side, then
the one whose heading names most of the words, then the higher score.

A passage's BM25 score alone favours repeating the rarest word: for `new members`,
"Members gave their approval..." under the heading "New best practices approved" outscores
"...welcomed a new member". Counting each searched word once (found in any of its forms: its
stem in a language's field, its spelling, the heading, a glossary translation) picks the
passage a reader asks for.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass

import numpy as np

from kb import schema as f
from kb.analysis import TOKEN_PATTERN, stopwords
from kb.engine import plan as p
from kb.engine.evaluate import Evaluator
from kb.highlight import HighlightTerms
from kb.query import All, Any, Node, Not, Phrase, Word
from kb.text import fold

_TOKEN_RE = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class WordPlans:
    """A query's searched units (its top-level words, phrases and groups, function words
    left out), each on its own: `words` their plans (with every alternative), `terms` the
    words each highlights as typed, without glossary translations (what a heading is searched
    by, stems included); `pairs` the phrases of two plain words typed next to each other."""

    words: tuple[p.Plan, ...] = ()
    terms: tuple[HighlightTerms, ...] = ()
    pairs: tuple[p.Plan, ...] = ()


def word_plans(compiler, node: Node | None) -> WordPlans:
    """Each searched unit of `node` compiled on its own by a copy of `compiler` (a
    `kb.compile.Compiler` that has just compiled `node`: the same languages, function words,
    glossary and visible words). The compiler itself is left as it was: what it collected
    (notes to the reader, words to highlight, how it read the query) is not collected twice."""
    units = _units(node) if node is not None else []
    # Function words ("the", "av") say nothing about which passage answers, unless the query
    # has nothing else.
    stop = set().union(*(stopwords(lang) for lang in compiler.query_languages))
    content = [u for u in units if not (_plain(u) and u.text.lower() in stop)] or units
    if len(content) < 2:
        # Every matching passage holds the one word, and its score already counts the
        # heading (the heading field): nothing to choose by but the score.
        return WordPlans()
    scratch = _copy(compiler)
    words: list[p.Plan] = []
    terms: list[HighlightTerms] = []
    for unit in content:
        plan = scratch.compile(unit)[0]
        if plan is not None:
            words.append(plan)
            terms.append(_typed_terms(compiler, unit))
    pairs: list[p.Plan] = []
    for a, b in itertools.pairwise(units):
        if _plain(a) and _plain(b) and a in content and b in content:
            phrase = scratch.compile(Phrase((a.text, b.text)))[1]  # without the glossary
            leaves = [leaf for leaf in _leaves(phrase) if isinstance(leaf, p.Phrase)]
            if leaves:
                pairs.append(p.any_of(leaves))
    return WordPlans(tuple(words), tuple(terms), tuple(pairs))


def _copy(compiler):
    """A copy of `compiler` that collects into lists, sets and dicts of its own."""
    twin = copy.copy(compiler)
    for name, value in vars(compiler).items():
        if isinstance(value, (list, set, dict)):
            setattr(twin, name, type(value)(value))
    return twin


def _typed_terms(compiler, unit: Node) -> HighlightTerms:
    """The words a unit highlights as typed, without the glossary's: what a heading is
    searched by (a translation in the heading does not make it name the query)."""
    if isinstance(unit, Word) and unit.prefix:  # no need to expand the prefix again
        return HighlightTerms(prefixes=(fold(unit.text.lower()),))
    twin = _copy(compiler)
    twin.words, twin.stems, twin.prefixes = set(), set(), []
    twin.concepts = {}
    twin.compile(unit)
    return twin.highlight_terms()


def _units(node: Node) -> list[Node]:
    """The top-level searched units: the words of a plain or AND query, without exclusions."""
    if isinstance(node, (All, Any)):
        return [n for n in dict.fromkeys(node.nodes) if not isinstance(n, Not)]
    return [] if isinstance(node, Not) else [node]


def _plain(node: Node) -> bool:
    return isinstance(node, Word) and not node.prefix and node.field is None


def _leaves(plan: p.Plan | None):
    if isinstance(plan, (p.Term, p.Phrase)):
        yield plan
    elif isinstance(plan, (p.AnyOf, p.AllOf)):
        for clause in plan.clauses:
            yield from _leaves(clause)
    elif isinstance(plan, p.Excluding):
        yield from _leaves(plan.plan)


def coverage(evaluator: Evaluator, plans: WordPlans, nums: np.ndarray) -> np.ndarray:
    """For each passage of `nums`: how many searched units it holds, and how many pairs of
    typed neighbours it holds side by side (two columns, larger is better)."""
    return np.stack(
        [_holding(evaluator, plans.words, nums), _holding(evaluator, plans.pairs, nums)], axis=1
    )


def _holding(evaluator: Evaluator, plans: tuple[p.Plan, ...], nums: np.ndarray) -> np.ndarray:
    held = np.zeros(len(nums), dtype=np.int32)
    for plan in plans:
        held += evaluator.evaluate(plan).mask[nums]
    return held


def heading_words(plans: WordPlans, stored: dict, language: str) -> int:
    """How many searched units a passage's heading names (a word's stem in the passage's
    language, its spelling or a prefix, as the heading would be highlighted)."""
    tokens = _TOKEN_RE.findall(stored.get(f.HEADING) or "")
    if not tokens:
        return 0
    return sum(any(terms.flags(tokens, language)) for terms in plans.terms)
