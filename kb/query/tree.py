"""The tree a query becomes: plain, frozen data that compiling and ranking read."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TERMS = 48
FILTER_FIELDS = ("type", "year", "org", "topic", "lang")
SEARCH_FIELDS = ("title",)


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False
    field: str | None = None  # "title" for title:word


@dataclass(frozen=True)
class Phrase:
    """Words one right after the other. With `joined` (the word as typed: `IT-inköp`,
    `klima-/miljøkrav`), a hyphenated or slashed word: the whole word or any of its parts,
    the whole ranking first, never a strict phrase."""

    words: tuple[str, ...]
    field: str | None = None
    joined: str | None = None


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


def searched_words(node: Node | None) -> list[str]:
    """The words a query searches for, in order: its words and phrase words, without
    prefixes and excluded words."""
    if node is None:
        return []
    if isinstance(node, Word):
        return [] if node.prefix else [node.text]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Not):
        return []
    return [w for child in node.nodes for w in searched_words(child)]


def count_terms(node: Node | None) -> int:
    """How many words and phrases the tree holds."""
    if node is None:
        return 0
    if isinstance(node, Word | Phrase):
        return 1
    if isinstance(node, Not):
        return count_terms(node.node)
    return sum(count_terms(n) for n in node.nodes)


def limit_terms(node: Node | None, messages: list[str]) -> Node | None:
    """Keep the first MAX_TERMS terms: longer queries cost time without changing the answer."""
    if count_terms(node) <= MAX_TERMS:
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
