"""`kb add`: bring files and web pages into the corpus, describe them, index them.

A source is a file or an http(s) URL. Each is staged first (`indexer.staging`: fetched into a
temporary folder, and extracted once to make sure kb can index it), without the writer lock.
Then, holding the lock, each staged file is placed in the folder of its type (`meetings/`,
`guides/`, ...), a sidecar `<file>.meta.toml` records the metadata given on the command line
(and the URL, as `source_url`, for citations), and one index run through the same entry
point as `kb index` (`indexer.build`) makes them searchable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from indexer.add_options import AddError, AddMetadata
from indexer.build import writing
from indexer.fetch import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from indexer.plan import file_sha256
from indexer.report import EXIT_FATAL, EXIT_OK, EXIT_SOME_FAILED, FileStatus, IndexReport
from indexer.run import Progress
from indexer.sidecars import write_sidecar
from indexer.staging import Staged, stage
from kb.doctypes import type_entry
from kb.errors import KbError
from kb.settings import Settings
from kb.store import IndexStore

if TYPE_CHECKING:
    from kb.vocabulary import Vocabulary


class SourceStatus(StrEnum):
    """What became of a source (the values are those of `kb add --json`)."""

    ADDED = "added"
    REPLACED = "replaced"
    DESCRIBED = "described"  # only its sidecar changed
    UNCHANGED = "unchanged"
    FAILED = "failed"


def check_metadata(
    corpus: Path,
    *,
    doc_type: str | None = None,
    date: str | None = None,
    title: str | None = None,
    organisations: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    language: str | None = None,
    visibility: str | None = None,
) -> AddMetadata:
    """Validate the flags of `kb add`; AddError names the first bad one and what would do."""
    from kb.doctypes import DOC_TYPES, normalise_type
    from kb.text import normalise_language, parse_date

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
    norm_visibility = None
    if organisations or topics or visibility is not None:
        from kb.vocabulary import load_vocabulary

        vocab = load_vocabulary(corpus)
        if visibility is not None:
            norm_visibility = _checked_visibility(visibility, vocab)
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
        visibility=norm_visibility,
    )


def _checked_visibility(value: str, vocab: Vocabulary) -> str:
    from kb.access import parse_visibility
    from kb.errors import InvalidVisibility

    try:
        return str(parse_visibility(value, vocab))
    except InvalidVisibility as exc:
        raise AddError(f"--visibility {value!r}: {exc}") from None


# ---- results ----------------------------------------------------------------------------------


@dataclass
class SourceResult:
    source: str
    status: SourceStatus
    path: str | None = None  # where it is in the corpus
    doc_id: str | None = None
    permalink: str | None = None
    reason: str | None = None
    source_url: str | None = None
    indexed: FileStatus | None = None  # the file's status in the index run
    visibility: str | None = None  # who may read it (kb.access), once indexed


@dataclass
class AddReport:
    sources: list[SourceResult] = field(default_factory=list)
    index: IndexReport | None = None

    @property
    def exit_code(self) -> int:
        """0 every source is in the index; 2 nothing was written (every source failed before
        reaching the corpus); 1 anything in between."""
        failed = [s for s in self.sources if s.status is SourceStatus.FAILED]
        if not failed:
            return EXIT_OK
        if all(s.status is SourceStatus.FAILED and s.path is None for s in self.sources):
            return EXIT_FATAL
        return EXIT_SOME_FAILED

    def to_dict(self) -> dict:
        return {
            "sources": [asdict(s) for s in self.sources],
            "index": self.index.to_dict() if self.index else None,
        }


# ---- placing: copy and describe, with the lock held ------------------------------------------


def _copy_atomically(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.kb-add-{os.getpid()}")  # hidden: never indexed half
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _known_files(settings: Settings) -> dict[str, str]:
    """sha256 -> path of the corpus files the current index knows, to spot a re-added file."""
    gen = IndexStore(settings.index).current_or_none()
    manifest = gen.read_manifest() if gen else None
    return {e.sha256: e.path for e in manifest.entries.values()} if manifest else {}


def _already_there(staged: Staged, corpus: Path, known: dict[str, str]) -> str | None:
    rel = known.get(file_sha256(staged.file))
    if rel and (corpus / rel).is_file() and file_sha256(corpus / rel) == file_sha256(staged.file):
        return rel
    return None


def _place(
    staged: Staged, corpus: Path, meta: AddMetadata, replace: bool, known: dict[str, str]
) -> SourceResult:
    # A local file already in the corpus under another name is not copied twice; a page
    # fetched from a new URL is a new document even when its bytes match another one.
    skip = staged.in_corpus or staged.named or staged.source_url
    same = None if skip else _already_there(staged, corpus, known)
    if staged.in_corpus or same:
        rel = staged.in_corpus or same or ""
        dest = corpus / rel
        status = SourceStatus.UNCHANGED
    else:
        rel = f"{type_entry(staged.doc_type).folder}/{staged.name}"
        dest = corpus / rel
        _check_doc_id_free(corpus, rel)
        if dest.exists():
            if not dest.is_file():
                raise AddError(f"{staged.source}: {rel} exists in the corpus and is not a file")
            if file_sha256(dest) == file_sha256(staged.file):
                status = SourceStatus.UNCHANGED
            elif not replace:
                raise AddError(f"{staged.source}: a different file {rel} is already in the "
                               "corpus; pass --replace to overwrite it, or --name to add it "
                               "under another name")  # fmt: skip
            else:
                _copy_atomically(staged.file, dest)
                status = SourceStatus.REPLACED
        else:
            _copy_atomically(staged.file, dest)
            status = SourceStatus.ADDED
    given = meta.sidecar_values()
    if staged.source_url:
        given["source_url"] = staged.source_url
    if given and write_sidecar(dest, given) and status is SourceStatus.UNCHANGED:
        status = SourceStatus.DESCRIBED
    return SourceResult(staged.source, status, rel, source_url=staged.source_url)


def _check_doc_id_free(corpus: Path, rel: str) -> None:
    """Refuse a name whose doc id another file already has (`report.md` beside a new
    `report.pdf`): both would change id, and the existing document's permalinks would break."""
    from indexer.discover import doc_id_for, is_ignored, is_sidecar

    dest = corpus / rel
    if not dest.parent.is_dir():
        return
    doc_id = doc_id_for(rel)
    for sibling in dest.parent.iterdir():
        name = sibling.name
        if name == dest.name or is_ignored(name) or is_sidecar(name) or not sibling.is_file():
            continue
        if doc_id_for(f"{PurePosixPath(rel).parent}/{name}") == doc_id:
            raise AddError(f"{rel}: {PurePosixPath(rel).parent}/{name} already has the document "
                           f"id {doc_id}; add the file under another name with --name")  # fmt: skip


