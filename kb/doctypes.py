"""Document types and the friendly names people use for them.

Coordinators write `type: meeting report` in front matter and users type `type:minutes` in
the search box; both end up as one of `kb.models.DOC_TYPES`. The indexer also reads folder
names through `normalise_type` (`meetings/`, `riktlinjer/`).
"""

from __future__ import annotations

from kb.models import DOC_TYPES, TYPE_LABELS
from kb.text import fold

# Keys are folded (lower case, no accents, words separated by one space); plurals ending
# in -s need no entry of their own.
_ALIASES: dict[str, str] = {
    # meeting
    "meeting": "meeting",
    "meeting report": "meeting",
    "meeting minutes": "meeting",
    "meeting notes": "meeting",
    "report": "meeting",
    "minutes": "meeting",
    "forum": "meeting",
    "forum meeting": "meeting",
    "mote": "meeting",  # möte / møte
    "moter": "meeting",
    "moten": "meeting",
    "motesrapport": "meeting",
    "motesrapporter": "meeting",
    "moterapport": "meeting",
    "moterapporter": "meeting",
    "motesanteckningar": "meeting",
    "motesprotokoll": "meeting",
    "motereferat": "meeting",
    "referat": "meeting",
    "referater": "meeting",
    "protokoll": "meeting",
    "kokous": "meeting",
    "reunion": "meeting",
    "compte rendu": "meeting",
    # guide
    "guide": "guide",
    "guider": "guide",
    "best practice": "guide",
    "bestpractice": "guide",
    "best practice guide": "guide",
    "good practice": "guide",
    "guidance": "guide",
    "guideline": "guide",
    "handbook": "guide",
    "how to": "guide",
    "howto": "guide",
    "manual": "guide",
    "vagledning": "guide",
    "vagledningar": "guide",
    "riktlinje": "guide",
    "riktlinjer": "guide",
    "handbok": "guide",
    "handbocker": "guide",
    "veileder": "guide",
    "veiledere": "guide",
    "veiledning": "guide",
    "veiledninger": "guide",
    "retningslinjer": "guide",
    "vejledning": "guide",
    "vejledninger": "guide",
    "opas": "guide",
    "ohje": "guide",
    "leitfaden": "guide",
    "handleiding": "guide",
    # directive
    "directive": "directive",
    "regulation": "directive",
    "rule": "directive",
    "law": "directive",
    "policy": "directive",
    "policies": "directive",
    "direktiv": "directive",
    "foreskrift": "directive",
    "foreskrifter": "directive",
    "forskrift": "directive",
    "forskrifter": "directive",
    "forordning": "directive",
    "lag": "directive",
    "lagar": "directive",
    "lov": "directive",
    "lover": "directive",
    "richtlinie": "directive",
    "richtlijn": "directive",
    "reglement": "directive",
    # article
    "article": "article",
    "news": "article",
    "blog": "article",
    "blog post": "article",
    "post": "article",
    "press release": "article",
    "artikel": "article",
    "artiklar": "article",
    "artikler": "article",
    "artikkel": "article",
    "artikkeli": "article",
    "nyhet": "article",
    "nyheter": "article",
    "nyheder": "article",
    # other
    "other": "other",
    "about": "other",
    "page": "other",
    "misc": "other",
    "miscellaneous": "other",
    "ovrigt": "other",
    "annet": "other",
    "andet": "other",
}


def _key(value: str) -> str:
    """Folded, with `-`, `_` and `/` read as spaces: `Best-practice_guide` -> `best practice guide`."""
    return " ".join(fold(value).replace("_", " ").replace("-", " ").replace("/", " ").split())


def normalise_type(value: str) -> str | None:
    """Map a friendly type name ("best practice", "Meeting report") to a DOC_TYPES value.

    Accepts any case, accents or not, singular or plural, and the labels of
    `kb.models.TYPE_LABELS`; returns None for a value that names no type, so callers can
    warn or explain.
    """
    key = _key(str(value))
    if not key:
        return None
    if key in DOC_TYPES:
        return key
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    for doc_type, label in TYPE_LABELS.items():
        if key == _key(label):
            return doc_type
    return None
