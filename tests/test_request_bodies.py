"""Request bodies are declared once (``vectorshift._schema.requests``): the SDK sends them so, the
local server refuses anything else with a 4xx naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from pydantic import BaseModel
from support import unique

from vectorshift import Pipeline
from vectorshift._schema.requests import (
    BulkRun,
    CreatePipeline,
    RunPipeline,
    Terminate,
    UpdatePipeline,
)
from vectorshift.local import LocalServer, ServerConfig
from vectorshift.testing import LocalPlatform

BODIES: list[tuple[str, type[BaseModel]]] = [
    (r"/v1/pipeline$", CreatePipeline),
    (r"/v1/update/pipeline/[^/]+$", UpdatePipeline),
    (r"/run$", RunPipeline),
    (r"/terminate$", Terminate),
    (r"/bulk[-_]run$", BulkRun),
]


def model_of(path: str) -> type[BaseModel]:
    for pattern, model in BODIES:
        if re.search(pattern, path):
            return model
    raise AssertionError(f"no request model for POST {path}")


def test_every_body_the_sdk_sends_validates_with_its_model(
    vectorshift_local_shared: LocalPlatform,
) -> None:
    pipeline = Pipeline(unique("bodies"))
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="writer").llm(prompt=f"Write about {query.text}", token_delay_ms=0)
    pipeline.add(name="answer").output(llm.response)
    pipeline.save()
    pipeline.save(bump="minor", description="saved again")
    pipeline.run({"query": "a"}, session_id="s-1", trace_id="t-1", node_input_overrides={})
    pipeline.run({"query": "b"}, timeout=30)
    assert list(pipeline.stream({"query": "c"}))
    assert list(pipeline.run({"query": "d"}, stream=True))
    pipeline.start({"query": "e"}, idempotency_key="bodies-e").terminate()
    pipeline.bulk_run([{"query": "f"}, {"query": "g"}])
    assert len(list(pipeline.map([{"query": "h"}, {"query": "i"}]))) == 2

    posts = vectorshift_local_shared.requests("POST")
    validated: set[type[BaseModel]] = set()
    for request in posts:
        model = model_of(request.path)
        model.model_validate_json(request.body)
        validated.add(model)
        assert request.status == 200, (request.path, request.body[:300])
    assert validated == {model for _, model in BODIES}
    runs = [RunPipeline.model_validate_json(r.body) for r in posts if r.path.endswith("/run")]
    assert {(r.background, r.stream) for r in runs} >= {(None, None), (True, None), (None, True)}


KEY = "bodies-key"


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[httpx.Client, str]]:
    config = ServerConfig(api_keys={KEY: "bodies"})
    with LocalServer(config) as server:
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=20) as client:
            nodes = {
                "input_0": {"id": "input_0", "name": "query", "type": "input",
                            "inputs": {"input_type": "string"}, "outputs": ["text"]},
                "output_0": {"id": "output_0", "name": "answer", "type": "output",
                             "inputs": {"output_type": "string",
                                        "value": "{{ input_0.text }}"}},
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
    ("create", b'{"name": "n", "canvas_metadata": {"z": [1, NaN]}}',
     "field 'canvas_metadata.z[1]' is NaN"),
    ("create", b'{"name": "n", "inputs": "x"}', "field 'inputs' must be an object"),
    ("create", b'{"name": "n", "extra": {"k": -Infinity}}', "field 'extra.k'"),
    ("create", b'["name"]', "request body must be a JSON object, got an array"),
    ("create", b'{"name": "n",}', "request body is not valid JSON"),
    ("update", b'{"name": "n"}', "field 'nodes' is missing"),
    ("update", b'{' + NODES.encode() + b', "bump": "huge"}',
     "field 'bump' must be one of 'patch', 'minor' or 'major', got 'huge'"),
    ("update", b'{' + NODES.encode() + b', "deploy": "true"}',
     "field 'deploy' must be a boolean, got a string"),
    ("update", b'{' + NODES.encode() + b', "branch_id": "' + b"b" * 256 + b'"}',
     "field 'branch_id' is too long"),
    ("run", b'{"inputs": []}', "field 'inputs' must be an object, got an array"),
    ("run", b'{"inputs": {"query": 1e999}}', "field 'inputs.query' is a number out of range"),
    ("run", b'{"inputs": {"query": "q"}, "background": 1}',
     "field 'background' must be a boolean, got a number"),
    ("run", b'{"inputs": {"query": "q"}, "background": true, "stream": true}',
     "fields 'background' and 'stream' cannot both be true"),
    ("run", b'{"inputs": {"query": "q"}, "version": false}',
     "field 'version' must be a string or an integer, got a boolean"),
    ("run", b'{"inputs": {"query": "q"}, "trace_id": "' + b"t" * 256 + b'"}',
     "field 'trace_id' is too long (256 > 255"),
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
    path = {
        "create": "/pipeline",
        "update": f"/update/pipeline/{pipeline_id}",
        "run": f"/pipeline/{pipeline_id}/run",
        "terminate": f"/pipeline/{pipeline_id}/terminate",
        "bulk": f"/pipeline/{pipeline_id}/bulk-run",
    }[route]
    response = client.post(path, content=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["status"] == "failed" and message in answer["error"], answer["error"]


def test_the_models_refuse_what_the_server_refuses() -> None:
    """The same declarations, used directly, fail on the same bodies (no server needed)."""
    with pytest.raises(ValueError, match="background"):
        RunPipeline.model_validate({"background": True, "stream": True})
    assert RunPipeline.model_validate_json(json.dumps({"version": 3})).version == 3
    assert Terminate.model_validate({"run_id": "r", "extra": 1}).model_extra == {"extra": 1}
