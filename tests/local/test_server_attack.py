"""The local platform under attack (issue 24, points 1, 2 and 7), over raw HTTP on loopback.

Each test reproduces one attack and checks what the server does instead: a start that fails
leaves no run holding a slot, nothing is stored that cannot be read back, and a storage that
fails is named in the answer and leaves no run in progress forever.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

KEY = "attack-key"
ORG = "attack"
HEADERS = {"Authorization": f"Bearer {KEY}"}
LIMIT = 3


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(api_keys={KEY: ORG}, max_active_runs=LIMIT)
    with LocalServer(config) as running:
        yield running


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=20) as client:
        yield client


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def nodes(input_type: str = "string") -> dict[str, Any]:
    return {
        "input_0": {
            "id": "input_0",
            "name": "query",
            "type": "input",
            "inputs": {"input_type": input_type},
            "outputs": ["text"],
        },
        "output_0": {
            "id": "output_0",
            "name": "answer",
            "type": "output",
            "inputs": {"output_type": "string", "value": "{{ input_0.text }}"},
        },
    }


def create(api: httpx.Client, input_type: str = "string") -> str:
    response = api.post("/pipeline", json={"name": f"p-{input_type}", "nodes": nodes(input_type)})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def in_progress(server: LocalServer) -> int:
    return int(server.store.run_counts(ORG)["in_progress"])


def settle(server: LocalServer) -> None:
    deadline = time.monotonic() + 10
    while in_progress(server) and time.monotonic() < deadline:
        time.sleep(0.05)


def start(api: httpx.Client, pipeline_id: str) -> httpx.Response:
    return api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}})


# Point 1: ghost runs -----------------------------------------------------------------------


def test_a_start_that_fails_after_its_row_leaves_no_run_in_progress(
    server: LocalServer, api: httpx.Client
) -> None:
    """A multipart input of a type the server does not check, nested 965 deep: the run row
    was written, then reading it back raised, and the run stayed in progress for ever."""
    pipeline_id = create(api, "knowledge_base")
    settle(server)
    for _ in range(LIMIT + 1):
        form = {"inputs": (None, '{"query": ' + nested(965) + "}"), "background": (None, "true")}
        response = api.post(f"/pipeline/{pipeline_id}/run", files=form)
        assert 400 <= response.status_code < 500, response.text
    assert in_progress(server) == 0
    assert start(api, create(api)).status_code == 200


def test_a_run_no_executor_owns_never_holds_a_slot(server: LocalServer, api: httpx.Client) -> None:
    """Rows in progress that this server owns but runs no executor for (written and then
    abandoned by a failed start) do not count against the organisation's limit."""
    pipeline_id = create(api)
    settle(server)
    server.store.create_runs(ORG, pipeline_id, [({"query": "x"}, "t")] * LIMIT, limit=10**6)
    assert in_progress(server) == LIMIT
    response = start(api, pipeline_id)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == {"answer": "hi"}
    settle(server)
    assert in_progress(server) == 0
    assert server.store.run_counts(ORG)["failed"] >= LIMIT


# Point 2: poisoned data --------------------------------------------------------------------


def test_every_body_refuses_a_value_nested_960_deep_and_stored_data_reads_back(
    server: LocalServer, api: httpx.Client
) -> None:
    """Create, update, run (JSON and multipart, inputs and overrides) and bulk run: one limit,
    a 400; afterwards every fetch, list and run answer of the organisation is 200."""
    pipeline_id = create(api, "json")
    deep = nested(960)
    node = '{"id":"output_0","name":"answer","type":"output","inputs":{"value":' + deep + "}}"
    json_bodies = [
        ("/pipeline", '{"name":"deep","nodes":{"output_0":' + node + "}}"),
        (f"/update/pipeline/{pipeline_id}", '{"nodes":{"output_0":' + node + "}}"),
        (f"/pipeline/{pipeline_id}/run", '{"inputs":{"query":' + deep + "}}"),
        (f"/pipeline/{pipeline_id}/bulk-run", '{"runs":[{"inputs":{"query":' + deep + "}}]}"),
    ]
    for path, body in json_bodies:
        response = api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert "nested too deeply" in response.json()["error"]
    for field, value in [
        ("inputs", '{"query":' + deep + "}"),
        ("node_input_overrides", '{"output_0":{"value":' + deep + "}}"),
        ("inputs", '{"query":' + nested(5000) + "}"),
    ]:
        response = api.post(f"/pipeline/{pipeline_id}/run", files={field: (None, value)})
        assert response.status_code == 400, (field, response.text)
        assert "nested too deeply" in response.json()["error"]
    settle(server)
    assert in_progress(server) == 0
    assert api.get("/pipeline", params={"id": pipeline_id}).status_code == 200
    assert api.get("/pipelines", params={"verbose": "true"}).status_code == 200
    assert api.get("/pipelines").status_code == 200


def test_a_multipart_value_just_within_the_limit_runs(api: httpx.Client) -> None:
    pipeline_id = create(api, "json")
    value = '{"query":' + nested(150) + "}"
    response = api.post(f"/pipeline/{pipeline_id}/run", files={"inputs": (None, value)})
    assert response.status_code == 200, response.text
