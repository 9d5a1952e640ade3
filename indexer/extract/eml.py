"""E-mail messages (`.eml`): subject as title, sender and date as metadata, the text body.

The standard library's `email` package with `policy.default` decodes the headers (encoded
words, folded lines) and the transfer encodings. The body is the text/plain part when there
is one, else the HTML part read through kb's HTML extractor. The message lists its
attachments; those kb can read (PDF, Word, a text file...) are extracted here, through the same
checks as any corpus file, and become documents of their own linked to the message
(`Extraction.attachments`, made documents by `indexer.workers`).
"""

from __future__ import annotations

import tempfile
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from kb.formats import format_for_suffix
from kb.text import parse_date

from .base import Block, Extraction, ExtractionProblem, Skipped
from .text import collapse_whitespace, looks_binary, split_paragraphs

MAX_ATTACHMENTS = 20
_ATTACHMENTS_HEADING = "Attachments"


def _header(message: EmailMessage, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):  # a header the policy cannot parse
        return None
    return collapse_whitespace(str(value)) if value else None


def _sender(message: EmailMessage) -> str | None:
    value = _header(message, "from")
    if not value:
        return None
    names = [name or address for name, address in getaddresses([value]) if name or address]
    return ", ".join(names) or value


def _date(message: EmailMessage) -> str | None:
    try:
        header = message.get("date")
        moment = getattr(header, "datetime", None)
    except (ValueError, TypeError, IndexError):
        return None
    return parse_date(moment, embedded=True) if moment else None


def _content(part: EmailMessage) -> Any:
    try:
        return part.get_content()
    except (LookupError, ValueError, KeyError, AssertionError):  # unknown charset, bad base64
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _body_blocks(message: EmailMessage) -> list[Block]:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return []
    content = _content(body)
    if not isinstance(content, str):
        return []
    if body.get_content_subtype() == "html":
        from .html import extract_html

        try:
            return extract_html(content.encode("utf-8")).blocks
        except ExtractionProblem:
            return []
    paragraphs = split_paragraphs(content)
    return [Block("\n\n".join(paragraphs))] if paragraphs else []


def _attachment(
    name: str, data: bytes, folder: Path, warnings: list[str], time_limit: float
) -> Extraction | None:
    """One attachment extracted, or None when kb does not read its format or refuses it; a
    message inside a message is listed, not read."""
    from . import extract_file

    suffix = Path(name).suffix.lower()
    fmt = format_for_suffix(suffix)
    if fmt is None or fmt.id == "eml":
        return None
    path = folder / f"attachment{suffix}"
    path.write_bytes(data)
    try:
        return extract_file(path, time_limit=time_limit)
    except ExtractionProblem as problem:
        warnings.append(f"attachment {name} not indexed: {problem.reason}")
        return None
    finally:
        path.unlink(missing_ok=True)


# What the `email` package raises on a message whose structure it cannot follow.
_MESSAGE_FAILURES = (ValueError, LookupError, TypeError, IndexError, AttributeError)


def extract_eml(data: bytes, path: Path | None = None, time_limit: float = 30.0) -> Extraction:
    """Subject, sender, date, text body and attachments of an e-mail message."""
    if looks_binary(data[:4096]):
        raise Skipped("not an e-mail message: binary content")
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        if not isinstance(message, EmailMessage) or not message.keys():
            raise Skipped("not an e-mail message: no headers")
        return _extract(message, time_limit)
    except _MESSAGE_FAILURES as error:
        raise Skipped(f"unreadable e-mail message: {type(error).__name__}: {error}") from None


def _extract(message: EmailMessage, time_limit: float) -> Extraction:
    warnings: list[str] = []
    metadata: dict[str, Any] = {}
    if sender := _sender(message):
        metadata["author"] = sender
    if date := _date(message):
        metadata["date"] = date
    if language := _header(message, "content-language"):
        metadata["language"] = language
    blocks = _body_blocks(message)
    attachments = list(message.iter_attachments())
    listed: list[str] = []
    extracted: list[tuple[str, Extraction]] = []
    # One time limit for the message and all its attachments, not one per attachment.
    ends_at = time.process_time() + time_limit
    with tempfile.TemporaryDirectory(prefix="kb-eml-") as folder:
        for number, part in enumerate(attachments, start=1):
            name = collapse_whitespace(part.get_filename() or "") or f"attachment {number}"
            name = name.replace("/", "-").replace("\\", "-")  # a name, never a path
            listed.append(f"{name} ({part.get_content_type()})")
            if number > MAX_ATTACHMENTS:
                continue
            left = ends_at - time.process_time()
            payload = part.get_payload(decode=True)
            if left <= 0:
                warnings.append(f"attachment {name} not indexed: time limit of the message spent")
            elif isinstance(payload, bytes) and payload:
                found = _attachment(name, payload, Path(folder), warnings, left)
                if found is not None:
                    extracted.append((name, found))
    if len(attachments) > MAX_ATTACHMENTS:
        warnings.append(f"attachments past the first {MAX_ATTACHMENTS} not read")
    if listed:
        blocks.append(Block("\n\n".join(listed), (_ATTACHMENTS_HEADING,)))
    if not blocks:
        raise Skipped("no text content")
    return Extraction(
        format="eml",
        title=_header(message, "subject"),
        blocks=blocks,
        metadata=metadata,
        warnings=warnings,
        attachments=extracted,
    )
