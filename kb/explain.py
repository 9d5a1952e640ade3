"""How a query was read: what `kb search --explain` prints and the search page's "How was my
search read?" shows.

Everything here is what the compiler did with the query for this reader: the languages it
was read in, each word's stems and compound parts, the function words left out, the
glossary's translations, prefix expansions and the filters, the reader's own included. It
is built from the same `kb.compile.Compiler` run as the search, so it cannot drift from it,
and from the reader's view, so it names nothing the reader may not see.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kb import compounds
from kb.access import EVERYTHING, MEMBERS, ORGANISATION_PREFIX, PUBLIC, Principal, readable
from kb.analysis import STEMMED_LANGUAGES, stem
from kb.compile import Compiler
from kb.query import ParsedQuery, searched_words
from kb.text import LANGUAGE_NAMES, fold
from kb.view import View


@dataclass(frozen=True)
class WordReading:
    """One searched word: as typed, as matched (folded), its stem in each language it is
    searched in, its compound parts, and the glossary's words for it."""

    typed: str
    folded: str
    dropped: bool  # a function word of the query's language, left out
    stems: tuple[tuple[str, str], ...]  # (language, stem)
    parts: tuple[str, ...]  # a compound's parts, when it is one
    translations: tuple[str, ...]  # "sv: klimat"


@dataclass(frozen=True)
class Explanation:
    read_as: str
    languages: tuple[str, ...]  # the languages the query was read in
    others: bool  # whether the index holds passages in other languages (they count half)
    words: tuple[WordReading, ...]
    concepts: tuple[str, ...]  # glossary terms of several words found among the typed words
    prefixes: tuple[tuple[str, int], ...]  # (prefix, how many words it was searched as)
    filters: tuple[tuple[str, str, str], ...]  # ("", "type", "guide"), ("-", "org", "ikea")
    readers: tuple[tuple[str, str], ...]  # what results come from: ("public", ""), ...
    messages: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def visibility(self) -> str:
        """What the reader's results come from, in words."""
        return ", ".join(
            READER_WORDS[kind] if kind != "organisation" else f"documents private to {name}"
            for kind, name in self.readers
        )

    def lines(self) -> list[str]:
        """The explanation as plain text, a line each."""
        out = [f"Read as: {self.read_as or '(nothing to search)'}"]
        out.append(
            "Languages: "
            + ", ".join(_language(code) for code in self.languages)
            + (" (passages in other languages count half)" if self.others else "")
        )
        for w in self.words:
            if w.dropped:
                out.append(f"  {w.typed}: left out (a function word)")
                continue
            detail = [f"exact '{w.folded}'"]
            detail += [f"{_language(lang)} stem '{s}'" for lang, s in w.stems]
            if w.parts:
                detail.append("compound of " + " + ".join(w.parts))
            if w.translations:
                detail.append("glossary: " + ", ".join(w.translations))
            out.append(f"  {w.typed}: " + "; ".join(detail))
        for concept in self.concepts:
            out.append(f'  "{concept}": a glossary term, also searched in other languages')
        for prefix, count in self.prefixes:
            out.append(f"  {prefix}*: {count} word{'s' if count != 1 else ''}")
        filters = [f"{sign}{name}: {value}" for sign, name, value in self.filters]
        out.append("Filters: " + (", ".join(filters) if filters else "none"))
        out.append(f"Searched in: {self.visibility}")
        out += [f"Note: {m}" for m in self.messages]
        return out


def explain(view: View, principal: Principal, parsed: ParsedQuery) -> Explanation:
    """How `parsed` is read for the reader of `view`."""
    compiler = Compiler(view, [])
    if parsed.node is not None:
        compiler.compile(parsed.node)
    words = []
    for typed in dict.fromkeys(searched_words(parsed.node)):
        low = typed.lower()
        folded = fold(low)
        dropped = compiler.drop_stopwords and compiler.is_stopword(low)
        stems: list[tuple[str, str]] = []
        parts: tuple[str, ...] = ()
        if not dropped:
            for lang in compiler.query_languages:
                if lang in STEMMED_LANGUAGES:
                    stemmed = stem(low, lang)
                    stems.append((lang, stemmed))
                    parts = parts or compounds.split(stemmed, lang)
        translations = _translations(compiler, folded)
        for part in parts:  # a compound's parts are looked up in the glossary too
            translations += tuple(f"{part} → {t}" for t in _translations(compiler, fold(part)))
        words.append(WordReading(typed, folded, dropped, tuple(stems), parts, translations))
    filters = [
        (sign, name, value)
        for sign, table in (("", parsed.filters.include), ("-", parsed.filters.exclude))
        for name, values in sorted(table.items())
        for value in sorted(values)
    ]
    return Explanation(
        read_as=parsed.read_as,
        languages=compiler.query_languages,
        others=not set(compiler.languages) <= set(compiler.query_languages),
        words=tuple(words),
        concepts=tuple(dict.fromkeys(compiler.glossary_matches)),
        prefixes=tuple(compiler.expansions.items()),
        filters=tuple(filters),
        readers=readers(view, principal),
        messages=tuple(dict.fromkeys(parsed.messages)),
    )


READER_WORDS = {
    "everything": "every document (the server's shell)",
    "public": "public documents",
    "members": "members-only documents",
}


def readers(view: View, principal: Principal) -> tuple[tuple[str, str], ...]:
    """What a reader's results come from: ("everything", ""), ("public", ""), ("members",
    ""), ("organisation", its name)."""
    tokens = readable(principal)
    if EVERYTHING in tokens:
        return (("everything", ""),)
    out = [
        (kind, "")
        for kind in ("public", "members")
        if {"public": PUBLIC, "members": MEMBERS}[kind] in tokens
    ]
    for token in sorted(tokens):
        if token.startswith(ORGANISATION_PREFIX):
            org_id = token.removeprefix(ORGANISATION_PREFIX)
            org = view.vocabulary.organisation(org_id)
            out.append(("organisation", org.name if org else org_id))
    return tuple(out)


def _translations(compiler: Compiler, folded: str) -> tuple[str, ...]:
    return tuple(
        f"{code}: {term}"
        for code, _, term in (t.partition(":") for t in compiler.translations.get(folded, {}))
    )


def _language(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)
