"""Find member organisations and topics of the vocabulary in a document's text.

`EntityMatcher` compiles the vocabulary once into a few regular expressions; the indexer
builds one per run and reuses it for every document. Matching ignores case and accents
(`Skovde` finds Skövde) and accepts the endings names take in running text: `IKEA's`,
`Ikeas`, `Skövde kommuns`, `H&M:s`, `IKEA:n`. Names of three letters or fewer (`SEB`,
`DFØ`, `H&M`) must appear exactly as written, since in lower case they are ordinary words
or pieces of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.text import strip_accents
from kb.vocabulary import Vocabulary

# Endings of a name in running text: English and Nordic genitives (IKEA's, Ikeas,
# H&M:s), Finnish cases after a colon (IKEA:n, SEB:llä), a Finnish genitive (IKEAn).
_NAME_ENDING = r"(?:['’]s?|:[^\W\d_]{1,4}|s|n)?"
# A name must not be glued to other letters, digits or an ampersand (H&M inside AH&MB).
_BEFORE = r"(?<![\w&])"
_AFTER = r"(?![\w&])"
# Endings a four-letter keyword may take: plurals, definite forms, -ed, -ing.
_SHORT_WORD_ENDINGS = "(?:s|e|n|en|er|et|ar|or|es|ed|ing|na|ne)?"
# Names and keywords this short match only as written (case-sensitive, no endings).
_SHORT_LETTERS = 3


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _phrase(text: str) -> str:
    """Regex for a name or keyword whose words may be separated by any whitespace."""
    return r"\s+".join(re.escape(word) for word in text.split())


def _key(text: str) -> str:
    return " ".join(text.split())


def _alternation(phrases: Iterable[str]) -> str:
    # Longest first, so that "Skövde kommun" wins over "Skövde" at the same place.
    unique = sorted({p for p in phrases if p}, key=lambda p: (-len(p), p))
    return "|".join(_phrase(p) for p in unique)


def _inflection_allowance(keyword: str) -> int:
    """How many letters may follow a keyword's last word (see `_inflected`)."""
    length = _letters(keyword.split()[-1])
    return 5 if length >= 5 else 3 if length == 4 else 0


def _inflected(keyword: str) -> str:
    """Regex for a keyword in any inflected form: up to five more letters after a long
    last word (upphandling -> upphandlingar, livslängd -> livslängden), only common endings
    after a four-letter one (vikt -> vikten but not viktig), none after a shorter one."""
    allowance = _inflection_allowance(keyword)
    if allowance >= 5:
        ending = rf"[^\W\d_]{{0,{allowance}}}"
    elif allowance:
        ending = _SHORT_WORD_ENDINGS
    else:
        ending = ""
    return _phrase(keyword) + ending


def _keyword_alternation(keywords: Iterable[str]) -> str:
    # Longest first, so that "circular economy" wins over "circular" at the same place.
    return "|".join(_inflected(k) for k in sorted(set(keywords), key=lambda k: (-len(k), k)))


