"""Search-box suggestions (the OpenSearch suggestions format) from document titles, the
corpus vocabularies (organisations, topics, glossary) and the words of the index.

Only what the reader may see is ever offered: titles of visible documents, and words that
occur in visible passages (`kb.view`). The candidates are built once per snapshot and
readable set, and kept with the reader's view while the snapshot lives, so one request is a
scan over a few thousand short strings: well under a millisecond per thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb import schema as f
from kb.doctypes import TYPE_LABELS
from kb.text import fold
from kb.view import View

MAX_SUGGEST_CHARS = 100
TERM_SCAN_CAP = 400


@dataclass(frozen=True)
class Candidate:
    folded: str  # accent-folded, lower-case, single-spaced
    text: str  # what the search box is completed with
    description: str
    doc_id: str | None  # documents link to themselves; everything else to a search
    rank: int  # lower first, among equally good matches


@dataclass(frozen=True)
class Suggestion:
    text: str
    description: str
    doc_id: str | None


def _norm(text: str) -> str:
    return " ".join(fold(text).split())


def build_candidates(view: View) -> tuple[Candidate, ...]:
    out: dict[str, Candidate] = {}

    def add(text: str, description: str, doc_id: str | None, rank: int) -> None:
        key = _norm(text)
        if key and key not in out:
            out[key] = Candidate(key, text, description, doc_id, rank)

    vocab = view.vocabulary
    for topic in vocab.topics:
        add(topic.name, "Topic", None, 0)
    for org in vocab.organisations:
        add(org.name, "Member organisation" if org.member else "Organisation", None, 1)
        for alias in org.aliases:
            add(alias, org.name, None, 2)
    for info in sorted(view.catalogue.values(), key=lambda d: d.meta.date or "", reverse=True):
        add(info.title, TYPE_LABELS.get(info.meta.type, info.meta.type), info.doc_id, 3)
    for concept in vocab.concepts:
        for term in concept.all_terms:
            add(term, "Glossary", None, 4)
    return tuple(out.values())


class Suggester:
    """Suggestions for one reader's view of the current snapshot; candidates are cached with
    the view (one per snapshot and readable set)."""

    def candidates(self, view: View) -> tuple[Candidate, ...]:
        return view.derived(("suggest",), lambda: build_candidates(view))

    def suggest(self, view: View, q: str, limit: int = 8) -> list[Suggestion]:
        query = _norm(q[:MAX_SUGGEST_CHARS])
        if not query:
            return []
        starts, inside = [], []
        for c in self.candidates(view):
            if c.folded.startswith(query):
                starts.append(c)
            elif f" {query}" in f" {c.folded}":
                inside.append(c)
        starts.sort(key=lambda c: (c.rank, len(c.folded)))
        inside.sort(key=lambda c: (c.rank, len(c.folded)))
        chosen = [Suggestion(c.text, c.description, c.doc_id) for c in starts + inside][:limit]
        if len(chosen) < limit:
            chosen += self._word_completions(view, q, query, limit - len(chosen), chosen)
        return chosen

    @staticmethod
    def _word_completions(
        view: View, raw: str, query: str, wanted: int, already: list[Suggestion]
    ) -> list[Suggestion]:
        """Complete the last word being typed from the words of visible passages, most
        frequent (among them) first."""
        last = query.rsplit(" ", 1)[-1]
        if len(last) < 2 or not last.isalnum():
            return []
        reader = view.snap.searcher().reader()
        terms = []
        for i, term in enumerate(reader.expand_prefix(f.EXACT, last)):
            if i >= TERM_SCAN_CAP:
                break
            if isinstance(term, bytes):
                term = term.decode("utf-8", "replace")
            if term != last:
                terms.append(term)
        frequency = {t: view.doc_frequency(f.EXACT, t) for t in terms}
        terms = sorted((t for t in terms if frequency[t] > 0), key=lambda t: -frequency[t])
        head = raw.strip()[: len(raw.strip()) - len(raw.strip().rsplit(" ", 1)[-1])]
        seen = {fold(s.text) for s in already}
        out = []
        for term in terms:
            text = f"{head}{term}"
            if fold(text) not in seen:
                out.append(Suggestion(text, "", None))
                seen.add(fold(text))
            if len(out) >= wanted:
                break
        return out
