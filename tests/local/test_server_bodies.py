"""Each request body the local server takes refuses a bad value with a 400 naming its field.

The shapes are the models of ``vectorshift._schema.requests``; the messages are
``vectorshift._schema._base.describe``'s. The fuzz tests check that no body makes a 500.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig
from vectorshift.local.validation import OFF_LOOP_BYTES, OFF_LOOP_NODES

from .graphs import BODY_ROUTES, body_path

KEY = "bodies-key"


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[httpx.Client, str]]:
    config = ServerConfig(api_keys={KEY: "bodies"})
    with LocalServer(config) as server:
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=20) as client:
            nodes = {
                "input_0": {
                    "id": "input_0",
                    "name": "query",
                    "type": "input",
                    "inputs": {"input_type": "string"},
                    "outputs": ["text"],
                },
                "output_0": {
                    "id": "output_0",
                    "name": "answer",
                    "type": "output",
                    "inputs": {"output_type": "string", "value": "{{ input_0.text }}"},
                },
            }
            created = client.post("/pipeline", json={"name": "bodies", "nodes": nodes})
            assert created.status_code == 200, created.text
            yield client, created.json()["id"]


DEEP = b'{"inputs": {"query": ' + b"[" * 300 + b"]" * 300 + b"}}"
NODES = '"nodes": {}'

BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("create", b'{"name": ""}', "field 'name' must not be empty"),
    ("create", b'{"name": "  "}', "field 'name' must not be empty"),
    ("create", b'{"name": "' + b"n" * 1001 + b'"}', "field 'name' is too long (1001 > 1000"),
    ("create", b'{"name": null}', "field 'name' must be a string, got null"),
    ("create", b'{"name": "n", "nodes": [1]}', "field 'nodes' must be an object, got an array"),
    (
        "create",
        b'{"name": "n", "canvas_metadata": {"z": [1, NaN]}}',
        "field 'canvas_metadata.z[1]' is NaN",
    ),
    ("create", b'{"name": "n", "inputs": "x"}', "field 'inputs' must be an object"),
    ("create", b'{"name": "n", "extra": {"k": -Infinity}}', "field 'extra.k'"),
    ("create", b'["name"]', "request body must be a JSON object, got an array"),
    ("create", b'{"name": "n",}', "request body is not valid JSON"),
    ("update", b'{"name": "n"}', "field 'nodes' is missing"),
    (
        "update",
        b"{" + NODES.encode() + b', "bump": "huge"}',
        "field 'bump' must be one of 'patch', 'minor' or 'major', got 'huge'",
    ),
    (
        "update",
        b"{" + NODES.encode() + b', "deploy": "true"}',
        "field 'deploy' must be a boolean, got a string",
    ),
    (
        "update",
        b"{" + NODES.encode() + b', "branch_id": "' + b"b" * 256 + b'"}',
        "field 'branch_id' is too long",
    ),
    ("run", b'{"inputs": []}', "field 'inputs' must be an object, got an array"),
    ("run", b'{"inputs": {"query": 1e999}}', "field 'inputs.query' is a number out of range"),
    (
        "run",
        b'{"inputs": {"query": "q"}, "background": 1}',
        "field 'background' must be a boolean, got a number",
    ),
    (
        "run",
        b'{"inputs": {"query": "q"}, "background": true, "stream": true}',
        "fields 'background' and 'stream' cannot both be true",
    ),
    (
        "run",
        b'{"inputs": {"query": "q"}, "version": false}',
        "field 'version' must be a string or an integer, got a boolean",
    ),
    (
        "run",
        b'{"inputs": {"query": "q"}, "trace_id": "' + b"t" * 256 + b'"}',
        "field 'trace_id' is too long (256 > 255",
    ),
    ("run", b'{"inputs": {"query": "\\udc00"}}', "field 'inputs.query' holds a lone UTF-16"),
    ("run", DEEP, "request body is nested too deeply"),
    ("terminate", b"{}", "field 'run_id' is missing"),
    ("terminate", b'{"run_id": 7}', "field 'run_id' must be a string, got a number"),
    ("bulk", b'{"runs": {}}', "field 'runs' must be an array, got an object"),
    ("bulk", b'{"runs": [{}, "x"]}', "field 'runs[1]' must be an object, got a string"),
    ("bulk", b'{"runs": [{"inputs": {"query": [NaN]}}]}', "field 'runs[0].inputs.query[0]'"),
    ("bulk", b'{"runs": [{"trace_id": false}]}', "field 'runs[0].trace_id' must be a string"),
]


@pytest.mark.parametrize(
    ("route", "body", "message"), BAD_BODIES, ids=[f"{r}-{m[:40]}" for r, _, m in BAD_BODIES]
)
def test_a_bad_body_answers_400_naming_the_field(
    api: tuple[httpx.Client, str], route: str, body: bytes, message: str
) -> None:
    client, pipeline_id = api
    response = client.post(body_path(route, pipeline_id), content=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["status"] == "failed" and message in answer["error"], answer["error"]


# Bodies past OFF_LOOP_BYTES are validated in a worker thread, off the server's loop: their
# refusals name the field just the same.
PAD = b'"pad": "' + b"p" * (OFF_LOOP_BYTES + 1) + b'"'
BIG_BAD_BODIES: list[tuple[str, bytes, str]] = [
    (
        "create",
        b'{"name": "n", "canvas_metadata": {' + PAD + b', "z": [NaN]}}',
        "field 'canvas_metadata.z[0]' is NaN",
    ),
    ("update", b'{"name": "n", "canvas_metadata": {' + PAD + b"}}", "field 'nodes' is missing"),
    (
        "run",
        b'{"inputs": {"query": "\\udc00"}, ' + PAD + b"}",
        "field 'inputs.query' holds a lone UTF-16",
    ),
    ("run", b'{"inputs": {"query": "q",}, ' + PAD + b"}", "request body is not valid JSON"),
]


@pytest.mark.parametrize(
    ("route", "body", "message"), BIG_BAD_BODIES, ids=[r for r, _, _ in BIG_BAD_BODIES]
)
def test_a_big_bad_body_answers_400_naming_the_field(
    api: tuple[httpx.Client, str], route: str, body: bytes, message: str
) -> None:
    assert len(body) > OFF_LOOP_BYTES
    test_a_bad_body_answers_400_naming_the_field(api, route, body, message)


def test_every_body_route_is_covered() -> None:
    assert {route for route, _, _ in BAD_BODIES} == set(BODY_ROUTES)


def test_a_big_graph_is_checked_off_the_loop_and_refused_naming_the_node(
    api: tuple[httpx.Client, str],
) -> None:
    client, _ = api
    nodes = {
        f"text_{i}": {
            "id": f"text_{i}",
            "name": f"t{i}",
            "type": "text",
            "inputs": {"text": "x"},
            "outputs": ["text"],
        }
        for i in range(OFF_LOOP_NODES + 1)
    }
    nodes["text_7"]["inputs"]["text"] = "{{ llm_9.response }}"
    response = client.post("/pipeline", json={"name": "big-bad", "nodes": nodes})
    assert response.status_code == 422, response.text
    assert "node 't7' (text_7) references missing node 'llm_9'" in response.json()["error"]
