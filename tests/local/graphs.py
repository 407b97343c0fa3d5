"""Raw graphs and routes for the server tests, which speak JSON to the server without the SDK."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pydantic


def llm_graph(
    *,
    model: str = "echo",
    tokens: int = 5,
    delay_ms: float = 0,
    default: str | None = None,
) -> dict[str, Any]:
    """query -> local llm (streaming its tokens) -> answer (stream<string>)."""
    return {
        "input_0": {
            "id": "input_0",
            "name": "query",
            "type": "input",
            "inputs": {
                "input_type": "string",
                "use_default_value": default is not None,
                "default_value": default or "",
            },
            "outputs": ["text"],
        },
        "llm_0": {
            "id": "llm_0",
            "name": "llm",
            "type": "llm",
            "inputs": {
                "provider": "local",
                "model": model,
                "prompt": "{{ input_0.text }}",
                "max_tokens": tokens,
                "token_delay_ms": delay_ms,
                "stream": True,
            },
            "outputs": ["response"],
        },
        "output_0": {
            "id": "output_0",
            "name": "answer",
            "type": "output",
            "inputs": {"output_type": "stream<string>", "value": "{{ llm_0.response }}"},
            "outputs": [],
        },
    }


def long_graph() -> dict[str, Any]:
    """A run of about 20 s unless it is stopped (2000 tokens, 10 ms each)."""
    return llm_graph(model="lorem", tokens=2000, delay_ms=10)


BODY_ROUTES = ("create", "update", "run", "terminate", "bulk")
"""The endpoints that take a JSON body, by short name."""


def body_path(route: str, pipeline_id: str) -> str:
    """The path of a :data:`BODY_ROUTES` endpoint, for the pipeline ``pipeline_id``."""
    return {
        "create": "/pipeline",
        "update": f"/update/pipeline/{pipeline_id}",
        "run": f"/pipeline/{pipeline_id}/run",
        "terminate": f"/pipeline/{pipeline_id}/terminate",
        "bulk": f"/pipeline/{pipeline_id}/bulk-run",
    }[route]


@contextlib.contextmanager
def declared(node_type: str, outputs: tuple[str, ...]) -> Iterator[None]:
    """Declare a node type with one required ``text`` input, as a new node type is declared
    (:mod:`vectorshift._schema.nodes_types`); its executor, if registered meanwhile, goes too."""
    from vectorshift._schema.nodes import Builder, NodeType, Outputs, spec
    from vectorshift._schema.nodes_types import NODE_TYPES
    from vectorshift.local.nodes import EXECUTORS

    declaration = pydantic.create_model(
        f"Declared_{node_type}",
        __base__=NodeType,
        text=(str, spec("", "The text.", required=True, wired=True)),
    )
    declaration.type_name = node_type
    declaration.outputs = Outputs(fixed=outputs)
    declaration.builder = Builder(f"{node_type}Node", node_type, generate=False)
    NODE_TYPES[node_type] = declaration
    try:
        yield
    finally:
        EXECUTORS.pop(node_type, None)
        del NODE_TYPES[node_type]
