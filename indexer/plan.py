"""What a run has to do: the corpus as discovered, compared with the last run's manifest.

A file is unchanged when its size, mtime and sidecar match the manifest; a file whose mtime
changed but whose sha256 did not is only touched. Everything else is to be extracted. Files
the manifest knew that are gone are deleted, except under a folder that could not be listed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from indexer.discover import CorpusFile, DiscoveryProblem
from indexer.report import Change, FileReport, FileStatus
from kb.manifest import Cause, EntryStatus, Manifest, ManifestEntry

ToExtract = list[tuple[CorpusFile, str]]  # each file with its sha256


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# The corpus files every document's description depends on: the vocabulary, and kb.toml's
# visibility defaults (a changed folder default must reach every document in that folder).
DESCRIPTION_INPUTS = ("organisations.toml", "topics.toml", "kb.toml")


def vocabulary_hash(corpus: Path) -> str:
    """Changes when organisations.toml, topics.toml or kb.toml does: every document is
    described anew."""
    h = hashlib.sha256()
    for name in DESCRIPTION_INPUTS:
        try:
            h.update((corpus / name).read_bytes())
        except OSError:
            h.update(b"-")
    return h.hexdigest()[:16]


@dataclass
class Plan:
    """The files to extract and to delete, and the new manifest with what is already known."""

    old: Manifest
    manifest: Manifest  # entries of files kept as they are, and of files newly unreadable
    todo: ToExtract = field(default_factory=list)
    deleted: list[ManifestEntry] = field(default_factory=list)
    dropped: list[ManifestEntry] = field(default_factory=list)  # indexed before, unreadable now
    files: list[FileReport] = field(default_factory=list)  # report lines of all but `todo`
    touched: bool = False  # some files changed mtime but not content
    dirty: bool = False  # some file newly failed before extraction (cannot be read)

    @property
    def manifest_only(self) -> bool:
        """Only the manifest has news (touched or newly unreadable files); the index has none."""
        return self.touched or self.dirty

    def change_of(self, path: str) -> Change:
        return Change.UPDATED if path in self.old.entries else Change.ADDED


def plan_run(
    files: list[CorpusFile],
    problems: list[DiscoveryProblem],
    old: Manifest,
    index_ids: set[str] | None,
) -> Plan:
    """Split the discovered files into unchanged (reported from the manifest), to extract and
    deleted. `index_ids`: the doc ids really in the index when the manifest cannot vouch for
    it (else None), so that the difference is repaired."""
    plan = Plan(
        old=old,
        manifest=Manifest(
            vocabulary_hash=old.vocabulary_hash,
            last_run=old.last_run,
            list_problems=old.list_problems,
            lists_signature=old.lists_signature,
        ),
    )
    seen = set()
    for cf in files:
        seen.add(cf.rel)
        prev = old.entries.get(cf.rel)
        vouched = prev is not None and (
            index_ids is None or not prev.indexed or set(prev.doc_ids) <= index_ids
        )
        same = vouched and prev.sidecar == cf.sidecar and prev.doc_id == cf.doc_id
        if same and prev.size == cf.size and prev.mtime_ns == cf.mtime_ns and not prev.retried:
            _keep(plan, prev)
            continue
        try:
            sha = file_sha256(cf.path)
        except OSError as exc:
            _unreadable(plan, cf, prev, f"cannot read file: {exc.strerror or exc}")
            continue
        if same and prev.sha256 == sha and not prev.retried:
            prev.size, prev.mtime_ns = cf.size, cf.mtime_ns  # touched, not changed
            plan.touched = True
            _keep(plan, prev)
            continue
        plan.todo.append((cf, sha))
    # A folder that cannot be listed hides its files; they are not deleted for that.
    hidden = tuple(
        "" if p.rel in (".", "") else p.rel.rstrip("/") + "/"  # "" hides all: the root itself
        for p in problems
        if p.cause is Cause.UNREADABLE_FOLDER
    )
    for rel, entry in old.entries.items():
        if rel in seen:
            continue
        if hidden and rel.startswith(hidden):
            _keep(plan, entry)
            continue
        plan.deleted.append(entry)
        plan.files.append(
            FileReport(entry.path, FileStatus.REMOVED, entry.doc_id, title=entry.title,
                       type=entry.type)
        )  # fmt: skip
    return plan


def _unreadable(plan: Plan, cf: CorpusFile, prev: ManifestEntry | None, reason: str) -> None:
    if prev is not None and prev.indexed:
        plan.dropped.append(prev)  # its old version leaves the index
    entry = ManifestEntry(cf.rel, cf.size, cf.mtime_ns, "", EntryStatus.FAILED, cf.doc_id,
                          reason=reason, sidecar=cf.sidecar, cause=Cause.UNREADABLE_FILE)  # fmt: skip
    if prev is not None and prev == entry:
        _keep(plan, prev)  # failed the same way last time: nothing new to remember
        return
    plan.dirty = True
    plan.manifest.entries[cf.rel] = entry
    plan.files.append(
        FileReport(cf.rel, FileStatus.FAILED, cf.doc_id, reason=reason,
                   change=Change.UPDATED if prev else Change.ADDED, cause=entry.cause)
    )  # fmt: skip


def _keep(plan: Plan, prev: ManifestEntry) -> None:
    plan.manifest.entries[prev.path] = prev
    plan.files.append(FileReport.of(prev, FileStatus.of(prev, extracted=False)))