class EntityMatcher:
    """The vocabulary compiled for matching; build once, use for many documents."""

    def __init__(self, vocab: Vocabulary) -> None:
        self._vocab = vocab
        # Names are looked up by the text they matched, folded the same way as the text.
        self._org_by_name: dict[str, str] = {}
        self._org_by_short_name: dict[str, str] = {}
        for org in vocab.organisations:
            for name in org.names:
                if not name.strip():
                    continue
                plain = _key(strip_accents(name))
                if _letters(plain) <= _SHORT_LETTERS:
                    self._org_by_short_name.setdefault(plain, org.id)
                else:
                    self._org_by_name.setdefault(plain.lower(), org.id)
        self._org_pattern = _compile_names(self._org_by_name, _NAME_ENDING)
        self._short_org_pattern = _compile_names(self._org_by_short_name, _NAME_ENDING)

        self._topics_by_keyword: dict[str, list[str]] = {}
        self._topics_by_short_keyword: dict[str, list[str]] = {}
        for topic in vocab.topics:
            for keyword in topic.all_keywords:
                plain = _key(strip_accents(keyword))
                if not plain:
                    continue
                if _letters(plain) <= _SHORT_LETTERS and plain != plain.lower():
                    table, key = self._topics_by_short_keyword, plain
                else:
                    table, key = self._topics_by_keyword, plain.lower()
                if topic.id not in table.setdefault(key, []):
                    table[key].append(topic.id)
        self._keyword_pattern = (
            re.compile(
                _BEFORE + f"(?P<name>{_keyword_alternation(self._topics_by_keyword)})" + _AFTER
            )
            if self._topics_by_keyword
            else None
        )
        self._short_keyword_pattern = _compile_names(self._topics_by_short_keyword, "")

    @property
    def vocab(self) -> Vocabulary:
        return self._vocab

    def organisations(self, text: str) -> tuple[str, ...]:
        """Ids of the organisations `text` mentions, in order of first mention."""
        plain = strip_accents(text)
        mentions: list[tuple[int, str]] = []
        if self._org_pattern is not None:
            for match in self._org_pattern.finditer(plain.lower()):
                mentions.append((match.start(), self._org_by_name[_key(match["name"])]))
        if self._short_org_pattern is not None:
            for match in self._short_org_pattern.finditer(plain):
                mentions.append((match.start(), self._org_by_short_name[_key(match["name"])]))
        return tuple(dict.fromkeys(org_id for _, org_id in sorted(mentions)))

    def topic_hits(self, text: str, *, title: str | None = None) -> dict[str, tuple[int, bool]]:
        """For each topic mentioned: how many keyword hits, and whether the title has one.

        Ordered by first mention, the title counting as coming first.
        """
        hits: dict[str, list[int]] = {}
        in_title: set[str] = set()
        for part, is_title in ((title or "", True), (text, False)):
            for topic_id in self._topic_mentions(part):
                hits.setdefault(topic_id, [0])[0] += 1
                if is_title:
                    in_title.add(topic_id)
        return {topic_id: (n[0], topic_id in in_title) for topic_id, n in hits.items()}

    def topics(self, text: str, *, title: str | None = None, min_hits: int = 2) -> tuple[str, ...]:
        """Ids of topics with at least `min_hits` keyword hits, or one in the title.

        Most hits first; ties keep the order of first mention.
        """
        hits = self.topic_hits(text, title=title)
        chosen = [
            (count, order, topic_id)
            for order, (topic_id, (count, titled)) in enumerate(hits.items())
            if titled or count >= min_hits
        ]
        return tuple(topic_id for _, _, topic_id in sorted(chosen, key=lambda t: (-t[0], t[1])))

    def _topic_mentions(self, text: str) -> list[str]:
        """Topic ids for every keyword hit in `text`, in order of position."""
        if not text:
            return []
        plain = strip_accents(text)
        mentions: list[tuple[int, str]] = []
        if self._keyword_pattern is not None:
            for match in self._keyword_pattern.finditer(plain.lower()):
                for topic_id in self._keyword_topics(_key(match["name"])):
                    mentions.append((match.start(), topic_id))
        if self._short_keyword_pattern is not None:
            for match in self._short_keyword_pattern.finditer(plain):
                for topic_id in self._topics_by_short_keyword[_key(match["name"])]:
                    mentions.append((match.start(), topic_id))
        mentions.sort(key=lambda m: m[0])
        return [topic_id for _, topic_id in mentions]

    def _keyword_topics(self, matched: str) -> list[str]:
        """Topics of the keyword an inflected match came from (upphandlingar -> upphandling)."""
        for cut in range(6):
            keyword = matched[: len(matched) - cut]
            if keyword in self._topics_by_keyword and cut <= _inflection_allowance(keyword):
                return self._topics_by_keyword[keyword]
        return []


def _compile_names(names: Iterable[str], ending: str) -> re.Pattern[str] | None:
    alternation = _alternation(names)
    if not alternation:
        return None
    return re.compile(_BEFORE + f"(?P<name>{alternation}){ending}" + _AFTER)


def find_organisations(text: str, vocab: Vocabulary) -> tuple[str, ...]:
    """Ids of the organisations `text` mentions, in order of first mention.

    Compiles the vocabulary on every call; for many documents build an `EntityMatcher`.
    """
    return EntityMatcher(vocab).organisations(text)


def find_topics(
    text: str, vocab: Vocabulary, *, min_hits: int = 2, title: str | None = None
) -> tuple[str, ...]:
    """Ids of topics whose keywords occur `min_hits` times in `text` or once in `title`.

    Compiles the vocabulary on every call; for many documents build an `EntityMatcher`.
    """
    return EntityMatcher(vocab).topics(text, title=title, min_hits=min_hits)
