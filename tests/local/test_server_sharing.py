"""Folders, sharing, the marketplace refusal and the answers as the official client reads them,
over raw HTTP against the local server (tests/fixtures/official/FACTS.md sections 1, 7 and 8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

from .test_server_pipelines import create, echo_graph

KEYS = {"key-a": "org-a", "key-b": "org-b"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(api_keys=dict(KEYS))) as server:
        yield server


def _client(server: LocalServer, key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    yield from _client(server, "key-a")


@pytest.fixture
def other(server: LocalServer) -> Iterator[httpx.Client]:
    yield from _client(server, "key-b")


def error_of(response: httpx.Response) -> str:
    """The message as the official client finds it: the first of error, message, detail, errors."""
    body = response.json()
    return str(next(body[key] for key in ("error", "message", "detail", "errors") if body.get(key)))


def test_a_folder_only_update_moves_and_keeps_the_graph(api: httpx.Client) -> None:
    pipeline_id = create(api, "to-file", echo_graph())
    moved = api.post(f"/update/pipeline/{pipeline_id}", json={"folder_id": "f-1"})
    assert moved.json() == {"status": "success"}
    fetched = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
    assert fetched["folder_id"] == "f-1" and set(fetched["nodes"]) == set(echo_graph())
    listed = api.get("/pipelines", params={"folder_id": "f-1"}).json()
    assert listed["object_ids"] == [pipeline_id]
    assert listed["objects"][0]["folder_id"] == "f-1"


def test_an_update_with_neither_graph_nor_folder_names_nodes(api: httpx.Client) -> None:
    pipeline_id = create(api, "no-update")
    response = api.post(f"/update/pipeline/{pipeline_id}", json={"name": "x"})
    assert response.status_code == 400 and "field 'nodes' is missing" in error_of(response)


def test_sharing_between_organisations(api: httpx.Client, other: httpx.Client) -> None:
    pipeline_id = create(api, "shared", echo_graph())
    share = {"org_id": "org-b", "role": "viewer", "name": "B"}
    assert api.post(f"/pipeline/{pipeline_id}/share", json=share).json() == {"status": "success"}
    assert other.get("/pipeline", params={"id": pipeline_id}).status_code == 200
    assert pipeline_id not in other.get("/pipelines").json()["object_ids"]
    shared = other.get("/pipelines", params={"include_shared": "true"}).json()
    assert [(o["_id"], o["shared_role"]) for o in shared["objects"]] == [(pipeline_id, "viewer")]
    save = other.post(f"/update/pipeline/{pipeline_id}", json={"nodes": echo_graph()})
    assert save.status_code == 403 and "role 'viewer'" in error_of(save)
    assert other.delete(f"/pipeline/{pipeline_id}").status_code == 403
    run = other.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}})
    assert run.json()["outputs"] == {"answer": "hi"}
    api.post(f"/pipeline/{pipeline_id}/share", json={"org_id": "org-b", "role": "editor"})
    save = other.post(f"/update/pipeline/{pipeline_id}", json={"nodes": echo_graph("q2")})
    assert save.status_code == 200
    assert "q2" in api.get("/pipeline", params={"id": pipeline_id}).json()["object"]["inputs"]
    unshare = api.post(f"/pipeline/{pipeline_id}/unshare", json={"org_id": "org-b"})
    assert unshare.json() == {"status": "success"}
    assert other.get("/pipeline", params={"id": pipeline_id}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"role": "viewer"}, 400, "give 'user_id' or 'org_id'"),
        ({"org_id": "org-b", "role": "owner"}, 400, "field 'role' must be one of"),
        ({"user_id": "u-1"}, 422, "organisations, not users"),
        ({"org_id": "org-a"}, 422, "owns this pipeline"),
        ({"org_id": "org-z"}, 404, "no organisation 'org-z'"),
    ],
)
def test_share_refusals(api: httpx.Client, body: dict[str, Any], status: int, words: str) -> None:
    pipeline_id = create(api, "refused-share")
    response = api.post(f"/pipeline/{pipeline_id}/share", json=body)
    assert (response.status_code, words in error_of(response)) == (status, True), response.text


def test_publish_and_unpublish_are_refused_naming_the_feature(api: httpx.Client) -> None:
    pipeline_id = create(api, "to-publish")
    body = {"object_type": "pipeline", "object_id": pipeline_id, "title": "T", "description": ""}
    feature = "publishing to the VectorShift marketplace has no meaning on vectorshift.local"
    for response in (api.post("/marketplace/publish", json=body), api.delete("/marketplace/m-1")):
        assert response.status_code == 422 and feature in error_of(response)
    assert api.post("/marketplace/publish", json={"title": "T"}).status_code == 400


@pytest.mark.parametrize("path", ["bulk-run", "bulk_run"])
def test_bulk_run_answers_the_list_of_runs(api: httpx.Client, path: str) -> None:
    pipeline_id = create(api, "bulk", echo_graph())
    runs = [{"inputs": {"query": "one"}}, {"inputs": {"query": "two"}}]
    answer = api.post(f"/pipeline/{pipeline_id}/{path}", json={"runs": runs}).json()
    assert isinstance(answer, list)
    assert [(bool(r["run_id"]), r["outputs"]) for r in answer] == [
        (True, {"answer": "one"}),
        (True, {"answer": "two"}),
    ]
    assert api.post(f"/pipeline/{pipeline_id}/{path}", json={"runs": []}).json() == []


def test_every_answer_holds_what_the_official_client_reads(api: httpx.Client) -> None:
    created = api.post("/pipeline", json={"name": "read", "nodes": echo_graph()}).json()
    pipeline_id = created["id"]
    obj = api.get("/pipeline", params={"id": pipeline_id}).json()["object"]
    assert {"_id", "mainBranch", "name", "nodes"} <= set(obj) and isinstance(obj["nodes"], dict)
    for params in ({}, {"verbose": "true"}):
        listed = api.get("/pipelines", params=params).json()
        assert pipeline_id in listed["object_ids"]
        assert {"_id", "name"} <= set(listed["objects"][-1])
    update = api.post(f"/update/pipeline/{pipeline_id}", json={"nodes": echo_graph()})
    assert update.json()["status"] == "success"
    run = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}}).json()
    assert {"run_id", "outputs"} <= set(run)
    started = api.post(
        f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "hi"}, "background": True}
    ).json()
    assert started["task_id"] and "trace_id" in started
    status = api.get(
        f"/pipeline/{pipeline_id}/run/status/{started['task_id']}", params={"wait": "10"}
    ).json()
    assert (status["task_id"], status["status"], status["result"]) == (
        started["task_id"],
        "completed",
        {"answer": "hi"},
    )
    body = {"inputs": {"query": "a b"}, "stream": True}
    with api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response:
        lines = [line for line in response.iter_lines() if line]
    events = [line[len("event:") :].strip() for line in lines if line.startswith("event:")]
    frames = [json.loads(line[len("data:") :]) for line in lines if line.startswith("data:")]
    assert events[-1] == "result" and frames[-1]["type"] == "result"
    assert {"run_id", "status", "outputs"} <= set(frames[-1])
    assert all("output_name" in f and "output_value" in f for f in frames[:-1])
    terminate = api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": started["task_id"]})
    assert terminate.json()["status"] == "success"
    missing = api.get("/pipeline", params={"id": "nope"})
    assert missing.status_code == 404 and "not found" in error_of(missing)
    assert api.delete(f"/pipeline/{pipeline_id}").json()["status"] == "success"
