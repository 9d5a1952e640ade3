"""Reading the text of WordprocessingML and DrawingML elements, shared by `.docx` and `.pptx`.

python-docx and python-pptx parse the parts with lxml and a parser that neither resolves
entities nor loads DTDs; the parts read here directly (Strict OOXML, footnotes, notes) go
through the same kind of parser. Text is read from the elements by local name, so the
Transitional and Strict namespaces read alike.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

# No entity resolution, no DTD, no network, no multi-gigabyte trees: Office XML never
# needs any of them (the package checks already refused any part with a DTD).
SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=False
)
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_BREAKS = frozenset({"tab", "br", "cr", "ptab"})


def parse_part(blob: bytes) -> Any:
    """An XML part parsed with `SAFE_PARSER`."""
    return etree.fromstring(blob, parser=SAFE_PARSER)


def local(element: Any) -> str:
    """The element's name without its namespace ("" for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def drop_fallbacks(root: Any) -> None:
    """Remove markup-compatibility fallbacks: they repeat a text box's text for old readers."""
    for fallback in list(root.iter(_MC_FALLBACK)):
        parent = fallback.getparent()
        if parent is not None:
            parent.remove(fallback)


def element_text(element: Any) -> str:
    """All text runs under `element` (text boxes, inserted revisions, fields' results), in
    order; deleted revisions (`delText`) and field codes (`instrText`) are other elements."""
    pieces: list[str] = []
    for node in element.iter():
        name = local(node)
        if name == "t" and node.text:
            pieces.append(node.text)
        elif name in _BREAKS:
            pieces.append(" ")
    return "".join(pieces)
