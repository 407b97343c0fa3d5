"""The package's modules import one another without cycles.

The graph is built statically: every module of ``vectorshift/`` is parsed with :mod:`ast` and
each ``import``/``from ... import`` inside the package becomes an edge, wherever it sits (module
level, inside a function or a class), except under ``if TYPE_CHECKING:``, which never runs.
``from package import name`` is an edge to ``package.name`` when that is a module, else to
``package``. The parent packages Python imports on the way (``vectorshift.pipeline`` before
``vectorshift.pipeline._node``) are not edges: a package's ``__init__`` only gathers names, and
counting it would make every module of a package depend on all its siblings.

The modules a fresh process loads are checked too: pydantic comes with the first answer, never
with the import (docs/guides/performance.md#what-the-first-use-costs).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from raw_servers import http_response, raw_server

PACKAGE = Path(__file__).parent.parent / "vectorshift"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (``vectorshift.pipeline`` for its __init__)."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements under ``node`` that can run (``if TYPE_CHECKING:`` bodies left out)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append(child)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                found.extend(_imports(ast.Module(body=[other], type_ignores=[])))
        else:
            found.extend(_imports(child))
    return found


def edges_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package modules that module ``name`` imports when it runs."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for statement in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(statement, ast.Import):
            targets.update(alias.name for alias in statement.names)
            continue
        base = statement.module or ""
        if statement.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - statement.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in statement.names:
            child = f"{base}.{alias.name}"
            targets.add(child if child in modules else base)
    return {target for target in targets if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: edges_of(name, path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the list of its modules (first repeated last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_imports_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import b\n"
        "def f():\n    from pkg import c\n    import pkg.d\n"
        "from . import e\n"
    )
    modules = {"pkg", "pkg.m", "pkg.b", "pkg.c", "pkg.d", "pkg.e"}
    assert edges_of("pkg.m", source, modules) == {"pkg.c", "pkg.d", "pkg.e"}


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "vectorshift.pipeline._node" in graph  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


FIRST_USE = r"""
import sys
from vectorshift import Pipeline, RunHandler, Client
print(sorted(m for m in ("pydantic", "pydantic_core", "vectorshift.types",
                         "vectorshift._schema") if m in sys.modules))
with Client(api_key="vs-key", base_url=sys.argv[1]) as client:
    status = RunHandler(pipeline_id="p", task_id="t", client=client).run_status()
print(status.status, "pydantic" in sys.modules, "vectorshift._schema.answers" in sys.modules)
"""


def test_pydantic_is_loaded_by_the_first_answer_not_by_first_use() -> None:
    body = '{"task_id": "t", "status": "completed", "result": {}}'
    with raw_server(lambda request: http_response(200, body)) as server:
        out = subprocess.run(
            [sys.executable, "-c", FIRST_USE, server.base_url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    assert out == ["[]", "succeeded True True"]
