"""Compound words of Swedish, Norwegian and Danish: `klimatkrav` is `klimat` + `krav`.

The words come from the Hunspell dictionaries Debian packages (`hunspell-sv`, `hunspell-no`,
`hunspell-da`, from the LibreOffice dictionaries project): maintained word lists of 150,000
to 330,000 entries that also say which words may begin or end a compound (COMPOUNDFLAG,
COMPOUNDBEGIN/MIDDLE/END) and list the linking forms (`arbets` in `arbetsmiljö`). Reading the
two files is all kb needs of Hunspell, so no binding to its C library is involved. Finnish
compounds are left whole: Debian has no Hunspell dictionary for Finnish.

A word is split in two where both parts are dictionary words of at least MIN_PART letters
that may stand there, the first optionally followed by a linking `s` or `e`; the longest
possible last part wins (`mobiltelefon` -> `mobil` + `telefon`), and a first part that is
itself a compound is split again. Splitting works on the stemmed word, so inflected forms
split too (`miljøkravene` -> stem `miljøkrav` -> `miljø` + `krav`).

Without the dictionaries nothing is split: words are then found only whole, as before.
"""

from __future__ import annotations

import hashlib
import os
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Where Debian (and most Linux distributions) install Hunspell dictionaries.
DICTIONARY_DIRS = (Path("/usr/share/hunspell"), Path("/usr/share/myspell/dicts"))
DICTIONARIES = {"sv": "sv_SE", "no": "nb_NO", "da": "da_DK"}
LINKS = {"sv": ("s",), "no": ("s", "e"), "da": ("s", "e")}
MIN_PART = 4  # shorter parts split ordinary words (`bedrift` is not `bed` + `rift`)
MIN_WORD = 8
MAX_PARTS = 4
# Endings a stemmed last part may have lost (`telefon` for `telefoner`, `kravspesifikasjon`):
# the part counts when the dictionary holds it with one of these added.
_ENDINGS = ("", "e", "a", "er", "en", "ar", "or", "n", "et", "ad")


class WordSet:
    """A set of words kept as sorted 64-bit hashes: about 8 bytes a word, where a Python set
    of 300,000 strings takes some 30 MB of a server's memory. (No numpy: a small `kb index`
    run loads neither it nor this module's dictionaries unless a compound is met.)"""

    def __init__(self, words: Iterable[str] = (), hashes: array | None = None) -> None:
        found = {_hash(w) for w in words}
        if hashes is not None:
            found.update(hashes)
        self._hashes = array("Q", sorted(found))

    def __contains__(self, word: str) -> bool:
        h = _hash(word)
        i = bisect_left(self._hashes, h)
        return i < len(self._hashes) and self._hashes[i] == h

    def __len__(self) -> int:
        return len(self._hashes)


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Lexicon:
    """The words of one language (`words`), and those that may end a compound (`last`)."""

    words: WordSet  # may begin a compound
    last: WordSet
    flagged: bool = True  # whether `last` comes from the dictionary's compound flags

    def __bool__(self) -> bool:
        return bool(len(self.words) and len(self.last))


_EMPTY = Lexicon(WordSet(), WordSet(), False)


_lock = threading.Lock()
_lexicons: dict[str, Lexicon] = {}


def dictionary_dirs() -> tuple[Path, ...]:
    """The folders searched for dictionaries (`KB_HUNSPELL_DIR` first, when set)."""
    extra = os.environ.get("KB_HUNSPELL_DIR")
    return ((Path(extra),) if extra else ()) + DICTIONARY_DIRS


def lexicon(language: str) -> Lexicon:
    """The compound lexicon of `language` (empty when its dictionary is not installed)."""
    found = _lexicons.get(language)
    if found is not None:
        return found
    with _lock:
        if language not in _lexicons:
            _lexicons[language] = _load(language)
        return _lexicons[language]


def available(language: str) -> bool:
    return bool(lexicon(language))


def _load(language: str) -> Lexicon:
    name = DICTIONARIES.get(language)
    if name is None:
        return _EMPTY
    for folder in dictionary_dirs():
        dic, aff = folder / f"{name}.dic", folder / f"{name}.aff"
        if dic.is_file() and aff.is_file():
            try:
                return read_hunspell(dic, aff)
            except (OSError, LookupError, ValueError):
                # An unreadable or damaged word list splits nothing, like a missing one
                # (`kb index` then says compounds are not split); it never stops a run.
                return _EMPTY
    return _EMPTY


