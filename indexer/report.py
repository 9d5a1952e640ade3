"""What an index run did, file by file: the report `kb index`, `kb check` and `kb add` print."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kb.manifest import Cause, EntryStatus, ManifestEntry

EXIT_OK, EXIT_SOME_FAILED, EXIT_FATAL = 0, 1, 2


class FileStatus(StrEnum):
    """What a run did with a file (the values are those of `kb index --json`)."""

    INDEXED = "indexed"  # extracted and written in this run
    UNCHANGED = "unchanged"  # in the index already, as it is now
    REMOVED = "removed"  # gone from the corpus, so from the index
    SKIPPED = "skipped"  # deliberately not indexed
    FAILED = "failed"  # should have been indexed but could not be
    IGNORED = "ignored"  # matched an ignore rule; `reason` names the rule

    @classmethod
    def of(cls, entry: ManifestEntry, *, extracted: bool) -> FileStatus:
        """The status of a file whose manifest entry this is: unchanged unless `extracted`."""
        if entry.status is EntryStatus.INDEXED:
            return cls.INDEXED if extracted else cls.UNCHANGED
        return cls(entry.status.value)


class Change(StrEnum):
    """Whether a file extracted in this run is new to the index or replaces a version."""

    ADDED = "added"
    UPDATED = "updated"


@dataclass
class FileReport:
    path: str
    status: FileStatus
    doc_id: str | None = None
    passages: int = 0
    language: str | None = None
    reason: str | None = None
    title: str | None = None
    type: str | None = None
    warnings: list[str] = field(default_factory=list)
    change: Change | None = None  # for files extracted (or newly failed) in this run
    cause: Cause | None = None  # why it is skipped or failed; not part of the JSON report
    visibility: str | None = None  # who may read it, for an indexed file (kb.access)
    attachments: list[str] = field(default_factory=list)  # an e-mail's attached documents

    @classmethod
    def of(
        cls,
        entry: ManifestEntry,
        status: FileStatus,
        warnings: list[str] | None = None,
        change: Change | None = None,
    ) -> FileReport:
        """The report line of a file from its manifest entry."""
        return cls(
            entry.path, status, entry.doc_id, entry.passages, entry.language, entry.reason,
            entry.title, entry.type, warnings or [], change, entry.cause, entry.visibility,
            list(entry.attachments),
        )  # fmt: skip


_COUNTED = [s.value for s in FileStatus] + [c.value for c in Change]


@dataclass
class IndexReport:
    files: list[FileReport] = field(default_factory=list)
    generation: str | None = None
    rebuilt: bool = False
    written: bool = False
    notes: list[str] = field(default_factory=list)
    list_problems: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 1  # extraction processes used (1: in this process)

    @property
    def summary(self) -> dict[str, int]:
        """Counts per status, and `added` + `updated` = `indexed`."""
        counts = dict.fromkeys(_COUNTED, 0)
        for f in self.files:
            counts[f.status] += 1
            if f.status is FileStatus.INDEXED and f.change is not None:
                counts[f.change] += 1
        return counts

    @property
    def up_to_date(self) -> bool:
        return not self.written and not self.rebuilt

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.summary[FileStatus.FAILED] else EXIT_OK

    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status is FileStatus.FAILED]

    def to_dict(self) -> dict:
        return {
            "summary": self.summary,
            "generation": self.generation,
            "rebuilt": self.rebuilt,
            "written": self.written,
            "up_to_date": self.up_to_date,
            "notes": self.notes,
            "reading_list_problems": self.list_problems,
            "elapsed_s": round(self.elapsed_s, 3),
            "workers": self.workers,
            "files": [_file_dict(f) for f in self.files],
        }


def _file_dict(report: FileReport) -> dict:
    data = dict(vars(report))  # not asdict: its deep copy is slow at 10,000 files
    del data["cause"]
    return data
