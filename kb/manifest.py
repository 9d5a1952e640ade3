"""The indexer's manifest: what it knew about each corpus file when it last looked.

A manifest lives in its index generation (`manifest.json`). It records, per file, size,
mtime, sha256, the document id and what became of the file, so that the next run extracts
only what changed; and for the generation, the whoosh files of the commit it describes, the
last run's summary and the reading-list problems found against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class EntryStatus(StrEnum):
    """What became of a corpus file: in the index, deliberately left out, or failed."""

    INDEXED = "indexed"
    SKIPPED = "skipped"
    FAILED = "failed"


class Cause(StrEnum):
    """Why a file is not in the index. The reason text says it to people; this says it to
    code, so that no decision depends on the wording of a message."""

    UNREADABLE_FILE = "unreadable-file"  # the file could not be read (permissions, vanished)
    UNREADABLE_FOLDER = "unreadable-folder"  # a folder could not be listed: its files unknown
    OUTSIDE_CORPUS = "outside-corpus"  # a symlink to a file outside the corpus
    NOT_A_FILE = "not-a-file"  # a device, pipe or socket
    EXTRACTION = "extraction"  # the extractor refused the file or could not parse it
    NO_TEXT = "no-text"  # extracted, but nothing to index
    BAD_METADATA = "bad-metadata"  # its sidecar or front matter is invalid
    WORKER_DIED = "worker-died"  # the extraction process died on it
    OVER_LIMIT = "over-limit"  # over one of the corpus's limits (file size, CPU time)
    BAD_NAME = "bad-name"  # its path cannot be a document id (a control character)
    UNEXPECTED = "unexpected"  # an extractor bug
    IGNORED = "ignored"  # matched an ignore rule (a dot-name, `_sources/`, kb.toml's rules)

    @property
    def retried(self) -> bool:
        """Whether a file that failed this way is tried again even when it looks unchanged."""
        return self is Cause.UNREADABLE_FILE


_STATUSES = {s.value: s for s in EntryStatus}
_CAUSES = {c.value: c for c in Cause}


@dataclass
class ManifestEntry:
    """What the indexer knew about one corpus file when it last looked."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    status: EntryStatus
    doc_id: str | None = None
    passages: int = 0
    language: str | None = None
    reason: str | None = None
    sidecar: str | None = None  # signature of the sidecar metadata file, if any
    title: str | None = None
    type: str | None = None
    cause: Cause | None = None  # set when status is skipped or failed
    visibility: str | None = None  # who may read it (kb.access), when indexed
    # Doc ids of the documents inside the file (an e-mail's attachments), indexed with it.
    attachments: list[str] = field(default_factory=list)

    @property
    def doc_ids(self) -> list[str]:
        """Every document the file put in the index: its own, then its attachments'."""
        return ([self.doc_id] if self.doc_id else []) + self.attachments if self.indexed else []

    @property
    def indexed(self) -> bool:
        return self.status is EntryStatus.INDEXED

    @property
    def retried(self) -> bool:
        """A failed file tried again even when it looks unchanged: fixing a file's permissions
        or mounting a share does not change its mtime. A failure recorded without a cause (by
        an older kb) is tried again once, to learn it."""
        return self.status is EntryStatus.FAILED and (self.cause is None or self.cause.retried)


@dataclass
class Manifest:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    vocabulary_hash: str = ""
    updated_at: str = ""
    last_run: dict = field(default_factory=dict)
    list_problems: list[dict] = field(default_factory=list)
    # whoosh files of the commit this manifest describes: name -> [size, mtime_ns]
    index_files: dict[str, list[int]] = field(default_factory=dict)
    lists_signature: str = ""  # of the reading-list files list_problems was computed for

    def to_json(self) -> str:
        # One file per line: readable with `less`, compact enough for 10,000 files.
        head = json.dumps(
            {
                "vocabulary_hash": self.vocabulary_hash,
                "updated_at": self.updated_at,
                "last_run": self.last_run,
                "list_problems": self.list_problems,
                "index_files": self.index_files,
                "lists_signature": self.lists_signature,
            },
            ensure_ascii=False,
        )
        # vars(), not asdict(): the entries hold no nested dataclasses, and asdict's deep copy
        # of 10,000 of them would be most of a one-file run.
        encode = json.JSONEncoder(ensure_ascii=False).encode
        files = ",\n".join(
            encode(vars(e)) for e in sorted(self.entries.values(), key=lambda e: e.path)
        )
        return f'{head[:-1]}, "files": [\n{files}\n]}}\n'

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        entries = {f["path"]: _entry(f) for f in data.get("files", [])}
        return cls(
            entries=entries,
            vocabulary_hash=data.get("vocabulary_hash", ""),
            updated_at=data.get("updated_at", ""),
            last_run=data.get("last_run", {}),
            list_problems=data.get("list_problems", []),
            index_files=data.get("index_files", {}),
            lists_signature=data.get("lists_signature", ""),
        )


def _entry(data: dict) -> ManifestEntry:
    entry = ManifestEntry(**data)
    # Dictionary lookups, not Enum(value): a manifest holds 10,000 entries.
    entry.status = _STATUSES[entry.status]
    if entry.cause is not None:
        entry.cause = _CAUSES[entry.cause]
    return entry


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
