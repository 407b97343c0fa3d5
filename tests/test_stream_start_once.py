"""A streaming start whose answer is lost is sent again with its key, and never runs twice (X2).

Against vectorshift.local (which declares ``X-Idempotent-Starts: background, stream``) a start
lost after the run began is resent with the same ``Idempotency-Key`` and answered with the
original run's stream from its first frame; the server's records show one run per call. Against
a server that declares nothing, such a start is not resent and the error says why.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import anyio
import pytest
from raw_servers import RawRequest, event_stream, http_response, raw_server
from support import lorem_pipeline, unique

from vectorshift import (
    ApiConnectionError,
    Client,
    InputNode,
    InternalServerError,
    Pipeline,
    RetryPolicy,
    StreamChunk,
)
from vectorshift.local import LocalServer
from vectorshift.local.faults import FaultInjector
from vectorshift.types import SSEFrame

pytestmark = pytest.mark.anyio

LOST_AFTER_THE_RUN_STARTED = [
    pytest.param({"status": 502, "when": "after"}, id="502-after"),
    pytest.param({"drop": True, "when": "after"}, id="dropped-after"),
]


def streaming_pipeline(client: Client, tokens: int = 12) -> Pipeline:
    pipeline = lorem_pipeline(unique("start-once"), tokens=tokens, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    return pipeline


def runs_of(server: LocalServer, pipeline: Pipeline) -> list[tuple[str, str]]:
    """The runs the server recorded for the pipeline: (query input, status)."""
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute("SELECT inputs, status FROM runs WHERE pipeline_id = ?", (pipeline.id,))
        return [(json.loads(inputs)["query"], status) for inputs, status in rows]


def assert_whole(chunks: list[StreamChunk]) -> None:
    """Every frame of one run once, numbered from 1, ending with its one result."""
    assert [int(str(c.id)) for c in chunks] == list(range(1, len(chunks) + 1))
    assert [c.type for c in chunks].count("result") == 1 and chunks[-1].type == "result"
    assert len({c.run_id for c in chunks}) == 1
    tokens = "".join(str(c.output_value) for c in chunks if c.output_name == "answer")
    assert chunks[-1].outputs == {"answer": tokens}


async def collect(pipeline: Pipeline, query: str) -> list[StreamChunk]:
    async with pipeline.astream({"query": query}) as chunks:
        return [chunk async for chunk in chunks]


def lose_the_first_start(faults: FaultInjector, pipeline: Pipeline, fault: dict[str, Any]) -> Any:
    return faults.add(method="POST", path=rf"/pipeline/{pipeline.id}/run$", count=1, **fault)


@pytest.mark.parametrize("fault", LOST_AFTER_THE_RUN_STARTED)
async def test_a_lost_streaming_start_is_replayed_from_its_first_frame_and_runs_once(
    server: LocalServer, client: Client, faults: FaultInjector, fault: dict[str, Any]
) -> None:
    pipeline = streaming_pipeline(client)
    await pipeline.asave()
    rule = lose_the_first_start(faults, pipeline, fault)
    chunks = await collect(pipeline, "lost once")
    assert rule.fired == 1 and faults.seen("POST", rf"/pipeline/{pipeline.id}/run$") == 2
    assert_whole(chunks)
    assert runs_of(server, pipeline) == [("lost once", "completed")]


async def test_a_lost_raw_frame_stream_start_is_replayed_and_runs_once(
    server: LocalServer, client: Client, faults: FaultInjector
) -> None:
    pipeline = streaming_pipeline(client)
    await pipeline.asave()
    lose_the_first_start(faults, pipeline, {"status": 502, "when": "after"})
    frames: list[SSEFrame] = []
    async with await pipeline.arun({"query": "raw"}, stream=True) as stream:
        frames.extend([frame async for frame in stream])
    assert [f.id for f in frames] == [str(n) for n in range(1, len(frames) + 1)]
    assert frames[-1].event == "result" and json.loads(frames[-1].data)["status"] == "success"
    assert runs_of(server, pipeline) == [("raw", "completed")]


async def test_a_stream_cut_before_any_frame_named_its_run_is_started_again_with_its_key(
    server: LocalServer, client: Client, faults: FaultInjector
) -> None:
    pipeline = streaming_pipeline(client)
    await pipeline.asave()
    # The answer's headers arrive (declaring the replay), then the connection is cut.
    lose_the_first_start(faults, pipeline, {"cut_after_frames": 0})
    chunks = await collect(pipeline, "cut at once")
    assert_whole(chunks)
    assert faults.seen("POST", rf"/pipeline/{pipeline.id}/run$") == 2
    assert runs_of(server, pipeline) == [("cut at once", "completed")]


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_ten_of_ten_streams_arrive_whole_through_lost_starts_each_run_started_once(
    server: LocalServer, faults: FaultInjector
) -> None:
    client = Client(
        api_key=server.api_key,
        base_url=server.base_url,
        retry=RetryPolicy(max_retries=4, backoff_base=0.02, max_backoff=0.1),
    )
    pipeline = streaming_pipeline(client, tokens=8)
    await pipeline.asave()
    path = rf"/pipeline/{pipeline.id}/run$"
    bad_gateway = faults.add(method="POST", path=path, status=502, when="after", probability=0.08)
    # 4% of all starts: the share of those the first rule lets through.
    dropped = faults.add(method="POST", path=path, drop=True, when="after", probability=0.04 / 0.92)
    streamed: dict[str, list[StreamChunk]] = {}

    async def one(query: str) -> None:
        streamed[query] = await collect(pipeline, query)

    # Rounds of ten concurrent streams, until a round met a fault (a round of 10 starts meets
    # none about one time in four; six rounds all miss about one time in 2,000).
    rounds = 0
    while rounds < 6 and bad_gateway.fired + dropped.fired == 0:
        rounds += 1
        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(one, f"round {rounds} stream {i}")
    print(f"{rounds} round(s); starts lost: {bad_gateway.fired} by 502, {dropped.fired} dropped")
    assert bad_gateway.fired + dropped.fired > 0, "no start was lost: nothing was tested"
    assert len(streamed) == 10 * rounds
    for chunks in streamed.values():
        assert_whole(chunks)
    recorded = runs_of(server, pipeline)
    assert sorted(query for query, _ in recorded) == sorted(streamed)  # each started once
    assert {status for _, status in recorded} == {"completed"}


@pytest.mark.parametrize("fault", LOST_AFTER_THE_RUN_STARTED)
def test_the_sync_stream_survives_a_lost_start_and_runs_once(
    server: LocalServer, client: Client, faults: FaultInjector, fault: dict[str, Any]
) -> None:
    pipeline = streaming_pipeline(client)
    pipeline.save()
    lose_the_first_start(faults, pipeline, fault)
    with pipeline.stream({"query": "sync"}) as chunks:
        seen = list(chunks)
    assert_whole(seen)
    assert runs_of(server, pipeline) == [("sync", "completed")]


RESULT = 'data: {"type": "result", "run_id": "r1", "status": "success", "outputs": {}}\n\n'
NO_KEYS = [
    pytest.param(http_response(502, b"upstream gone", content_type=None), id="502"),
    pytest.param(b"", id="dropped"),
]


def plain_pipeline(client: Client) -> Pipeline:
    """A saved pipeline with an input, known without asking the server (built as saved)."""
    return Pipeline(unique("plain"), id="p1", client=client, nodes=[InputNode("query")])


@pytest.mark.parametrize("lost", NO_KEYS)
async def test_without_the_extension_a_start_that_may_have_run_is_not_resent(
    lost: bytes,
) -> None:
    def script(request: RawRequest) -> bytes:
        if request.line.startswith("POST"):
            return lost
        return http_response(200, b'{"status": "success", "object": {}}', content_type=None)

    async with raw_server(script) as server:
        pipeline = plain_pipeline(server.client(RetryPolicy(max_retries=3, backoff_base=0.0)))
        with pytest.raises((InternalServerError, ApiConnectionError)) as info:
            await collect(pipeline, "once")
    posts = [r for r in server.requests if r.line.startswith("POST")]
    assert len(posts) == 1  # not resent: a second run might have started
    assert [r.line.split()[0] for r in server.requests] == ["POST", "GET"]  # one probe
    message = str(info.value)
    assert "may have started a run" in message and "X-Idempotent-Starts" in message
    assert "trace id" in message and posts[0].headers["idempotency-key"]


async def test_a_gateway_error_without_the_header_is_resent_when_the_server_declares_it() -> None:
    declared = {"X-Idempotent-Starts": "background, stream"}

    def script(request: RawRequest) -> bytes:
        if request.n == 0:  # a gateway in front answers; it does not know the header
            return http_response(502, b"upstream gone", content_type=None)
        if request.line.startswith("GET"):
            return http_response(
                404, b'{"error": "no such pipeline"}', content_type=None, headers=declared
            )
        return event_stream(RESULT, declared)

    async with raw_server(script) as server:
        pipeline = plain_pipeline(server.client(RetryPolicy(max_retries=3, backoff_base=0.0)))
        chunks = await collect(pipeline, "again")
    assert chunks[-1].type == "result"
    kinds = [r.line.split()[0] for r in server.requests]
    assert kinds == ["POST", "GET", "POST"]
    first, again = (r for r in server.requests if r.line.startswith("POST"))
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]


async def test_a_refused_start_is_retried_by_any_server_and_needs_no_probe() -> None:
    def script(request: RawRequest) -> bytes:
        if request.n == 0:
            return http_response(429, b"{}", content_type=None, headers={"Retry-After": "0"})
        return event_stream(RESULT)

    async with raw_server(script) as server:
        pipeline = plain_pipeline(server.client(RetryPolicy(max_retries=1, backoff_base=0.0)))
        chunks = await collect(pipeline, "refused")
    assert chunks[-1].type == "result"
    assert [r.line.split()[0] for r in server.requests] == ["POST", "POST"]
