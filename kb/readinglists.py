"""Curated reading lists: `corpus/reading-lists/<slug>.toml`, validated against the index.

A list file looks like this (sections are optional and group consecutive items):

    title = "Start here"
    audience = "New members"
    description = "What you have signed up to, and what to read first."
    estimated_minutes = 55          # optional; the sum of the items' minutes when absent

    [[item]]
    ref = "about/statement-of-commitment"     # a doc id, or doc_id#anchor for a passage
    note = "Why to read it."
    section = "The commitment"                 # optional
    minutes = 5                                # optional

Problems never raise while loading: an unreadable file is reported as item 0 and skipped; a
bad item is reported with its number; a ref that does not resolve is reported by `validate`
and the list is still shown with that item marked missing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

from kb.access import Principal
from kb.cite import parse_ref
from kb.documents import load_document
from kb.errors import InvalidReadingList, NotFound
from kb.library import DocInfo, Library, Snapshot
from kb.models import Passage
from kb.view import View, checked, view_of

LISTS_DIR = "reading-lists"
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LIST_KEYS = {"title", "audience", "description", "estimated_minutes", "item"}
_ITEM_KEYS = {"ref", "note", "section", "minutes"}


@dataclass(frozen=True)
class ListItem:
    number: int  # 1-based position in the file, as reported in problems
    ref: str
    note: str
    section: str | None
    minutes: int | None


@dataclass(frozen=True)
class ReadingList:
    slug: str
    title: str
    audience: str
    description: str
    estimated_minutes: int | None
    items: tuple[ListItem, ...]
    path: str  # relative to the corpus, e.g. reading-lists/start-here.toml


@dataclass(frozen=True)
class ResolvedItem:
    item: ListItem
    doc: DocInfo | None
    passage: Passage | None
    problem: str | None  # set when the ref does not resolve


@dataclass(frozen=True)
class ListProblem:
    file: str
    item: int  # 0: the file as a whole
    ref: str
    problem: str

    def __str__(self) -> str:
        where = f"item {self.item}" + (f" ({self.ref})" if self.ref else "")
        return (
            f"{self.file} {where}: {self.problem}" if self.item else f"{self.file}: {self.problem}"
        )

    def to_dict(self) -> dict:
        return asdict(self)


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _parse_list(slug: str, rel: str, data: dict) -> tuple[ReadingList | None, list[ListProblem]]:
    problems: list[ListProblem] = []

    def problem(item: int, ref: str, text: str) -> None:
        problems.append(ListProblem(rel, item, ref, text))

    title = _text(data.get("title"))
    if not title:
        problem(0, "", "needs a `title` (a non-empty string)")
        return None, problems
    unknown = sorted(set(data) - _LIST_KEYS)
    if unknown:
        problem(
            0, "", f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_LIST_KEYS))}"
        )
    for key in ("audience", "description"):
        if key in data and not isinstance(data[key], str):
            problem(0, "", f"`{key}` must be a string")
    raw_items = data.get("item", [])
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        problem(0, "", "items must be written as [[item]] tables")
        return None, problems
    if not raw_items:
        problem(0, "", "has no [[item]]")
    items = []
    for number, raw in enumerate(raw_items, start=1):
        ref = raw.get("ref")
        if not isinstance(ref, str) or not ref.strip() or not parse_ref(ref)[0]:
            problem(number, "", "needs a `ref`: a document id, or doc_id#anchor for a passage")
            continue
        ref = ref.strip()
        unknown = sorted(set(raw) - _ITEM_KEYS)
        if unknown:
            problem(
                number,
                ref,
                f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_ITEM_KEYS))}",
            )
        minutes = _positive_int(raw.get("minutes"))
        if "minutes" in raw and minutes is None:
            problem(number, ref, "`minutes` must be a positive whole number")
        if "section" in raw and not _text(raw["section"]):
            problem(number, ref, "`section` must be a non-empty string")
        items.append(
            ListItem(
                number=number,
                ref=ref,
                note=_text(raw.get("note")),
                section=_text(raw.get("section")) or None,
                minutes=minutes,
            )
        )
    estimated = _positive_int(data.get("estimated_minutes"))
    if "estimated_minutes" in data and estimated is None:
        problem(0, "", "`estimated_minutes` must be a positive whole number")
    if estimated is None and any(i.minutes for i in items):
        estimated = sum(i.minutes or 0 for i in items)
    reading_list = ReadingList(
        slug=slug,
        title=title,
        audience=_text(data.get("audience")),
        description=_text(data.get("description")),
        estimated_minutes=estimated,
        items=tuple(items),
        path=rel,
    )
    return reading_list, problems


# Each list file as last parsed, by (path, corpus): its stat stamp and what it gave. The home
# page shows the lists on every request; parsing their TOML each time was a third of its CPU.
_Parsed = tuple[ReadingList | None, tuple[ListProblem, ...]]
_PARSED: dict[tuple[Path, Path], tuple[tuple[int, int, int], _Parsed]] = {}
MAX_PARSED = 1024


def _load_file(path: Path, corpus: Path) -> tuple[ReadingList | None, list[ListProblem]]:
    """The list in `path` and its problems; parsed again only when the file changed (its
    modification time, size or inode, as `kb index` tells a changed file)."""
    try:
        st = path.stat()
    except OSError:
        return _parse_file(path, corpus)
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _PARSED.get((path, corpus))
    if cached is not None and cached[0] == stamp:
        reading_list, problems = cached[1]
        return reading_list, list(problems)
    reading_list, found = _parse_file(path, corpus)
    if len(_PARSED) >= MAX_PARSED:
        _PARSED.clear()
    _PARSED[path, corpus] = (stamp, (reading_list, tuple(found)))
    return reading_list, found


def _parse_file(path: Path, corpus: Path) -> tuple[ReadingList | None, list[ListProblem]]:
    rel = path.relative_to(corpus).as_posix()
    slug = path.stem
    if not SLUG_RE.fullmatch(slug):
        return None, [ListProblem(rel, 0, "", "file name must be lower-case letters, digits and "
                                  "hyphens (it becomes the list's address)")]  # fmt: skip
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return None, [ListProblem(rel, 0, "", f"invalid TOML: {exc}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ListProblem(rel, 0, "", f"cannot be read: {exc}")]
    return _parse_list(slug, rel, data)


def load_reading_lists(corpus: Path) -> tuple[list[ReadingList], list[ListProblem]]:
    """Every list of the corpus, sorted by slug, and the problems found in their files."""
    folder = corpus / LISTS_DIR
    lists: list[ReadingList] = []
    problems: list[ListProblem] = []
    if not folder.is_dir():
        return lists, problems
    for path in sorted(folder.glob("*.toml")):
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        reading_list, found = _load_file(path, corpus)
        problems += found
        if reading_list is not None:
            lists.append(reading_list)
    lists.sort(key=lambda r: r.slug)
    return lists, problems


def get_reading_list(corpus: Path, slug: str) -> ReadingList:
    """One list by slug; NotFound for an unknown or malformed slug, InvalidReadingList (a
    ConfigError) for a file that cannot be read as a reading list."""
    if not SLUG_RE.fullmatch(slug or ""):
        raise NotFound(f"no reading list '{slug}' (a list's name has only a-z, 0-9 and hyphens)")
    path = corpus / LISTS_DIR / f"{slug}.toml"
    if not path.is_file():
        raise NotFound(f"no reading list '{slug}'")
    reading_list, problems = _load_file(path, corpus)
    if reading_list is None:
        raise InvalidReadingList("; ".join(str(p) for p in problems))
    return reading_list


def readable_list(reading_list: ReadingList, view: View) -> ReadingList:
    """The list as the view's reader sees it: an item naming a document they may not read is
    left out (and the others numbered on), so neither its title, its note nor a gap in the
    numbering tells them it is there. An item naming no document at all stays, marked
    missing, for everyone."""
    hidden = checked(view).snap.catalogue
    kept = [
        item
        for item in reading_list.items
        if (doc_id := parse_ref(item.ref)[0]) in view.catalogue or doc_id not in hidden
    ]
    if len(kept) == len(reading_list.items):
        return reading_list
    return replace(
        reading_list,
        items=tuple(replace(item, number=n) for n, item in enumerate(kept, start=1)),
    )


def readable_lists(corpus: Path, view: View) -> tuple[list[ReadingList], list[ListProblem]]:
    """`load_reading_lists`, each list as the view's reader sees it (`readable_list`)."""
    lists, problems = load_reading_lists(corpus)
    return [readable_list(rl, view) for rl in lists], problems


