"""The house rules of docs/architecture.md, checked on every run: which package may import
which, and one concept per module (no module of kb/, indexer/ or webui/ over 400 lines)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kb", "indexer", "webui")
FORBIDDEN = {
    "kb": {"indexer", "webui", "cli", "cli_backup", "cli_insights", "cli_tokens", "cli_users"},
    "indexer": {"webui", "cli", "cli_backup", "cli_insights", "cli_tokens", "cli_users"},
    "webui": {"indexer", "cli", "cli_backup", "cli_insights", "cli_tokens", "cli_users"},
}
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, wherever the import stands."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_layer_imports_only_the_layers_below_it(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    crossing = _imported(path) & FORBIDDEN[package]
    assert not crossing, f"{package} must not import {sorted(crossing)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_module_holds_one_concept(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by concept (docs/architecture.md)"


def test_the_checks_see_a_crossing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from webui import create_app\nimport indexer.run\n")
    assert _imported(sample) == {"webui", "indexer"}


WHOOSH_INTERNALS = ("whoosh.codec", "whoosh.matching", "whoosh.reading", "whoosh.query")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_the_codec_reaches_into_whoosh(path: Path) -> None:
    if path == ROOT / "kb" / "engine" / "codec.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    inside = sorted(m for m in modules if m.startswith(WHOOSH_INTERNALS))
    assert not inside, f"whoosh internals belong in kb/engine/codec.py: {inside}"
