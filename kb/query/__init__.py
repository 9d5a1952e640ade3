"""The user's query language, parsed leniently into plain data.

Words, "phrases", AND / OR / NOT, -word, parentheses, prefix*, `title:word`, and the filters
type: year: (2024, 2023..2024) org: topic: lang:. Adjacent terms are alternatives ranked by
how many of them a passage matches, so a question typed in plain words still finds the passage
that answers most of it. Nothing here raises: whatever cannot be understood is read in the
most sensible way and explained in `messages`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kb.query.filters import YEAR_MAX, YEAR_MIN, FilterResolver
from kb.query.grammar import MAX_DEPTH, MAX_QUERY_CHARS, MIN_PREFIX, Grammar, Tokenizer, clean_input
from kb.query.render import render
from kb.query.tree import (
    FILTER_FIELDS,
    MAX_TERMS,
    SEARCH_FIELDS,
    All,
    Any,
    Filters,
    Node,
    Not,
    ParsedQuery,
    Phrase,
    Word,
    limit_terms,
    searched_words,
)
from kb.vocabulary import Vocabulary


class QueryParser:
    """Parses the query language; knows the vocabularies so filter values can be friendly."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._resolver = FilterResolver(vocabulary)
        self._tokenizer = Tokenizer(self._resolver)

    def parse(self, raw: str, filters: Mapping[str, Iterable[str]] | None = None) -> ParsedQuery:
        """Parse query text; `filters` (values by filter name, as chosen in a form or given
        as options) are resolved value by value, never read as query text."""
        messages: list[str] = []
        text = clean_input(raw or "", messages)
        found = Filters()
        tokens = self._tokenizer.tokens(text, found, messages)
        node = Grammar(tokens, messages).parse()
        node = limit_terms(node, messages)
        for name, values in (filters or {}).items():
            for value in values:
                value = " ".join((value or "").split())
                if value:
                    for resolved in self.resolve_filter(name, value, messages):
                        found.add(name, resolved)
        read_as = render(node, found)
        messages = list(dict.fromkeys(messages))  # a repair repeated in nested groups: say it once
        return ParsedQuery(node, found, messages, read_as, adjusted=bool(messages))

    def resolve_filter(self, name: str, value: str, messages: list[str]) -> list[str]:
        """The index values one filter value stands for (`org`: "Skövde" -> "skovde-kommun";
        `year`: "2023..2024" -> both years); none, with a note in `messages`, when it
        matches nothing or the filter is unknown."""
        return self._resolver.resolve(name, value, messages)


__all__ = [
    "FILTER_FIELDS",
    "MAX_DEPTH",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "MIN_PREFIX",
    "SEARCH_FIELDS",
    "YEAR_MAX",
    "YEAR_MIN",
    "All",
    "Any",
    "Filters",
    "Node",
    "Not",
    "ParsedQuery",
    "Phrase",
    "QueryParser",
    "Word",
    "clean_input",
    "searched_words",
]
