"""Staging a source for `kb add`: fetched or found, extracted once to be sure kb can index
it, and given its type and its file name in the corpus. No lock is held: a slow server never
blocks other writers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from indexer.add_options import AddError, AddMetadata
from indexer.fetch import fetch, is_url

if TYPE_CHECKING:
    from indexer.extract.base import Extraction

DEFAULT_TYPE = "article"  # what a page or file says nothing about is most likely an article


@dataclass
class Staged:
    source: str
    file: Path  # the bytes to place (a temporary file for a URL)
    name: str  # file name in the corpus
    doc_type: str  # decides the folder
    source_url: str | None = None
    in_corpus: str | None = None  # the source is already this corpus file: no copy
    named: bool = False  # --name given: place it there even if the same bytes are elsewhere


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


def _check_visibility(
    source: str, in_corpus: Path | None, extraction: Extraction, meta: AddMetadata, corpus: Path
) -> None:
    """Refuse a file whose own visibility value the index run would refuse, before it is
    placed in the corpus (`indexer.visibility`): --visibility does not excuse a bad one."""
    from indexer.metadata import declared_sources, read_sidecar
    from indexer.visibility import decide_visibility
    from kb.errors import ConfigError, InvalidVisibility
    from kb.vocabulary import load_vocabulary

    try:
        existing = read_sidecar(in_corpus) if in_corpus else {}
    except ConfigError:
        existing = {}  # a broken sidecar is reported when it is rewritten (write_sidecar)
    sidecar = {**existing, **meta.sidecar_values()}
    try:
        sources = declared_sources(sidecar, extraction)
        if any("visibility" in data for _, data in sources):
            decide_visibility(source, sources, load_vocabulary(corpus))
    except InvalidVisibility as exc:
        raise AddError(f"{source}: {exc}") from None


def stage(
    source: str, corpus: Path, meta: AddMetadata, tmp: Path, name: str | None,
    timeout: float, max_bytes: int, index: Path | None = None,
) -> Staged:  # fmt: skip
    """Fetch or find `source`, make sure kb can index it, and decide its type and name.
    `index`: the index folder, whose OCR cache the check shares with the indexing after it."""
    from indexer.extract import SUPPORTED_SUFFIXES, ExtractionProblem, extract_file, extract_options

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
        extraction = extract_file(file, options=extract_options(corpus, index))
    except ExtractionProblem as exc:
        raise AddError(f"{source}: kb cannot index it: {exc.reason}") from None
    _check_visibility(source, file if in_corpus else None, extraction, meta, corpus)
    doc_type = _decide_type(meta, extraction)
    if in_corpus:
        return Staged(source, file, PurePosixPath(in_corpus).name, doc_type, None, in_corpus)
    suffix = file.suffix.lower()
    if name:
        final_name = _clean_name(name, suffix)
    elif url:
        title = meta.title or extraction.metadata.get("title") or extraction.title
        final_name = _name_for_url(url, title if isinstance(title, str) else None, suffix)
    else:
        final_name = _clean_name(file.name, suffix)
    return Staged(source, file, final_name, doc_type, url, named=bool(name))
