"""'Did you mean': the closest frequent word of the index for a word it does not contain.

The index's words (the folded exact field) are read once per snapshot and grouped by first
letter; a correction keeps the first letter and is at most two edits away (Levenshtein:
insert, delete, replace), as whoosh's own corrector did. rapidfuzz compares a word with a
group of words in compiled code: well under a millisecond for the tens of thousands of
words of a 100,000-passage index, where walking whoosh's edit-distance automaton over the
term dictionary in Python took over 100 ms.
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

MAX_EDITS = 2
CHOICES = 3  # closest candidates the most frequent is chosen from


class Speller:
    """Corrections from the words of one field of a snapshot's index.

    Shared by the server's threads: it keeps words only, and each call reads frequencies
    through the calling thread's own reader (whoosh readers are not thread-safe).
    """

    def __init__(self, reader, fieldname: str) -> None:
        self._fieldname = fieldname
        groups: dict[str, list[str]] = {}
        for term in reader.lexicon(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if word:
                groups.setdefault(word[0], []).append(word)
        # One string per letter, split when asked: a few MB at 100,000 passages, against
        # about 10 MB for the words as separate strings; splitting costs under a millisecond.
        self._groups = {letter: "\n".join(words) for letter, words in groups.items()}

    def candidates(self, word: str) -> list[tuple[int, str]]:
        """(edits, word) for the index's words at most MAX_EDITS edits from `word` (folded),
        with its first letter, `word` itself left out; hidden words included, so callers
        filter by what the reader may see."""
        if not word:
            return []
        group = self._groups.get(word[0])
        if not group:
            return []
        found = process.extract(
            word,
            group.split("\n"),
            scorer=Levenshtein.distance,
            score_cutoff=MAX_EDITS,
            limit=None,
        )
        return [(distance, term) for term, distance, _ in found if term != word]

    def correct(
        self,
        word: str,
        reader,
        visible: Callable[[str], int] | None = None,
        accept: Callable[[str], bool] | None = None,
    ) -> str | None:
        """The correction for `word`, or None when nothing is close enough; `reader`: the
        calling thread's reader of the same snapshot. `visible(term)`, when given, is in how
        many passages the reader may see a term occurs: only such terms are suggested, and
        they are weighed by those passages alone (a word only hidden documents hold is never
        offered, and hidden documents do not sway the choice). `accept(term)`, when given,
        keeps only the words it accepts (those of the query's languages: kb.didyoumean).

        Among words one edit away, the three most frequent; when there are fewer than three,
        the closest and most frequent of those up to two edits away. Of these, the one in the
        most passages wins: a common word two edits away beats a rare one a single edit away
        only when few words are that close.
        """
        candidates = self.candidates(word)
        fieldname = self._fieldname
        if visible is not None:
            counts = {term: visible(term) for _, term in candidates}
            candidates = [c for c in candidates if counts[c[1]] > 0]
        if accept is not None:
            candidates = [c for c in candidates if accept(c[1])]
        if not candidates:
            return None

        def frequency(term: str) -> float:
            if visible is not None:
                return counts[term] or 1
            return reader.frequency(fieldname, term) or 1

        def doc_frequency(term: str) -> int:
            return counts[term] if visible is not None else reader.doc_frequency(fieldname, term)

        near = [c for c in candidates if c[0] == 1]
        pool = near if len(near) >= CHOICES else candidates
        # Closest first, then the more frequent: whoosh's suggestion order.
        pool = sorted(pool, key=lambda c: (c[0] + 0.5 / frequency(c[1]), c[1]))[:CHOICES]
        return max(pool, key=lambda c: doc_frequency(c[1]))[1]
