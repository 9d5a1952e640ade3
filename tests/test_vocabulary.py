"""Looking up organisations and topics by id, name or alias."""

from __future__ import annotations

from kb.vocabulary import Organisation, Topic, Vocabulary


def test_organisations_by_id_name_or_alias_ignoring_case_and_accents():
    vocab = Vocabulary(
        organisations=(
            Organisation("ikea", "IKEA", ("Inter IKEA",)),
            Organisation("skovde-kommun", "Skövde kommun", ("Skövde",)),
        )
    )
    assert vocab.organisation("ikea").name == "IKEA"
    assert vocab.organisation(" inter ikea ").name == "IKEA"
    assert vocab.organisation("SKOVDE").id == "skovde-kommun"
    assert vocab.organisation("unknown-org") is None
    assert vocab.organisation_name("skovde kommun") == "Skövde kommun"
    assert vocab.organisation_name("unknown-org") == "unknown-org"


def test_the_first_organisation_claiming_a_name_keeps_it():
    vocab = Vocabulary(
        organisations=(
            Organisation("atea", "Atea", ("Partner",)),
            Organisation("partner", "Partner AB", ()),
        )
    )
    assert vocab.organisation("partner").id == "atea"
    assert vocab.organisation("partner ab").id == "partner"


def test_topics_by_id_or_name():
    vocab = Vocabulary(topics=(Topic("product-lifespan", "Product lifespan"),))
    assert vocab.topic_name("product-lifespan") == "Product lifespan"
    assert vocab.topic_name("Product Lifespan") == "Product lifespan"
    assert vocab.topic("lifespan") is None
    assert vocab.topic_name("lifespan") == "lifespan"


def test_each_vocabulary_answers_from_its_own_names():
    old = Vocabulary(organisations=(Organisation("ikea", "IKEA", ()),))
    new = Vocabulary(organisations=(Organisation("ikea", "Ingka", ()),))
    assert old.organisation_name("ikea") == "IKEA"
    assert new.organisation_name("ikea") == "Ingka"
