"""Who may read what: principals, visibility values, and the corpus's visibility defaults.

A document's visibility is one of `public`, `members` or `organisation:<id>[,<id>…]`. A
principal (who is asking) turns into the set of visibility *tokens* it may read
(`readable`); a document is readable when its own tokens meet that set (`can_read`). The
search engine applies the same sets inside the scorer, so this module is the one definition
of the rules in ../docs/security.md:

- anonymous visitors read `public`;
- a member of organisation X reads `public`, `members` and `organisation:X`;
- a coordinator reads exactly like a member of their own organisation: coordinating the
  network gives no right to read another organisation's private documents;
- the server's shell (the `kb` CLI on the machine) reads everything: it can read the files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from kb.errors import InvalidVisibility, UnknownOrganisation
from kb.vocabulary import Vocabulary, load_vocabulary

CONFIG_FILE = "kb.toml"  # at the corpus root, beside organisations.toml
PUBLIC = "public"
MEMBERS = "members"
ORGANISATION_PREFIX = "organisation:"
# In a readable set: every document, whatever its visibility (the server's shell only).
EVERYTHING = "*"
MAX_VALUE_CHARS = 2000  # a longer visibility value is a mistake, not a list of organisations


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    MEMBER = "member"
    COORDINATOR = "coordinator"
    SHELL = "shell"  # the administrator at the server's shell


@dataclass(frozen=True)
class Principal:
    """Who is asking. Members and coordinators have an email and an organisation id."""

    kind: PrincipalKind
    email: str | None = None
    organisation: str | None = None

    def __post_init__(self) -> None:
        signed_in = self.kind in (PrincipalKind.MEMBER, PrincipalKind.COORDINATOR)
        if signed_in and not (self.email and self.organisation):
            raise ValueError(f"a {self.kind} needs an email and an organisation")
        if not signed_in and (self.email or self.organisation):
            raise ValueError(f"the {self.kind} principal has no email or organisation")

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(PrincipalKind.ANONYMOUS)

    @classmethod
    def shell(cls) -> Principal:
        return cls(PrincipalKind.SHELL)

    @classmethod
    def member(cls, email: str, organisation: str) -> Principal:
        return cls(PrincipalKind.MEMBER, email, organisation)

    @classmethod
    def coordinator(cls, email: str, organisation: str) -> Principal:
        return cls(PrincipalKind.COORDINATOR, email, organisation)

    @property
    def is_anonymous(self) -> bool:
        return self.kind is PrincipalKind.ANONYMOUS

    @property
    def is_signed_in(self) -> bool:
        return self.kind in (PrincipalKind.MEMBER, PrincipalKind.COORDINATOR)


@dataclass(frozen=True)
class Visibility:
    """One document's visibility: `level` is public, members or organisation; `organisations`
    holds the organisation ids (sorted, without duplicates) for the organisation level."""

    level: str
    organisations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in (PUBLIC, MEMBERS, "organisation"):
            raise ValueError(f"unknown visibility level {self.level!r}")
        if (self.level == "organisation") != bool(self.organisations):
            raise ValueError("organisation visibility needs organisations, and only it has them")

    @classmethod
    def public(cls) -> Visibility:
        return cls(PUBLIC)

    @classmethod
    def members(cls) -> Visibility:
        return cls(MEMBERS)

    @classmethod
    def organisation(cls, *ids: str) -> Visibility:
        return cls("organisation", tuple(sorted(set(ids))))

    @property
    def tokens(self) -> frozenset[str]:
        """The tokens a reader needs one of: `public`, `members`, or `organisation:<id>` each."""
        if self.level == "organisation":
            return frozenset(ORGANISATION_PREFIX + org for org in self.organisations)
        return frozenset({self.level})

    def __str__(self) -> str:
        if self.level == "organisation":
            return ORGANISATION_PREFIX + ",".join(self.organisations)
        return self.level


def visibility_tokens(value: str) -> frozenset[str]:
    """The tokens of a stored, already checked visibility value (`str(Visibility)`): the
    index holds them on every record, and the scorer masks by them."""
    level, _, orgs = value.partition(":")
    if level == "organisation":
        return frozenset(ORGANISATION_PREFIX + org for org in orgs.split(",") if org)
    return frozenset({value})


def readable(principal: Principal) -> frozenset[str]:
    """The visibility tokens `principal` may read; `{EVERYTHING}` for the server's shell."""
    if principal.kind is PrincipalKind.SHELL:
        return frozenset({EVERYTHING})
    if principal.kind is PrincipalKind.ANONYMOUS:
        return frozenset({PUBLIC})
    # Members and coordinators alike: a coordinator is not a super-reader.
    return frozenset({PUBLIC, MEMBERS, ORGANISATION_PREFIX + str(principal.organisation)})


