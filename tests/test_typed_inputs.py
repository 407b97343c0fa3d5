"""Run inputs are checked against their input's declared type: by the SDK before any request,
and by vectorshift.local always (one table, ``vectorshift._schema.io_types.RUN_VALUES``)."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import pytest
from support import unique

from vectorshift import Client, InputNode, Pipeline, PipelineDefinitionError
from vectorshift.local import LocalServer

VALID: dict[str, Any] = {
    "n": 3,
    "r": 0.5,
    "b": True,
    "tags": ["a", "b"],
    "q": "hi",
    "when": "2026-12-02T10:00:00Z",
    "j": {"k": [1, None]},
}

# (input, value, what the message shows of it)
WRONG: list[tuple[str, Any, str]] = [
    ("n", "abc", "expected int32, got 'abc' (a string)"),
    ("n", True, "expected int32, got True (a boolean)"),
    ("n", 2**31, f"expected int32, got {2**31} (a number)"),
    ("n", 1.5, "expected int32, got 1.5 (a number)"),
    ("r", "0.5", "expected float, got '0.5' (a string)"),
    ("r", False, "expected float, got False (a boolean)"),
    ("b", "yes", "expected bool, got 'yes' (a string)"),
    ("b", 1, "expected bool, got 1 (a number)"),
    ("tags", "a", "expected vec<string>, got 'a' (a string)"),
    ("tags", ["a", 1], "expected vec<string>, got ['a', 1] (an array)"),
    ("q", None, "expected string, got None (null)"),
    ("q", 5, "expected string, got 5 (a number)"),
    ("when", 1733133600, "expected timestamp, got 1733133600 (a number)"),
]


def typed_pipeline(name: str) -> Pipeline:
    """One input of each JSON input type, all joined into one text output."""
    p = Pipeline(name)
    n = p.add(name="n").input("int32")
    r = p.add(name="r").input("float")
    b = p.add(name="b").input("bool")
    tags = p.add(name="tags").input("vec<string>")
    q = p.add(name="q").input()
    when = p.add(name="when").input("timestamp")
    p.add(name="j").input("json")
    p.add(name="line").output(f"{n.value}/{r.value}/{b.value}/{tags.value}/{q.text}/{when.value}")
    return p


@pytest.fixture
async def saved(client: Client) -> Pipeline:
    p = typed_pipeline(unique("typed"))
    p._client = client
    await p.asave()
    return p


def runs_of(server: LocalServer, pipeline: Pipeline) -> int:
    with sqlite3.connect(server.db_path) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM runs WHERE pipeline_id = ?", (pipeline.id,)
        ).fetchone()
    return int(count)


@pytest.mark.anyio
async def test_valid_values_still_run(saved: Pipeline) -> None:
    result = await saved.arun(VALID)
    assert result["outputs"] == {"line": "3/0.5/true/a\nb/hi/2026-12-02T10:00:00Z"}


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "value", "shown"), WRONG)
async def test_the_sdk_refuses_a_value_of_the_wrong_type_before_any_request(
    saved: Pipeline, server: LocalServer, name: str, value: Any, shown: str
) -> None:
    expected = f"pipeline {saved.name!r} ({saved.id}): inputs.{name}: {shown}"
    with pytest.raises(ValueError) as info:
        await saved.arun({**VALID, name: value})
    assert str(info.value) == expected
    with pytest.raises(ValueError, match=r"inputs\.n: expected int32"):
        await saved.astart({**VALID, "n": "abc"})
    assert runs_of(server, saved) == 0


@pytest.mark.anyio
async def test_a_bulk_run_names_the_run_of_the_wrong_value(
    saved: Pipeline, server: LocalServer
) -> None:
    wrong = r": runs\[2\]\.inputs\.n: expected int32, got 'abc' \(a string\)$"
    with pytest.raises(ValueError, match=wrong):
        await saved.abulk_run([VALID, VALID, {**VALID, "n": "abc"}])
    assert runs_of(server, saved) == 0


def post(server: LocalServer, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return httpx.post(f"{server.base_url}{path}", headers=headers, json=body, timeout=30)


@pytest.mark.parametrize(("name", "value", "shown"), WRONG)
def test_the_server_answers_422_naming_the_input(
    server: LocalServer, client: Client, name: str, value: Any, shown: str
) -> None:
    p = typed_pipeline(unique("raw-typed"))
    p._client = client
    p.save()
    response = post(server, f"/pipeline/{p.id}/run", {"inputs": {**VALID, name: value}})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == f"inputs.{name}: {shown}"
    runs = [{"inputs": VALID}, {"inputs": VALID}, {"inputs": {**VALID, name: value}}]
    bulk = post(server, f"/pipeline/{p.id}/bulk-run", {"runs": runs})
    assert bulk.status_code == 422, bulk.text
    assert bulk.json()["error"] == f"runs[2].inputs.{name}: {shown}"
    assert runs_of(server, p) == 0
    ok = post(server, f"/pipeline/{p.id}/run", {"inputs": VALID})
    assert ok.status_code == 200, ok.text


def test_a_default_value_must_be_of_the_input_type(server: LocalServer) -> None:
    assert InputNode("n", "int32", default_value=3).inputs["default_value"] == 3
    wrong = r"input node 'n': default_value: expected int32, got 'x' \(a string\)"
    with pytest.raises(PipelineDefinitionError, match=wrong):
        InputNode("n", "int32", default_value="x")
    nodes = {
        "input_0": {
            "id": "input_0",
            "name": "n",
            "type": "input",
            "inputs": {"input_type": "int32", "use_default_value": True, "default_value": "x"},
        }
    }
    response = post(server, "/pipeline", {"name": unique("bad-default"), "nodes": nodes})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "node 'n' (input_0): default_value: expected int32, got 'x' (a string)" in error
