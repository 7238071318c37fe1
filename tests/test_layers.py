"""The import rules of ARCHITECTURE.md, checked by reading each module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "starcnet_core": {"db", "webapp", "streamlit", "sqlalchemy", "alembic"},
    "db": {"streamlit", "torch", "webapp", "starcnet_core"},
    "webapp/services": {"streamlit"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offences = []
    for path in files:
        bad = _imported_roots(path) & FORBIDDEN[package]
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, "\n".join(offences)


def test_forbidden_import_is_detected(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import streamlit as st\nfrom db.models import Label\n")
    assert _imported_roots(module) >= {"streamlit", "db"}
