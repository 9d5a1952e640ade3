"""Every fact on the network's page is findable: questions about it rank the right document."""

from __future__ import annotations

import csv

import pytest

from kb.access import Principal
from kb.search import SearchRequest, open_searcher
from tests.conftest import ROOT

QUESTIONS = list(
    csv.DictReader(
        (ROOT / "tests/fixtures/seed_questions.tsv").open(encoding="utf-8"), delimiter="\t"
    )
)


def test_there_are_enough_questions():
    assert len(QUESTIONS) >= 20


@pytest.mark.parametrize("row", QUESTIONS, ids=[r["question"][:60] for r in QUESTIONS])
def test_question_finds_expected_document_in_top_3(bundled_index, row):
    result = open_searcher(bundled_index, Principal.shell()).search(
        SearchRequest(q=row["question"], page_size=3)
    )
    top = [h.doc.doc_id for h in result.hits]
    assert row["expected_doc_id"] in top, f"{row['question']!r} -> {top}"
