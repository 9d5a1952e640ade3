"""Which generation a run continues from, and what it does when the index is not healthy.

A missing or damaged pointer, generation, manifest or schema leads to a full build, with a
note saying why; a lost pointer with complete generations left continues from the newest of
them; an index that differs from its manifest (a run killed between the commit and the
manifest) is read in full, so that the run repairs the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.errors import IndexUnavailable
from kb.generation import Generation
from kb.manifest import Manifest
from kb.store import IndexStore


@dataclass
class Start:
    """Where a run starts from."""

    generation: Generation | None = None  # None: a full build is due
    manifest: Manifest = field(default_factory=Manifest)
    # None when the manifest vouches for the index (the usual case), else the doc ids
    # actually in the index, so that planning can repair the difference.
    index_ids: set[str] | None = None
    notes: list[str] = field(default_factory=list)
    adopted: bool = False  # the pointer was rewritten to a surviving generation

    def rebuild(self, note: str | None = None) -> Start:
        """Give up on the current generation: a full build, saying why when there is a why."""
        self.generation, self.manifest, self.index_ids = None, Manifest(), None
        if note:
            self.notes.append(note)
        return self


def open_current(store: IndexStore, *, rebuild: bool) -> Start:
    """The generation to update and its manifest, or a full build with a note saying why."""
    start = Start()
    if rebuild:
        return start
    if not store.has_pointer():
        if not store.generations():
            return start  # the first run: nothing to say
        return _adopt_newest(store, start)
    try:
        gen = store.current()
    except IndexUnavailable:
        name = store.current_name()
        return start.rebuild(
            f"the current index generation {name} is missing; rebuilding it"
            if name
            else "the index pointer CURRENT is damaged; rebuilding the index"
        )
    manifest = gen.load_manifest()
    if manifest is None:
        return start.rebuild(f"the manifest of index generation {gen.name} is missing or "
                             "damaged; rebuilding the index")  # fmt: skip
    try:
        gen.check_schema()
    except IndexUnavailable as exc:
        return start.rebuild(f"{exc}; rebuilding the index")
    start.generation, start.manifest = gen, manifest
    if gen.matches(manifest):
        return start
    try:
        start.index_ids = gen.doc_ids()
    except IndexUnavailable as exc:
        return start.rebuild(f"{exc}; rebuilding it")
    start.notes.append(
        f"index generation {gen.name} differs from its manifest (an interrupted run?); "
        "comparing every file with the index"
        if manifest.index_files
        else f"index generation {gen.name} was built by an older kb; "
        "comparing every file with the index once"
    )
    return start


def _adopt_newest(store: IndexStore, start: Start) -> Start:
    """CURRENT is gone but generations remain: continue from the newest one that is complete
    (it has a manifest and opens), rather than rebuilding everything."""
    for gen in reversed(store.generations()):
        manifest = gen.load_manifest()
        if manifest is None:
            continue
        try:
            gen.check_schema()
            ids = gen.doc_ids()
        except IndexUnavailable:
            continue
        store.adopt(gen)
        start.generation, start.manifest, start.adopted = gen, manifest, True
        if not gen.matches(manifest):
            start.index_ids = ids
        start.notes.append(
            f"the index pointer CURRENT was missing; continuing from {gen.name}, "
            "the newest complete generation"
        )
        return start
    return start.rebuild("the index pointer CURRENT was missing and no generation is usable; "
                         "rebuilding the index")  # fmt: skip
