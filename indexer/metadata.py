"""Decide a document's metadata: sidecar file, then what the file declares, then inference.

Each field comes from the first source that has a usable value for it:

1. a sidecar beside the file (`report.pdf.meta.toml`, `.meta.yaml`, `.meta.yml`), which
   coordinators write for files that cannot carry metadata themselves;
2. what the extractor found in the file (`Extraction.metadata`: front matter, HTML meta
   tags, PDF info);
3. inference from the path, the title and the text.

Organisations and topics are the exception: the declared ones come first, and those found
in the text are added after them. A declared value that cannot be used (an unknown type,
an impossible date, an organisation not in the vocabulary) produces a warning and the next
source is tried, so one typo never fails a file.

Visibility (who may read the document) is the other exception, decided by
`indexer.visibility`: a declared value that cannot be used fails the file instead.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from indexer.entities import EntityMatcher
from indexer.extract.base import Extraction
from indexer.inference import infer_type, title_from_filename
from indexer.language import detect_language
from indexer.visibility import check_key, decide_visibility
from kb.access import VisibilityConfig
from kb.doctypes import normalise_type
from kb.errors import ConfigError, InvalidVisibility
from kb.formats import get_format
from kb.models import DocumentMetadata
from kb.text import infer_date, normalise_language, parse_date

SIDECAR_SUFFIXES = (".meta.toml", ".meta.yaml", ".meta.yml")

# Language detection reads the start of the document; more text rarely changes the answer.
LANGUAGE_SAMPLE_CHARS = 5000

# The keys a sidecar may use, and the spellings people are likely to write instead.
_FIELDS = (
    "title",
    "type",
    "date",
    "language",
    "organisations",
    "topics",
    "keywords",
    "author",
    "description",
    "source_url",
    "sample",
    "visibility",
)
_KEY_ALIASES = {
    "lang": "language",
    "organization": "organisations",
    "organizations": "organisations",
    "organisation": "organisations",
    "orgs": "organisations",
    "org": "organisations",
    "topic": "topics",
    "tags": "keywords",
    "authors": "author",
    "summary": "description",
    "url": "source_url",
    "source": "source_url",
    "link": "source_url",
    "doc_type": "type",
    "document_type": "type",
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})

# ---- sidecars --------------------------------------------------------------------------------


def sidecar_paths(path: Path) -> list[Path]:
    """The names a sidecar of `path` may have, in order of preference."""
    return [path.with_name(path.name + suffix) for suffix in SIDECAR_SUFFIXES]


def is_sidecar(path: Path) -> bool:
    """Whether `path` is a sidecar (so discovery does not index it as a document)."""
    return path.name.lower().endswith(SIDECAR_SUFFIXES)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The metadata in the sidecar of `path`, or {} when it has none.

    Raises ConfigError naming the sidecar when it cannot be parsed, is not a table of
    keys, or when two sidecars compete for the same file.
    """
    found = [p for p in sidecar_paths(path) if p.is_file()]
    if not found:
        return {}
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ConfigError(f"{path}: more than one metadata sidecar ({names}); keep one")
    sidecar = found[0]
    try:
        text = sidecar.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{sidecar}: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{sidecar}: cannot read it ({exc.strerror or exc})") from exc
    if sidecar.name.endswith(".toml"):
        try:
            data: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{sidecar}: invalid TOML: {exc}") from exc
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{sidecar}: invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{sidecar}: expected `key = value` lines (a table), found a {type(data).__name__}"
        )
    return data


# ---- merging ---------------------------------------------------------------------------------


def describe(
    rel_path: str,
    extraction: Extraction,
    sidecar: Mapping[str, Any],
    matcher: EntityMatcher,
    visibility: VisibilityConfig | None = None,
) -> tuple[DocumentMetadata, list[str]]:
    """Merge sidecar, embedded metadata and inference into the document's metadata.

    Returns the metadata and warnings for the coordinator (unknown type, organisation or
    key, unusable date or language), each naming where the bad value came from.
    `visibility` holds the corpus's defaults (`kb.access.load_visibility_config`); None means
    no configuration, so `members`. Raises InvalidVisibility for a visibility value that
    cannot be used.
    """
    warnings: list[str] = []
    sources = declared_sources(sidecar, extraction, warnings)
    vocab = matcher.vocab
    # First, before any other work: a file whose readers cannot be decided is not described.
    readers = decide_visibility(rel_path, sources, vocab, visibility)
    text = "\n\n".join(block.text for block in extraction.blocks)

    title, _, _ = _pick(sources, "title", _clean_text)
    if title is None:
        title = _clean_text(extraction.title) or title_from_filename(rel_path)

    doc_type, origin, rejected = _pick(sources, "type", normalise_type)
    if doc_type is None:
        doc_type = infer_type(rel_path, title)
    warnings += _rejections("unknown type", rejected, doc_type, origin)

    date, origin, rejected = _pick(sources, "date", parse_date)
    if date is None:
        date = infer_date(rel_path, title, text)
    warnings += _rejections("invalid date", rejected, date, origin)

    language, origin, rejected = _pick(sources, "language", _language)
    if language is None:
        language = detect_language(f"{title}\n\n{text}"[:LANGUAGE_SAMPLE_CHARS])
    warnings += _rejections("unknown language", rejected, language, origin, how="detected")

    declared_orgs = _resolve_all(
        sources, "organisations", lambda v: _id(vocab.organisation(v)), "organisation", warnings
    )
    organisations = _union(declared_orgs, matcher.organisations(f"{title}\n\n{text}"))

    declared_topics = _resolve_all(
        sources, "topics", lambda v: _id(vocab.topic(v)), "topic", warnings
    )
    # Free-form keywords and tags name a topic now and then; the rest are no mistake.
    keywords, _, _ = _pick(sources, "keywords", _values)
    keyword_topics = [t for value in keywords or () if (t := _id(vocab.topic(value)))]
    topics = _union(declared_topics, keyword_topics, matcher.topics(text, title=title))

    sample, origin, rejected = _pick(sources, "sample", _boolean)
    warnings += _rejections("invalid sample flag", rejected, sample, origin)

    meta = DocumentMetadata(
        title=title,
        type=doc_type,
        date=date,
        language=language,
        organisations=organisations,
        topics=topics,
        author=_pick(sources, "author", _author)[0],
        description=_pick(sources, "description", _clean_text)[0],
        source_url=_pick(sources, "source_url", _clean_text)[0],
        sample=bool(sample),
        visibility=readers,
    )
    return meta, warnings


