"""One declaration per node type: the generated builder, the engine and the docs all read it."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import vectorshift.pipeline as pipeline_package
from vectorshift._schema.io_types import INPUT_OUTPUTS
from vectorshift._schema.nodes_types import NODE_TYPES
from vectorshift.pipeline import _generated_nodes
from vectorshift.pipeline._builder import NodeBuilder
from vectorshift.pipeline._node import node_class

ROOT = Path(__file__).parent.parent
GENERATED = sorted(name for name, decl in NODE_TYPES.items() if decl.builder.generate)


def test_the_generated_nodes_and_docs_are_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, "tools/gen_nodes.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, f"stale: run python tools/gen_nodes.py\n{proc.stdout}{proc.stderr}"


def test_check_shows_a_diff_when_the_module_is_stale(tmp_path: Path) -> None:
    for path in ("vectorshift/pipeline/_generated_nodes.py", "docs/api/nodes.md", "pyproject.toml"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        text = (ROOT / path).read_text(encoding="utf-8")
        (tmp_path / path).write_text(text.replace('"model": "gpt-4o"', '"model": "gpt-3"'))
    proc = subprocess.run(
        [sys.executable, "tools/gen_nodes.py", "--check", "--root", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1
    assert '-        "model": "gpt-3",' in proc.stdout
    assert '+        "model": "gpt-4o",' in proc.stdout
    assert "1 stale generated file(s)" in proc.stdout


@pytest.mark.parametrize("node_type", GENERATED)
def test_every_generated_class_is_its_declaration(node_type: str) -> None:
    decl = NODE_TYPES[node_type]
    cls = getattr(_generated_nodes, decl.builder.cls)
    assert node_class(node_type) is cls
    assert getattr(pipeline_package, decl.builder.cls) is cls
    assert dict(cls.DEFAULTS) == decl.defaults()
    assert list(cls.DEFAULTS) == list(decl.inputs())  # the saved order
    for name in decl.outputs.names():
        assert isinstance(inspect.getattr_static(cls, name), _generated_nodes.Output)
    method = getattr(NodeBuilder, decl.builder.method)
    assert list(inspect.signature(method).parameters)[1:] == list(
        inspect.signature(cls).parameters
    )[1:]
    assert inspect.getdoc(method) == inspect.getdoc(cls)


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
