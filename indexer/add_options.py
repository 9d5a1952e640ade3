"""What `kb add` is told: the metadata options, checked and normalised, and the error for a
source that cannot be added."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import KbError


class AddError(KbError):
    """A source that cannot be added; the message names it and says why."""


@dataclass(frozen=True)
class AddMetadata:
    """Metadata given on the command line, already checked and normalised."""

    type: str | None = None
    date: str | None = None
    title: str | None = None
    organisations: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    language: str | None = None

    def sidecar_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.title:
            values["title"] = self.title
        if self.type:
            values["type"] = self.type
        if self.date:
            values["date"] = self.date
        if self.language:
            values["language"] = self.language
        if self.organisations:
            values["organisations"] = list(self.organisations)
        if self.topics:
            values["topics"] = list(self.topics)
        return values


def check_metadata(
    corpus: Path,
    *,
    doc_type: str | None = None,
    date: str | None = None,
    title: str | None = None,
    organisations: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    language: str | None = None,
) -> AddMetadata:
    """Validate the flags of `kb add`; AddError names the first bad one and what would do."""
    from indexer.dates import parse_date
    from indexer.language import normalise_language
    from kb.doctypes import normalise_type
    from kb.models import DOC_TYPES

    norm_type = None
    if doc_type is not None:
        norm_type = normalise_type(doc_type)
        if norm_type is None:
            raise AddError(f"--type {doc_type!r} is not a type; use one of {', '.join(DOC_TYPES)}")
    norm_date = None
    if date is not None:
        norm_date = parse_date(date)
        if norm_date is None:
            raise AddError(f"--date {date!r} is not a date; write it as YYYY-MM-DD")
    norm_lang = None
    if language is not None:
        norm_lang = normalise_language(language)
        if norm_lang is None:
            raise AddError(f"--lang {language!r} is not a language kb knows (en, sv, no, ...)")
    org_ids: list[str] = []
    topic_ids: list[str] = []
    if organisations or topics:
        from kb.vocabulary import load_vocabulary

        vocab = load_vocabulary(corpus)
        for value in organisations:
            org = vocab.organisation(value)
            if org is None:
                raise AddError(f"--org {value!r} is not in {corpus / 'organisations.toml'}; "
                               "use an id, name or alias from it, or add the organisation there")  # fmt: skip
            org_ids.append(org.id)
        for value in topics:
            topic = vocab.topic(value)
            if topic is None:
                raise AddError(f"--topic {value!r} is not in {corpus / 'topics.toml'}; "
                               "use a topic id or name from it, or add the topic there")  # fmt: skip
            topic_ids.append(topic.id)
    if title is not None and not title.strip():
        raise AddError("--title is empty")
    return AddMetadata(
        type=norm_type,
        date=norm_date,
        title=title.strip() if title else None,
        organisations=tuple(dict.fromkeys(org_ids)),
        topics=tuple(dict.fromkeys(topic_ids)),
        language=norm_lang,
    )
