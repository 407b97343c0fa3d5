"""What ``vectorshift.local`` answers and streams fits the wire declarations the SDK reads with
(``vectorshift._schema.answers`` and ``.frames``), endpoint by endpoint, over raw HTTP; and the
SDK's readers read the same frames and status answers into the same values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from tests.local.graphs import llm_graph
from tests.support import unique
from vectorshift._schema.answers import (
    RUN_STATUS,
    Ack,
    BlockingRun,
    BulkRunAnswer,
    Created,
    Fetched,
    Listed,
    Started,
    StatusAnswer,
    StatusIds,
)
from vectorshift._schema.frames import STREAM_FRAME, ResultFrame, StreamFrame
from vectorshift._sse import SSEFrame
from vectorshift.local import LocalServer


@pytest.fixture
def http(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(base_url=server.base_url + "/", headers=headers, timeout=30) as client:
        yield client


def fits(model: type[BaseModel], response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return model.model_validate_json(response.content)


def frames_of(response: httpx.Response) -> list[SSEFrame]:
    found = []
    for block in response.text.split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "data" in lines:
            found.append(
                SSEFrame(
                    event=lines.get("event", "message"),
                    data=lines["data"],
                    id=lines.get("id"),
                    retry=None,
                )
            )
    return found


def test_every_pipeline_answer_fits_its_declaration(http: httpx.Client) -> None:
    body = {
        "name": unique("conformance"),
        "nodes": llm_graph(),
        "canvas_metadata": {"nodes": {}, "edges": []},
    }
    pipeline_id = fits(Created, http.post("pipeline", json=body)).id
    fetched = fits(Fetched, http.get("pipeline", params={"id": pipeline_id}))
    assert fetched.object.id == pipeline_id and set(fetched.object.nodes or {}) == {
        "input_0",
        "llm_0",
        "output_0",
    }
    fits(Fetched, http.get("pipeline", params={"name": body["name"]}))
    listed = fits(Listed, http.get("pipelines", params={"verbose": "true", "limit": 1000}))
    assert pipeline_id in {p.id for p in listed.objects}
    fits(Ack, http.post(f"update/pipeline/{pipeline_id}", json={"nodes": llm_graph()}))
    fits(Ack, http.delete(f"pipeline/{pipeline_id}"))


def test_every_run_answer_and_frame_fits_its_declaration(http: httpx.Client) -> None:
    body = {"name": unique("conformance-runs"), "nodes": llm_graph(tokens=3)}
    pipeline_id = fits(Created, http.post("pipeline", json=body)).id
    run = f"pipeline/{pipeline_id}/run"
    blocking = fits(BlockingRun, http.post(run, json={"inputs": {"query": "one two three"}}))
    assert not blocking.failed and blocking.outputs == {"answer": "one two three"}

    started = fits(Started, http.post(run, json={"inputs": {"query": "a b"}, "background": True}))
    status_path = f"pipeline/{pipeline_id}/run/status/{started.task_id}"
    answer = http.get(status_path, params={"wait": "10"})
    wire = fits(StatusAnswer, answer)
    read = RUN_STATUS.validate_json(
        answer.content, context=StatusIds(pipeline_id, started.task_id, started.trace_id)
    )
    assert (read.task_id, read.raw_status, read.result) == (wire.task_id, wire.status, wire.result)
    fits(Ack, http.post(f"pipeline/{pipeline_id}/terminate", json={"run_id": started.task_id}))

    bulk = fits(
        BulkRunAnswer,
        http.post(
            f"pipeline/{pipeline_id}/bulk-run", json={"runs": [{"inputs": {"query": "x"}}] * 2}
        ),
    )
    assert [item.outputs for item in bulk.run_outputs] == [{"answer": "x"}] * 2

    streamed = http.post(run, json={"inputs": {"query": "p q r"}, "stream": True})
    frames = frames_of(streamed)
    assert frames and json.loads(frames[-1].data)["type"] == "result"
    for frame in frames:
        data = json.loads(frame.data)
        declared = ResultFrame if data["type"] == "result" else StreamFrame
        wire_frame = declared.model_validate(data)
        chunk = STREAM_FRAME.validate_json(frame.data, context=frame.id)
        assert (chunk.type, chunk.run_id) == (wire_frame.type, wire_frame.run_id)
        assert chunk.id == frame.id
        if isinstance(wire_frame, StreamFrame):
            assert (chunk.output_name, chunk.output_value) == (
                wire_frame.output_name,
                wire_frame.output_value,
            )
        else:
            assert (chunk.raw_status, chunk.outputs) == (wire_frame.status, wire_frame.outputs)


def test_the_readers_take_the_aliases_the_declarations_name() -> None:
    frame = SSEFrame(
        event="result",
        data=json.dumps(
            {"type": "result", "pipeline_run_id": "r-1", "status": "success", "outputs": {}}
        ),
        id="7",
        retry=None,
    )
    chunk = STREAM_FRAME.validate_json(frame.data, context=frame.id)
    assert (chunk.run_id, chunk.status) == ("r-1", "succeeded")
    assert ResultFrame.model_validate_json(frame.data).run_id == "r-1"
    body = b'{"task_id": "t-1", "status": "completed", "outputs": {"a": 1}}'
    status = RUN_STATUS.validate_json(body, context=StatusIds("p", "t-1", None))
    assert status.result == StatusAnswer.model_validate_json(body).result == {"a": 1}
