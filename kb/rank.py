"""Ranking over score arrays: documents by their best passage, in tiers (the words as typed
before glossary translations), and each shown document's best passages."""

from __future__ import annotations

import numpy as np

from kb.engine.evaluate import Evaluator
from kb.facets import Tables
from kb.library import Snapshot
from kb.passages import WordPlans, coverage, heading_words

# What picks the passage that answers: the evaluator of the reader's view and the query's
# units, each as its own plan.
Answers = tuple[Evaluator, WordPlans]
# Passages tied for the most words whose headings are compared (each is read from storage).
HEADINGS_READ = 8


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
    answers: Answers | None = None,
) -> dict[str, list[tuple[dict, float]]]:
    """The best few passages of each shown document among its own matching passages (or its
    first passage when there is nothing to rank by), best first.

    With `answers` (the reader's evaluator and the query's units), best is the passage that
    answers the query: the one holding most of its words, then most typed neighbours side by
    side, then most words in its heading (`kb.passages`), then the higher score; without,
    the higher score. Equal passages in index order, as a whoosh search orders them."""
    out: dict[str, list[tuple[dict, float]]] = {d: [] for d in doc_ids}
    own: dict[str, np.ndarray] = {}
    for doc_id in doc_ids:
        nums = np.asarray(snap.passages_of(doc_id), dtype=np.int64)
        if not len(nums):
            continue
        if score is None:
            out[doc_id].append((snap.stored(int(nums[0])), 0.0))
            continue
        own[doc_id] = nums[matched[nums]]
    if not own:
        return out
    held = None
    if answers is not None and answers[1].words:
        # Every shown document's passages at once: each unit is evaluated once per page.
        held = coverage(answers[0], answers[1], np.concatenate(list(own.values())))
    start = 0
    for doc_id, nums in own.items():
        scores = score[nums]
        if held is None:
            order = np.lexsort((nums, -scores))
        else:
            mine = held[start : start + len(nums)]
            start += len(nums)
            order = np.lexsort((nums, -scores, -mine[:, 1], -mine[:, 0]))
            order = _by_heading(snap, doc_id, nums, mine, order, answers[1])
        out[doc_id] = [(snap.stored(int(nums[i])), float(scores[i])) for i in order[:per_doc]]
    return out


def _by_heading(
    snap: Snapshot,
    doc_id: str,
    nums: np.ndarray,
    held: np.ndarray,
    order: np.ndarray,
    plans: WordPlans,
) -> np.ndarray:
    """`order` with the passages tied for the most words first reordered by how many query
    words their heading names (then as they were: by score). Only the first
    HEADINGS_READ of them are read: a heading is stored text, read passage by passage."""
    if len(order) < 2 or not plans.terms:
        return order
    best = held[order[0]]
    tied = int(np.count_nonzero((held[order] == best).all(axis=1)[:HEADINGS_READ]))
    if tied < 2:
        return order
    language = snap.catalogue[doc_id].meta.language
    named = [heading_words(plans, snap.stored(int(nums[i])), language) for i in order[:tied]]
    head = order[:tied][np.argsort([-n for n in named], kind="stable")]
    return np.concatenate((head, order[tied:]))