def resolve(reading_list: ReadingList, view: View) -> list[ResolvedItem]:
    """Look every item up in what the reader sees; unresolved items carry a `problem` instead
    of failing. Give it the list as the reader sees it (`readable_list`)."""
    passages: dict[str, dict[str, Passage]] = {}
    resolved = []
    for item in reading_list.items:
        doc_id, anchor = parse_ref(item.ref)
        doc = checked(view).catalogue.get(doc_id)
        if doc is None:
            resolved.append(ResolvedItem(item, None, None, f"no document '{doc_id}'"))
            continue
        passage = None
        if anchor:
            if doc_id not in passages:
                document = load_document(view, doc_id)
                passages[doc_id] = {p.anchor: p for p in document.passages}
            passage = passages[doc_id].get(anchor)
            if passage is None:
                resolved.append(
                    ResolvedItem(item, doc, None, f"no passage '#{anchor}' in {doc_id}")
                )
                continue
        resolved.append(ResolvedItem(item, doc, passage, None))
    return resolved


@dataclass(frozen=True)
class ResolvedList:
    """A reading list with its items looked up in the index."""

    reading_list: ReadingList
    items: list[ResolvedItem]

    @property
    def missing(self) -> int:
        """How many items do not resolve."""
        return sum(1 for r in self.items if r.problem)


