"""What an Office or OpenDocument file says about itself: its core properties.

OOXML keeps them in `docProps/core.xml` (Dublin Core: title, creator, created, language),
OpenDocument in `meta.xml` (the same Dublin Core names plus `meta:initial-creator` and
`meta:creation-date`). Both are read here the same way, with defusedxml, since the parts
are parsed directly rather than through a library. The values feed `Extraction.metadata`,
where a sidecar still wins over them and inference only fills what they lack.
"""

from __future__ import annotations

import zipfile
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from kb.text import parse_date

# The same clean-up as PDF info titles ("Microsoft Word - x.docx", "PowerPoint Presentation").
from .pdf_info import _clean_title as clean_title
from .text import collapse_whitespace, declared_language

_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"

# Part name -> (title, author, created, language, description, keywords) element names.
_PARTS = {
    "docProps/core.xml": (
        (f"{_DC}title",),
        (f"{_DC}creator",),
        (f"{_DCTERMS}created",),
        (f"{_DC}language",),
        (f"{_DC}description", f"{_DC}subject"),
        (f"{_CP}keywords",),
    ),
    "meta.xml": (
        (f"{_DC}title",),
        (f"{_META}initial-creator", f"{_DC}creator"),
        (f"{_META}creation-date", f"{_DC}date"),
        (f"{_DC}language",),
        (f"{_DC}description", f"{_DC}subject"),
        (f"{_META}keyword",),
    ),
}
_MAX_PART = 1024 * 1024  # core properties are a few hundred bytes


def _first(root: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        element = root.find(f".//{name}")
        if element is not None and element.text:
            text = collapse_whitespace(element.text)
            if text:
                return text
    return None


def core_properties(zf: zipfile.ZipFile, warnings: list[str]) -> dict[str, Any]:
    """Title, author, date, language, description and keywords from the package's
    properties part; {} when it has none. An unreadable part is a warning, not a failure."""
    for part, (title, author, created, language, description, keywords) in _PARTS.items():
        try:
            info = zf.getinfo(part)
        except KeyError:
            continue
        if info.file_size > _MAX_PART:
            warnings.append(f"document properties ignored: {part} is too large")
            return {}
        try:
            root = ElementTree.fromstring(zf.read(info))
        except (ElementTree.ParseError, DefusedXmlException, zipfile.BadZipFile) as error:
            warnings.append(f"document properties unreadable: {error}")
            return {}
        metadata: dict[str, Any] = {}
        if value := clean_title(_first(root, title)):
            metadata["title"] = value
        if value := _first(root, author):
            metadata["author"] = value
        if value := _first(root, description):
            metadata["description"] = value
        if date := parse_date(_first(root, created), embedded=True):
            metadata["date"] = date
        if value := declared_language([_first(root, language)]):
            metadata["language"] = value
        words = [
            collapse_whitespace(e.text)
            for name in keywords
            for e in root.iter(name)
            if e.text and e.text.strip()
        ]
        if len(words) == 1:  # OOXML keeps them in one string
            words = [w.strip() for w in words[0].replace(";", ",").split(",") if w.strip()]
        if words:
            metadata["keywords"] = words
        return metadata
    return {}
