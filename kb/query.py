"""The user's query language, parsed leniently into plain data.

Words, "phrases", AND / OR / NOT, -word, parentheses, prefix*, `title:word`, and the filters
type: year: (2024, 2023..2024) org: topic: lang:. Adjacent terms are alternatives ranked by
how many of them a passage matches, so a question typed in plain words still finds the passage
that answers most of it. Nothing here raises: whatever cannot be understood is read in the
most sensible way and explained in `messages`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kb.doctypes import DOC_TYPES, normalise_type
from kb.text import LANGUAGE_NAMES, fold, normalise_language
from kb.vocabulary import Vocabulary

MAX_QUERY_CHARS = 1000
MAX_TERMS = 48
MIN_PREFIX = 3
MAX_DEPTH = 20
YEAR_MIN, YEAR_MAX = 1900, 2100
FILTER_FIELDS = ("type", "year", "org", "topic", "lang")
SEARCH_FIELDS = ("title",)


# ---- the tree a query becomes -------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False
    field: str | None = None  # "title" for title:word


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class All:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    nodes: tuple[Node, ...]
    explicit: bool = False  # typed OR, rather than words next to each other


Node = Word | Phrase | Not | All | Any


@dataclass
class Filters:
    """Filter values by field; within a field values are alternatives, across fields all apply."""

    include: dict[str, set[str]] = field(default_factory=dict)
    exclude: dict[str, set[str]] = field(default_factory=dict)

    def add(self, name: str, value: str, negated: bool = False) -> None:
        (self.exclude if negated else self.include).setdefault(name, set()).add(value)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)


@dataclass
class ParsedQuery:
    node: Node | None
    filters: Filters
    messages: list[str]
    read_as: str
    adjusted: bool

    @property
    def has_text(self) -> bool:
        return self.node is not None


# ---- tokens ---------------------------------------------------------------------------------

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

    def parse(self, raw: str, filters: Mapping[str, Iterable[str]] | None = None) -> ParsedQuery:
        """Parse query text; `filters` (values by filter name, as chosen in a form or given
        as options) are resolved value by value, never read as query text."""
        messages: list[str] = []
        text = clean_input(raw or "", messages)
        found = Filters()
        tokens = self._tokens(text, found, messages)
        node = _Grammar(tokens, messages).parse()
        node = _limit_terms(node, messages)
        for name, values in (filters or {}).items():
            for value in values:
                value = " ".join((value or "").split())
                if value:
                    for resolved in self.resolve_filter(name, value, messages):
                        found.add(name, resolved)
        read_as = _render(node, found)
        messages = list(dict.fromkeys(messages))  # a repair repeated in nested groups: say it once
        return ParsedQuery(node, found, messages, read_as, adjusted=bool(messages))

    # Tokens, with filters taken out as they are met.
    def _tokens(self, text: str, filters: Filters, messages: list[str]) -> list[_Tok]:
        out: list[_Tok] = []
        for m in _TOKEN.finditer(text):
            negated = bool(m.group("neg"))
            if m.group("neglparen"):  # -( ... ) excludes the whole group
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
        if len(parts) > 1:  # "H&M" stays one token; "7-9" or "e.g." become a phrase
            return Phrase(tuple(parts), field=field)
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
        for v in self.resolve_filter(name, value, messages):
            filters.add(name, v, negated)

    def resolve_filter(self, name: str, value: str, messages: list[str]) -> list[str]:
        """The index values one filter value stands for (`org`: "Skövde" -> "skovde-kommun";
        `year`: "2023..2024" -> both years); none, with a note in `messages`, when it
        matches nothing or the filter is unknown."""
        if name not in FILTER_FIELDS:
            known = ", ".join(FILTER_FIELDS)
            messages.append(f"Unknown filter '{name}' (known: {known}). The filter was ignored.")
            return []
        return getattr(self, f"_value_{name}")(value, messages)

    def _value_type(self, value: str, messages: list[str]) -> list[str]:
        t = normalise_type(value)
        if t is None:
            messages.append(
                f"Unknown type '{value}'; use one of: {', '.join(DOC_TYPES)}. The filter was ignored."
            )
            return []
        return [t]

    def _value_year(self, value: str, messages: list[str]) -> list[str]:
        m = re.fullmatch(r"(\d{4})?(?:\.\.|-|–)(\d{4})?|(\d{4})", value)
        if m and m.group(3):
            start = end = int(m.group(3))
        elif m and (m.group(1) or m.group(2)):
            start = int(m.group(1) or YEAR_MIN)
            end = int(m.group(2) or YEAR_MAX)
        else:
            messages.append(
                f"year: expects a year like 2024 or a range like 2023..2024, not '{value}'. The filter was ignored."
            )
            return []
        if start > end:
            start, end = end, start
        start, end = max(start, YEAR_MIN), min(end, YEAR_MAX)
        return [str(y) for y in range(start, end + 1)]

    def _value_org(self, value: str, messages: list[str]) -> list[str]:
        org = self.vocabulary.organisation(value.replace("_", " "))
        if org is None:
            candidates = [
                o for o in self.vocabulary.organisations if fold(value) in fold(" ".join(o.names))
            ]
            if len(candidates) == 1:
                org = candidates[0]
        if org is None:
            messages.append(f"No organisation matches '{value}'. The filter was ignored.")
            return []
        return [org.id]

    def _value_topic(self, value: str, messages: list[str]) -> list[str]:
        topic = self.vocabulary.topic(value.replace("_", " "))
        if topic is None:
            names = ", ".join(t.id for t in self.vocabulary.topics)
            messages.append(f"Unknown topic '{value}' (topics: {names}). The filter was ignored.")
            return []
        return [topic.id]

    def _value_lang(self, value: str, messages: list[str]) -> list[str]:
        v = normalise_language(value)
        if v is None:
            messages.append(
                f"Unknown language '{value}'; use one of: {', '.join(LANGUAGE_NAMES)}. The filter was ignored."
            )
            return []
        return [v]


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


class _Grammar:
    """Recursive descent over tokens; repairs instead of failing."""

    def __init__(self, tokens: list[_Tok], messages: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.messages = messages
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
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


def _count_terms(node: Node | None) -> int:
    if node is None:
        return 0
    if isinstance(node, Word | Phrase):
        return 1
    if isinstance(node, Not):
        return _count_terms(node.node)
    return sum(_count_terms(n) for n in node.nodes)


def _limit_terms(node: Node | None, messages: list[str]) -> Node | None:
    """Keep the first MAX_TERMS terms: longer queries cost time without changing the answer."""
    if _count_terms(node) <= MAX_TERMS:
        return node
    budget = [MAX_TERMS]

    def cut(n: Node) -> Node | None:
        if budget[0] <= 0:
            return None
        if isinstance(n, Word | Phrase):
            budget[0] -= 1
            return n
        if isinstance(n, Not):
            inner = cut(n.node)
            return Not(inner) if inner else None
        kept = tuple(k for k in (cut(c) for c in n.nodes) if k is not None)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else type(n)(kept)

    messages.append(
        f"The query had more than {MAX_TERMS} terms; only the first {MAX_TERMS} were used."
    )
    return cut(node) if node is not None else None


def _render(node: Node | None, filters: Filters) -> str:
    parts = [_render_node(node, top=True)] if node is not None else []
    for sign, table in (("", filters.include), ("-", filters.exclude)):
        for name in FILTER_FIELDS:
            for value in sorted(table.get(name, ())):
                parts.append(f"{sign}{name}:{value}")
    return " ".join(p for p in parts if p)


def _render_node(node: Node, top: bool = False) -> str:
    if isinstance(node, Word):
        return f"{node.field + ':' if node.field else ''}{node.text}{'*' if node.prefix else ''}"
    if isinstance(node, Phrase):
        return f'{node.field + ":" if node.field else ""}"{" ".join(node.words)}"'
    if isinstance(node, Not):
        return f"-{_render_node(node.node)}"
    if isinstance(node, All):
        inner = " AND ".join(_render_node(n) for n in node.nodes)
    elif node.explicit:
        inner = " OR ".join(_render_node(n) for n in node.nodes)
    else:
        inner = " ".join(_render_node(n) for n in node.nodes)
    return inner if top else f"({inner})"
