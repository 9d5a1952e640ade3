"""File formats kb indexes: one `Format` entry each.

An entry says which file suffixes are the format, how the web serves an original of it, which
content types `kb add` accepts when it fetches a URL, and which extractor reads it. The
extractor is named as "module:function" and imported only when a file of the format is
extracted: `kb` never imports `indexer`, and a run that touched one Markdown file does not
pay for importing the PDF and HTML parsers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Format:
    """One file format and everything the layers need to know about it."""

    id: str  # stored in the index as the document's format
    label: str  # shown beside the link to the original
    suffixes: tuple[str, ...]  # lower case, with the dot; the first names downloaded files
    media_type: str  # how the web serves an original
    # Served as a download: a browser would run it (HTML), and originals are untrusted.
    as_attachment: bool
    extractor: str  # "module:function"
    # What the extractor is called with: `path` -> (path, time_limit=...), `bytes` -> (data,
    # path) for formats that sniff their own encoding, `text` -> (decoded text, path).
    reads: Literal["path", "bytes", "text"]
    content_types: tuple[str, ...] = ()  # accepted from a URL by `kb add`
    magic: bytes = b""  # leading bytes that identify a download whatever its content type
    metadata_source: str = "embedded metadata"  # what warnings call its declared metadata
    # What `Passage.page` counts: PDF pages, or slides of a deck (anchors `slide-N`).
    page_unit: Literal["page", "slide"] = "page"


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."

FORMATS: tuple[Format, ...] = (
    Format(
        "markdown", "Markdown", (".md", ".markdown", ".mdx"), "text/plain", False,
        "indexer.extract.markdown:extract_markdown", "text",
        content_types=("text/markdown", "text/x-markdown"),
        metadata_source="front matter",
    ),
    Format(
        "html", "HTML", (".html", ".htm"), "text/html", True,
        "indexer.extract.html:extract_html", "bytes",
        content_types=("text/html", "application/xhtml+xml"),
        metadata_source="HTML metadata",
    ),
    Format(
        "pdf", "PDF", (".pdf",), "application/pdf", False,
        "indexer.extract.pdf:extract_pdf", "path",
        content_types=("application/pdf", "application/x-pdf"),
        magic=b"%PDF-",
        metadata_source="PDF metadata",
    ),
    Format(
        "text", "text", (".txt", ".text"), "text/plain", False,
        "indexer.extract.text:extract_text", "text",
        content_types=("text/plain",),
    ),
    # Office and OpenDocument files are zip packages; `magic` stays empty since the zip
    # signature does not say which of them a download is.
    Format(
        "docx", "Word", (".docx", ".docm"), _OOXML + "wordprocessingml.document", False,
        "indexer.extract.docx:extract_docx", "path",
        content_types=(_OOXML + "wordprocessingml.document",),
        metadata_source="document properties",
    ),
    Format(
        "pptx", "PowerPoint", (".pptx", ".pptm"), _OOXML + "presentationml.presentation",
        False, "indexer.extract.pptx:extract_pptx", "path",
        content_types=(_OOXML + "presentationml.presentation",),
        metadata_source="document properties", page_unit="slide",
    ),
    Format(
        "xlsx", "Excel", (".xlsx", ".xlsm"), _OOXML + "spreadsheetml.sheet", False,
        "indexer.extract.xlsx:extract_xlsx", "path",
        content_types=(_OOXML + "spreadsheetml.sheet",),
        metadata_source="document properties",
    ),
    Format(
        "odt", "OpenDocument text", (".odt",), _ODF + "text", False,
        "indexer.extract.odf:extract_odt", "path",
        content_types=(_ODF + "text",), metadata_source="document properties",
    ),
    Format(
        "odp", "OpenDocument presentation", (".odp",), _ODF + "presentation", False,
        "indexer.extract.odf:extract_odp", "path",
        content_types=(_ODF + "presentation",), metadata_source="document properties",
        page_unit="slide",
    ),
    Format(
        "ods", "OpenDocument spreadsheet", (".ods",), _ODF + "spreadsheet", False,
        "indexer.extract.odf:extract_ods", "path",
        content_types=(_ODF + "spreadsheet",), metadata_source="document properties",
    ),
    Format(
        "eml", "e-mail", (".eml",), "message/rfc822", True,
        "indexer.extract.eml:extract_eml", "bytes",
        content_types=("message/rfc822",), metadata_source="message headers",
    ),
)  # fmt: skip


# Macro-enabled Office files are read as their plain kind, but carry their own media type, so
# the program that opens a downloaded original knows it may hold macros.
MACRO_MEDIA_TYPES = {
    ".docm": "application/vnd.ms-word.document.macroEnabled.12",
    ".pptm": "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
}


def media_type(fmt: Format, suffix: str) -> str:
    """The media type of a file of `fmt` named with `suffix` (`.docm` is not a `.docx`)."""
    return MACRO_MEDIA_TYPES.get(suffix.lower(), fmt.media_type)


def format_for_suffix(suffix: str) -> Format | None:
    """The format of a file suffix (`.md`, any case), or None when kb does not read it."""
    suffix = suffix.lower()
    return next((f for f in FORMATS if suffix in f.suffixes), None)


def get_format(format_id: str) -> Format | None:
    """The format with this id (as stored in the index), or None."""
    return next((f for f in FORMATS if f.id == format_id), None)


def page_unit(format_id: str) -> str:
    """What a passage's page number counts in a document of this format: "page" or "slide"."""
    fmt = get_format(format_id)
    return fmt.page_unit if fmt else "page"


def supported_suffixes() -> dict[str, str]:
    """Every suffix kb reads -> its format id."""
    return {suffix: f.id for f in FORMATS for suffix in f.suffixes}


def download_suffix(data: bytes, content_type: str) -> str | None:
    """The suffix a downloaded file is saved with: by its leading bytes, else by its content
    type; None when kb cannot index it."""
    for f in FORMATS:
        if f.magic and data.startswith(f.magic):
            return f.suffixes[0]
    for f in FORMATS:
        if content_type in f.content_types:
            return f.suffixes[0]
    return None


def accepted_content_types() -> str:
    """The HTTP Accept header of `kb add` for a URL: every content type a format takes."""
    types = [t for f in FORMATS for t in f.content_types]
    return ",".join([*dict.fromkeys(types), "text/*;q=0.8"])


def format_labels() -> str:
    """The formats kb reads, for messages: "Markdown, HTML, PDF, text"."""
    return ", ".join(f.label for f in FORMATS)
