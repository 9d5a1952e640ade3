"""`kb add`: bring files and web pages into the corpus, describe them, index them.

A source is a file or an http(s) URL. Each is staged first (fetched into a temporary folder,
and extracted once to make sure kb can index it), without the writer lock: a slow server
never blocks other writers. Then, holding the lock, each staged file is placed in the folder
of its type (`meetings/`, `guides/`, ...), a sidecar `<file>.meta.toml` records the metadata
given on the command line (and the URL, as `source_url`, for citations), and one incremental
index run makes them searchable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from indexer.build import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_SOME_FAILED,
    IndexReport,
    IndexRun,
    Progress,
    file_sha256,
)
from kb.errors import KbError
from kb.settings import Settings
from kb.store import IndexStore

TYPE_FOLDERS = {
    "meeting": "meetings",
    "guide": "guides",
    "directive": "directives",
    "article": "articles",
    "other": "about",
}
DEFAULT_TYPE = "article"  # what a page or file says nothing about is most likely an article
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
SIDECAR_SUFFIX = ".meta.toml"
_CONTENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "application/x-pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
}
# Key order of a written sidecar; keys found in an existing sidecar follow.
_SIDECAR_ORDER = ("title", "type", "date", "language", "organisations", "topics", "source_url")


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
    from kb.doctypes import normalise_type
    from kb.models import DOC_TYPES
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


# ---- results ----------------------------------------------------------------------------------


@dataclass
class SourceResult:
    source: str
    status: str  # added | replaced | described (only its sidecar changed) | unchanged | failed
    path: str | None = None  # where it is in the corpus
    doc_id: str | None = None
    permalink: str | None = None
    reason: str | None = None
    source_url: str | None = None
    indexed: str | None = None  # the file's status in the index run


@dataclass
class AddReport:
    sources: list[SourceResult] = field(default_factory=list)
    index: IndexReport | None = None

    @property
    def exit_code(self) -> int:
        """0 every source is in the index; 2 nothing was written (every source failed before
        reaching the corpus); 1 anything in between."""
        failed = [s for s in self.sources if s.status == "failed"]
        if not failed:
            return EXIT_OK
        if all(s.status == "failed" and s.path is None for s in self.sources):
            return EXIT_FATAL
        return EXIT_SOME_FAILED

    def to_dict(self) -> dict:
        return {
            "sources": [asdict(s) for s in self.sources],
            "index": self.index.to_dict() if self.index else None,
        }


# ---- staging: fetch or check each source, no lock held ----------------------------------------


@dataclass
class _Staged:
    source: str
    file: Path  # the bytes to place (a temporary file for a URL)
    name: str  # file name in the corpus
    doc_type: str  # decides the folder
    source_url: str | None = None
    in_corpus: str | None = None  # the source is already this corpus file: no copy
    named: bool = False  # --name given: place it there even if the same bytes are elsewhere


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in ("http", "https")


def fetch(url: str, dest_dir: Path, *, timeout: float, max_bytes: int) -> Path:
    """Download `url` into `dest_dir` (as `download.<ext>` by content type); AddError on any
    failure, saying what happened: HTTP status, timeout, size, unsupported content."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": "kb/0.1 (kb add; knowledge base of an IT buyers' network)",
            "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,text/*;q=0.8",
        },
    )
    deadline = time.monotonic() + timeout
    limit = _megabytes(max_bytes)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise AddError(f"{url}: too large ({_megabytes(int(length))}, limit {limit})")
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise AddError(f"{url}: too large (more than {limit}, the limit)")
                if time.monotonic() > deadline:
                    raise AddError(f"{url}: not downloaded within {timeout:g} seconds")
                chunks.append(chunk)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        raise AddError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise AddError(f"{url}: no answer within {timeout:g} seconds") from None
        raise AddError(f"{url}: cannot fetch it: {exc.reason}") from None
    except TimeoutError:
        raise AddError(f"{url}: no answer within {timeout:g} seconds") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise AddError(f"{url}: cannot fetch it: {exc}") from None
    data = b"".join(chunks)
    if not data:
        raise AddError(f"{url}: the server sent an empty answer")
    suffix = ".pdf" if data.startswith(b"%PDF-") else _CONTENT_TYPES.get(content_type)
    if suffix is None:
        raise AddError(f"{url}: kb cannot index {content_type} (web pages, PDF and text only)")
    path = dest_dir / f"download{suffix}"
    path.write_bytes(data)
    return path


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def _slug(text: str) -> str:
    from kb.text import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:80].rstrip("-")