def can_read(principal: Principal, visibility: Visibility) -> bool:
    """Whether `principal` may read a document of this visibility."""
    allowed = readable(principal)
    return EVERYTHING in allowed or not allowed.isdisjoint(visibility.tokens)


def organisation_id(vocabulary: Vocabulary, value: str) -> str:
    """The id of the organisation named by `value` (id, name or alias, any case or accents)."""
    org = vocabulary.organisation(value) if value.strip() else None
    if org is None:
        raise UnknownOrganisation(
            f"unknown organisation {value.strip()!r}: use an id, name or alias from "
            "organisations.toml"
        )
    return org.id


def parse_visibility(value: object, vocabulary: Vocabulary) -> Visibility:
    """Read a visibility value: `public`, `members` or `organisation:<id>[,<id>…]`, where each
    organisation may be given by id, name or alias. Raises `InvalidVisibility` otherwise."""
    if not isinstance(value, str):
        raise InvalidVisibility(
            f"visibility must be text (public, members or organisation:<id>), not {value!r}"
        )
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidVisibility(f"visibility value is too long ({len(value)} characters)")
    text = value.strip()
    lowered = text.lower()
    if lowered in (PUBLIC, MEMBERS):
        return Visibility(lowered)
    level, colon, names = text.partition(":")
    if not colon or level.strip().lower() not in ("organisation", "organization"):
        raise InvalidVisibility(
            f"unknown visibility {text!r}: use public, members or organisation:<id>[,<id>…]"
        )
    ids = []
    for name in names.split(","):
        if not name.strip():
            raise InvalidVisibility(f"visibility {text!r} has an empty organisation name")
        try:
            ids.append(organisation_id(vocabulary, name))
        except UnknownOrganisation as exc:
            raise InvalidVisibility(f"visibility {text!r}: {exc}") from exc
    return Visibility.organisation(*ids)


@dataclass(frozen=True)
class VisibilityConfig:
    """The corpus's visibility defaults: one overall, and per folder (the deepest folder
    that contains a file wins). With no configuration at all, documents are `members`."""

    default: Visibility = field(default_factory=Visibility.members)
    folders: dict[str, Visibility] = field(default_factory=dict)

    def default_for(self, rel_path: str) -> Visibility:
        """The visibility of a document at `rel_path` (under the corpus) that names none."""
        parts = PurePosixPath(rel_path).parts[:-1]
        for depth in range(len(parts), 0, -1):
            folder = "/".join(parts[:depth])
            if folder in self.folders:
                return self.folders[folder]
        return self.default


def _folder_key(raw: str, where: str) -> str:
    key = raw.strip().strip("/")
    parts = key.split("/")
    if not key or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise InvalidVisibility(
            f"{where}: folder {raw!r} must be a path under the corpus, like meetings"
        )
    return key


def load_visibility_config(corpus: Path, vocabulary: Vocabulary | None = None) -> VisibilityConfig:
    """Read `[visibility]` from the corpus's `kb.toml`; no file (or no table) means the
    default `members`. Unknown keys are refused, so a misspelt `defualt` is never ignored."""
    path = corpus / CONFIG_FILE
    if not path.is_file():
        return VisibilityConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidVisibility(f"{path}: {exc}") from exc
    table = data.get("visibility", {})
    if not isinstance(table, dict):
        raise InvalidVisibility(f"{path}: [visibility] must be a table")
    unknown = sorted(set(table) - {"default", "folders"})
    if unknown:
        raise InvalidVisibility(
            f"{path}: unknown key(s) in [visibility]: {', '.join(unknown)} "
            "(expected default and [visibility.folders])"
        )
    vocabulary = vocabulary if vocabulary is not None else load_vocabulary(corpus)

    def parse(value: object, where: str) -> Visibility:
        try:
            return parse_visibility(value, vocabulary)
        except InvalidVisibility as exc:
            raise InvalidVisibility(f"{path}: {where}: {exc}") from exc

    default = parse(table["default"], "default") if "default" in table else Visibility.members()
    folders_table = table.get("folders", {})
    if not isinstance(folders_table, dict):
        raise InvalidVisibility(f"{path}: [visibility.folders] must be a table")
    folders: dict[str, Visibility] = {}
    for raw, value in folders_table.items():
        key = _folder_key(raw, str(path))
        if key in folders:
            raise InvalidVisibility(f"{path}: folder {key!r} is given twice")
        folders[key] = parse(value, f"folder {key!r}")
    return VisibilityConfig(default, folders)