def read_hunspell(dic: Path, aff: Path) -> Lexicon:
    """The compound lexicon of one Hunspell dictionary (`.dic` words with `.aff` flags)."""
    settings: dict[str, str] = {}
    encoding = "utf-8"
    for line in aff.read_bytes().decode("latin-1").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in (
            "SET", "FLAG", "COMPOUNDFLAG", "COMPOUNDBEGIN", "COMPOUNDMIDDLE", "COMPOUNDEND",
        ):  # fmt: skip
            settings[parts[0]] = parts[1]
    if settings.get("SET", "").upper() not in ("", "UTF-8"):
        encoding = settings["SET"].lower()
    flag_kind = settings.get("FLAG", "char")
    anywhere = {settings[k] for k in ("COMPOUNDFLAG", "COMPOUNDMIDDLE") if k in settings}
    ends = anywhere | ({settings["COMPOUNDEND"]} if "COMPOUNDEND" in settings else set())
    # Hashes only, read line by line: the words themselves are never all held as strings.
    last, every = array("Q"), array("Q")
    with dic.open(encoding=encoding, errors="replace") as lines:
        next(lines, None)  # the word count
        for line in lines:
            word, _, flags = line.partition("/")
            word = word.split()[0].lower() if word.strip() else ""
            if len(word) < MIN_PART or not word.isalpha():
                continue
            h = _hash(word)
            every.append(h)
            flagset = _flags(flags.split()[0] if flags.strip() else "", flag_kind)
            if not ends or flagset & ends:
                last.append(h)
    # Swedish flags too few words as possible first parts (not `hållbarhet`): any word may
    # begin a compound. Danish flags under 1 % as possible last parts: flags that sparse say
    # little, and any word may end one too.
    # Where one flag marks the words allowed anywhere in a compound (Norwegian), it applies
    # to the first part too: `kont` + `roll` is not `kontroll`.
    flagged = len(last) >= len(every) // 100
    first = last if flagged and "COMPOUNDFLAG" in settings else every
    return Lexicon(WordSet(hashes=first), WordSet(hashes=last if flagged else every), flagged)


def _flags(text: str, kind: str) -> set[str]:
    if kind == "num":
        return {f for f in text.split(",") if f}
    if kind == "long":
        return {text[i : i + 2] for i in range(0, len(text), 2)}
    return set(text)


@lru_cache(maxsize=100_000)
def split(word: str, language: str) -> tuple[str, ...]:
    """The parts of a lower-cased (stemmed) compound, first to last; () for a word that is
    not one (or a language without a dictionary)."""
    if len(word) < MIN_WORD or language not in DICTIONARIES:
        return ()
    lex = lexicon(language)
    if not lex or (not lex.flagged and _listed(word, lex.words)):
        # Without flags to say which words end compounds, a word the dictionary lists is one
        # word (`transport`, not `tran` + `sport`): only compounds made for the occasion split.
        return ()
    return _split(word, lex, LINKS[language], MAX_PARTS)


def _listed(stemmed: str, words: WordSet) -> bool:
    return any(stemmed + ending in words for ending in _ENDINGS)


def _split(word: str, lex: Lexicon, links: tuple[str, ...], budget: int) -> tuple[str, ...]:
    for cut in range(MIN_PART, len(word) - MIN_PART + 1):
        head, tail = word[:cut], word[cut:]
        if not _is_last(tail, lex):
            continue
        first = _first(head, lex, links, budget - 1)
        if first:
            rest = _split(tail, lex, links, budget - len(first)) if budget > 2 else ()
            return (*first, *(rest or (tail,)))
    return ()


def _is_last(tail: str, lex: Lexicon) -> bool:
    return _listed(tail, lex.last)


def _first(head: str, lex: Lexicon, links: tuple[str, ...], budget: int) -> tuple[str, ...]:
    """`head` as the first part(s) of a compound, without its linking letter."""
    candidates = [head] + [head[: -len(s)] for s in links if head.endswith(s)]
    for candidate in candidates:
        if len(candidate) >= MIN_PART and candidate in lex.words:
            return (candidate,)
    if budget > 1 and len(head) >= 2 * MIN_PART:
        for candidate in candidates:
            inner = _split(candidate, lex, links, budget)
            if inner:
                return inner
    return ()
