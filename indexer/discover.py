"""Find the corpus files that should be documents, and give each a stable doc id.

Every file under the corpus is accounted for: a candidate document, a problem (unreadable,
outside the corpus, not a file) or ignored by a rule, with the rule named. By default only
dot-files and dot-folders (`.git`, `.DS_Store`, editors' `.swp` files) and the folder of
generated files' sources (`_sources/` at the corpus root) are ignored; `kb.toml` adds rules
in gitignore syntax (`[index] ignore = ["drafts/**", "*.tmp"]`). A folder ignored as a whole
is reported once, as `folder/`: nothing inside an ignored folder is read. Configuration
(`kb.toml`, the vocabularies, `reading-lists/`) and metadata sidecars are read as part of
the corpus's description and are not reported as files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from kb.errors import ConfigError
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
    """Hidden files and folders (a name starting with a dot) are not part of the corpus."""
    return name.startswith(".")


# The default rules, in gitignore syntax, as reports name them.
DOT_RULE = ".*"
SOURCES_DIR = "_sources"  # sources of generated corpus files (`make pdfs`), at the root
SOURCES_RULE = f"/{SOURCES_DIR}/"
IGNORE_TABLE, IGNORE_KEY = "index", "ignore"


@dataclass(frozen=True)
class IgnoreRules:
    """Which paths under the corpus are not documents: the defaults, then `kb.toml`'s
    `[index] ignore` patterns (gitignore syntax, matched against the path under the corpus,
    a folder's with a trailing slash)."""

    patterns: tuple[str, ...] = ()
    _spec: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, patterns: list[str] | tuple[str, ...]) -> IgnoreRules:
        """Rules from gitignore-style patterns (the configured ones; the defaults always apply)."""
        if not patterns:
            return cls()
        import pathspec  # gitignore semantics (anchoring, `**`, negation), not a home-made glob

        return cls(tuple(patterns), pathspec.GitIgnoreSpec.from_lines(patterns))

    def match(self, rel: str, *, folder: bool, at_root: bool) -> str | None:
        """Why `rel` is ignored (the reason shown in reports), or None when it is not."""
        name = rel.rstrip("/").rpartition("/")[2]
        if is_ignored(name):
            return f"ignored: hidden (default rule `{DOT_RULE}`)"
        if folder and at_root and name == SOURCES_DIR:
            return f"ignored: sources of generated files (default rule `{SOURCES_RULE}`)"
        if self._spec is None:
            return None
        result = self._spec.check_file(rel + "/" if folder else rel)
        if not result.include:
            return None
        return (
            f"ignored: kb.toml [{IGNORE_TABLE}] {IGNORE_KEY} rule `{self.patterns[result.index]}`"
        )


def load_ignore_rules(corpus: Path) -> IgnoreRules:
    """The ignore rules of the corpus: `[index] ignore` in its `kb.toml`, if any.

    Raises ConfigError when the file cannot be read or the value is not a list of strings:
    a broken rule is never taken for "ignore nothing" (or "everything")."""
    path = corpus / "kb.toml"
    if not path.is_file():
        return IgnoreRules()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = data.get(IGNORE_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{IGNORE_TABLE}] must be a table")
    unknown = sorted(set(table) - {IGNORE_KEY})
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) in [{IGNORE_TABLE}]: {', '.join(unknown)} (expected {IGNORE_KEY})"
        )
    patterns = table.get(IGNORE_KEY, [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(
            f'{path}: [{IGNORE_TABLE}] {IGNORE_KEY} must be a list of patterns, like ["drafts/**"]'
        )
    try:
        return IgnoreRules.of([p.strip() for p in patterns if p.strip()])
    except ValueError as exc:  # pathspec refuses a malformed pattern
        raise ConfigError(f"{path}: [{IGNORE_TABLE}] {IGNORE_KEY}: {exc}") from exc


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


def discover(
    corpus: Path, rules: IgnoreRules | None = None
) -> tuple[list[CorpusFile], list[DiscoveryProblem]]:
    """Every candidate document under `corpus`, sorted by path; and the paths that could not
    be read or are ignored (cause IGNORED, the rule in the reason), so that nothing is
    dropped silently. `rules`: the corpus's ignore rules (default: read from its kb.toml).

    Costs one stat per file (and per sidecar): this is the whole of a run that finds nothing
    to do, so it reads no file and keeps to plain strings.
    """
    if rules is None:
        rules = load_ignore_rules(corpus)
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
        prefix = "" if at_root else os.path.relpath(dirpath, root).replace(os.sep, "/") + "/"
        kept = []
        for d in sorted(dirnames):
            if at_root and d in CONFIG_DIRS:
                continue
            reason = rules.match(prefix + d, folder=True, at_root=at_root)
            if reason is None:
                kept.append(d)
            else:
                problems.append(DiscoveryProblem(prefix + d + "/", reason, Cause.IGNORED))
        dirnames[:] = kept
        names = set(filenames)
        for name in sorted(filenames):
            if is_sidecar(name) or (at_root and name in CONFIG_FILES):
                continue
            location = os.path.join(dirpath, name)
            rel = prefix + name
            reason = rules.match(rel, folder=False, at_root=at_root)
            if reason is not None:
                problems.append(DiscoveryProblem(printable(rel), reason, Cause.IGNORED))
                continue
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
