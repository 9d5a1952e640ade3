"""Find the corpus files that should be documents, and give each a stable doc id."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Files at the corpus root that configure kb rather than being documents.
CONFIG_FILES = frozenset({"organisations.toml", "topics.toml", "glossary.toml"})
# Folders holding configuration, not documents.
CONFIG_DIRS = frozenset({"reading-lists"})
SIDECAR_SUFFIXES = (".meta.toml", ".meta.yaml", ".meta.yml")


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    rel: str  # relative to the corpus, forward slashes
    doc_id: str
    size: int
    mtime_ns: int


def is_sidecar(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIXES)


def is_ignored(name: str) -> bool:
    """Hidden files and `_`-prefixed ones (sources, drafts) are not part of the corpus."""
    return name.startswith((".", "_", "~")) or name.endswith(("~", ".swp", ".tmp"))


def doc_id_for(rel: str) -> str:
    """`meetings/2024-04-24-forum-meeting.md` -> `meetings/2024-04-24-forum-meeting`."""
    stem, dot, _ = rel.rpartition(".")
    return stem if dot and "/" not in rel[len(stem) :] and stem else rel


def discover(corpus: Path) -> tuple[list[CorpusFile], list[tuple[str, str]]]:
    """Every candidate document under `corpus`, sorted by path; and the paths that could not
    be read (path, reason), so that nothing is dropped silently."""
    found: list[tuple[str, Path, os.stat_result]] = []
    problems: list[tuple[str, str]] = []

    def on_error(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename, corpus) if exc.filename else "."
        problems.append((rel.replace(os.sep, "/"), f"cannot read folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(corpus, onerror=on_error, followlinks=False):
        here = Path(dirpath)
        at_root = here == corpus
        dirnames[:] = sorted(
            d for d in dirnames if not is_ignored(d) and not (at_root and d in CONFIG_DIRS)
        )
        for name in sorted(filenames):
            if is_ignored(name) or is_sidecar(name) or (at_root and name in CONFIG_FILES):
                continue
            path = here / name
            rel = path.relative_to(corpus).as_posix()
            try:
                st = path.stat()
            except OSError as exc:  # vanished or unreadable between listing and stat
                problems.append((rel, f"cannot read file: {exc.strerror}"))
                continue
            if not path.is_file():
                continue
            found.append((rel, path, st))

    ids: dict[str, int] = {}
    for rel, _, _ in found:
        ids[doc_id_for(rel)] = ids.get(doc_id_for(rel), 0) + 1
    files = []
    for rel, path, st in found:
        doc_id = doc_id_for(rel)
        # Two files differing only by extension keep their extension in the id.
        files.append(
            CorpusFile(path, rel, rel if ids[doc_id] > 1 else doc_id, st.st_size, st.st_mtime_ns)
        )
    return files, problems
