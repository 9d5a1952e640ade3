"""What `kb add` is told, once checked (`indexer.add.check_metadata`), and the error for a
source that cannot be added."""

from __future__ import annotations

from dataclasses import dataclass
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
    visibility: str | None = None  # canonical (str(kb.access.Visibility))

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
        if self.visibility:
            values["visibility"] = self.visibility
        return values