def _name_for_url(url: str, title: str | None, suffix: str) -> str:
    parts = urlsplit(url)
    last = PurePosixPath(unquote(parts.path)).name
    stem = _slug(last.rsplit(".", 1)[0] if "." in last else last)
    if stem in ("", "index", "default", "download", "view"):
        stem = _slug(title or "") or _slug(parts.hostname or "") or "page"
    return stem + suffix


def _clean_name(name: str, suffix: str) -> str:
    """A file name discovery will not ignore, with the source's extension."""
    name = PurePosixPath(name.replace("\\", "/")).name.lstrip("._~").strip()
    if not name:
        raise AddError("the file name is empty once hidden-file prefixes are removed")
    if not name.lower().endswith(suffix.lower()):
        name += suffix
    return name


def _decide_type(meta: AddMetadata, extraction) -> str:
    """--type, else what the file declares, else words of its title, else article."""
    from indexer.metadata import infer_type
    from kb.doctypes import normalise_type

    if meta.type:
        return meta.type
    declared = extraction.metadata.get("type")
    if isinstance(declared, str) and (doc_type := normalise_type(declared)):
        return doc_type
    title = meta.title or extraction.metadata.get("title") or extraction.title
    inferred = infer_type("", title if isinstance(title, str) else None)
    return DEFAULT_TYPE if inferred == "other" else inferred


def _stage(
    source: str, corpus: Path, meta: AddMetadata, tmp: Path, name: str | None,
    timeout: float, max_bytes: int,
) -> _Staged:  # fmt: skip
    from indexer.extract import SUPPORTED_SUFFIXES, ExtractionProblem, extract_file

    url = source if is_url(source) else None
    if url:
        folder = tmp / str(len(list(tmp.iterdir())))
        folder.mkdir()
        file = fetch(url, folder, timeout=timeout, max_bytes=max_bytes)
        in_corpus = None
    else:
        if "://" in source:
            raise AddError(f"{source}: only files and http(s) URLs can be added")
        file = Path(source).expanduser()
        if not file.exists():
            raise AddError(f"{source}: no such file")
        if not file.is_file():
            raise AddError(f"{source}: not a file (add the files in a folder one by one)")
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise AddError(f"{source}: kb cannot index {file.suffix or 'files without extension'}"
                           f" (it reads {', '.join(sorted(SUPPORTED_SUFFIXES))})")  # fmt: skip
        resolved = file.resolve()
        in_corpus = (
            resolved.relative_to(corpus).as_posix() if resolved.is_relative_to(corpus) else None
        )
    try:
        extraction = extract_file(file)
    except ExtractionProblem as exc:
        raise AddError(f"{source}: kb cannot index it: {exc.reason}") from None
    doc_type = _decide_type(meta, extraction)
    if in_corpus:
        return _Staged(source, file, PurePosixPath(in_corpus).name, doc_type, None, in_corpus)
    suffix = file.suffix.lower()
    if name:
        final_name = _clean_name(name, suffix)
    elif url:
        title = meta.title or extraction.metadata.get("title") or extraction.title
        final_name = _name_for_url(url, title if isinstance(title, str) else None, suffix)
    else:
        final_name = _clean_name(file.name, suffix)
    return _Staged(source, file, final_name, doc_type, url, named=bool(name))


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


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if key == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value  # a TOML date, as coordinators write it
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON strings are TOML basic strings
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value("", v) for v in value) + "]"
    raise AddError(f"cannot rewrite the sidecar: key {key!r} has a value kb cannot write back")


def sidecar_text(values: dict[str, Any]) -> str:
    keys = [k for k in _SIDECAR_ORDER if k in values] + sorted(
        k for k in values if k not in _SIDECAR_ORDER
    )
    lines = ["# Metadata for kb (see README: sidecar metadata); written by `kb add`."]
    lines += [f"{k} = {_toml_value(k, values[k])}" for k in keys]
    return "\n".join(lines) + "\n"