def add_sources(
    settings: Settings,
    sources: list[str],
    meta: AddMetadata,
    *,
    replace: bool = False,
    name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    wait: float = 0.0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """Stage, place and index `sources`; a source that fails is reported, the rest go on."""
    from kb.documents import permalink

    corpus = settings.corpus
    if not corpus.is_dir():
        raise KbError(f"corpus folder {corpus} does not exist")
    if name and len(sources) > 1:
        raise AddError("--name applies to one source only")
    report = AddReport()
    results: dict[int, SourceResult] = {}
    with tempfile.TemporaryDirectory(prefix="kb-add-") as tmp_dir:
        staged: list[tuple[int, Staged]] = []
        for i, source in enumerate(sources):
            try:
                found = stage(source, corpus, meta, Path(tmp_dir), name, timeout, max_bytes,
                              settings.index)  # fmt: skip
                staged.append((i, found))
            except AddError as exc:
                results[i] = SourceResult(source, SourceStatus.FAILED, reason=str(exc))
        if staged:
            with writing(settings, wait=wait) as writer:
                placed: set[str] = set()
                known = _known_files(settings)
                for i, item in staged:
                    try:
                        result = _place(item, corpus, meta, replace, known)
                        if result.path in placed:
                            raise AddError(f"{item.source}: another source is also {result.path}")
                        placed.add(result.path)
                        results[i] = result
                    except AddError as exc:
                        results[i] = SourceResult(item.source, SourceStatus.FAILED, reason=str(exc))
                    except OSError as exc:
                        results[i] = SourceResult(item.source, SourceStatus.FAILED,
                                                  reason=f"{item.source}: cannot write it into "
                                                  f"the corpus: {exc.strerror or exc}")  # fmt: skip
                if placed:
                    report.index = writer.run(workers=workers, progress=progress)
    report.sources = [results[i] for i in range(len(sources))]
    by_path = {f.path: f for f in report.index.files} if report.index else {}
    for result in report.sources:
        if result.status is SourceStatus.FAILED:
            continue
        indexed = by_path.get(result.path or "")
        if indexed is None:
            result.status = SourceStatus.FAILED
            result.reason = (f"{result.path}: kb does not index this path (a name starting "
                             "with _ or ., or a configuration folder)")  # fmt: skip
            continue
        result.doc_id = indexed.doc_id
        result.indexed = indexed.status
        result.visibility = indexed.visibility
        if indexed.status in (FileStatus.INDEXED, FileStatus.UNCHANGED):
            result.permalink = permalink(settings.base_url, indexed.doc_id or "")
        else:
            result.status = SourceStatus.FAILED
            result.reason = (f"{result.path} is in the corpus but was not indexed: "
                             f"{indexed.reason}")  # fmt: skip
    return report
