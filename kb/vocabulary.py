"""The corpus's controlled vocabularies: member organisations, topics, and the glossary.

They live as TOML beside the documents (`corpus/organisations.toml`, `corpus/topics.toml`,
`corpus/glossary.toml`) so coordinators can edit them without touching code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kb.errors import ConfigError
from kb.text import fold


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    sector: str = ""
    country: str = ""
    member: bool = True
    # Domains of its members' e-mail addresses: single sign-on maps a user to it by them.
    email_domains: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def all_keywords(self) -> tuple[str, ...]:
        return tuple(k for words in self.keywords.values() for k in words)


@dataclass(frozen=True)
class Concept:
    """One idea with its words in several languages, used for cross-language query expansion."""

    id: str
    terms: dict[str, tuple[str, ...]]

    @property
    def all_terms(self) -> tuple[str, ...]:
        return tuple(t for words in self.terms.values() for t in words)

    def terms_by_language(self) -> tuple[tuple[str, str], ...]:
        """(language, term) pairs, e.g. ("sv", "upphandling")."""
        return tuple((lang, t) for lang, words in self.terms.items() for t in words)


@dataclass(frozen=True)
class Vocabulary:
    organisations: tuple[Organisation, ...] = ()
    topics: tuple[Topic, ...] = ()
    concepts: tuple[Concept, ...] = ()
    # kb.toml's `[citation] publisher` (load_publisher): read with the vocabulary, so every
    # snapshot carries the corpus's settings from the same moment.
    publisher: str | None = None

    def organisation(self, value: str) -> Organisation | None:
        """Find an organisation by id, name or alias, ignoring case and accents."""
        return self._organisation_index.get(fold(value).strip())

    def organisation_for_domain(self, domain: str) -> Organisation | None:
        """The organisation whose `email_domains` list `domain` (exactly, in any case)."""
        for org in self.organisations:
            if domain.strip().lower() in org.email_domains:
                return org
        return None

    def topic(self, value: str) -> Topic | None:
        """Find a topic by id or name, ignoring case and accents."""
        return self._topic_index.get(fold(value).strip().replace(" ", "-"))

    @cached_property
    def _organisation_index(self) -> dict[str, Organisation]:
        # A results page names dozens of organisations: look them up, do not scan.
        index: dict[str, Organisation] = {}
        for org in self.organisations:  # the first organisation claiming a name keeps it
            for key in (org.id, *(fold(n) for n in org.names)):
                index.setdefault(key, org)
        return index

    @cached_property
    def _topic_index(self) -> dict[str, Topic]:
        index: dict[str, Topic] = {}
        for topic in self.topics:
            for key in (topic.id, fold(topic.name).replace(" ", "-")):
                index.setdefault(key, topic)
        return index

    def organisation_name(self, org_id: str) -> str:
        org = self.organisation(org_id)
        return org.name if org else org_id

    def topic_name(self, topic_id: str) -> str:
        topic = self.topic(topic_id)
        return topic.name if topic else topic_id


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _domains(value: object, where: str) -> tuple[str, ...]:
    domains = tuple(d.strip().lower() for d in _strings(value, where))
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            raise ConfigError(f"{where}: {domain!r} in email_domains is not a domain like ikea.com")
    return domains


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def load_vocabulary(corpus: Path) -> Vocabulary:
    """Read the three vocabulary files of a corpus (a missing file is an empty vocabulary),
    and the citation publisher of its kb.toml."""
    orgs = []
    org_file = corpus / "organisations.toml"
    for i, entry in enumerate(_read_toml(org_file).get("organisation", []), start=1):
        where = f"{org_file} organisation #{i}"
        if "id" not in entry or "name" not in entry:
            raise ConfigError(f"{where}: needs `id` and `name`")
        orgs.append(
            Organisation(
                id=str(entry["id"]),
                name=str(entry["name"]),
                aliases=_strings(entry.get("aliases"), where),
                sector=str(entry.get("sector", "")),
                country=str(entry.get("country", "")),
                member=bool(entry.get("member", True)),
                email_domains=_domains(entry.get("email_domains"), where),
            )
        )
    claimed: dict[str, str] = {}
    for org in orgs:
        for domain in org.email_domains:
            if claimed.setdefault(domain, org.id) != org.id:
                raise ConfigError(
                    f"{org_file}: e-mail domain {domain!r} is listed by both "
                    f"{claimed[domain]!r} and {org.id!r}"
                )
    topics = []
    topic_file = corpus / "topics.toml"
    for i, entry in enumerate(_read_toml(topic_file).get("topic", []), start=1):
        where = f"{topic_file} topic #{i}"
        if "id" not in entry or "name" not in entry:
            raise ConfigError(f"{where}: needs `id` and `name`")
        keywords = entry.get("keywords", {})
        if not isinstance(keywords, dict):
            raise ConfigError(f"{where}: `keywords` must be a table of language = [words]")
        topics.append(
            Topic(
                id=str(entry["id"]),
                name=str(entry["name"]),
                keywords={lang: _strings(words, where) for lang, words in keywords.items()},
            )
        )
    concepts = []
    glossary_file = corpus / "glossary.toml"
    for i, entry in enumerate(_read_toml(glossary_file).get("concept", []), start=1):
        where = f"{glossary_file} concept #{i}"
        terms = {k: _strings(v, where) for k, v in entry.items() if k != "id"}
        concepts.append(Concept(id=str(entry.get("id", f"concept-{i}")), terms=terms))
    return Vocabulary(tuple(orgs), tuple(topics), tuple(concepts), load_publisher(corpus))


def load_publisher(corpus: Path) -> str | None:
    """`[citation] publisher` of the corpus's kb.toml: who publishes the corpus. Citations
    (kb.cite) name it as the publisher of every document, and as the corporate author of a
    document whose own metadata names no author. None without a file, table or value;
    ConfigError for a value that is not text or an unknown key (a misspelt `publsher` is
    never silently ignored)."""
    path = corpus / "kb.toml"
    table = _read_toml(path).get("citation", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [citation] must be a table")
    unknown = sorted(set(table) - {"publisher"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [citation]: {', '.join(unknown)}")
    value = table.get("publisher")
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: [citation] publisher must be text")
    return " ".join((value or "").split()) or None