def declared_sources(
    sidecar: Mapping[str, Any], extraction: Extraction, warnings: list[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(label, metadata with canonical keys) of the sidecar, then of the file itself: the
    sources `describe` picks from. Unknown sidecar keys are reported in `warnings`; a
    misspelt visibility key raises InvalidVisibility."""
    fmt = get_format(extraction.format)
    embedded_label = fmt.metadata_source if fmt else "embedded metadata"
    return [
        ("sidecar", _canonical_keys(sidecar, "sidecar", warnings)),
        (embedded_label, _canonical_keys(extraction.metadata, embedded_label, None)),
    ]


def _canonical_keys(
    data: Mapping[str, Any], label: str, warnings: list[str] | None
) -> dict[str, Any]:
    """Keys in their canonical spelling; unknown keys are reported in `warnings` for a
    sidecar, and ignored (None) for embedded metadata, since extractors pass on whatever
    files carry."""
    canonical: dict[str, Any] = {}
    aliased: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key).strip().lower().replace("-", "_")
        check_key(raw_key, key, label)
        if key == "visibility" and canonical.get(key, value) != value:
            # `Visibility:` and `visibility:` both given, differently: which one was meant?
            raise InvalidVisibility(f"two different visibility values in {label}")
        if key in _FIELDS:
            canonical[key] = value
        elif key in _KEY_ALIASES:
            aliased.setdefault(_KEY_ALIASES[key], value)
        elif warnings is not None:
            warnings.append(f"unknown key {raw_key!r} in {label}, ignored")
    # `source_url` beats `url` when a file has both.
    return {**aliased, **canonical}


def _present(value: object) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def _pick(
    sources: list[tuple[str, dict[str, Any]]], field: str, convert: Callable[[Any], Any]
) -> tuple[Any, str | None, list[tuple[str, object]]]:
    """The first usable value of `field`, the source it came from, and the values that
    came before it but could not be used (source, value)."""
    rejected: list[tuple[str, object]] = []
    for label, data in sources:
        value = data.get(field)
        if not _present(value):
            continue
        converted = convert(value)
        if converted is not None and converted != []:
            return converted, label, rejected
        rejected.append((label, value))
    return None, None, rejected


def _rejections(
    problem: str,
    rejected: list[tuple[str, object]],
    result: object,
    origin: str | None,
    how: str = "inferred",
) -> list[str]:
    """Warnings for unusable values that say what was used instead."""
    if result is None:
        outcome = "ignored"
    elif origin is None:
        outcome = f"{how} {_show(result)}"
    else:
        outcome = f"used {_show(result)} from {origin}"
    return [f"{problem} {_show(value)} in {label}, {outcome}" for label, value in rejected]


def _show(value: object) -> str:
    return repr(value if isinstance(value, str | int | float | bool) else str(value))


def _resolve_all(
    sources: list[tuple[str, dict[str, Any]]],
    field: str,
    resolve: Callable[[str], str | None],
    what: str,
    warnings: list[str],
) -> list[str]:
    """Ids for the declared values of `field` (first source that has any); unknown ones
    are dropped with a warning."""
    for label, data in sources:
        value = data.get(field)
        if not _present(value):
            continue
        ids = []
        for item in _values(value):
            resolved = resolve(item)
            if resolved is None:
                warnings.append(f"unknown {what} {item!r} in {label}, ignored")
            else:
                ids.append(resolved)
        return ids
    return []


def _values(value: object) -> list[str]:
    """A list of strings from a list, or from one string separated by commas or semicolons."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[object] = re.split(r"[,;]", value)
    elif isinstance(value, list | tuple | set):
        items = value
    else:
        items = [value]
    return [s for item in items if (s := str(item).strip())]


def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))


def _id(entry: Any) -> str | None:
    return entry.id if entry is not None else None


def _clean_text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _author(value: object) -> str | None:
    if isinstance(value, list | tuple):
        return ", ".join(_values(value)) or None
    return _clean_text(value)


def _language(value: object) -> str | None:
    return normalise_language(value) if isinstance(value, str) else None


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None
