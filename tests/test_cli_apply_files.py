"""``pipelines apply`` of malformed files: usage errors (exit 2) naming the path in the file.

Issue 24, point 10: ``{"a": "node"}`` gave an empty pipeline and exit 0, and nodes that were
not what they claimed to be gave exit 3 with a raw ``TypeError`` or ``RecursionError``.
Every case here runs the real command against the real local server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import Shell
from tests.support import echo_pipeline, unique
from vectorshift.local import LocalServer


@pytest.fixture
def sh(server: LocalServer, tmp_path: Path) -> Shell:
    return Shell(home=tmp_path, base_url=server.base_url, api_key=server.api_key)


def _good() -> dict[str, Any]:
    pipeline = echo_pipeline(unique("apply-file"))
    return {"name": pipeline.name, **pipeline.to_json()}


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"x": value}
    return value


def _node_id(document: dict[str, Any], name: str) -> str:
    return next(i for i, node in document["nodes"].items() if node["name"] == name)


def _cases() -> list[tuple[str, Any, str]]:
    """(label, a change of a good document, the text the one error line must contain)."""
    return [
        ("string node", lambda d: d.update(nodes={"a": "node"}), "nodes.a: must be an object"),
        ("list node", lambda d: d["nodes"].update(b=[1, 2]), "nodes.b: must be an object"),
        ("no type", lambda d: d["nodes"][_node_id(d, "llm")].pop("type"), "nodes.{llm}.type: "),
        ("no name", lambda d: d["nodes"][_node_id(d, "llm")].pop("name"), "nodes.{llm}.name: "),
        (
            "number type",
            lambda d: d["nodes"][_node_id(d, "llm")].update(type=7),
            "nodes.{llm}.type: ",
        ),
        (
            "inputs a list",
            lambda d: d["nodes"][_node_id(d, "llm")].update(inputs=[1]),
            "nodes.{llm}.inputs: must be an object",
        ),
        (
            "outputs a number",
            lambda d: d["nodes"][_node_id(d, "llm")].update(outputs=3),
            "nodes.{llm}.outputs: must be a list",
        ),
        (
            "deep input",
            lambda d: d["nodes"][_node_id(d, "llm")]["inputs"].update(extra=_deep(500)),
            "nodes.{llm}.inputs.extra",
        ),
        (
            "canvas a list",
            lambda d: d.update(canvas_metadata=[]),
            "canvas_metadata: must be an object",
        ),
        (
            "description a number",
            lambda d: d.update(description=5),
            "description: must be a string",
        ),
    ]


@pytest.mark.parametrize("label,change,expected", _cases(), ids=[c[0] for c in _cases()])
def test_a_malformed_file_is_a_usage_error_naming_the_path(
    sh: Shell, tmp_path: Path, label: str, change: Any, expected: str
) -> None:
    document = _good()
    llm = _node_id(document, "llm")
    change(document)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    done = sh("pipelines", "apply", str(path))
    assert done.returncode == 2, (label, done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and expected.replace("{llm}", llm) in lines[0], lines[0]
    assert "Traceback" not in done.stderr and "TypeError" not in done.stderr
    assert sh("pipelines", "show", document["name"]).returncode == 3, "nothing was created"


def test_json_nested_beyond_the_parser_is_a_usage_error(sh: Shell, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(
        '{"name": "deep", "nodes": ' + "[" * 200_000 + "]" * 200_000 + "}", encoding="utf-8"
    )
    done = sh("pipelines", "apply", str(path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert str(path) in done.stderr and "nested" in done.stderr
    assert "RecursionError" not in done.stderr


def test_a_good_file_still_applies(sh: Shell, tmp_path: Path) -> None:
    document = _good()
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert sh.json("pipelines", "apply", str(path))["action"] == "create"
