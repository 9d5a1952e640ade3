"""The query as kb read it (`read_as`), in the query language itself."""

from __future__ import annotations

from kb.query.tree import FILTER_FIELDS, All, Filters, Node, Not, Phrase, Word


def render(node: Node | None, filters: Filters) -> str:
    """The query as it was read, in the query language: terms first, then filters."""
    parts = [_render_node(node, top=True)] if node is not None else []
    for sign, table in (("", filters.include), ("-", filters.exclude)):
        for name in FILTER_FIELDS:
            for value in sorted(table.get(name, ())):
                parts.append(f"{sign}{name}:{value}")
    return " ".join(p for p in parts if p)


def _render_node(node: Node, top: bool = False) -> str:
    if isinstance(node, Word):
        return f"{node.field + ':' if node.field else ''}{node.text}{'*' if node.prefix else ''}"
    if isinstance(node, Phrase) and node.joined:
        return f"{node.field + ':' if node.field else ''}{node.joined}"
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
