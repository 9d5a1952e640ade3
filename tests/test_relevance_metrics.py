"""The relevance benchmark's metrics, checked on rankings small enough to compute by hand."""

from __future__ import annotations

import math

import pytest

from benchmarks.relevance import average_precision, ndcg_at, recall_at


def test_ndcg_perfect_and_empty():
    qrels = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "x"], qrels, 10) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], qrels, 10) == 0.0
    assert ndcg_at([], qrels, 10) == 0.0
    assert ndcg_at(["a"], {}, 10) == 0.0  # no judged-relevant documents


def test_ndcg_binary_discount():
    # One relevant document at rank 3: DCG = 1/log2(4) = 0.5, ideal = 1.
    assert ndcg_at(["x", "y", "a"], {"a": 1}, 10) == pytest.approx(0.5)


def test_ndcg_graded_gains_are_linear_as_in_trec_eval():
    qrels = {"a": 2, "b": 1, "z": 0}
    # Ranking: b (gain 1) at 1, x at 2, a (gain 2) at 3.
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["b", "x", "a", "z"], qrels, 10) == pytest.approx(dcg / ideal)


def test_ndcg_cuts_at_k_and_ideal_is_cut_too():
    qrels = {"a": 1, "b": 1, "c": 1}
    # Only the first 2 count; the ideal also holds just 2 documents.
    assert ndcg_at(["a", "b", "c"], qrels, 2) == pytest.approx(1.0)
    assert ndcg_at(["x", "a", "b"], qrels, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_recall():
    qrels = {"a": 1, "b": 1, "c": 1, "n": 0}
    ranking = ["a", "x", "n", "b"]
    assert recall_at(ranking, qrels, 1) == pytest.approx(1 / 3)
    assert recall_at(ranking, qrels, 100) == pytest.approx(2 / 3)
    assert recall_at([], qrels, 100) == 0.0


def test_average_precision():
    qrels = {"a": 1, "b": 1, "c": 1}
    # Relevant at ranks 1 and 3, "c" never retrieved: (1/1 + 2/3) / 3.
    assert average_precision(["a", "x", "b", "y"], qrels) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision(["a", "b", "c"], qrels) == pytest.approx(1.0)
    assert average_precision(["x"], qrels) == 0.0


def test_average_precision_stops_at_depth():
    qrels = {"a": 1, "b": 1}
    assert average_precision(["a", "x", "b"], qrels, depth=2) == pytest.approx(0.5)


def test_the_halves_split_queries_by_their_position_in_the_file(tmp_path) -> None:
    from benchmarks.relevance import Collection, halves

    collection = Collection(tmp_path, {}, {"a": "", "b": "", "c": "", "d": ""}, {})
    figures = halves(["a", "b", "c"], collection, {"a": 1.0, "b": 0.5, "c": 0.0})
    assert figures == {
        "development": {"queries": 2, "ndcg@10": 0.5},  # a and c: positions 0 and 2
        "test": {"queries": 1, "ndcg@10": 0.5},
    }


def test_a_collection_is_compared_with_its_own_baseline(tmp_path) -> None:
    import json

    from benchmarks.relevance import PUBLISHED, peer_baselines

    assert peer_baselines(tmp_path)[0]["BM25 flat"] == PUBLISHED["flat"]
    (tmp_path / "baseline.json").write_text(
        json.dumps({"ndcg@10_stemmed": 0.8, "map_stemmed": 0.7, "ndcg@10_unstemmed": 0.6})
    )
    peers, _ = peer_baselines(tmp_path)
    assert peers == {
        "BM25 stemmed": {"ndcg@10": 0.8, "map": 0.7},
        "BM25 unstemmed": {"ndcg@10": 0.6},
    }
