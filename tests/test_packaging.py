"""What the package declares matches the package: used dependencies only, one version."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

import vectorshift

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vectorshift"


def imported_top_level_modules() -> set[str]:
    """Every top-level module some file of the package imports."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.partition(".")[0])
    return found


def runtime_requirements() -> list[str]:
    """The distribution names of the installed package's runtime (not extra) dependencies."""
    specs = importlib.metadata.requires("vectorshift") or []
    runtime = [spec for spec in specs if "extra ==" not in spec]
    return [re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0] for spec in runtime]


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    imported = imported_top_level_modules()
    names = runtime_requirements()
    unused = [name for name in names if name.lower().replace("-", "_") not in imported]
    assert "httpx" in names and unused == [], f"declared but never imported: {unused}"


def test_the_version_has_one_home() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"(?m)^version\s*=", project) is None
    assert re.search(r'(?m)^dynamic\s*=\s*\[[^\]]*"version"', project) is not None
    assert importlib.metadata.version("vectorshift") == vectorshift.__version__
