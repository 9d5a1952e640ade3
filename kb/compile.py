"""The parsed query tree (`kb.query`) compiled into the engine's plan (`kb.engine.plan`).

A typed word becomes the alternatives it can be found as: its stem in each language's text
field, its accent-folded spelling in the exact, title and heading fields, and the glossary's
words for the same concept in other languages, weighted below it (`kb.ranking`). Words next
to each other are alternatives with a coordination bonus; prefixes expand to the index's
words. Compiling also collects the words to highlight.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kb import compounds
from kb import schema as f
from kb.analysis import folded_analyzer, plain_analyzer, stem, stemmed_analyzer, stopwords
from kb.engine import plan as p
from kb.highlight import HighlightTerms
from kb.library import Snapshot
from kb.passages import WordPlans, word_plans
from kb.query import All, Any, Node, Not, Phrase, Word, searched_words
from kb.querylang import query_languages
from kb.ranking import (
    COORDINATION,
    WEIGHT_COMPOUND_PARTS,
    WEIGHT_EXACT,
    WEIGHT_GLOSSARY,
    WEIGHT_HEADING,
    WEIGHT_OTHER_LANGUAGE,
    WEIGHT_TEXT,
    WEIGHT_TITLE,
)
from kb.text import fold
from kb.view import View

PREFIX_EXPANSION_CAP = 64
PREFIX_SCAN_CAP = 5000
MAX_GLOSSARY_WORDS = 4  # the longest glossary term looked for among a query's words


@dataclass(frozen=True)
class Compiled:
    """A query tree as plans: `plan` as searched, `direct` without glossary translations
    (what ranks in the first tier; the same as `plan` unless `expanded`), and the words to
    highlight."""

    plan: p.Plan | None
    direct: p.Plan | None
    expanded: bool
    highlight: HighlightTerms
    # Each searched word (and pair of neighbours) on its own: which of them a passage holds
    # picks the passage shown for a document (kb.passages).
    units: WordPlans = field(default_factory=WordPlans)


def compile_query(view: View, node: Node | None, messages: list[str]) -> Compiled:
    """Compile a query tree for one reader; notes for them (a prefix cut short) go to
    `messages`."""
    compiler = Compiler(view, messages)
    plan, direct = compiler.compile(node) if node is not None else (None, None)
    highlight = compiler.highlight_terms()
    return Compiled(plan, direct, compiler.expanded, highlight, word_plans(compiler, node))


def every_passage() -> p.Term:
    """The plan matching every passage (what a query of only exclusions excludes from)."""
    return p.Term(f.KIND, f.KIND_PASSAGE)


# A query tree's plan with the glossary's translations, and without them: compiled in one
# pass, side by side.
Pair = tuple[p.Plan | None, p.Plan | None]


class Compiler:
    """Compiles query trees against one reader's view of a snapshot (its languages, glossary
    and the words the reader may see)."""

    def __init__(self, view: View, messages: list[str]) -> None:
        self.view = view
        self.snap = snap = view.snap
        self.messages = messages
        self.expanded = False  # whether the glossary added anything
        self.languages = view.languages or ("en",)
        # Set from the whole query when its root is compiled (`start`).
        self.query_languages: tuple[str, ...] = self.languages
        self.stopwords: frozenset[str] = frozenset()
        self.drop_stopwords = True
        self.started = False
        self.dropped: list[str] = []  # function words left out of the search
        self.split_words: list[tuple[str, tuple[str, ...]]] = []  # compounds and their parts
        self.glossary_matches: list[str] = []  # glossary terms found among the typed words
        self.translations: dict[str, dict[str, None]] = {}  # a word's "lang:term" translations
        self.expansions: dict[str, int] = {}  # how many words each prefix was searched as
        self.translated_parts: list[p.Plan] = []  # the word's compound parts, translated
        self.words: set[str] = set()
        self.stems: set[tuple[str, str]] = set()
        self.prefixes: list[str] = []
        self.concepts = snap.stable(("concepts",), lambda: _concepts_by_term(snap))

    def highlight_terms(self) -> HighlightTerms:
        return HighlightTerms(frozenset(self.words), frozenset(self.stems), tuple(self.prefixes))

    def start(self, root: Node) -> None:
        """Read the whole query before compiling it: its languages (kb.querylang), whose
        words rank fully in their fields and those of other languages at
        WEIGHT_OTHER_LANGUAGE, and their function words, which count only when the query has
        nothing else (`to be or not to be`)."""
        self.started = True
        words = searched_words(root)
        self.query_languages = query_languages(self.view, words)
        self.stopwords = frozenset().union(*(stopwords(lang) for lang in self.query_languages))
        self.drop_stopwords = not all(self.is_stopword(w.lower()) for w in words)

    def compile(self, node: Node) -> Pair:
        """The node's plan with glossary translations, and without."""
        if not self.started:
            self.start(node)
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Not):
            inner = self.compile(node.node)
            return _side_by_side(
                lambda i: p.Excluding(every_passage(), inner[i]) if inner[i] is not None else None
            )
        positives: list[Pair] = []
        negatives: list[Pair] = []
        # A word typed twice adds nothing but cost.
        for child in dict.fromkeys(node.nodes):
            if isinstance(child, Not):
                negatives.append(self._silent(child.node))
            else:
                positives.append(self.compile(child))
        if isinstance(node, Any) and not node.explicit:
            # `cirkulär ekonomi` typed without quotes is still the glossary's concept.
            for concept in self.glossary_runs(node.nodes):
                translated = p.any_of(self.glossary(concept))
                if translated is not None:
                    positives.append((translated, None))
        return _side_by_side(
            lambda i: _combine(
                node,
                [q[i] for q in positives if q[i] is not None],
                [q[i] for q in negatives if q[i] is not None],
            )
        )

    def glossary_runs(self, nodes: tuple[Node, ...]) -> list[str]:
        """Runs of adjacent plain words that spell a glossary term of several words, longest
        first and not overlapping."""
        found: list[str] = []
        plain = [
            fold(n.text.lower())
            if isinstance(n, Word) and not n.prefix and n.field is None
            else None
            for n in nodes
        ]
        i = 0
        while i < len(plain):
            for size in range(min(MAX_GLOSSARY_WORDS, len(plain) - i), 1, -1):
                run = plain[i : i + size]
                if None not in run and " ".join(run) in self.concepts:
                    found.append(" ".join(run))
                    self.glossary_matches.append(" ".join(run))
                    i += size
                    break
            else:
                i += 1
        return found

    def _silent(self, node: Node) -> Pair:
        """Compile without collecting highlight terms (for excluded words)."""
        saved = (set(self.words), set(self.stems), list(self.prefixes))
        q = self.compile(node)
        self.words, self.stems, self.prefixes = saved
        return q

    def is_stopword(self, word: str) -> bool:
        """Whether a lower-cased word is a function word of the query's languages."""
        return word in self.stopwords or fold(word) in self.stopwords

    def word(self, node: Word) -> Pair:
        if node.prefix:
            found = self.prefix(fold(node.text.lower()), node.field)
            return found, found
        if self.drop_stopwords and node.field is None and self.is_stopword(node.text.lower()):
            # Neither scored nor highlighted: `av` in `gjenbruk av mobiltelefoner`.
            self.dropped.append(node.text)
            return None, None
        self.translated_parts = []
        subs = self._word(node, None)
        if node.field == "title":
            return p.any_of(subs), p.any_of(subs)
        translated = self.glossary(fold(node.text.lower())) + self.translated_parts
        return p.any_of(subs + translated), p.any_of(subs)

    def _word(self, node: Word, langs: tuple[str, ...] | None) -> list[p.Plan]:
        """A word's alternatives: its stem in each language's field (or only in `langs`),
        its spelling in the exact, title and heading fields."""
        low = node.text.lower()
        folded = fold(low)
        subs: list[p.Plan] = []
        if node.field == "title":
            subs.append(p.Term(f.TITLE, folded))
        else:
            for lang in self.languages if langs is None else langs:
                fieldname = f"text_{lang}" if lang != "xx" else f.UNSTEMMED_TEXT
                weight = self._language_weight(lang, langs)
                tokens = [t.text for t in _analyzer_for(fieldname)(node.text)]
                if len(tokens) == 1 and weight:
                    subs.append(p.Term(fieldname, tokens[0], boost=weight))
                    self.stems.add((lang, stem(low, lang)))
                    if langs is None and lang in self.query_languages:
                        subs.extend(self.compound_parts(lang, tokens[0]))
            if not self.drop_stopwords or not self.is_stopword(low) or not subs:
                subs.append(p.Term(f.EXACT, folded, boost=WEIGHT_EXACT))
                subs.append(p.Term(f.TITLE, folded, boost=WEIGHT_TITLE))
                subs.append(p.Term(f.HEADING, folded, boost=WEIGHT_HEADING))
        self.words.add(folded)
        return subs

    def compound_parts(self, lang: str, stemmed: str) -> list[p.Plan]:
        """A compound's parts, all of them, weighted below the whole word (`klimatkrav`:
        `klimat` and `krav`). The same with each part also as the glossary's words for it
        (the Norwegian `klima` for `klimat`) waits in `translated_parts` for the glossary
        tier: only the typed word's own parts rank as a direct match."""
        parts = compounds.split(stemmed, lang)
        if not parts:
            return []
        own, translated = [], []
        for part in dict.fromkeys(parts):
            term = p.Term(f"text_{lang}", stem(part, lang))
            own.append(term)
            translated.append(p.any_of([term, *self.glossary(fold(part))]))
            self.stems.add((lang, stem(part, lang)))
        self.split_words.append((stemmed, parts))
        if translated != own:
            self.translated_parts.append(
                p.boosted(p.AllOf(tuple(translated)), WEIGHT_COMPOUND_PARTS)
            )
        return [p.boosted(p.AllOf(tuple(own)), WEIGHT_COMPOUND_PARTS)]

    def _language_weight(self, lang: str, langs: tuple[str, ...] | None) -> float:
        """A language field's weight: full for the query's languages (and for a glossary
        translation, looked up in its own language only), lower for the others."""
        if langs is not None or lang in self.query_languages:
            return WEIGHT_TEXT
        return WEIGHT_OTHER_LANGUAGE

    def phrase(self, node: Phrase) -> Pair:
        if node.joined:
            return self.joined(node)
        subs = self._phrase(node, None)
        if node.field is not None:
            return p.any_of(subs), p.any_of(subs)
        return p.any_of(subs + self.glossary(fold(" ".join(node.words)))), p.any_of(subs)

    def joined(self, node: Phrase) -> Pair:
        """A hyphenated or slashed word: the whole word (its parts as a phrase) or any of
        its parts, with the coordination bonus, so `IT-inköp` ranks passages holding the
        whole word first and still finds `inköp` alone."""
        whole = self.phrase(Phrase(node.words, node.field))
        parts = [self.compile(Word(w, field=node.field)) for w in dict.fromkeys(node.words)]
        alternatives = [whole, *parts]
        return _side_by_side(
            lambda i: p.any_of(
                [q[i] for q in alternatives if q[i] is not None], coordination=COORDINATION
            )
        )

    def _phrase(self, node: Phrase, langs: tuple[str, ...] | None) -> list[p.Plan]:
        """A phrase's alternatives: in each language's field (or only in `langs`) and the
        exact field; a title: phrase in the title field."""
        subs: list[p.Plan] = []
        fields = [(f.TITLE, 1.0)] if node.field == "title" else [
            *((f"text_{lang}", self._language_weight(lang, langs))
              for lang in (self.languages if langs is None else langs)),
            (f.EXACT, WEIGHT_EXACT),
        ]  # fmt: skip
        for fieldname, boost in fields:
            if not boost:
                continue
            tokens = [t.text for t in _analyzer_for(fieldname)(" ".join(node.words))]
            if len(tokens) > 1:
                subs.append(p.Phrase(fieldname, tuple(tokens), boost=boost))
            elif tokens:
                subs.append(p.Term(fieldname, tokens[0], boost=boost))
        for w in node.words:
            self.words.add(fold(w))
        return subs

    def glossary(self, folded: str) -> list[p.Plan]:
        """Other languages' words for the same concept, weighted below the typed word."""
        out: list[p.Plan] = []
        for concept in self.concepts.get(folded, ()):
            for lang, term in concept.terms_by_language():
                if fold(term) == folded:
                    continue
                # A translation is only looked up in its own language's stemmed field
                # (and the shared exact field): "klimat" is Swedish, not an English word.
                langs = (lang,) if lang in self.languages else ()
                parts = tuple(term.split())
                q = p.any_of(
                    self._phrase(Phrase(parts), langs)
                    if len(parts) > 1
                    else self._word(Word(parts[0]), langs)
                )
                if q is not None:
                    out.append(p.boosted(q, WEIGHT_GLOSSARY))
                    self.expanded = True
                    self.translations.setdefault(folded, {}).setdefault(f"{lang}:{term}")
        return out

    def prefix(self, folded: str, field_name: str | None) -> p.Plan | None:
        """The words starting with `folded` that occur in passages the reader may see: a word
        only hidden documents hold is never searched, so neither the answer nor its messages
        tell whether such a word exists. At most PREFIX_EXPANSION_CAP, the most common."""
        fieldname = f.TITLE if field_name == "title" else f.EXACT
        view = self.view
        terms = sorted(self.snap.cached(("prefix", fieldname, folded), lambda: self._expand(
            fieldname, folded)))  # fmt: skip
        reader = self.snap.searcher().reader()
        by_frequency = sorted(terms, key=lambda t: (-reader.doc_frequency(fieldname, t), t))
        if not view.everything:
            # The first CAP + 1 visible words in the index-wide order (the order is a
            # collection statistic, like BM25's; membership is the reader's), kept per reader.
            def visible() -> frozenset:
                kept = []
                for term in by_frequency:
                    if view.doc_frequency(fieldname, term) > 0:
                        kept.append(term)
                        if len(kept) > PREFIX_EXPANSION_CAP:
                            break
                return frozenset(kept)

            key = ("prefix-visible", fieldname, folded, view.readable)
            shown = self.snap.cached(key, visible)
            by_frequency = [t for t in by_frequency if t in shown]
        if len(by_frequency) > PREFIX_EXPANSION_CAP:
            by_frequency = by_frequency[:PREFIX_EXPANSION_CAP]
            self.messages.append(
                f"'{folded}*' matches many words; searched for the {PREFIX_EXPANSION_CAP} most common."
            )
        self.prefixes.append(folded)
        self.expansions[folded] = len(by_frequency)
        return p.any_of(p.Term(fieldname, t) for t in sorted(by_frequency))

    def _expand(self, fieldname: str, folded: str) -> list[str]:
        """The index's words starting with `folded` (at most PREFIX_SCAN_CAP)."""
        found = []
        reader = self.snap.searcher().reader()
        for i, term in enumerate(reader.expand_prefix(fieldname, folded)):
            if i >= PREFIX_SCAN_CAP:
                break
            found.append(term.decode("utf-8") if isinstance(term, bytes) else term)
        return found


