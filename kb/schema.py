"""The whoosh schema: the one place that names the index's fields.

The index holds two kinds of records:
- one `passage` record per passage, searched and highlighted;
- one `doc` record per document, carrying its metadata as JSON, read into the catalogue.
Facet values (type, year, language, organisations, topics) are copied onto every passage so
that filters are plain term lookups.
"""

from __future__ import annotations

from whoosh import fields as wf

from kb.analysis import STEMMED_LANGUAGES, folded_analyzer, plain_analyzer, stemmed_analyzer

SCHEMA_VERSION = 3  # 2: the visibility field; 3: compound words split in text_sv/no/da

KIND = "kind"
KIND_PASSAGE = "passage"
KIND_DOC = "doc"

PASSAGE_ID = "passage_id"
DOC_ID = "doc_id"
ANCHOR = "anchor"
ORDINAL = "ordinal"
PAGE = "page"
HEADING = "heading"  # heading path, searchable (folded) and stored joined by HEADING_SEP
BODY = "text"  # stored passage text (not indexed itself)
TEXT_HASH = "text_hash"
TITLE = "title"
EXACT = "exact"  # folded, unstemmed body text: accents, prefixes, spelling suggestions
META = "meta"  # JSON of the document's metadata, on `doc` records

TYPE = "type"
YEAR = "year"
LANG = "lang"
ORG = "org"
TOPIC = "topic"
FACET_FIELDS = (TYPE, YEAR, LANG, ORG, TOPIC)
# Who may read a record: its visibility tokens (kb.access.Visibility.tokens), on every record.
VISIBILITY = "visibility"

HEADING_SEP = " › "

UNSTEMMED_TEXT = "text_xx"
TEXT_FIELDS = (*(f"text_{lang}" for lang in STEMMED_LANGUAGES), UNSTEMMED_TEXT)


def build_schema() -> wf.Schema:
    fields = {
        KIND: wf.ID(stored=True),
        PASSAGE_ID: wf.ID(stored=True, unique=True),
        DOC_ID: wf.ID(stored=True, sortable=True),
        ANCHOR: wf.STORED(),
        ORDINAL: wf.STORED(),
        PAGE: wf.STORED(),
        BODY: wf.STORED(),
        TEXT_HASH: wf.STORED(),
        META: wf.STORED(),
        TITLE: wf.TEXT(analyzer=folded_analyzer()),
        HEADING: wf.TEXT(analyzer=folded_analyzer(), stored=True),
        EXACT: wf.TEXT(analyzer=folded_analyzer(), phrase=True, spelling=True),
        TYPE: wf.ID(stored=True),
        YEAR: wf.ID(stored=True),
        LANG: wf.ID(stored=True),
        ORG: wf.KEYWORD(commas=True, lowercase=True, stored=True),
        TOPIC: wf.KEYWORD(commas=True, lowercase=True, stored=True),
        VISIBILITY: wf.KEYWORD(commas=True, stored=True),
    }
    for lang in STEMMED_LANGUAGES:
        fields[f"text_{lang}"] = wf.TEXT(analyzer=stemmed_analyzer(lang), phrase=True)
    fields[UNSTEMMED_TEXT] = wf.TEXT(analyzer=plain_analyzer(), phrase=True)
    return wf.Schema(**fields)
