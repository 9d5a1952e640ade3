"""Writing a document's sidecar `<file>.meta.toml` for `kb add`, keeping what is there."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from indexer.add_options import AddError
from kb.errors import KbError

SIDECAR_SUFFIX = ".meta.toml"
# Key order of a written sidecar; keys found in an existing sidecar follow.
_SIDECAR_ORDER = (
    "title", "type", "date", "language", "organisations", "topics", "source_url", "visibility",
)  # fmt: skip


def _toml_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if key == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value  # a TOML date, as coordinators write it
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        # JSON strings are TOML basic strings, but for DEL, which TOML wants escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value("", v) for v in value) + "]"
    raise AddError(f"cannot rewrite the sidecar: key {key!r} has a value kb cannot write back")


def sidecar_text(values: dict[str, Any]) -> str:
    keys = [k for k in _SIDECAR_ORDER if k in values] + sorted(
        k for k in values if k not in _SIDECAR_ORDER
    )
    lines = ["# Metadata for kb (see README: sidecar metadata); written by `kb add`."]
    lines += [f"{k} = {_toml_value(k, values[k])}" for k in keys]
    return "\n".join(lines) + "\n"


def write_sidecar(doc: Path, given: dict[str, Any]) -> bool:
    """Merge `given` into the document's sidecar (given values win); True when it changed.

    Keys already there stay, so adding a title never loses a description written by hand.
    """
    from indexer.metadata import read_sidecar, sidecar_paths

    existing_paths = [p for p in sidecar_paths(doc) if p.is_file()]
    try:
        current = read_sidecar(doc)
    except KbError as exc:
        raise AddError(f"{exc}; fix or delete it, then add again") from None
    merged = {**current, **given}
    target = doc.with_name(doc.name + SIDECAR_SUFFIX)
    text = sidecar_text(merged)
    if existing_paths == [target] and merged == current:
        return False
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    tmp = target.with_name(f".{target.name}.kb-add-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    for other in existing_paths:
        if other != target:
            other.unlink()  # its keys are in the TOML one now; two sidecars are an error
    return True