def _side_by_side(build) -> Pair:
    return build(0), build(1)


def _combine(node: Node, positives: list[p.Plan], negatives: list[p.Plan]) -> p.Plan | None:
    """An All or Any node's plan from its children's: all or any of the positive ones, less
    any of the negative ones."""
    if not positives and not negatives:
        return None
    if isinstance(node, All) and len(positives) > 1:
        base: p.Plan = p.AllOf(tuple(positives))
    elif isinstance(node, All):
        base = positives[0] if positives else every_passage()
    elif positives:
        base = p.any_of(positives, coordination=None if node.explicit else COORDINATION)
    else:
        base = every_passage()
    if negatives:
        return p.Excluding(base, p.any_of(negatives))
    return base


def _concepts_by_term(snap: Snapshot) -> dict[str, list]:
    concepts: dict[str, list] = {}
    for concept in snap.vocabulary.concepts:
        for term in concept.all_terms:
            concepts.setdefault(fold(term), []).append(concept)
    return concepts


def _analyzer_for(fieldname: str):
    if fieldname in (f.EXACT, f.TITLE, f.HEADING):
        return folded_analyzer()
    if fieldname == f.UNSTEMMED_TEXT:
        return plain_analyzer()
    return stemmed_analyzer(fieldname.removeprefix("text_"), split_compounds=False)
