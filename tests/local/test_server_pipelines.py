"""The local server's pipeline endpoints (P1-P5), authentication and input checking, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectorshift.local import LocalServer, ServerConfig

from .graphs import body_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KEYS = {"key-a": "org-a", "key-b": "org-b"}


def echo_graph(input_name: str = "query") -> dict[str, Any]:
    return {
        "input_0": {
            "id": "input_0",
            "name": input_name,
            "type": "input",
            "inputs": {"input_type": "string", "use_default_value": False, "default_value": ""},
            "outputs": ["text"],
        },
        "llm_0": {
            "id": "llm_0",
            "name": "llm",
            "type": "llm",
            "inputs": {"provider": "local", "model": "echo", "prompt": "{{ input_0.text }}"},
            "outputs": ["response"],
        },
        "output_0": {
            "id": "output_0",
            "name": "answer",
            "type": "output",
            "inputs": {"output_type": "string", "value": "{{ llm_0.response }}"},
            "outputs": [],
        },
    }


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(api_keys=dict(KEYS))) as server:
        yield server


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer key-a"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def other_org(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer key-b"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


def create(api: httpx.Client, name: str, nodes: dict[str, Any] | None = None) -> str:
    response = api.post("/pipeline", json={"name": name, "nodes": nodes or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return str(body["id"])


def test_created_pipeline_is_fetched_with_recomputed_inputs_and_outputs(api: httpx.Client) -> None:
    pipeline_id = create(api, "crud", echo_graph())
    response = api.get("/pipeline", params={"id": pipeline_id})
    assert response.status_code == 200
    obj = response.json()["object"]
    assert obj["_id"] == pipeline_id
    assert len(obj["_id"]) == 24 and int(obj["_id"], 16) >= 0
    assert obj["name"] == "crud"
    assert set(obj["nodes"]) == {"input_0", "llm_0", "output_0"}
    assert obj["inputs"] == {"query": {"io_type": "string", "description": "", "default_value": ""}}
    assert obj["outputs"] == {"answer": {"io_type": "string", "description": ""}}
    assert {"mainBranch", "canvas_metadata", "createdDate", "modifiedDate"} <= set(obj)


def test_recorded_official_client_requests_are_accepted(api: httpx.Client) -> None:
    created = json.loads((FIXTURES / "01_create_POST_pipeline.json").read_text())
    response = api.post("/pipeline", json=created["json"])
    assert response.status_code == 200, response.text
    pipeline_id = response.json()["id"]
    saved = json.loads((FIXTURES / "03_save_POST_update_pipeline.json").read_text())
    response = api.post(f"/update/pipeline/{pipeline_id}", json=saved["json"])
    assert response.json() == {"status": "success"}
    obj = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
    assert obj["nodes"] == saved["json"]["nodes"]
    assert obj["canvas_metadata"] == saved["json"]["canvas_metadata"]
    assert obj["inputs"]["query"]["io_type"] == "string"


def test_update_replaces_the_graph_and_bumps_the_version(api: httpx.Client) -> None:
    pipeline_id = create(api, "versions")
    before = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
    body = {"nodes": echo_graph("question"), "bump": "minor", "description": "echoes"}
    assert api.post(f"/update/pipeline/{pipeline_id}", json=body).status_code == 200
    after = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
    assert list(after["inputs"]) == ["question"]
    assert after["description"] == "echoes"
    assert after["version"] != before["version"]
    assert after["modifiedDate"] >= before["modifiedDate"]


def test_fetch_by_name_returns_the_most_recently_modified(api: httpx.Client) -> None:
    first = create(api, "same-name")
    second = create(api, "same-name")
    assert api.get("/pipeline", params={"name": "same-name"}).json()["object"]["_id"] == second
    api.post(f"/update/pipeline/{first}", json={"nodes": {}})
    assert api.get("/pipeline", params={"name": "same-name"}).json()["object"]["_id"] == first


def test_delete_removes_the_pipeline(api: httpx.Client) -> None:
    pipeline_id = create(api, "doomed")
    assert api.delete(f"/pipeline/{pipeline_id}").json() == {"status": "success"}
    assert api.get("/pipeline", params={"id": pipeline_id}).status_code == 404
    assert api.delete(f"/pipeline/{pipeline_id}").status_code == 404


def test_list_pages_through_ids_and_objects_graphs_when_verbose(api: httpx.Client) -> None:
    ids = [create(api, f"listed-{i}") for i in range(3)]
    everything = api.get("/pipelines", params={"limit": 1000}).json()["object_ids"]
    assert everything[-3:] == ids
    page = api.get("/pipelines", params={"offset": len(everything) - 2, "limit": 1})
    assert page.json()["object_ids"] == [ids[1]]
    # Objects either way (the official client reads their `_id` and `name`); graphs if verbose.
    assert [(o["_id"], o["name"]) for o in page.json()["objects"]] == [(ids[1], "listed-1")]
    assert "nodes" not in page.json()["objects"][0]
    verbose = api.get("/pipelines", params={"limit": 1000, "verbose": "true"}).json()
    assert [obj["_id"] for obj in verbose["objects"]] == verbose["object_ids"]


def test_other_organisations_objects_are_not_found(
    api: httpx.Client, other_org: httpx.Client
) -> None:
    pipeline_id = create(api, "private", echo_graph())
    assert other_org.get("/pipeline", params={"id": pipeline_id}).status_code == 404
    assert other_org.get("/pipeline", params={"name": "private"}).status_code == 404
    assert other_org.post(f"/update/pipeline/{pipeline_id}", json={"nodes": {}}).status_code == 404
    assert other_org.delete(f"/pipeline/{pipeline_id}").status_code == 404
    run = other_org.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}})
    assert run.status_code == 404
    assert pipeline_id not in other_org.get("/pipelines").json()["object_ids"]
    assert api.get("/pipeline", params={"id": pipeline_id}).status_code == 200


def test_missing_authorization_header_is_named(server: LocalServer) -> None:
    response = httpx.get(f"{server.base_url}/pipelines")
    assert response.status_code == 401
    assert response.json()["status"] == "failed"
    assert "missing Authorization header" in response.json()["error"]


def test_unknown_key_is_rejected_without_echoing_it(server: LocalServer) -> None:
    headers = {"Authorization": "Bearer sk-secret-value"}
    response = httpx.get(f"{server.base_url}/pipelines", headers=headers)
    assert response.status_code == 401
    assert "unknown API key" in response.json()["error"]
    assert "sk-secret-value" not in response.text


def test_malformed_authorization_header_is_named(server: LocalServer) -> None:
    response = httpx.get(f"{server.base_url}/pipelines", headers={"Authorization": "key-a"})
    assert response.status_code == 401
    assert "malformed Authorization header" in response.json()["error"]


def test_every_response_carries_a_request_id_echoed_in_errors(api: httpx.Client) -> None:
    ok = api.get("/pipelines")
    failed = api.get("/pipeline", params={"id": "0" * 24})
    assert ok.headers["x-request-id"] != failed.headers["x-request-id"]
    assert failed.json()["request_id"] == failed.headers["x-request-id"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"", 400, "empty"),
        (b'{"nodes": {}}', 400, "'name'"),
        (b'{"name": 5}', 400, "'name'"),
        (b'{"name": "x", "nodes": []}', 400, "'nodes'"),
        (b'{"name": "x", "nodes": {"a": 1}}', 422, "nodes.a"),
        (b'{"name": "' + b"n" * 5000 + b'"}', 400, "'name'"),
        (b'{"name": "x", "description": 3}', 400, "'description'"),
    ],
)
def test_malformed_create_bodies_answer_4xx_naming_the_problem(
    api: httpx.Client, body: bytes, status: int, named: str
) -> None:
    response = api.post("/pipeline", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert named in response.json()["error"]


def test_invalid_graph_answers_422_naming_the_node(api: httpx.Client) -> None:
    nodes = echo_graph()
    nodes["output_0"]["inputs"]["value"] = "{{ llm_9.response }}"
    response = api.post("/pipeline", json={"name": "broken", "nodes": nodes})
    assert response.status_code == 422
    assert "llm_9" in response.json()["error"] and "output_0" in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "many"}, "'limit'"),
        ({"limit": "-1"}, "'limit'"),
        ({"offset": "1.5"}, "'offset'"),
        ({"verbose": "maybe"}, "'verbose'"),
        ({"include_shared": "yes please"}, "'include_shared'"),
    ],
)
def test_bad_query_values_answer_400_naming_the_parameter(
    api: httpx.Client, params: dict[str, str], named: str
) -> None:
    response = api.get("/pipelines", params=params)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_fetch_needs_an_id_or_a_name(api: httpx.Client) -> None:
    response = api.get("/pipeline")
    assert response.status_code == 400
    assert "'id'" in response.json()["error"]


def test_unknown_routes_and_methods_answer_json_errors(api: httpx.Client) -> None:
    missing = api.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["status"] == "failed"
    wrong_method = api.put("/pipelines")
    assert wrong_method.status_code == 405 and "PUT" in wrong_method.json()["error"]


def test_oversized_bodies_answer_413(server: LocalServer) -> None:
    config = ServerConfig(max_body_bytes=1000, db_path=server.db_path)
    with LocalServer(config) as small:
        headers = {"Authorization": f"Bearer {small.api_key}"}
        response = httpx.post(
            f"{small.base_url}/pipeline", json={"name": "x" * 2000}, headers=headers
        )
        assert response.status_code == 413


def test_multipart_bodies_are_refused_with_415(api: httpx.Client) -> None:
    response = api.post("/pipeline", files={"inputs": ("inputs", b"{}")})
    assert response.status_code == 415
    assert "JSON" in response.json()["error"]


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["name", "nodes", "inputs", "runs", "run_id", "background", "stream", "bump", "trace_id"]
)
_bodies = st.dictionaries(_keys, _json, max_size=5) | _json


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies, route=st.sampled_from(["create", "update", "run", "terminate", "bulk"]))
def test_arbitrary_json_bodies_never_cause_a_server_error(
    api: httpx.Client, body: Any, route: str
) -> None:
    pipeline_id = _fuzz_pipeline(api)
    path = body_path(route, pipeline_id)
    if route == "run" and isinstance(body, dict) and body.get("stream") is True:
        body["stream"] = False
    response = api.post(path, json=body)
    assert response.status_code < 500, response.text
    assert response.status_code == 200 or response.json()["status"] == "failed"


_fuzz_ids: dict[str, str] = {}


def _fuzz_pipeline(api: httpx.Client) -> str:
    """One echo pipeline, recreated whenever a fuzzed update replaced its graph."""
    pipeline_id = _fuzz_ids.get("id")
    if pipeline_id is not None:
        current = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
        if set(current["inputs"]) == {"query"}:
            return pipeline_id
    _fuzz_ids["id"] = create(api, "fuzzed", echo_graph())
    return _fuzz_ids["id"]
