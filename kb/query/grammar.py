"""Tokens and the recursive-descent grammar of the query language, repairing instead of failing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kb.query.filters import FilterResolver
from kb.query.tree import FILTER_FIELDS, SEARCH_FIELDS, All, Any, Filters, Node, Not, Phrase, Word
from kb.text import fold

MAX_QUERY_CHARS = 1000
MIN_PREFIX = 3
MAX_DEPTH = 20

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


@dataclass(frozen=True)
class _Tok:
    kind: str  # lparen rparen op term
    value: str = ""
    node: Node | None = None
    negated: bool = False


def clean_input(raw: str, messages: list[str]) -> str:
    """Query text without control characters, cut to MAX_QUERY_CHARS, spaces collapsed."""
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


class Tokenizer:
    """Splits query text into tokens, taking filters out as they are met."""

    def __init__(self, resolver: FilterResolver) -> None:
        self.resolver = resolver

    def tokens(self, text: str, filters: Filters, messages: list[str]) -> list[_Tok]:
        """The tokens of `text`; filters met on the way go into `filters`, not the tokens."""
        out: list[_Tok] = []
        # A question excludes nothing: its `-` joins words, as in the Finnish `Guardians of
        # the Galaxy Vol. 2 -elokuvan` or the Swedish `Leadership for Change -nätverket`.
        question = text.rstrip().endswith("?")
        for m in _TOKEN.finditer(text):
            negated = bool(m.group("neg"))
            if negated and question:
                negated = False
                messages.append("Read '-' before a word as part of the question, not as NOT.")
            if m.group("neglparen") and question:
                out.append(_Tok("lparen"))
            elif m.group("neglparen"):  # -( ... ) excludes the whole group
                out.append(_Tok("op", "NOT"))
                out.append(_Tok("lparen"))
            elif m.group("lparen"):
                out.append(_Tok("lparen"))
            elif m.group("rparen"):
                out.append(_Tok("rparen"))
            elif m.group("field") is not None:
                name, value = m.group("field").lower(), m.group("fvalue").strip('"')
                self._field(name, value, negated, filters, out, messages)
            elif m.group("phrase") is not None:
                words = tuple(_plain_words(m.group("phrase")))
                if not m.group("close"):
                    messages.append("Added the missing closing quote.")
                if len(words) == 1:
                    out.append(_Tok("term", node=Word(words[0]), negated=negated))
                elif words:
                    out.append(_Tok("term", node=Phrase(words), negated=negated))
            else:
                word = m.group("word")
                if word in ("AND", "OR", "NOT", "&&", "||"):
                    out.append(_Tok("op", {"&&": "AND", "||": "OR"}.get(word, word)))
                    continue
                node = self._word(word, messages)
                if node is not None:
                    out.append(_Tok("term", node=node, negated=negated))
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
        if len(parts) > 1:  # "H&M" stays one token; "IT-inköp" or "e.g." are joined words
            return Phrase(tuple(parts), field=field, joined=word.rstrip("*"))
        return Word(parts[0], prefix=prefix, field=field)

    def _field(
        self,
        name: str,
        value: str,
        negated: bool,
        filters: Filters,
        out: list[_Tok],
        messages: list[str],
    ) -> None:
        known = ", ".join(f"{f}:" for f in (*FILTER_FIELDS, *SEARCH_FIELDS))
        if not value:
            messages.append(f"'{name}:' has no value; give one like {_example(name)}.")
            return
        if name in SEARCH_FIELDS:
            words = _plain_words(value)
            if len(words) > 1:
                out.append(_Tok("term", node=Phrase(tuple(words), field=name), negated=negated))
            elif words:
                node = self._word(value, messages, field=name)
                if node is not None:
                    out.append(_Tok("term", node=node, negated=negated))
            return
        if name not in FILTER_FIELDS:
            messages.append(
                f"Unknown filter '{name}:' (known: {known}); searched for '{name} {value}' as words."
            )
            for part in (name, value):
                node = self._word(part, messages)
                if node is not None:
                    out.append(_Tok("term", node=node, negated=negated))
            return
        for v in self.resolver.resolve(name, value, messages):
            filters.add(name, v, negated)


def _example(name: str) -> str:
    return {
        "type": "type:guide", "year": "year:2024 or year:2023..2024", "org": "org:ikea",
        "topic": "topic:climate", "lang": "lang:sv", "title": "title:strategy",
    }.get(name, f"{name}:value")  # fmt: skip


_WORD_CHARS = re.compile(r"[\w&'’]+")


def _plain_words(text: str) -> list[str]:
    words = [w.strip("'’&") for w in _WORD_CHARS.findall(text)]
    return [w for w in words if w]


# ---- grammar ------------------------------------------------------------------------------


class Grammar:
    """Recursive descent over tokens; repairs instead of failing."""

    def __init__(self, tokens: list[_Tok], messages: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.messages = messages
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        """The tree of all tokens, or None when nothing searchable is left."""
        parts = [self.any_expr()]
        while self.peek() is not None:  # stray ')' at top level
            self.pos += 1
            self.messages.append("Ignored an unmatched ')'.")
            parts.append(self.any_expr())
        present = tuple(p for p in parts if p is not None)
        if not present:
            return None
        return present[0] if len(present) == 1 else Any(present)

    def any_expr(self) -> Node | None:
        nodes = [self.all_expr()]
        while (t := self.peek()) is not None and t.kind == "op" and t.value == "OR":
            self.pos += 1
            nodes.append(self.all_expr())
        present = [n for n in nodes if n is not None]
        if len(nodes) > 1 and len(present) < len(nodes):
            self.messages.append("Ignored 'OR' with nothing on one side.")
        if not present:
            return None
        return present[0] if len(present) == 1 else Any(tuple(present), explicit=True)

    def all_expr(self) -> Node | None:
        groups: list[list[Node]] = [[]]  # implicit alternatives, split by AND
        dangling = False
        while (t := self.peek()) is not None:
            if t.kind == "rparen" and self.depth > 0:
                break
            if t.kind == "rparen":
                break
            if t.kind == "op" and t.value == "OR":
                break
            if t.kind == "op" and t.value == "AND":
                self.pos += 1
                if not groups[-1]:
                    dangling = True
                groups.append([])
                continue
            node = self.unary()
            if node is not None:
                groups[-1].append(node)
        if dangling or (len(groups) > 1 and not groups[-1]):
            self.messages.append("Ignored 'AND' with nothing on one side.")
        parts = [g[0] if len(g) == 1 else Any(tuple(g)) for g in groups if g]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def unary(self) -> Node | None:
        negate = False
        while (t := self.peek()) is not None and t.kind == "op" and t.value == "NOT":
            self.pos += 1
            negate = not negate
        if t is None:
            if negate:
                self.messages.append("Ignored 'NOT' with nothing after it.")
            return None
        node: Node | None
        if t.kind == "lparen":
            # Deeper groups are read flat: nobody means 20 levels, and recursion is bounded.
            while (t := self.peek()) is not None and t.kind == "lparen" and self.depth >= MAX_DEPTH:
                self.pos += 1
                self.messages.append(f"Ignored parentheses nested more than {MAX_DEPTH} deep.")
            if t is not None and t.kind == "lparen":
                self.pos += 1
                self.depth += 1
                node = self.any_expr()
                self.depth -= 1
                if (c := self.peek()) is not None and c.kind == "rparen":
                    self.pos += 1
                else:
                    self.messages.append("Added the missing ')'.")
            else:
                node = self.unary()
        else:
            self.pos += 1
            node = None
            if t.kind == "term" and t.node is not None:
                node = Not(t.node) if t.negated else t.node
        if node is None:
            if negate:
                self.messages.append("Ignored 'NOT' with nothing after it.")
            return None
        return Not(node) if negate else node
