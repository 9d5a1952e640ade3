"""The index writer's analysis of text fields: whoosh's postings, computed faster.

whoosh analyses a field value by passing one Token object through a generator per filter,
then counting positions in dictionaries: for the text fields of this schema that was most
of the CPU time of adding a passage. `fast_schema` gives a writer the same analysis
computed over lists of words, with each word's folding and stemming remembered for the run.
The postings are byte for byte those whoosh's analysers produce (`tests/test_writer.py`
compares them on every field); an analyser built any other way than kb.analysis builds
them is left to whoosh. Queries are analysed by whoosh as usual.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator

from kb import compounds
from kb.analysis import CompoundFilter, FoldFilter, stem
from kb.text import fold


def fast_schema(schema):
    """A copy of `schema` whose text fields index values with `_fast_index`; fields whose
    analyser or format it does not know keep whoosh's own."""
    from kb.engine.whoosh_schema import schema_fields, schema_with_fields

    replaced = {}
    for name, field in schema_fields(schema).items():
        fast = _fast_index(field)
        if fast is not None:
            clone = copy.copy(field)
            clone.index = fast
            replaced[name] = clone
    return schema_with_fields(schema, replaced)


def _fast_index(field) -> Callable[..., Iterator[tuple]] | None:
    """field.index for a Positions field analysed by tokeniser | lower-case [| fold]
    [| stop words | stemmer], or None for anything else."""
    from whoosh import formats
    from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter, StopFilter

    if type(field.format) is not formats.Positions or not field.indexed:
        return None
    items = getattr(field.analyzer, "items", None)
    if not items or type(items[0]) is not RegexTokenizer or items[0].gaps:
        return None
    pattern = items[0].expression
    if pattern.groups:
        return None  # findall would return groups rather than whole matches
    steps: list[Callable[[list[str], list[int]], list[int]]] = []
    for item in items[1:]:
        kind = type(item)
        if kind is LowercaseFilter:
            steps.append(_lowercase)
        elif kind is FoldFilter:
            steps.append(_mapping(fold))
        elif kind is StopFilter and item.renumber and item.max is None:
            steps.append(_stopping(item.stops, item.min))
        elif kind is StemFilter and item.lang is None and not item.ignore:
            steps.append(_mapping(item.stemfn))
        elif kind is CompoundFilter:
            steps.append(_compounding(item.language))
        else:
            return None
    fmt = field.format
    boost, encode = fmt.field_boost, fmt.encode
    findall = pattern.findall
    # Most words occur once in a field: their value is a function of the position alone.
    single: dict[int, bytes] = {}

    def index(value, **kwargs) -> Iterator[tuple]:
        if not isinstance(value, str) or kwargs:
            yield from type(field).index(field, value, **kwargs)
            return
        words = findall(value)
        positions: list[int] | range = range(len(words))
        for step in steps:
            positions = step(words, positions)
        where: dict[str, list[int]] = {}
        for word, pos in zip(words, positions, strict=True):
            found = where.get(word)
            if found is None:
                where[word] = [pos]
            else:
                found.append(pos)
        for word, poslist in where.items():
            if len(poslist) == 1 and poslist[0] < SINGLE_POSITIONS:
                pos = poslist[0]
                value = single.get(pos)
                if value is None:
                    value = single[pos] = encode(poslist)
                yield word.encode("utf-8"), 1, boost, value
            else:
                yield (
                    word.encode("utf-8"),
                    len(poslist),
                    float(len(poslist)) * boost,
                    encode(poslist),
                )

    return index


# The positions whose one-position value `_fast_index` remembers (a passage's few hundred words).
SINGLE_POSITIONS = 4096


def _lowercase(words: list[str], positions):
    words[:] = [w.lower() for w in words]
    return positions


def _mapping(function: Callable[[str], str]):
    """Replace each word by function(word), remembering results (folding and stemming see
    the same few thousand words again and again)."""
    memo: dict[str, str] = {}

    def step(words: list[str], positions):
        get = memo.get
        out = []
        for w in words:
            m = get(w)
            if m is None:
                m = memo[w] = function(w)
            out.append(m)
        words[:] = out
        return positions

    return step


def _compounding(language: str):
    """`kb.analysis.CompoundFilter`: after each stemmed compound, its parts' stems at its
    position."""
    memo: dict[str, tuple[str, ...]] = {}

    def step(words: list[str], positions):
        out_words: list[str] = []
        out_positions: list[int] = []
        for word, pos in zip(words, positions, strict=True):
            out_words.append(word)
            out_positions.append(pos)
            parts = memo.get(word)
            if parts is None:
                parts = memo[word] = tuple(
                    stem(part, language) for part in compounds.split(word, language)
                )
            for part in parts:
                out_words.append(part)
                out_positions.append(pos)
        words[:] = out_words
        return out_positions

    return step


def _stopping(stops: Iterable[str], minsize: int):
    """whoosh's StopFilter with renumbering: stop words leave, and the words after the first
    kept one are numbered consecutively from its position."""
    stops = frozenset(stops)

    def step(words: list[str], positions):
        kept_words: list[str] = []
        kept_positions: list[int] = []
        for word, pos in zip(words, positions, strict=True):
            if len(word) >= minsize and word not in stops:
                kept_positions.append(kept_positions[-1] + 1 if kept_positions else pos)
                kept_words.append(word)
        words[:] = kept_words
        return kept_positions

    return step
