"""Plain-text extraction, plus the small text helpers every format extractor shares.

The helpers live here rather than in a `utils` module because they are all about turning
bytes into plain text: decoding, binary sniffing, whitespace and paragraphs. Dates and
language tags are `kb.text`'s.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path

from kb.text import normalise_language

from .base import Block, Extraction, Skipped

# A title longer than this is a paragraph that happens to come first, not a title.
MAX_TITLE_CHARS = 120

# How much of a file to inspect when deciding whether it is text at all.
_SNIFF_BYTES = 64 * 1024

# Control characters other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13))

# Zero-width characters and stray BOMs carry no text but break tokens apart.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE_RE = re.compile(r"\s+")
_BLANK_LINES_RE = re.compile(r"\n[ \t\f\v\r\u00a0]*\n\s*")


def _utf16_bom(data: bytes) -> str | None:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def looks_binary(data: bytes) -> bool:
    """True when `data` is not text: NUL bytes or many control characters in its head.

    UTF-16 text (recognised by its BOM) is full of NUL bytes, so it is checked first.
    """
    if _utf16_bom(data):
        return False
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    # Real text has next to no control characters; a few percent means a binary format.
    return controls / len(head) > 0.05


def decode_text(data: bytes) -> str:
    """Decode the bytes of a Markdown or plain-text file.

    UTF-8 (with or without BOM) first, then UTF-16 by BOM, then cp1252, which maps
    nearly every byte and matches what Western European editors produce when not UTF-8.
    Raises `Skipped` for binary content behind a text extension.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if _utf16_bom(data):
        return data.decode("utf-16", errors="replace")
    if looks_binary(data):
        raise Skipped("binary content in a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def collapse_whitespace(text: str) -> str:
    """All runs of whitespace (including no-break spaces) to one space; zero-width characters out."""
    return _SPACE_RE.sub(" ", _INVISIBLE_RE.sub("", text)).strip()


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, each with its lines joined and whitespace collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    paragraphs = (collapse_whitespace(chunk) for chunk in _BLANK_LINES_RE.split(text))
    return [p for p in paragraphs if p]


def declared_language(values: Iterable[object]) -> str | None:
    """The language a file declares: the first of `values` that names one of kb's languages,
    else the first text given, kept as written so that the metadata step reports it."""
    texts = [value.strip() for value in values if isinstance(value, str) and value.strip()]
    known = (code for text in texts if (code := normalise_language(text)))
    return next(known, texts[0] if texts else None)


# --- the plain-text extractor -------------------------------------------------------------


def extract_text(text: str, path: Path | None = None) -> Extraction:
    """One block of paragraphs (split on blank lines); the first line is the title when short."""
    paragraphs = split_paragraphs(text)
    if not paragraphs:
        raise Skipped("no text content")
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = collapse_whitespace(first_line) if len(first_line) < MAX_TITLE_CHARS else None
    return Extraction(
        format="text",
        title=title or None,
        blocks=[Block(text="\n\n".join(paragraphs))],
    )
