"""What static tools see of the public surface is what runtime exports.

``vectorshift/__init__.py`` keeps one table of public names (``_PUBLIC``) and repeats it in an
``if TYPE_CHECKING:`` block for mypy and IDEs. These tests read that block with :mod:`ast`, ask
mypy about every exported name, and compare both with ``__all__`` and ``dir()``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import vectorshift
import vectorshift.pipeline
from vectorshift.pipeline import LlmNode, Node
from vectorshift.pipeline._node import _NODE_CLASSES

ROOT = Path(__file__).parent.parent
INIT = ROOT / "vectorshift" / "__init__.py"

# Public names bound to the same object as another public name, and where each is documented.
DOCUMENTED_ALIASES = {"ApiStatusError": "ApiError", "VectorshiftApiError": "ApiError"}


def static_view() -> tuple[dict[str, set[str]], set[str]]:
    """What a static tool reads in ``__init__.py``: the type-checking imports, by module, and
    the public names the module binds itself (annotated globals and explicit re-exports)."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    imported: dict[str, set[str]] = {}
    bound: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING":
            for node in statement.body:
                assert isinstance(node, ast.ImportFrom) and node.module, ast.unparse(node)
                for alias in node.names:
                    # `X as X`: an explicit re-export, which `mypy --strict` requires.
                    assert alias.asname == alias.name, ast.unparse(node)
                    imported.setdefault(node.module, set()).add(alias.name)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            bound.add(statement.target.id)
        elif isinstance(statement, ast.ImportFrom):
            bound.update(alias.name for alias in statement.names if alias.asname == alias.name)
    return imported, {name for name in bound if not name.startswith("_") or name == "__version__"}


def test_the_type_checking_block_is_the_table() -> None:
    imported, _ = static_view()
    table = {module: set(names) for module, names in vectorshift._PUBLIC.items()}
    assert imported == table


def test_static_names_equal_all_and_dir() -> None:
    imported, bound = static_view()
    submodules = {name for name in bound if isinstance(getattr(vectorshift, name), ModuleType)}
    static = set().union(*imported.values()) | (bound - submodules)
    assert static == set(vectorshift.__all__)
    assert sorted(vectorshift.__all__) == vectorshift.__all__ == dir(vectorshift)
    assert len(set(vectorshift.__all__)) == len(vectorshift.__all__)


def test_every_exported_name_resolves_from_its_module() -> None:
    for module, names in vectorshift._PUBLIC.items():
        for name in names:
            value = getattr(vectorshift, name)
            assert value is getattr(sys.modules[module], name)


def test_aliases_are_the_documented_ones() -> None:
    first: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for name in vectorshift.__all__:
        value = getattr(vectorshift, name)
        if not isinstance(value, type):
            continue
        if id(value) in first:
            aliases[name] = first[id(value)]
        else:
            first[id(value)] = value.__name__
    assert aliases == DOCUMENTED_ALIASES
    doc = vectorshift.errors.__doc__ or ""
    for alias in aliases:
        assert f"``{alias}``" in doc


def test_the_pipeline_package_exports_are_public_at_the_top() -> None:
    for name in vectorshift.pipeline.__all__:
        assert getattr(vectorshift.pipeline, name) is getattr(vectorshift, name)
    assert len(set(vectorshift.pipeline.__all__)) == len(vectorshift.pipeline.__all__)


def test_every_registered_node_type_is_exported() -> None:
    assert "llm" in _NODE_CLASSES and "condition" in _NODE_CLASSES
    for cls in _NODE_CLASSES.values():
        assert getattr(vectorshift, cls.__name__) is cls


def test_a_decoded_node_takes_the_class_registered_for_its_type() -> None:
    llm = Node.from_json({"id": "llm_0", "name": "llm", "type": "llm", "inputs": {}})
    other = Node.from_json({"id": "kb_0", "name": "kb", "type": "knowledge_base", "inputs": {}})
    assert type(llm) is LlmNode
    assert type(other) is Node


def test_a_second_class_for_a_registered_node_type_is_refused() -> None:
    with pytest.raises(TypeError, match=r"'llm'.*LlmNode already models"):
        type("OtherLlm", (Node,), {"node_type": "llm"})
    assert _NODE_CLASSES["llm"] is LlmNode


def test_subclasses_that_keep_their_parents_type_do_not_register() -> None:
    class TracedLlm(LlmNode):
        pass

    assert _NODE_CLASSES["llm"] is LlmNode


def test_mypy_sees_every_exported_name_with_its_type(tmp_path: Path) -> None:
    names = vectorshift.__all__
    lines = ["from vectorshift import (", *(f"    {name}," for name in names), ")"]
    lines += [f"reveal_type({name})" for name in names]
    probe = tmp_path / "every_name.py"
    probe.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(probe),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    revealed = [
        line.split("Revealed type is ", 1)[1]
        for line in result.stdout.splitlines()
        if "Revealed type is " in line
    ]
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert errors == [], result.stdout + result.stderr
    assert len(revealed) == len(names), result.stdout
    for name, seen in zip(names, revealed, strict=True):
        assert seen != '"Any"', name
        value = getattr(vectorshift, name)
        if isinstance(value, type):
            assert f".{value.__name__}" in seen, (name, seen)


def test_the_type_checking_block_is_generated_from_the_table_and_fresh() -> None:
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "gen_exports.py"
    done = subprocess.run(
        [sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
