"""One declaration per node type: the generated builder, the engine and the docs all read it."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import vectorshift.pipeline as pipeline_package
from vectorshift._schema.io_types import INPUT_OUTPUTS
from vectorshift._schema.nodes_types import NODE_TYPES
from vectorshift.pipeline import _generated_nodes
from vectorshift.pipeline._builder import NodeBuilder
from vectorshift.pipeline._node import Output, node_class

ROOT = Path(__file__).parent.parent
GENERATED = sorted(name for name, decl in NODE_TYPES.items() if decl.builder.generate)


def test_the_generated_nodes_and_docs_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, "tools/gen_nodes.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"stale: run python tools/gen_nodes.py\n{proc.stdout}{proc.stderr}"


def test_check_shows_a_diff_when_the_module_is_stale(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "vectorshift", tmp_path / "vectorshift")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "docs" / "api").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "api" / "nodes.md", tmp_path / "docs" / "api")
    module = tmp_path / "vectorshift" / "pipeline" / "_generated_nodes.py"
    text = module.read_text(encoding="utf-8")
    module.write_text(text.replace('"model": "gpt-4o"', '"model": "gpt-3"'), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "tools/gen_nodes.py", "--check", "--root", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert '-        "model": "gpt-3",' in proc.stdout
    assert '+        "model": "gpt-4o",' in proc.stdout
    assert "1 stale generated file(s)" in proc.stdout


@pytest.mark.parametrize("node_type", GENERATED)
def test_every_generated_class_is_its_declaration(node_type: str) -> None:
    decl = NODE_TYPES[node_type]
    cls = getattr(pipeline_package, decl.builder.cls)
    assert node_class(node_type) is cls
    assert getattr(pipeline_package, decl.builder.cls) is cls
    assert dict(cls.DEFAULTS) == decl.defaults()
    assert list(cls.DEFAULTS) == list(decl.inputs())  # the saved order
    for name in decl.outputs.names():
        assert isinstance(inspect.getattr_static(cls, name), Output)
    method = getattr(NodeBuilder, decl.builder.method)
    official = ("node_name", "execution_mode")  # the class's alone: add()/add_batch() give them
    assert list(inspect.signature(method).parameters)[1:] == [
        name for name in list(inspect.signature(cls).parameters)[1:] if name not in official
    ]
    assert (inspect.getdoc(cls) or "").startswith(
        (inspect.getdoc(method) or "").split("\n\nRaises:")[0].split("\n\nExample:")[0]
    )


@pytest.mark.parametrize("input_type", sorted(INPUT_OUTPUTS))
def test_input_outputs_per_type_agree(input_type: str) -> None:
    node = _generated_nodes.InputNode("x", input_type)  # type: ignore[arg-type]
    assert node.outputs == sorted({"complete", *INPUT_OUTPUTS[input_type]})
    assert _generated_nodes.INPUT_OUTPUTS == INPUT_OUTPUTS


def test_building_a_pipeline_does_not_import_pydantic() -> None:
    probe = (
        "import sys\n"
        "from vectorshift import Pipeline, Clause, Operator\n"
        "p = Pipeline('p')\n"
        "q = p.add(name='q').input()\n"
        "n = p.add(name='n').input('int32')\n"
        "r = p.add(name='r').condition([Clause(q.text, Operator.IS_EMPTY)])\n"
        "llm = p.add(name='llm').llm(prompt=q.text, dependencies=[r.path_0])\n"
        "p.add(name='a').output(p.add(name='s').split_text(llm.response).processed_text, 'json')\n"
        "p.to_json()\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("node_type", sorted(NODE_TYPES))
def test_every_declared_type_runs_locally_with_the_declared_outputs(node_type: str) -> None:
    from vectorshift.local.node_checks import declared_outputs
    from vectorshift.local.nodes import EXECUTORS

    decl = NODE_TYPES[node_type]
    assert node_type in EXECUTORS or node_type in ("input", "output")
    node = {"type": node_type, "inputs": decl.defaults()}
    if not decl.outputs.computed:
        assert declared_outputs(node) == {"complete", *decl.outputs_for(decl.defaults())}
    if decl.builder.generate:
        built = getattr(pipeline_package, decl.builder.cls)
        assert set(built.output_fields) == set(decl.outputs_for(decl.defaults()))


def test_every_executor_has_a_declaration() -> None:
    from vectorshift.local.nodes import EXECUTORS, executor

    assert set(EXECUTORS) <= set(NODE_TYPES)

    async def nope(inputs: dict[str, Any], _ctx: Any) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="'nope' is not declared"):
        executor("nope")(nope)


@pytest.mark.parametrize("input_type", sorted(INPUT_OUTPUTS))
def test_the_engine_publishes_an_input_under_its_declared_outputs(input_type: str) -> None:
    from vectorshift.local.node_checks import declared_outputs

    node = {"type": "input", "inputs": {"input_type": input_type}}
    assert declared_outputs(node) == {"complete", *INPUT_OUTPUTS[input_type]}


def test_a_mode_the_declaration_does_not_allow_is_refused() -> None:
    from vectorshift.local.engine import GraphValidationError, validate_graph

    node = {
        "id": "t",
        "name": "t",
        "type": "text",
        "inputs": {"text": "x"},
        "execution_mode": "batch",
    }
    with pytest.raises(GraphValidationError, match="execution_mode 'batch' is not one of 'normal'"):
        validate_graph({"t": node})
