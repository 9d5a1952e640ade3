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
    spans = _match_spans(text, terms, language)
    return _render(text, spans, 0, len(text)), len(spans)


def _match_spans(text: str, terms: HighlightTerms, language: str) -> list[tuple[int, int]]:
    """Where the matching words of `text` are (start, end), in order."""
    if not terms:
        return []
    flags = terms.flags(_TOKEN_RE.findall(text), language)
    if not any(flags):
        return []
    return [m.span() for m in compress(_TOKEN_RE.finditer(text), flags)]


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """`text[start:end]` escaped, with the `spans` (inside it, in order) wrapped in <mark>."""
    out: list[str] = []
    last = start
    for a, b in spans:
        out.append(html.escape(text[last:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        last = b
    out.append(html.escape(text[last:end]))
    return "".join(out)


def _word_start(text: str, pos: int) -> int:
    """Where the word holding `pos` starts (the next word's start when `pos` is a space).
    `text` has its whitespace collapsed to single spaces."""
    return text.rfind(" ", 0, pos + 1) + 1


def snippet(text: str, terms: HighlightTerms, language: str, width: int = 280) -> str:
    """The densest window of about `width` characters, escaped and highlighted.

    The window starts and ends between words, never inside one: a word cut in two ("pphandling",
    "miljö-kr") reads as a different word. A word longer than the window is shown whole."""
    text = " ".join(text.split())
    if len(text) <= width:
        return mark_all(text, terms, language)[0]
    # The text is read for matches once: the window is marked from the same spans (it
    # starts and ends between words, so it holds whole words only).
    matches = _match_spans(text, terms, language)
    start, shown_to = 0, 0  # shown_to: the window ends after this, so the best match shows
    if matches:
        positions = [pos for pos, _ in matches]
        best, best_count = 0, 0
        j = 0
        for i, pos in enumerate(positions):  # sliding window over match positions
            while positions[j] < pos - width // 2:
                j += 1
            if i - j + 1 > best_count:
                best, best_count = j, i - j + 1
        first, shown_to = matches[best]
        start = _word_start(text, max(0, first - width // 5))
        if first - start > width // 2:  # a long word before the match: start at the match's
            start = _word_start(text, first)
    end = max(start + width, shown_to)
    if end < len(text) and text[end] != " ":
        space = text.rfind(" ", start, end)  # back to the end of the last whole word...
        if space > max(start + width // 2, shown_to - 1):
            end = space
        else:  # ... or, when that would cut the match or leave little, past the long word
            space = text.find(" ", end)
            end = space if space >= 0 else len(text)
    end = min(end, len(text))
    if text[end - 1] == " ":  # the window ended just before a word
        end -= 1
    body = _render(text, [(a, b) for a, b in matches if a >= start and b <= end], start, end)
    return ("… " if start > 0 else "") + body + (" …" if end < len(text) else "")
