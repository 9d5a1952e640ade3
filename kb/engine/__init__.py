"""kb's search engine over a whoosh index.

- `plan`: a query as plain data (terms, phrases, unions, intersections, exclusions) and
  filters as structured values;
- `evaluate`: one evaluator turning a plan into dense arrays over every passage;
- `postings`: each term's postings and word positions as numpy arrays, cached per snapshot;
- `bm25`: the one definition of a passage's score for a term;
- `codec` (and `whoosh_schema`, the part without numpy that the index writer uses): the only code
  that reads whoosh's internals, checked against the whoosh version it was written for.
"""
