"""Highlighted, HTML-escaped snippets of passage text.

Matching mirrors the index: a word is highlighted when its accent-folded form is a query word,
when its stem (in the passage's language) is a query word's stem, or when it starts with a
query prefix. Everything else in the text is escaped, so a snippet is safe to put in a page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress

from kb.analysis import TOKEN_PATTERN, stem
from kb.text import fold

_TOKEN_RE = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class HighlightTerms:
    """What to mark: folded words, stems per language, and folded prefixes."""

    words: frozenset[str] = frozenset()
    stems: frozenset[tuple[str, str]] = frozenset()  # (language, stem)
    prefixes: tuple[str, ...] = ()
    languages: tuple[str, ...] = field(default=())
    # language -> token -> matches: a page's snippets test the same words over and over.
    _seen: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __bool__(self) -> bool:
        return bool(self.words or self.stems or self.prefixes)

    def matches(self, token: str, language: str) -> bool:
        return self.flags([token], language)[0]

    def flags(self, tokens: list[str], language: str) -> list[bool]:
        """Whether each token matches; each distinct token is looked at once per search."""
        seen = self._seen.get(language)
        if seen is None:
            seen = self._seen[language] = {}
        new = set(tokens).difference(seen)
        if new:
            words, stems, prefixes = self.words, self.stems, self.prefixes
            # Stemming is the costly part (Snowball in Python): only a token starting with
            # the same letter as one of the query's stems can share a stem with it (a stem
            # keeps its word's first letter, accents folded; tests/test_highlight.py).
            initials = frozenset(fold(s)[:1] for lang, s in stems if lang == language)
            for token in new:
                folded = _folded(token)
                seen[token] = (
                    folded in words
                    or bool(prefixes and folded.startswith(prefixes))
                    or (
                        folded[:1] in initials
                        and (language, stem(token.lower(), language)) in stems
                    )
                )
        return list(map(seen.__getitem__, tokens))


@lru_cache(maxsize=32_768)
def _folded(token: str) -> str:
    return fold(token.lower())


def mark_all(text: str, terms: HighlightTerms, language: str) -> tuple[str, int]:
    """The whole text escaped, with matches wrapped in <mark>; and the number of matches."""
    out: list[str] = []
    last = 0
    count = 0
    if terms:
        flags = terms.flags(_TOKEN_RE.findall(text), language)
        for m in compress(_TOKEN_RE.finditer(text), flags):
            out.append(html.escape(text[last : m.start()]))
            out.append(f"<mark>{html.escape(m.group())}</mark>")
            last = m.end()
            count += 1
    out.append(html.escape(text[last:]))
    return "".join(out), count


def snippet(text: str, terms: HighlightTerms, language: str, width: int = 280) -> str:
    """The densest window of about `width` characters, escaped and highlighted."""
    text = " ".join(text.split())
    if len(text) <= width:
        return mark_all(text, terms, language)[0]
    positions: list[int] = []
    if terms:
        flags = terms.flags(_TOKEN_RE.findall(text), language)
        if any(flags):
            positions = [m.start() for m in compress(_TOKEN_RE.finditer(text), flags)]
    start = 0
    if positions:
        best, best_count = positions[0], 0
        j = 0
        for i, pos in enumerate(positions):  # sliding window over match positions
            while positions[j] < pos - width // 2:
                j += 1
            if i - j + 1 > best_count:
                best, best_count = positions[j], i - j + 1
        start = max(0, best - width // 5)
        # Start on a word boundary.
        if start > 0:
            space = text.rfind(" ", 0, start)
            start = space + 1 if space >= 0 and start - space < 40 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    body, _ = mark_all(text[start:end], terms, language)
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")
