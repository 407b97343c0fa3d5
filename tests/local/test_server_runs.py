"""The local server's run endpoints (P6-P9, X1-X4) over HTTP: runs really execute and stop."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest

from vectorshift.local import LocalServer, ServerConfig

from .graphs import llm_graph, long_graph

KEYS = {"key-a": "org-a", "key-b": "org-b"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(ServerConfig(api_keys=dict(KEYS), max_active_runs=4)) as server:
        yield server


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": "Bearer key-a"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=20) as client:
        yield client


def create(api: httpx.Client, nodes: dict[str, Any], name: str = "runs") -> str:
    response = api.post("/pipeline", json={"name": name, "nodes": nodes})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def start(api: httpx.Client, pipeline_id: str, query: str = "hello there", **extra: Any) -> str:
    body = {"inputs": {"query": query}, "background": True, **extra}
    response = api.post(f"/pipeline/{pipeline_id}/run", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


def status(api: httpx.Client, pipeline_id: str, task_id: str, wait: float = 0) -> dict[str, Any]:
    params = {"wait": str(wait)} if wait else {}
    response = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def terminate(api: httpx.Client, pipeline_id: str, task_id: str) -> dict[str, Any]:
    response = api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": task_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def frames(lines: Iterable[str]) -> Iterator[tuple[int | None, dict[str, Any] | None]]:
    """(id, data) per SSE frame; (None, None) for a comment-only block."""
    seq: int | None = None
    data: dict[str, Any] | None = None
    comment = False
    for line in lines:
        if line == "":
            if data is not None or comment:
                yield seq, data
            seq, data, comment = None, None, False
        elif line.startswith(":"):
            comment = True
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            data = json.loads(line[6:])


def test_blocking_run_answers_outputs_and_trace_id(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    body = {"inputs": {"query": "hello local world"}, "trace_id": "trace-123"}
    response = api.post(f"/pipeline/{pipeline_id}/run", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "success"
    assert result["outputs"] == {"answer": "hello local world"}
    assert result["trace_id"] == "trace-123"
    assert status(api, pipeline_id, result["run_id"])["status"] == "completed"


def test_failed_run_answers_200_with_the_node_named(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(model="no-such-model"))
    response = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}})
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "failed"
    assert "llm_0" in result["error"] and "no-such-model" in result["error"]
    assert status(api, pipeline_id, result["run_id"])["status"] == "failed"


def test_background_run_is_long_polled_to_completion(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(model="lorem", tokens=30, delay_ms=10))
    started = api.post(
        f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "q"}, "background": True}
    ).json()
    assert set(started) == {"task_id", "trace_id"}
    assert status(api, pipeline_id, started["task_id"])["status"] == "in_progress"
    final = status(api, pipeline_id, started["task_id"], wait=15)
    assert final["status"] == "completed"
    assert len(final["result"]["answer"].split()) == 30
    assert final["trace_id"] == started["trace_id"]


def test_long_poll_answers_in_progress_when_the_wait_elapses(api: httpx.Client) -> None:
    pipeline_id = create(api, long_graph())
    task_id = start(api, pipeline_id)
    try:
        assert status(api, pipeline_id, task_id, wait=0.1)["status"] == "in_progress"
    finally:
        terminate(api, pipeline_id, task_id)


@pytest.mark.parametrize("wait", ["soon", "-1", "nan"])
def test_bad_wait_values_answer_400(api: httpx.Client, wait: str) -> None:
    pipeline_id = create(api, llm_graph())
    task_id = start(api, pipeline_id)
    response = api.get(f"/pipeline/{pipeline_id}/run/status/{task_id}", params={"wait": wait})
    assert response.status_code == 400
    assert "'wait'" in response.json()["error"]


def test_unknown_input_answers_422_naming_it(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    body = {"inputs": {"query": "x", "qeury": "typo"}}
    response = api.post(f"/pipeline/{pipeline_id}/run", json=body)
    assert response.status_code == 422
    assert "'qeury'" in response.json()["error"]


def test_missing_input_without_default_answers_422_naming_it(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    response = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {}, "background": True})
    assert response.status_code == 422
    assert "missing required input 'query'" in response.json()["error"]


def test_missing_input_with_default_runs_with_the_default(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(default="from the default"))
    result = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {}}).json()
    assert result["outputs"] == {"answer": "from the default"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"inputs": []}, "'inputs'"),
        ({"inputs": {"query": "x"}, "background": "yes"}, "'background'"),
        ({"inputs": {"query": "x"}, "trace_id": 7}, "'trace_id'"),
        ({"inputs": {"query": "x"}, "background": True, "stream": True}, "'stream'"),
        ({"inputs": {"query": "x"}, "trace_id": "t" * 300}, "'trace_id'"),
    ],
)
def test_malformed_run_bodies_answer_400(
    api: httpx.Client, body: dict[str, Any], named: str
) -> None:
    pipeline_id = create(api, llm_graph())
    response = api.post(f"/pipeline/{pipeline_id}/run", json=body)
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_terminate_stops_the_work_and_reads_cancelled(
    server: LocalServer, api: httpx.Client
) -> None:
    pipeline_id = create(api, long_graph())
    task_id = start(api, pipeline_id)
    events_url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
    with api.stream("GET", events_url) as stream:
        first = next(f for _, f in frames(stream.iter_lines()) if f is not None)
    assert first["type"] == "stream"
    answer = terminate(api, pipeline_id, task_id)
    assert answer == {"status": "success", "run_status": "cancelled"}
    assert status(api, pipeline_id, task_id)["status"] == "cancelled"
    stored = len(server.store.events_after(task_id, 0))
    time.sleep(0.2)
    assert len(server.store.events_after(task_id, 0)) == stored
    last = server.store.events_after(task_id, stored - 1)[0][1]
    assert last["type"] == "result" and last["status"] == "cancelled"


def test_terminating_an_ended_run_is_a_successful_no_op(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    run_id = api.post(f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}}).json()[
        "run_id"
    ]
    assert terminate(api, pipeline_id, run_id) == {"status": "success", "run_status": "completed"}
    assert status(api, pipeline_id, run_id)["status"] == "completed"


def test_terminate_of_an_unknown_run_answers_404(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    response = api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": "nope"})
    assert response.status_code == 404
    assert api.post(f"/pipeline/{pipeline_id}/terminate", json={}).status_code == 400


def test_active_run_limit_answers_429_with_retry_after(api: httpx.Client) -> None:
    pipeline_id = create(api, long_graph())
    tasks = [start(api, pipeline_id) for _ in range(4)]
    try:
        refused = api.post(
            f"/pipeline/{pipeline_id}/run", json={"inputs": {"query": "x"}, "background": True}
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 0
        assert "limit of 4 active runs" in refused.json()["error"]
        terminate(api, pipeline_id, tasks.pop())
        tasks.append(start(api, pipeline_id))
    finally:
        for task_id in tasks:
            terminate(api, pipeline_id, task_id)


def test_the_run_limit_is_per_organisation(server: LocalServer, api: httpx.Client) -> None:
    pipeline_id = create(api, long_graph())
    tasks = [start(api, pipeline_id) for _ in range(4)]
    try:
        headers = {"Authorization": "Bearer key-b"}
        with httpx.Client(base_url=server.base_url, headers=headers) as other:
            other_id = create(other, llm_graph())
            result = other.post(f"/pipeline/{other_id}/run", json={"inputs": {"query": "x"}})
            assert result.json()["status"] == "success"
    finally:
        for task_id in tasks:
            terminate(api, pipeline_id, task_id)


def test_runs_of_another_organisation_are_not_found(server: LocalServer, api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    task_id = start(api, pipeline_id)
    headers = {"Authorization": "Bearer key-b"}
    with httpx.Client(base_url=server.base_url, headers=headers) as other:
        assert other.get(f"/pipeline/{pipeline_id}/run/status/{task_id}").status_code == 404
        response = other.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": task_id})
        assert response.status_code == 404
    other_pipeline = create(api, llm_graph())
    assert api.get(f"/pipeline/{other_pipeline}/run/status/{task_id}").status_code == 404


@pytest.mark.anyio
async def test_stream_frames_arrive_while_the_run_is_going(server: LocalServer) -> None:
    headers = {"Authorization": "Bearer key-a"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=20) as api:
        created = await api.post("/pipeline", json={"name": "s", "nodes": long_graph()})
        pipeline_id = created.json()["id"]
        body = {"inputs": {"query": "stream me"}, "stream": True}
        async with api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            ids: list[int] = []
            deltas: list[str] = []
            lines = response.aiter_lines()
            block: list[str] = []
            while len(deltas) < 3:
                line = await anext(lines)
                if line:
                    block.append(line)
                    continue
                seq, frame = next(frames([*block, ""]))
                block = []
                assert seq is not None and frame is not None
                ids.append(seq)
                if frame.get("output_name") == "answer":
                    deltas.append(frame["output_value"])
                    run_id = frame["run_id"]
            state = await api.get(f"/pipeline/{pipeline_id}/run/status/{run_id}")
            assert state.json()["status"] == "in_progress"
            assert ids == list(range(1, len(ids) + 1))
            await api.post(f"/pipeline/{pipeline_id}/terminate", json={"run_id": run_id})
            rest = [line async for line in lines]
        last = [f for _, f in frames(rest) if f is not None][-1]
        assert last == {"type": "result", "run_id": run_id, "status": "cancelled", "outputs": {}}


def test_a_client_leaving_a_stream_does_not_stop_the_run(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(model="lorem", tokens=40, delay_ms=5))
    body = {"inputs": {"query": "x"}, "stream": True}
    with api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response:
        run_id = next(f for _, f in frames(response.iter_lines()) if f is not None)["run_id"]
    final = status(api, pipeline_id, run_id, wait=15)
    assert final["status"] == "completed"
    assert len(final["result"]["answer"].split()) == 40


def test_events_replay_after_last_event_id_without_loss_or_repeat(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(model="lorem", tokens=12, delay_ms=1))
    task_id = start(api, pipeline_id)
    answer = status(api, pipeline_id, task_id, wait=15)["result"]["answer"]
    url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
    everything = list(frames(api.get(url).text.split("\n")))
    assert [seq for seq, _ in everything] == list(range(1, len(everything) + 1))
    assert everything[-1][1] == {
        "type": "result",
        "run_id": task_id,
        "status": "success",
        "outputs": {"answer": answer},
    }
    deltas = "".join(
        f["output_value"] for _, f in everything if f and f.get("output_name") == "answer"
    )
    assert deltas == answer
    later = list(frames(api.get(url, headers={"Last-Event-ID": "5"}).text.split("\n")))
    assert later == everything[5:]
    assert list(frames(api.get(url, params={"after": "5"}).text.split("\n"))) == later
    assert api.get(url, headers={"Last-Event-ID": "x"}).status_code == 400


def test_events_follow_a_background_run_live(api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph(model="lorem", tokens=25, delay_ms=10))
    task_id = start(api, pipeline_id)
    url = f"/pipeline/{pipeline_id}/run/events/{task_id}"
    with api.stream("GET", url) as response:
        received = [f for _, f in frames(response.iter_lines()) if f is not None]
    assert received[-1]["type"] == "result" and received[-1]["status"] == "success"
    deltas = "".join(f["output_value"] for f in received if f.get("output_name") == "answer")
    assert deltas == received[-1]["outputs"]["answer"]


def test_idle_streams_send_keep_alive_comments(server: LocalServer) -> None:
    config = ServerConfig(db_path=server.db_path, keepalive_interval=0.05)
    with LocalServer(config) as chatty:
        headers = {"Authorization": f"Bearer {chatty.api_key}"}
        with httpx.Client(base_url=chatty.base_url, headers=headers, timeout=20) as api:
            pipeline_id = create(api, llm_graph(model="lorem", tokens=2, delay_ms=400))
            body = {"inputs": {"query": "x"}, "stream": True}
            with api.stream("POST", f"/pipeline/{pipeline_id}/run", json=body) as response:
                lines = list(response.iter_lines())
    assert ": keep-alive" in lines
    assert any(line.startswith("event: result") for line in lines)


@pytest.mark.parametrize("path", ["bulk-run", "bulk_run"])
def test_bulk_run_answers_outputs_per_run(api: httpx.Client, path: str) -> None:
    pipeline_id = create(api, llm_graph())
    body = {"runs": [{"inputs": {"query": "one"}}, {"inputs": {"query": "two"}}]}
    result = api.post(f"/pipeline/{pipeline_id}/{path}", json=body).json()
    assert [r["outputs"] for r in result] == [{"answer": "one"}, {"answer": "two"}]
    assert all(status(api, pipeline_id, r["run_id"])["status"] == "completed" for r in result)


def test_bulk_run_checks_every_run_before_starting_any(
    server: LocalServer, api: httpx.Client
) -> None:
    pipeline_id = create(api, llm_graph())
    before = server.store.run_counts("org-a")
    body = {"runs": [{"inputs": {"query": "one"}}, {"inputs": {"wrong": "two"}}]}
    response = api.post(f"/pipeline/{pipeline_id}/bulk-run", json=body)
    assert response.status_code == 422
    assert "runs[1]." in response.json()["error"] and "'wrong'" in response.json()["error"]
    assert server.store.run_counts("org-a") == before


def test_idempotency_key_replays_the_original_start(server: LocalServer, api: httpx.Client) -> None:
    pipeline_id = create(api, llm_graph())
    body = {"inputs": {"query": "once"}, "background": True}
    headers = {"Idempotency-Key": "start-1"}
    before = sum(server.store.run_counts("org-a").values())
    first = api.post(f"/pipeline/{pipeline_id}/run", json=body, headers=headers).json()
    again = api.post(f"/pipeline/{pipeline_id}/run", json=body, headers=headers).json()
    assert again == first
    assert sum(server.store.run_counts("org-a").values()) == before + 1
    changed = {"inputs": {"query": "twice"}, "background": True}
    conflict = api.post(f"/pipeline/{pipeline_id}/run", json=changed, headers=headers)
    assert conflict.status_code == 422
    assert "Idempotency-Key" in conflict.json()["error"]


def test_a_keyed_streaming_start_sent_again_replays_its_run_from_the_first_frame(
    server: LocalServer, api: httpx.Client
) -> None:
    pipeline_id = create(api, llm_graph())
    body = {"inputs": {"query": "stream once"}, "stream": True}
    headers = {"Idempotency-Key": "stream-1"}
    before = sum(server.store.run_counts("org-a").values())

    def streamed(payload: dict[str, Any]) -> list[tuple[int | None, dict[str, Any] | None]]:
        path = f"/pipeline/{pipeline_id}/run"
        with api.stream("POST", path, json=payload, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["x-idempotent-starts"] == "background, stream"
            return [f for f in frames(response.iter_lines()) if f[1] is not None]

    first = streamed(body)
    again = streamed(body)
    assert again == first  # the same run, every frame from id 1, nothing started
    assert [seq for seq, _ in first] == list(range(1, len(first) + 1))
    assert first[-1][1] is not None and first[-1][1]["type"] == "result"
    assert sum(server.store.run_counts("org-a").values()) == before + 1
    # The key belongs to that streaming start: a background start with it is another body.
    conflict = api.post(
        f"/pipeline/{pipeline_id}/run",
        json={**body, "stream": False, "background": True},
        headers=headers,
    )
    assert conflict.status_code == 422
    # Every answer declares the replay, refusals included.
    assert api.get("/pipeline", params={"id": "nope"}).headers["x-idempotent-starts"]


def test_sub_pipelines_resolve_within_the_organisation(
    server: LocalServer, api: httpx.Client
) -> None:
    inner = create(api, llm_graph(), name="inner")
    headers = {"Authorization": "Bearer key-b"}
    with httpx.Client(base_url=server.base_url, headers=headers) as other:
        foreign = create(other, llm_graph(), name="foreign")

    def outer(target: str) -> dict[str, Any]:
        graph = llm_graph()
        graph["llm_0"] = {
            "id": "llm_0",
            "name": "sub",
            "type": "pipeline",
            "inputs": {"pipeline_id": target, "query": "{{ input_0.text }}"},
            "outputs": ["answer"],
        }
        graph["output_0"]["inputs"] = {"output_type": "string", "value": "{{ llm_0.answer }}"}
        return graph

    ok = api.post(f"/pipeline/{create(api, outer(inner))}/run", json={"inputs": {"query": "in"}})
    assert ok.json()["outputs"] == {"answer": "in"}
    body = {"inputs": {"query": "in"}}
    refused = api.post(f"/pipeline/{create(api, outer(foreign))}/run", json=body).json()
    assert refused["status"] == "failed" and foreign in refused["error"]
