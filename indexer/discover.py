"""Find the corpus files that should be documents, and give each a stable doc id."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kb.manifest import Cause

# Files at the corpus root that configure kb rather than being documents.
CONFIG_FILES = frozenset({"organisations.toml", "topics.toml", "glossary.toml", "kb.toml"})
# Folders holding configuration, not documents.
CONFIG_DIRS = frozenset({"reading-lists"})
SIDECAR_SUFFIXES = (".meta.toml", ".meta.yaml", ".meta.yml")


@dataclass(frozen=True)
class CorpusFile:
    location: str  # absolute path (a string: discovery makes 10,000 of these per run)
    rel: str  # relative to the corpus, forward slashes
    doc_id: str
    size: int
    mtime_ns: int
    sidecar: str | None = None  # "name:size:mtime_ns" of its metadata sidecar, if it has one

    @property
    def path(self) -> Path:
        return Path(self.location)


class DiscoveryProblem(NamedTuple):
    """A path under the corpus that cannot become a document, and why."""

    rel: str
    reason: str
    cause: Cause


def is_sidecar(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIXES)


def is_ignored(name: str) -> bool:
    """Hidden files and `_`-prefixed ones (sources, drafts) are not part of the corpus."""
    return name.startswith((".", "_", "~")) or name.endswith(("~", ".swp", ".tmp"))


def name_problem(name: str) -> str | None:
    """Why a file or folder name cannot be part of a document id, or None when it can.

    Ids are the corpus path and travel through URLs (percent-encoded, so `#`, `?`, `%`,
    spaces and any Unicode round-trip), citations and the command line. A control
    character (a newline, a tab) cannot: a link with one answers 404 and a citation breaks
    across lines. A name that is not valid UTF-8 has no text form to put in a link.
    """
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for a byte that is not UTF-8
            return "the file name is not valid UTF-8: rename it to index it"
        if code < 0x20 or 0x7F <= code < 0xA0:
            what = _CONTROL_NAMES.get(char, "a control character")
            return f"the file name holds {what} (U+{code:04X}): rename it to index it"
    return None


def printable(rel: str) -> str:
    """A path as text that can be printed and stored: bytes that are not UTF-8 as `\\xe9`."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab"}


def doc_id_for(rel: str) -> str:
    """`meetings/2024-04-24-forum-meeting.md` -> `meetings/2024-04-24-forum-meeting`."""
    stem, dot, _ = rel.rpartition(".")
    return stem if dot and "/" not in rel[len(stem) :] and stem else rel


def sidecar_signature(path: Path, names: frozenset[str] | set[str] | None = None) -> str | None:
    """`name:size:mtime_ns` of the sidecar of `path` (the first that exists), or None.

    `names` (the file names in the folder, when the caller has listed it) saves a stat per
    candidate: only sidecars that exist are looked at.
    """
    return _sidecar(str(path.parent), path.name, names)


def _sidecar(folder: str, name: str, names: frozenset[str] | set[str] | None) -> str | None:
    for suffix in SIDECAR_SUFFIXES:
        candidate = name + suffix
        if names is not None and candidate not in names:
            continue
        try:
            st = os.stat(os.path.join(folder, candidate))
        except OSError:
            continue
        return f"{candidate}:{st.st_size}:{st.st_mtime_ns}"
    return None


def discover(corpus: Path) -> tuple[list[CorpusFile], list[DiscoveryProblem]]:
    """Every candidate document under `corpus`, sorted by path; and the paths that could not
    be read, so that nothing is dropped silently.

    Costs one stat per file (and per sidecar): this is the whole of a run that finds nothing
    to do, so it reads no file and keeps to plain strings.
    """
    found: list[tuple[str, str, str, int, int, str | None]] = []
    problems: list[DiscoveryProblem] = []
    root = str(corpus)
    real_root = os.path.realpath(root)

    def on_error(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename, corpus) if exc.filename else "."
        problems.append(
            DiscoveryProblem(
                rel.replace(os.sep, "/"),
                f"cannot read folder: {exc.strerror}",
                Cause.UNREADABLE_FOLDER,
            )
        )

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        at_root = dirpath == root
        dirnames[:] = sorted(
            d for d in dirnames if not is_ignored(d) and not (at_root and d in CONFIG_DIRS)
        )
        names = set(filenames)
        prefix = "" if at_root else os.path.relpath(dirpath, root).replace(os.sep, "/") + "/"
        for name in sorted(filenames):
            if is_ignored(name) or is_sidecar(name) or (at_root and name in CONFIG_FILES):
                continue
            location = os.path.join(dirpath, name)
            rel = prefix + name
            bad_name = name_problem(rel)
            if bad_name:
                problems.append(DiscoveryProblem(printable(rel), bad_name, Cause.BAD_NAME))
                continue
            try:
                st = os.lstat(location)
                if stat.S_ISLNK(st.st_mode):
                    # A link may point anywhere; only what lies inside the corpus is indexed.
                    target = os.path.realpath(location)
                    if not target.startswith(real_root + os.sep):
                        problems.append(
                            DiscoveryProblem(
                                rel,
                                "symlink to a file outside the corpus: not indexed",
                                Cause.OUTSIDE_CORPUS,
                            )
                        )
                        continue
                    st = os.stat(location)
            except OSError as exc:  # vanished or unreadable between listing and stat
                problems.append(
                    DiscoveryProblem(
                        rel, f"cannot read file: {exc.strerror}", Cause.UNREADABLE_FILE
                    )
                )
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append(
                    DiscoveryProblem(
                        rel,
                        "not a regular file (device, pipe or socket): not indexed",
                        Cause.NOT_A_FILE,
                    )
                )
                continue
            sidecar = _sidecar(dirpath, name, names)
            found.append((rel, doc_id_for(rel), location, st.st_size, st.st_mtime_ns, sidecar))

    ids: dict[str, int] = {}
    for _, doc_id, *_ in found:
        ids[doc_id] = ids.get(doc_id, 0) + 1
    # Two files differing only by extension keep their extension in the id.
    files = [
        CorpusFile(location, rel, rel if ids[doc_id] > 1 else doc_id, size, mtime_ns, sidecar)
        for rel, doc_id, location, size, mtime_ns, sidecar in found
    ]
    return files, problems


def has_reading_lists(corpus: Path) -> bool:
    try:
        return any((corpus / "reading-lists").glob("*.toml"))
    except OSError:
        return False


def lists_signature(corpus: Path) -> str:
    """Changes when a reading-list file is added, removed or edited."""
    entries = []
    try:
        for path in sorted((corpus / "reading-lists").glob("*.toml")):
            st = path.stat()
            entries.append((path.name, st.st_size, st.st_mtime_ns))
    except OSError:
        pass
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]
