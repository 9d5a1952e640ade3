"""One index generation: a complete whoosh index plus the manifest that describes it.

A generation is a directory `gen-NNNNNN/` under the index directory holding whoosh's files,
`manifest.json` and `generation.json` (schema version, creation time). The manifest records
the whoosh files of the commit it describes (names, sizes, mtimes): while they still match,
the manifest describes the index exactly and a run needs no whoosh at all to know it is
healthy; when they do not (a crash between the commit and the manifest, or a damaged index),
the generation is opened and read in full.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kb.atomic import write_atomically
from kb.errors import IndexUnavailable
from kb.manifest import Manifest, now_iso

MANIFEST = "manifest.json"
GENERATION_INFO = "generation.json"

# whoosh's own files in a generation: the table of contents of each commit and the segments.
_WHOOSH_TOC = re.compile(r"^_MAIN_(\d+)\.toc$")
_WHOOSH_SEGMENT = re.compile(r"^MAIN_[0-9a-z]+\.[A-Za-z0-9_.]+$")
# Left behind by a killed whoosh writer: its temporary folder and half-written TOCs.
_WHOOSH_LEFTOVERS = re.compile(r"^(MAIN\.tmp|_MAIN_\d+\.toc\.[0-9.]+)$")


def schema_version() -> int:
    """The schema version this kb writes and reads."""
    # kb.schema imports whoosh; only paths that open an index pay for it.
    from kb.schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def schema_source() -> str | None:
    """Size and mtime of kb/schema.py: while they are those a generation was built with, its
    schema version cannot differ, and a run that has nothing to do need not import whoosh."""
    try:
        st = os.stat(Path(__file__).with_name("schema.py"))
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


@dataclass(frozen=True)
class Generation:
    """One complete index: a whoosh index plus the manifest that describes it."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def open_index(self, *, mmap: bool = True):
        """The whoosh index. mmap=False for writers: whoosh copies each memory-mapped segment
        part into memory on opening (a quarter of a second on 10,000 documents), while a
        writer only looks up a few terms and merges small segments."""
        from whoosh import index as whoosh_index
        from whoosh.filedb.filestore import FileStorage

        try:
            return FileStorage(str(self.path), supports_mmap=mmap).open_index()
        except (whoosh_index.EmptyIndexError, OSError, ValueError, EOFError) as exc:
            raise IndexUnavailable(f"index generation {self.name} cannot be opened: {exc}") from exc
        except Exception as exc:  # a damaged TOC fails in pickle, struct, index errors...
            raise IndexUnavailable(f"index generation {self.name} is damaged: {exc}") from exc

    def load_manifest(self) -> Manifest | None:
        """The manifest, or None when it is missing or damaged."""
        try:
            return Manifest.from_json((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def read_manifest(self) -> Manifest:
        """The manifest, or an empty one when it is missing or damaged."""
        return self.load_manifest() or Manifest()

    def write_manifest(self, manifest: Manifest) -> None:
        manifest.updated_at = now_iso()
        write_atomically(self.path / MANIFEST, manifest.to_json())

    def info(self) -> dict:
        try:
            data = json.loads((self.path / GENERATION_INFO).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def index_files(self) -> dict[str, list[int]]:
        """whoosh's files here (TOCs and segments) with [size, mtime_ns]: a commit's fingerprint."""
        files: dict[str, list[int]] = {}
        with os.scandir(self.path) as it:
            for entry in it:
                if _WHOOSH_TOC.match(entry.name) or _WHOOSH_SEGMENT.match(entry.name):
                    st = entry.stat()
                    files[entry.name] = [st.st_size, st.st_mtime_ns]
        return files

    def matches(self, manifest: Manifest) -> bool:
        """Whether the whoosh files are exactly those of the commit the manifest describes.

        Cheap (one directory listing, no whoosh): a new commit, a truncated, rewritten or
        missing file all show. Segment files no TOC refers to (a killed writer's) are ignored.
        """
        if not manifest.index_files:
            return False
        try:
            present = self.index_files()
        except OSError:
            return False
        tocs = {n for n in present if _WHOOSH_TOC.match(n)}
        if tocs - set(manifest.index_files):
            return False  # a commit the manifest does not know about
        return all(present.get(name) == list(sig) for name, sig in manifest.index_files.items())

    def check_schema(self) -> None:
        info = self.info()
        source = schema_source()
        if source is not None and info.get("schema_source") == source:
            return
        if info.get("schema_version") != schema_version():
            found = info.get("schema_version")
            raise IndexUnavailable(
                f"index generation {self.name} has schema version {found}, "
                f"this kb needs {schema_version()}"
                if found is not None
                else f"index generation {self.name} has no readable {GENERATION_INFO}"
            )

    def check(self) -> None:
        """Raise IndexUnavailable unless the generation opens and has this schema version."""
        self.doc_ids()

    def doc_ids(self) -> set[str]:
        """Open the generation and read every document record: the ids of the documents in it.

        Raises IndexUnavailable when the schema version differs or anything cannot be read.
        """
        from kb import schema as f

        self.check_schema()
        ix = self.open_index(mmap=False)
        try:
            with ix.searcher() as searcher:
                searcher.doc_count_all()
                return {
                    searcher.stored_fields(n)[f.DOC_ID]
                    for n in searcher.document_numbers(**{f.KIND: f.KIND_DOC})
                }
        except Exception as exc:  # whoosh raises many kinds on a damaged segment
            raise IndexUnavailable(f"index generation {self.name} is damaged: {exc}") from exc
        finally:
            ix.close()

    def remove_writer_leftovers(self) -> None:
        """Delete what a killed whoosh writer left here (only with the writer lock held)."""
        with contextlib.suppress(OSError), os.scandir(self.path) as it:
            for entry in it:
                if _WHOOSH_LEFTOVERS.match(entry.name) or entry.name.startswith(".manifest"):
                    path = Path(entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        with contextlib.suppress(OSError):
                            path.unlink()