def open_reading_list(
    corpus: Path, slug: str, library: Library, principal: Principal
) -> ResolvedList:
    """The list `slug` as `principal` sees it, resolved against the library's current
    snapshot: what `kb lists SLUG`, the list's page and its JSON show. NotFound for an
    unknown slug comes before IndexUnavailable, so a mistyped name is reported as such even
    without an index."""
    reading_list = get_reading_list(corpus, slug)
    view = view_of(library.snapshot(), principal)
    visible = readable_list(reading_list, view)
    return ResolvedList(visible, resolve(visible, view))


def check_refs(
    corpus: Path, anchors_of: Callable[[str], Collection[str] | None]
) -> list[ListProblem]:
    """Invalid list files and every item whose ref does not resolve, by file and item.

    `anchors_of(doc_id)` gives a document's passage anchors, or None when there is no such
    document: the index answers it for `kb index`, the extracted documents for `kb check`.
    """
    lists, problems = load_reading_lists(corpus)
    for reading_list in lists:
        for item in reading_list.items:
            doc_id, anchor = parse_ref(item.ref)
            anchors = anchors_of(doc_id)
            if anchors is None:
                problem = f"no document '{doc_id}'"
            elif anchor and anchor not in anchors:
                problem = f"no passage '#{anchor}' in {doc_id}"
            else:
                continue
            problems.append(ListProblem(reading_list.path, item.number, item.ref, problem))
    problems.sort(key=lambda p: (p.file, p.item))
    return problems


def validate(corpus: Path, snap: Snapshot) -> list[ListProblem]:
    """`check_refs` against an index snapshot (every document: this checks the files)."""
    everything = view_of(snap, Principal.shell())

    @cache
    def anchors_of(doc_id: str) -> frozenset[str] | None:
        if doc_id not in everything.catalogue:
            return None
        return frozenset(p.anchor for p in load_document(everything, doc_id).passages)

    return check_refs(corpus, anchors_of)


def sections(resolved: list[ResolvedItem]) -> list[tuple[str | None, list[ResolvedItem]]]:
    """Consecutive items of the same section, in list order: [(section or None, items), ...]."""
    groups: list[tuple[str | None, list[ResolvedItem]]] = []
    for r in resolved:
        if groups and groups[-1][0] == r.item.section:
            groups[-1][1].append(r)
        else:
            groups.append((r.item.section, [r]))
    return groups
