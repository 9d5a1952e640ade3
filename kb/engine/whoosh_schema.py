"""The part of whoosh's internals that writing an index always touches: the version check
and a schema's field table.

It is kept apart from `codec` (postings blocks, lengths and positions as numpy arrays) so
that `kb index` does not import numpy: a run that changes a few files is mostly Python's
start-up and imports. Like `codec`, it refuses to load with a whoosh it was not written for.
"""

from __future__ import annotations

import copy

import whoosh

# Releases whose postings blocks, length columns, position encoding and schema layout kb reads.
WRITTEN_FOR = ("2.7.5",)


class UnsupportedWhoosh(ImportError):
    """The installed whoosh is not one this module knows the internals of."""


def check_version(version: str) -> None:
    """Raise UnsupportedWhoosh unless `version` is one of WRITTEN_FOR."""
    if version not in WRITTEN_FOR:
        raise UnsupportedWhoosh(
            f"kb reads whoosh's internal postings format and was written for whoosh "
            f"{', '.join(WRITTEN_FOR)}, but whoosh {version} is installed. Install a "
            f"supported version (pip install 'whoosh-reloaded=={WRITTEN_FOR[-1]}'), or check "
            f"kb/engine/codec.py against the new one and add it to WRITTEN_FOR."
        )


check_version(whoosh.versionstring())


def schema_with_fields(schema, replaced: dict):
    """A copy of `schema` with some of its field objects replaced (by name)."""
    proxy = copy.copy(schema)
    proxy._fields = {**schema._fields, **replaced}
    return proxy


def schema_fields(schema) -> dict:
    """A schema's field objects by name, including those of dynamic fields already seen."""
    return dict(schema._fields)
