"""Ranking over score arrays: documents by their best passage, in tiers (the words as typed
before glossary translations), and each shown document's best passages."""

from __future__ import annotations

import numpy as np

from kb.facets import Tables
from kb.library import Snapshot


def rank_tiers(
    tables: Tables,
    score: np.ndarray,
    matched: np.ndarray,
    direct: np.ndarray,
    wanted: int,
) -> list[tuple[str, float]]:
    """Documents matching the typed words first; those found only through the glossary
    (another language's word for the same concept) after them."""
    first = top_documents(tables, score, direct, wanted)
    rest_mask = matched & ~direct
    if len(first) >= wanted or not rest_mask.any():
        return first
    seen = {doc_id for doc_id, _ in first}
    rest = [
        (doc_id, s)
        for doc_id, s in top_documents(tables, score, rest_mask, wanted - len(first) + len(seen))
        if doc_id not in seen
    ]
    return first + rest[: wanted - len(first)]


def top_documents(
    tables: Tables, score: np.ndarray, mask: np.ndarray, wanted: int
) -> list[tuple[str, float]]:
    """The `wanted` documents whose best masked passage scores highest, with that score.

    Passages are ordered by score descending, then passage number (as a whoosh search orders
    them); a document ranks where its first passage in that order does. Only the best few
    passages are sorted: enough to find `wanted` distinct documents.
    """
    candidates = np.flatnonzero(mask)
    if not len(candidates) or wanted <= 0:
        return []
    scores = score[candidates]
    limit = max(wanted * 4, 40)
    while True:
        if limit < len(candidates):
            # The `limit` best passages and every passage tying with the last of them: a
            # prefix of the full order, whatever the ties.
            cutoff = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            chosen = np.flatnonzero(scores >= cutoff)
        else:
            chosen = np.arange(len(candidates))
        order = chosen[np.lexsort((candidates[chosen], -scores[chosen]))]
        owners = tables.document_of[candidates[order]]
        _, first = np.unique(owners, return_index=True)
        first.sort()
        if len(first) >= wanted or len(chosen) == len(candidates):
            return [
                (tables.doc_ids[owners[i]], float(scores[order[i]]))
                for i in first[:wanted]
                if owners[i] >= 0
            ]
        limit *= 4


def best_passages(
    snap: Snapshot,
    doc_ids: list[str],
    score: np.ndarray | None,
    matched: np.ndarray,
    per_doc: int,
) -> dict[str, list[tuple[dict, float]]]:
    """The best few passages of each shown document among its own matching passages (or its
    first passage when there is nothing to rank by), best first; equal scores in index
    order, as a whoosh search orders them."""
    out: dict[str, list[tuple[dict, float]]] = {d: [] for d in doc_ids}
    for doc_id in doc_ids:
        own = snap.passages_of(doc_id)
        if not own:
            continue
        if score is None:
            out[doc_id].append((snap.stored(own[0]), 0.0))
            continue
        nums = np.asarray(own, dtype=np.int64)
        nums = nums[matched[nums]]
        scores = score[nums]
        order = np.lexsort((nums, -scores))[:per_doc]
        out[doc_id] = [(snap.stored(int(nums[i])), float(scores[i])) for i in order]
    return out
