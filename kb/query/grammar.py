"""The query grammar: recursive descent over tokens, repairing instead of failing (an
unmatched parenthesis, a lone operator), each repair explained in `messages`."""

from __future__ import annotations

from dataclasses import dataclass

from kb.query.tree import All, Any, Node, Not

MAX_DEPTH = 20


@dataclass(frozen=True)
class Token:
    kind: str  # lparen rparen op term
    value: str = ""
    node: Node | None = None
    negated: bool = False


class Grammar:
    """Recursive descent over tokens; repairs instead of failing."""

    def __init__(self, tokens: list[Token], messages: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.messages = messages
        self.depth = 0

    def peek(self) -> Token | None:
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