def _write_sidecar(doc: Path, given: dict[str, Any]) -> bool:
    """Merge `given` into the document's sidecar (given values win); True when it changed.

    Keys already there stay, so adding a title never loses a description written by hand.
    """
    from indexer.metadata import read_sidecar, sidecar_paths

    existing_paths = [p for p in sidecar_paths(doc) if p.is_file()]
    try:
        current = read_sidecar(doc)
    except KbError as exc:
        raise AddError(f"{exc}; fix or delete it, then add again") from None
    merged = {**current, **given}
    target = doc.with_name(doc.name + SIDECAR_SUFFIX)
    text = sidecar_text(merged)
    if existing_paths == [target] and merged == current:
        return False
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    tmp = target.with_name(f".{target.name}.kb-add-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    for other in existing_paths:
        if other != target:
            other.unlink()  # its keys are in the TOML one now; two sidecars are an error
    return True


def _known_files(settings: Settings) -> dict[str, str]:
    """sha256 -> path of the corpus files the current index knows, to spot a re-added file."""
    gen = IndexStore(settings.index).current_or_none()
    manifest = gen.read_manifest() if gen else None
    return {e.sha256: e.path for e in manifest.entries.values()} if manifest else {}


def _already_there(staged: _Staged, corpus: Path, known: dict[str, str]) -> str | None:
    rel = known.get(file_sha256(staged.file))
    if rel and (corpus / rel).is_file() and file_sha256(corpus / rel) == file_sha256(staged.file):
        return rel
    return None


def _place(
    staged: _Staged, corpus: Path, meta: AddMetadata, replace: bool, known: dict[str, str]
) -> SourceResult:
    # A local file already in the corpus under another name is not copied twice; a page
    # fetched from a new URL is a new document even when its bytes match another one.
    skip = staged.in_corpus or staged.named or staged.source_url
    same = None if skip else _already_there(staged, corpus, known)
    if staged.in_corpus or same:
        rel = staged.in_corpus or same or ""
        dest = corpus / rel
        status = "unchanged"
    else:
        rel = f"{TYPE_FOLDERS[staged.doc_type]}/{staged.name}"
        dest = corpus / rel
        _check_doc_id_free(corpus, rel)
        if dest.exists():
            if not dest.is_file():
                raise AddError(f"{staged.source}: {rel} exists in the corpus and is not a file")
            if file_sha256(dest) == file_sha256(staged.file):
                status = "unchanged"
            elif not replace:
                raise AddError(f"{staged.source}: a different file {rel} is already in the "
                               "corpus; pass --replace to overwrite it, or --name to add it "
                               "under another name")  # fmt: skip
            else:
                _copy_atomically(staged.file, dest)
                status = "replaced"
        else:
            _copy_atomically(staged.file, dest)
            status = "added"
    given = meta.sidecar_values()
    if staged.source_url:
        given["source_url"] = staged.source_url
    if given and _write_sidecar(dest, given) and status == "unchanged":
        status = "described"
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
        staged: list[tuple[int, _Staged]] = []
        for i, source in enumerate(sources):
            try:
                staged.append(
                    (i, _stage(source, corpus, meta, Path(tmp_dir), name, timeout, max_bytes))
                )
            except AddError as exc:
                results[i] = SourceResult(source, "failed", reason=str(exc))
        if staged:
            store = IndexStore(settings.index)
            with store.writer_lock(wait=wait):
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
                        results[i] = SourceResult(item.source, "failed", reason=str(exc))
                    except OSError as exc:
                        results[i] = SourceResult(item.source, "failed",
                                                  reason=f"{item.source}: cannot write it into "
                                                  f"the corpus: {exc.strerror or exc}")  # fmt: skip
                if placed:
                    report.index = IndexRun(settings, workers=workers, progress=progress).run()
                    store.cleanup()
    report.sources = [results[i] for i in range(len(sources))]
    by_path = {f.path: f for f in report.index.files} if report.index else {}
    for result in report.sources:
        if result.status == "failed":
            continue
        indexed = by_path.get(result.path or "")
        if indexed is None:
            result.status = "failed"
            result.reason = (f"{result.path}: kb does not index this path (a name starting "
                             "with _ or ., or a configuration folder)")  # fmt: skip
            continue
        result.doc_id = indexed.doc_id
        result.indexed = indexed.status
        if indexed.status in ("indexed", "unchanged"):
            result.permalink = permalink(settings.base_url, indexed.doc_id or "")
        else:
            result.status = "failed"
            result.reason = (f"{result.path} is in the corpus but was not indexed: "
                             f"{indexed.reason}")  # fmt: skip
    return report
