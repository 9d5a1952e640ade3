"""Document types: one `DocType` entry each, and the friendly names people use for them.

Coordinators write `type: meeting report` in front matter and users type `type:minutes` in
the search box; both end up as the id of one entry of `TYPES`. The indexer also reads folder
names through `normalise_type` (`meetings/`, `riktlinjer/`), and `kb add` places a file in
its type's folder. Labels, plurals, folders, aliases, the title words that give a type away
and the kinds citation formats map it to all live in the entry, so a new type is one entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from kb.text import fold


@dataclass(frozen=True)
class DocType:
    """One document type and everything the layers need to know about it."""

    id: str  # stored in the index; the value of `type:` filters
    label: str  # one document: "Meeting report"
    plural: str  # several: "Meeting reports" (the web's type cards and chips)
    folder: str  # the corpus folder `kb add` puts it in; read back as an alias
    # Folded (lower case, no accents, words separated by one space); plurals ending in -s
    # need no entry of their own.
    aliases: tuple[str, ...] = ()
    # A regular expression on the folded title that gives the type away; the earliest match
    # in the title wins ("Meeting report: a new guide" is a meeting).
    title_words: str = ""
    bibtex: str = "misc"  # BibTeX entry type
    ris: str = "GEN"  # RIS `TY`
    csl: str = "document"  # CSL item type


# The order is the order of the web's type cards and of the types listed in help texts.
TYPES: tuple[DocType, ...] = (
    DocType(
        "meeting", "Meeting report", "Meeting reports", "meetings",
        aliases=(
            "meeting report", "meeting minutes", "meeting notes", "report", "minutes", "forum",
            "forum meeting",
            "mote",  # möte / møte
            "moter", "moten", "motesrapport", "motesrapporter", "moterapport", "moterapporter",
            "motesanteckningar", "motesprotokoll", "motereferat", "referat", "referater",
            "protokoll", "kokous", "reunion", "compte rendu",
        ),
        title_words=(
            r"\breport from\b|\bmeetings?\b|\bminutes\b|\bmotes(?:anteckningar|rapport)"
            r"|\bmote(?:referat|protokoll)|\breferat\b|\bprotokoll\b|\bkokous|\bcompte rendu\b"
        ),
        bibtex="techreport", ris="RPRT", csl="report",
    ),
    DocType(
        "guide", "Best-practice guide", "Best-practice guides", "guides",
        aliases=(
            "guider", "best practice", "bestpractice", "best practice guide", "good practice",
            "guidance", "guideline", "handbook", "how to", "howto", "manual", "vagledning",
            "vagledningar", "riktlinje", "riktlinjer", "handbok", "handbocker", "veileder",
            "veiledere", "veiledning", "veiledninger", "retningslinjer", "vejledning",
            "vejledninger", "opas", "ohje", "leitfaden", "handleiding",
        ),
        title_words=(
            r"\bguides?\b|\bguidelines?\b|\bbest[- ]practices?\b|\bhandbo(?:ok|k)\b"
            r"|\bvagledning|\bveiled(?:er|ning)|\bvejledning|\briktlinjer\b|\bhow to\b"
            r"|\bchecklists?\b|\bleitfaden\b|\bhandleiding\b"
        ),
        bibtex="techreport", ris="RPRT", csl="report",
    ),
    DocType(
        "directive", "Directive", "Directives", "directives",
        aliases=(
            "regulation", "rule", "law", "policy", "policies", "direktiv", "foreskrift",
            "foreskrifter", "forskrift", "forskrifter", "forordning", "lag", "lagar", "lov",
            "lover", "richtlinie", "richtlijn", "reglement",
        ),
        title_words=(
            r"\bdirectives?\b|\bregulations?\b|\bforskrift|\bforeskrift|\bforordning"
            r"|\bdirektiv|\brichtlini?e|\blag\b|\blov om\b|§"
        ),
        ris="LEGAL", csl="legislation",
    ),
    DocType(
        "article", "Article", "Articles", "articles",
        aliases=(
            "news", "blog", "blog post", "post", "press release", "artikel", "artiklar",
            "artikler", "artikkel", "artikkeli", "nyhet", "nyheter", "nyheder",
        ),
        # Nothing in a title says "article": only a folder or a declaration gives it.
        csl="article",
    ),
    DocType(
        "other", "Other", "Other documents", "about",
        aliases=(
            "about", "page", "misc", "miscellaneous", "ovrigt", "annet", "andet",
        ),
    ),
)  # fmt: skip
OTHER = "other"  # the type of a document nothing says anything about

DOC_TYPES: tuple[str, ...] = tuple(t.id for t in TYPES)
TYPE_LABELS: Mapping[str, str] = MappingProxyType({t.id: t.label for t in TYPES})
TYPE_PLURALS: Mapping[str, str] = MappingProxyType({t.id: t.plural for t in TYPES})


def type_entry(type_id: str) -> DocType:
    """The entry of a type id; an id no entry has (an old index) reads as `other`."""
    for entry in TYPES:
        if entry.id == type_id:
            return entry
    return type_entry(OTHER)


def _key(value: str) -> str:
    """Folded, with `-`, `_` and `/` read as spaces: `Best-practice_guide` -> `best practice guide`."""
    return " ".join(fold(value).replace("_", " ").replace("-", " ").replace("/", " ").split())


@cache
def _aliases() -> dict[str, str]:
    """Every friendly name (alias, folder, id) -> type id."""
    table: dict[str, str] = {}
    for entry in TYPES:
        for name in (entry.id, entry.folder, *entry.aliases):
            table[_key(name)] = entry.id
    return table


def normalise_type(value: str) -> str | None:
    """Map a friendly type name ("best practice", "Meeting report") to a type id.

    Accepts any case, accents or not, singular or plural, folders and the labels of the
    entries; returns None for a value that names no type, so callers can warn or explain.
    """
    key = _key(str(value))
    if not key:
        return None
    if key in DOC_TYPES:
        return key
    aliases = _aliases()
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        if candidate in aliases:
            return aliases[candidate]
    for entry in TYPES:
        if key == _key(entry.label):
            return entry.id
    return None
