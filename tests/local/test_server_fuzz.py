"""Fuzzing the local server's JSON endpoints: bad input is always a 4xx, never a 500, and the
store stays consistent (a refused request changes nothing; every run ends with one result).

Complements ``test_server_pipelines.py``'s fuzz of well-formed JSON bodies with malformed bytes,
fuzzed graphs (unknown node types, wrong field types, huge strings, template injection), fuzzed
query strings and headers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from vectorshift.local import LocalServer, ServerConfig

from .graphs import BODY_ROUTES, body_path

KEY = "fuzz-key"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    config = ServerConfig(api_keys={KEY: "fuzz-org"}, max_active_runs=1000, max_body_bytes=1 << 20)
    with LocalServer(config) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client


def counts(server: LocalServer) -> tuple[int, int]:
    """Pipelines and runs stored."""
    with sqlite3.connect(server.db_path) as db:
        (pipelines,) = db.execute("SELECT COUNT(*) FROM pipelines").fetchone()
        (runs,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
    return int(pipelines), int(runs)


def assert_client_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()
    assert body["status"] == "failed" and body["error"], body
    assert body["request_id"] == response.headers["x-request-id"]


def echo_graph() -> dict[str, Any]:
    return {
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
            "outputs": [],
        },
    }


_pipeline_ids: dict[str, str] = {}


def echo_pipeline(api: httpx.Client) -> str:
    if "echo" not in _pipeline_ids:
        response = api.post("/pipeline", json={"name": "fuzz-echo", "nodes": echo_graph()})
        assert response.status_code == 200, response.text
        _pipeline_ids["echo"] = response.json()["id"]
    return _pipeline_ids["echo"]


_INJECTIONS = [
    "{{ input_0.text }}",
    "{{ missing_9.text }}",
    "{{ 7*7 }}",
    "{{ __class__.__mro__ }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "{{ input_0.text }}{{ input_0.text }}" * 50,
    "{{",
    "}}",
    "{{ input_0. }}",
    "{{ .text }}",
    "${jndi:ldap://127.0.0.1/x}",
    "\x00\ud7ff\U0001f600",
]
_huge = st.integers(min_value=10_000, max_value=300_000).map(lambda n: "x" * n)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(_INJECTIONS)
)
_values = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=8,
)
_node_types = st.sampled_from(
    ["input", "output", "llm", "text", "condition", "merge", "pipeline", "bogus", "", "__init__"]
)
_input_fields = st.sampled_from(
    [
        "text",
        "value",
        "prompt",
        "model",
        "provider",
        "max_tokens",
        "token_delay_ms",
        "input_type",
        "output_type",
        "conditions",
        "fields",
        "pipeline_id",
        "dependencies",
    ]
)


_texts = st.sampled_from(_INJECTIONS) | st.text(max_size=40) | _huge


@st.composite
def _nodes(draw: st.DrawFn) -> Any:
    """A graph: a working one with fuzzed text, one more node of any type, or anything."""
    graph: dict[str, Any] = json.loads(json.dumps(echo_graph()))
    mode = draw(st.sampled_from(["text", "extra", "wild"]))
    if mode == "text":
        graph["output_0"]["inputs"]["value"] = draw(_texts)
        graph["input_0"]["name"] = draw(st.sampled_from(["query"] * 6 + ["", " ", "q" * 2000]))
        return graph
    if mode == "extra":
        node_type = draw(_node_types)
        graph["extra_0"] = {
            "id": "extra_0",
            "name": draw(st.sampled_from(["extra", "query", "answer"])),
            "type": node_type,
            "inputs": draw(st.dictionaries(_input_fields, _texts | _values, max_size=4)),
            "outputs": draw(st.sampled_from([["text"], ["response"], [], ["output", "path_0"]])),
        }
        graph["output_0"]["inputs"]["value"] = draw(
            st.sampled_from(["{{ input_0.text }}", "{{ extra_0.text }}", "{{ extra_0.response }}"])
        )
        return graph
    count = draw(st.integers(min_value=0, max_value=4))
    wild: dict[str, Any] = {}
    for index in range(count):
        node_id = draw(st.sampled_from([f"node_{index}", "input_0", "", "x" * 300]))
        wild[node_id] = draw(
            st.fixed_dictionaries(
                {
                    "id": st.sampled_from([node_id, "other", 5]),
                    "name": st.text(max_size=10) | st.integers() | _huge,
                    "type": _node_types | st.integers(),
                    "inputs": st.dictionaries(_input_fields, _values | _huge, max_size=4) | _values,
                    "outputs": st.lists(st.text(max_size=8), max_size=3) | _values,
                }
            )
            | _values
        )
    return wild


@FUZZ
@given(
    raw=st.binary(max_size=300)
    | st.sampled_from(
        [b"{", b"[]", b"null", b'{"name": NaN}', b'{"a": Infinity}', b"\xff\xfe{}", b"[" * 5000]
    ),
    route=st.sampled_from(BODY_ROUTES),
)
def test_malformed_bodies_are_refused_and_change_nothing(
    server: LocalServer, api: httpx.Client, raw: bytes, route: str
) -> None:
    pipeline_id = echo_pipeline(api)
    before = counts(server)
    response = api.post(
        body_path(route, pipeline_id), content=raw, headers={"Content-Type": "application/json"}
    )
    if response.status_code == 200:  # the bytes happened to be a valid request
        return
    assert_client_error(response)
    assert counts(server) == before


@settings(FUZZ, max_examples=150)
@given(
    name=st.sampled_from(["fuzzed"] * 8 + ["", " \t", "n" * 5000]) | st.text(min_size=1),
    nodes=_nodes(),
    run_inputs=st.fixed_dictionaries({"query": _texts | _values})
    | st.dictionaries(st.sampled_from(["query", "other", ""]), _values | _huge),
)
def test_fuzzed_graphs_are_stored_as_sent_or_refused_whole(
    server: LocalServer, api: httpx.Client, name: str, nodes: Any, run_inputs: Any
) -> None:
    pipelines, runs = counts(server)
    created = api.post("/pipeline", json={"name": name, "nodes": nodes})
    event(f"create answered {created.status_code}")
    if created.status_code != 200:
        assert_client_error(created)
        assert counts(server) == (pipelines, runs)
        return
    pipeline_id = created.json()["id"]
    assert counts(server) == (pipelines + 1, runs)
    stored = api.get("/pipeline", params={"id": pipeline_id})
    assert stored.status_code == 200 and stored.json()["object"]["nodes"] == nodes
    body = {"inputs": run_inputs, "background": True}
    started = api.post(f"/pipeline/{pipeline_id}/run", json=body)
    event(f"run answered {started.status_code}")
    if started.status_code != 200:
        assert_client_error(started)
        assert counts(server) == (pipelines + 1, runs)
        return
    task_id = started.json()["task_id"]
    ended = api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": task_id})
    assert ended.status_code == 200, ended.text
    status = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}")
    assert status.status_code == 200
    assert status.json()["status"] in ("completed", "failed", "cancelled"), status.text
    events = api.get(f"/pipeline/{pipeline_id}/run/events/{task_id}")
    results = [
        line for line in events.text.splitlines() if line.startswith('data: {"type":"result"')
    ]
    assert events.status_code == 200 and len(results) == 1, events.text[-500:]


_ascii = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "name",
                "offset",
                "limit",
                "verbose",
                "include_shared",
                "version",
                "wait",
                "after",
                "branch_id",
                "folder_id",
            ]
        ),
        _ascii | st.sampled_from(["-1", "1e999", "nan", "true", "0x10", "9" * 40, ""]),
        max_size=4,
    ),
    where=st.sampled_from(["pipeline", "pipelines", "status", "events"]),
)
def test_fuzzed_query_strings_never_cause_a_server_error(
    server: LocalServer, api: httpx.Client, params: dict[str, str], where: str
) -> None:
    pipeline_id = echo_pipeline(api)
    run = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}})
    task_id = run.json()["run_id"]
    path = {
        "pipeline": "/pipeline",
        "pipelines": "/pipelines",
        "status": f"/pipeline/{pipeline_id}/run/status/{task_id}",
        "events": f"/pipeline/{pipeline_id}/run/events/{task_id}",
    }[where]
    if where == "status" and "wait" in params:
        params["wait"] = params["wait"][:3]  # a valid long wait only slows the test down
    response = api.get(path, params=params)
    if response.status_code != 200:
        assert_client_error(response)


@FUZZ
@given(
    # Header values cannot start or end with white space (the client refuses to send those).
    last_event_id=_ascii.map(str.strip),
    idempotency_key=_ascii.map(str.strip) | st.just("k" * 300),
)
def test_fuzzed_headers_never_cause_a_server_error(
    server: LocalServer, api: httpx.Client, last_event_id: str, idempotency_key: str
) -> None:
    pipeline_id = echo_pipeline(api)
    _, runs = counts(server)
    started = api.post(
        f"/pipeline/{pipeline_id}/run",
        json={"inputs": {"query": "keyed"}, "background": True},
        headers={"Idempotency-Key": idempotency_key},
    )
    if started.status_code != 200:
        assert_client_error(started)
        assert counts(server)[1] == runs
        return
    assert counts(server)[1] in (runs, runs + 1)  # a replayed key starts nothing
    task_id = started.json()["task_id"]
    events = api.get(
        f"/pipeline/{pipeline_id}/run/events/{task_id}",
        headers={"Last-Event-ID": last_event_id},
    )
    if events.status_code != 200:
        assert_client_error(events)
        return
    lines = events.text.splitlines()
    frames = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    # Whatever follows the given id, in order, ending with the one result frame if it comes.
    assert [f["type"] for f in frames].count("result") == (1 if frames else 0)
    assert not frames or frames[-1]["type"] == "result"
