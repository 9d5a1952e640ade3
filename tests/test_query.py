"""The query language: lenient parsing, friendly filters, and how a query was read."""

from __future__ import annotations

import pytest

from kb.query import All, Any, Not, Phrase, QueryParser, Word
from kb.vocabulary import Organisation, Topic, Vocabulary

VOCAB = Vocabulary(
    organisations=(
        Organisation("ikea", "IKEA", ("Ikea",)),
        Organisation("skovde-kommun", "Skövde kommun", ("Skövde municipality",)),
    ),
    topics=(Topic("climate", "Climate"), Topic("product-lifespan", "Product lifespan")),
)


@pytest.fixture
def parse():
    return QueryParser(VOCAB).parse


def test_words_are_ranked_alternatives(parse):
    q = parse("circular economy")
    assert q.node == Any((Word("circular"), Word("economy")))
    assert not q.messages


def test_phrase_and_exclusion(parse):
    q = parse('"circular economy" -mobile')
    assert q.node == Any((Phrase(("circular", "economy")), Not(Word("mobile"))))
    assert q.read_as == '"circular economy" -mobile'


def test_boolean_operators_and_parentheses(parse):
    q = parse("(repair OR reuse) AND laptops NOT phones")
    assert isinstance(q.node, All)
    assert q.node.nodes[0] == Any((Word("repair"), Word("reuse")), explicit=True)
    assert Not(Word("phones")) in q.node.nodes[1].nodes


def test_prefix_and_minimum_length(parse):
    assert parse("procure*").node == Word("procure", prefix=True)
    q = parse("a*")
    assert q.node == Word("a")
    assert "too short for a prefix search" in q.messages[0]


@pytest.mark.parametrize(
    ("query", "field", "values"),
    [
        ("type:guide", "type", {"guide"}),
        ("type:best-practice", "type", {"guide"}),
        ('type:"meeting report"', "type", {"meeting"}),
        ("year:2024", "year", {"2024"}),
        ("year:2022..2024", "year", {"2022", "2023", "2024"}),
        ("org:ikea", "org", {"ikea"}),
        ("org:IKEA", "org", {"ikea"}),
        ("org:skövde", "org", {"skovde-kommun"}),
        ("org:skovde", "org", {"skovde-kommun"}),
        ("topic:climate", "topic", {"climate"}),
        ('topic:"product lifespan"', "topic", {"product-lifespan"}),
        ("lang:swedish", "lang", {"sv"}),
        ("lang:no", "lang", {"no"}),
    ],
)
def test_friendly_filter_values(parse, query, field, values):
    q = parse(query)
    assert q.filters.include == {field: values}, q.messages
    assert q.node is None


def test_negated_filter(parse):
    q = parse("lifespan -type:guide")
    assert q.filters.exclude == {"type": {"guide"}}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unbalanced', "missing closing quote"),
        ("((", "missing ')'"),
        ("AND", "'AND' with nothing"),
        ("title:", "has no value"),
        ("year:abc", "year: expects a year"),
        ("type:memo", "Unknown type 'memo'"),
        ("org:nobody", "No organisation matches 'nobody'"),
        ("lang:klingon", "Unknown language"),
        ("colour:red", "Unknown filter 'colour:'"),
        ("x" * 10_000, "only the first 1,000 were used"),
        ("ab\x00\x07cd", "control characters"),
        ("*", "Ignored the wildcard"),
    ],
)
def test_bad_input_is_explained_not_raised(parse, query, message):
    q = parse(query)  # how long it takes: benchmarks/bounds.py
    assert any(message in m for m in q.messages), q.messages
    assert q.adjusted


def test_unknown_field_keeps_its_words(parse):
    assert parse("colour:red").read_as == "colour red"


def test_term_count_is_bounded(parse):
    q = parse(" ".join(f"w{i}" for i in range(200)))
    assert len(q.node.nodes) == 48
    assert any("more than 48 terms" in m for m in q.messages)


def test_negated_group(parse):
    q = parse("lifespan -(phones OR tablets)")
    assert q.node == Any(
        (Word("lifespan"), Not(Any((Word("phones"), Word("tablets")), explicit=True)))
    )


def test_deep_nesting_is_read_flat(parse):
    q = parse("(" * 400 + "x")
    assert any("nested more than" in m for m in q.messages)
    assert parse("a)" * 400).node is not None
    assert parse("NOT " * 200 + "x").node in (Word("x"), Not(Word("x")))


def test_structured_filters_are_values_not_query_text(parse):
    """Filters given apart from the query text (options, form fields) are resolved value by
    value: quotes and operators in a value stay in the value."""
    q = parse("repair", {"org": ['x" -repair "'], "year": ["2023..2024"], "type": ["  "]})
    assert q.node == Word("repair")
    assert q.filters.include == {"year": {"2023", "2024"}}
    assert q.read_as == "repair year:2023 year:2024"
    assert q.messages == ["No organisation matches 'x\" -repair \"'. The filter was ignored."]
    named = parse("", {"org": ["Skövde  municipality"], "colour": ["red"]})
    assert named.filters.include == {"org": {"skovde-kommun"}}
    assert named.node is None
    assert any("Unknown filter 'colour'" in m for m in named.messages)


def test_one_filter_value_resolves_as_typed_in_the_query(parse):
    parser = QueryParser(VOCAB)
    messages: list[str] = []
    assert parser.resolve_filter("org", "ikea", messages) == ["ikea"]
    assert parser.resolve_filter("lang", "svenska", messages) == ["sv"]
    assert parser.resolve_filter("topic", "nothing", messages) == []
    assert len(messages) == 1 and "Unknown topic 'nothing'" in messages[0]
    typed, given = parse("repair org:ikea"), parse("repair", {"org": ["ikea"]})
    assert typed.filters.include == given.filters.include
