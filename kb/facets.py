"""What a search knows about every passage and document of a snapshot, as arrays (which
numbers are live passages, the document each belongs to, documents newest first, each
document's facet values), and the facet counts of a result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb import schema as f
from kb.doctypes import TYPE_LABELS
from kb.library import DocInfo, Snapshot
from kb.text import LANGUAGE_NAMES


def tables(snap: Snapshot) -> Tables:
    """The snapshot's tables, built on first use."""
    return snap.stable(("tables",), lambda: Tables(snap))


class Tables:
    """Per-snapshot arrays over passages and documents (documents by ordinal: their index in
    `doc_ids`, sorted)."""

    def __init__(self, snap: Snapshot) -> None:
        size = snap.searcher().doc_count_all()
        passages = snap.postings().term(f.KIND, f.KIND_PASSAGE).docs
        self.every = np.zeros(size, dtype=bool)
        self.every[passages] = True
        self.doc_ids: list[str] = sorted(snap.catalogue)
        self.ordinal = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        # Passage number -> document ordinal (-1: not a live passage of a catalogued document).
        self.document_of = np.full(size, -1, dtype=np.int64)
        doc_id_of = snap.doc_id_of
        ordinal = self.ordinal
        for docnum in passages.tolist():
            self.document_of[docnum] = ordinal.get(doc_id_of[docnum], -1)
        self.every &= self.document_of >= 0
        # Newest first; equal dates by document id, descending (as the web UI always sorted).
        by_date = sorted(
            range(len(self.doc_ids)),
            key=lambda i: (snap.catalogue[self.doc_ids[i]].meta.date or "", self.doc_ids[i]),
            reverse=True,
        )
        self.newest = np.asarray(by_date, dtype=np.int64)
        vocab = snap.vocabulary
        label_of = {
            f.TYPE: lambda v: TYPE_LABELS.get(v, v),
            f.YEAR: str,
            f.LANG: lambda v: LANGUAGE_NAMES.get(v, v),
            f.ORG: vocab.organisation_name,
            f.TOPIC: vocab.topic_name,
        }
        self._facets: dict[str, tuple[list[str], list[str], np.ndarray, np.ndarray]] = {}
        for name in f.FACET_FIELDS:
            values: dict[str, int] = {}
            docs, ids = [], []
            for i, doc_id in enumerate(self.doc_ids):
                for value in _facet_values(snap.catalogue[doc_id], name):
                    docs.append(i)
                    ids.append(values.setdefault(value, len(values)))
            self._facets[name] = (
                list(values),
                [label_of[name](v) for v in values],
                np.asarray(docs, dtype=np.int64),
                np.asarray(ids, dtype=np.int64),
            )

    def passages_per_document(self, mask: np.ndarray) -> np.ndarray:
        """How many of the masked passages each document has, by document ordinal."""
        owners = self.document_of[mask]
        return np.bincount(owners[owners >= 0], minlength=len(self.doc_ids))

    def newest_first(self, present: np.ndarray, start: int, stop: int) -> np.ndarray:
        return self.newest[present[self.newest]][start:stop]

    def facet_counts(self, name: str, present: np.ndarray) -> list[tuple[str, str, int]]:
        """(value, label, documents) of a facet's values among the present documents."""
        values, labels, docs, ids = self._facets[name]
        counts = np.bincount(ids[present[docs]], minlength=len(values))
        present_values = np.flatnonzero(counts)  # a year or topic of thousands may be absent
        return [
            (values[i], labels[i], n)
            for i, n in zip(present_values.tolist(), counts[present_values].tolist(), strict=True)
        ]


def _facet_values(info: DocInfo, name: str) -> tuple[str, ...]:
    meta = info.meta
    if name == f.TYPE:
        return (meta.type,)
    if name == f.YEAR:
        return (str(meta.year),) if meta.year is not None else ()
    if name == f.LANG:
        return (meta.language,)
    if name == f.ORG:
        return tuple(dict.fromkeys(meta.organisations))
    if name == f.TOPIC:
        return tuple(dict.fromkeys(meta.topics))
    return ()


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


def facets(
    table: Tables,
    present: np.ndarray,
    chosen: dict[str, set[str]],
    present_for: dict[str, np.ndarray] | None = None,
) -> dict[str, tuple[FacetValue, ...]]:
    """Each facet's values among the present documents (or, for a facet in `present_for`,
    among the documents found without its own choice): years newest first, other values by
    count and then label; `chosen` values are marked selected."""
    out = {}
    for name in f.FACET_FIELDS:
        selected = chosen.get(name, set())
        among = (present_for or {}).get(name, present)
        values = [
            FacetValue(v, label, n, v in selected)
            for v, label, n in table.facet_counts(name, among)
        ]
        if name == f.YEAR:
            values.sort(key=lambda fv: fv.value, reverse=True)
        else:
            values.sort(key=lambda fv: (-fv.count, fv.label.lower()))
        out[name] = tuple(values)
    return out
