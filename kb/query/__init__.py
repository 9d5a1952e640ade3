"""The user's query language, parsed leniently into plain data.

Words, "phrases", AND / OR / NOT, -word, parentheses, prefix*, `title:word`, and the filters
type: year: (2024, 2023..2024) org: topic: lang:. Adjacent terms are alternatives ranked by
how many of them a passage matches, so a question typed in plain words still finds the passage
that answers most of it. Nothing here raises: whatever cannot be understood is read in the
most sensible way and explained in `messages`.

This module reads the text into tokens; `tree` holds what a query becomes, `grammar` puts the
tokens together, `values` resolves filter values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from kb.query.grammar import Grammar, Token
from kb.query.tree import (
    MAX_TERMS,
    All,
    Any,
    Filters,
    Node,
    Not,
    ParsedQuery,
    Phrase,
    Word,
    limit_terms,
    render,
)
from kb.query.values import FILTER_FIELDS, FilterValues, example
from kb.text import fold
from kb.vocabulary import Vocabulary

__all__ = [
    "FILTER_FIELDS",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "MIN_PREFIX",
    "SEARCH_FIELDS",
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
]

MAX_QUERY_CHARS = 1000
MIN_PREFIX = 3
SEARCH_FIELDS = ("title",)

_TOKEN = re.compile(
    r"""
    (?P<neglparen>[-!]\() | (?P<lparen>\() | (?P<rparen>\)) |
    (?P<neg>[-!](?=[\w"(]))? (?P<plus>\+(?=[\w"(]))?
    (?:
      (?P<field>[A-Za-z_]+):(?P<fvalue>"[^"]*"?|[^\s()"]*)
    | "(?P<phrase>[^"]*)(?P<close>"?)
    | (?P<word>[^\s()"]+)
    )
    """,
    re.VERBOSE,
)


def clean_input(raw: str, messages: list[str]) -> str:
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c for c in raw
    )
    if text.strip() != raw.strip():
        messages.append("Removed control characters from the query.")
    if len(text) > MAX_QUERY_CHARS:
        messages.append(
            f"The query was {len(text):,} characters long; only the first {MAX_QUERY_CHARS:,} were used."
        )
        text = text[:MAX_QUERY_CHARS]
    return " ".join(text.split())


class QueryParser:
    """Parses the query language; knows the vocabularies so filter values can be friendly."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.values = FilterValues(vocabulary)

    def parse(self, raw: str, filters: Mapping[str, Iterable[str]] | None = None) -> ParsedQuery:
        """Parse query text; `filters` (values by filter name, as chosen in a form or given
        as options) are resolved value by value, never read as query text."""
        messages: list[str] = []
        text = clean_input(raw or "", messages)
        found = Filters()
        tokens = self._tokens(text, found, messages)
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

    # Tokens, with filters taken out as they are met.
    def _tokens(self, text: str, filters: Filters, messages: list[str]) -> list[Token]:
        out: list[Token] = []
        for m in _TOKEN.finditer(text):
            negated = bool(m.group("neg"))
            if m.group("neglparen"):  # -( ... ) excludes the whole group
                out.append(Token("op", "NOT"))
                out.append(Token("lparen"))
            elif m.group("lparen"):
                out.append(Token("lparen"))
            elif m.group("rparen"):
                out.append(Token("rparen"))
            elif m.group("field") is not None:
                name, value = m.group("field").lower(), m.group("fvalue").strip('"')
                self._field(name, value, negated, filters, out, messages)
            elif m.group("phrase") is not None:
                words = tuple(_plain_words(m.group("phrase")))
                if not m.group("close"):
                    messages.append("Added the missing closing quote.")
                if len(words) == 1:
                    out.append(Token("term", node=Word(words[0]), negated=negated))
                elif words:
                    out.append(Token("term", node=Phrase(words), negated=negated))
            else:
                word = m.group("word")
                if word in ("AND", "OR", "NOT", "&&", "||"):
                    out.append(Token("op", {"&&": "AND", "||": "OR"}.get(word, word)))
                    continue
                node = self._word(word, messages)
                if node is not None:
                    out.append(Token("term", node=node, negated=negated))
        return out

    def _word(self, word: str, messages: list[str], field: str | None = None) -> Node | None:
        prefix = word.endswith("*")
        parts = _plain_words(word)
        if not parts:
            if "*" in word:
                messages.append(
                    f"Ignored the wildcard '{word}': add at least {MIN_PREFIX} letters before *."
                )
            return None
        if "*" in word.rstrip("*"):
            messages.append(
                f"Wildcards only work at the end of a word; searched for '{' '.join(parts)}'."
            )
            prefix = False
        if prefix and len(parts) == 1 and len(fold(parts[0])) < MIN_PREFIX:
            messages.append(
                f"'{word}' is too short for a prefix search (at least {MIN_PREFIX} letters); "
                f"searched for the word '{parts[0]}'."
            )
            prefix = False
        if len(parts) > 1:  # "H&M" stays one token; "7-9" or "e.g." become a phrase
            return Phrase(tuple(parts), field=field)
        return Word(parts[0], prefix=prefix, field=field)

    def _field(
        self,
        name: str,
        value: str,
        negated: bool,
        filters: Filters,
        out: list[Token],
        messages: list[str],
    ) -> None:
        known = ", ".join(f"{f}:" for f in (*FILTER_FIELDS, *SEARCH_FIELDS))
        if not value:
            messages.append(f"'{name}:' has no value; give one like {example(name)}.")
            return
        if name in SEARCH_FIELDS:
            words = _plain_words(value)
            if len(words) > 1:
                out.append(Token("term", node=Phrase(tuple(words), field=name), negated=negated))
            elif words:
                node = self._word(value, messages, field=name)
                if node is not None:
                    out.append(Token("term", node=node, negated=negated))
            return
        if name not in FILTER_FIELDS:
            messages.append(
                f"Unknown filter '{name}:' (known: {known}); searched for '{name} {value}' as words."
            )
            for part in (name, value):
                node = self._word(part, messages)
                if node is not None:
                    out.append(Token("term", node=node, negated=negated))
            return
        for v in self.resolve_filter(name, value, messages):
            filters.add(name, v, negated)

    def resolve_filter(self, name: str, value: str, messages: list[str]) -> list[str]:
        """The index values one filter value stands for (see `FilterValues.resolve`)."""
        return self.values.resolve(name, value, messages)


_WORD_CHARS = re.compile(r"[\w&'’]+")


def _plain_words(text: str) -> list[str]:
    words = [w.strip("'’&") for w in _WORD_CHARS.findall(text)]
    return [w for w in words if w]
