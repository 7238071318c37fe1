"""The import rules of ARCHITECTURE.md, checked by reading each module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "starcnet_core": {"db", "webapp", "streamlit", "sqlalchemy", "alembic"},
    "db": {"streamlit", "torch", "webapp", "starcnet_core"},
    "webapp/services": {"streamlit"},
}

#: The parts of the science core, and the parts each may not import: readers and the network
#: below training and evaluation, the command lines above everything.
CORE_FORBIDDEN = {
    "starcnet_core/io": {"starcnet_core.training", "starcnet_core.evaluation", "starcnet_core.sim"},
    "starcnet_core/nn": {"starcnet_core.training", "starcnet_core.evaluation", "starcnet_core.sim"},
    "starcnet_core/evaluation": {"starcnet_core.training", "starcnet_core.nn", "starcnet_core.sim"},
    "starcnet_core/sim": {"starcnet_core.nn", "starcnet_core.training", "starcnet_core.evaluation"},
    "starcnet_core/training": {"starcnet_core.evaluation", "starcnet_core.sim"},
}

#: Definitions every layer builds on (one implementation each): standard library and numpy only.
LEAF_MODULES = (
    "starcnet_core/errors.py",
    "starcnet_core/atomic_write.py",
    "starcnet_core/scores.py",
    "starcnet_core/groupings.py",
)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def _imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


def _forbidden_in(path: Path, forbidden: set[str]) -> set[str]:
    """The modules ``path`` imports that are in, or inside, one of the ``forbidden`` packages."""
    return {
        module
        for module in _imported_modules(path)
        if any(module == f or module.startswith(f"{f}.") for f in forbidden)
    }


def _offences(files: list[Path], forbidden: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {sorted(bad)}"
        for path in files
        if (bad := _forbidden_in(path, forbidden))
    ]


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


@pytest.mark.parametrize("package", sorted(CORE_FORBIDDEN))
def test_core_part_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offences = _offences(files, CORE_FORBIDDEN[package])
    assert not offences, "\n".join(offences)


def test_nothing_in_the_core_imports_its_command_lines() -> None:
    core = ROOT / "starcnet_core"
    files = [
        p
        for p in sorted(core.rglob("*.py"))
        if "cli" not in p.relative_to(core).parts and p.name != "__main__.py"
    ]
    offences = _offences(files, {"starcnet_core.cli"})
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("module", LEAF_MODULES)
def test_shared_definitions_need_only_numpy(module: str) -> None:
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    bad = _imported_roots(ROOT / module) - allowed
    assert not bad, f"{module} imports {sorted(bad)}"


def test_forbidden_import_is_detected(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import streamlit as st\nfrom db.models import Label\nfrom starcnet_core.training.train import x\n"
    )
    assert _imported_roots(module) >= {"streamlit", "db"}
    assert _forbidden_in(module, {"starcnet_core.training"}) == {"starcnet_core.training.train"}
    assert _forbidden_in(module, {"starcnet_core.train"}) == set()  # a package, not a name prefix


#: What the app layer (services, components, pages, command lines, worker) may take from
#: SQLAlchemy: sessions and engines to pass to ``db``, and its exceptions. Statements
#: (``select``, ``update``, ``delete``, ``insert``, ``text``, ``func``, ``aliased`` ...) live in ``db``.
APP_SQLALCHEMY_ALLOWED = {
    "sqlalchemy": {"Engine"},
    "sqlalchemy.orm": {"Session", "sessionmaker"},
    "sqlalchemy.exc": None,  # any exception class
}

#: Session methods the app layer never calls: transactions are opened by ``db.engine.use_case``
#: only, and statements run inside ``db`` functions.
TRANSACTION_METHODS = {"commit", "rollback", "begin", "begin_nested"}
STATEMENT_METHODS = {"execute", "scalar", "scalars", "query"}


def _query_offences(path: Path) -> list[str]:
    """Statement building and transaction handling in ``path`` that belong in ``db``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            allowed = APP_SQLALCHEMY_ALLOWED.get(node.module, set())
            if allowed is not None:
                found += [f"from {node.module} import {a.name}" for a in node.names if a.name not in allowed]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            # registry.rollback(session) is a db function, session.rollback() a transaction
            if (name in TRANSACTION_METHODS and not node.args) or name in STATEMENT_METHODS:
                found.append(f"line {node.lineno}: .{name}()")
    return found


def _app_modules() -> list[Path]:
    return sorted((ROOT / "webapp").rglob("*.py"))


def test_the_app_layer_builds_no_queries_and_opens_no_transactions() -> None:
    """Queries live in ``db``; each use case's one transaction is ``db.engine.use_case``."""
    files = _app_modules()
    assert {"services", "components", "pages", "cli"} <= {
        p.relative_to(ROOT / "webapp").parts[0] for p in files
    }
    offences = [f"{path.relative_to(ROOT)}: {bad}" for path in files for bad in _query_offences(path)]
    assert not offences, "\n".join(offences)


def test_a_query_or_commit_in_the_app_layer_is_detected(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from sqlalchemy import select, update\n"
        "from sqlalchemy.orm import Session, aliased\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "def f(session, registry):\n"
        "    session.execute(update(X))\n"
        "    registry.rollback(session)\n"  # a db function: allowed
        "    session.commit()\n"
        "    with session.begin():\n"
        "        pass\n"
    )
    assert _query_offences(module) == [
        "from sqlalchemy import select",
        "from sqlalchemy import update",
        "from sqlalchemy.orm import aliased",
        "line 5: .execute()",
        "line 7: .commit()",
        "line 8: .begin()",
    ]


def _table_imports(path: Path) -> list[str]:
    """The mapped tables (``db.models`` classes) ``path`` imports: a page or component holding one queries the ORM."""
    from db.models import Base

    tables = {mapper.class_.__name__ for mapper in Base.registry.mappers}
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"from db.models import {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "db.models"
        for alias in node.names
        if alias.name in tables
    ]


def test_pages_and_components_hold_no_tables() -> None:
    files = sorted((ROOT / "webapp" / "pages").rglob("*.py")) + sorted(
        (ROOT / "webapp" / "components").rglob("*.py")
    )
    offences = [f"{path.relative_to(ROOT)}: {bad}" for path in files for bad in _table_imports(path)]
    assert not offences, "\n".join(offences)


def test_a_table_in_a_page_is_detected(tmp_path: Path) -> None:
    module = tmp_path / "page.py"
    module.write_text("from db.models import LABEL_CLASSES, Galaxy\n")
    assert _table_imports(module) == ["from db.models import Galaxy"]
