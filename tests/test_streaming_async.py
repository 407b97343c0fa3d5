"""Streaming runs through the async API, against a real local server, on asyncio and trio."""

from __future__ import annotations

from itertools import pairwise

import anyio
import pytest
from support import lorem_pipeline, unique

from vectorshift import (
    Client,
    NotFoundError,
    Pipeline,
    PipelineRunFailedError,
    StreamError,
    StreamInterruptedError,
)
from vectorshift.local.faults import FaultInjector

pytestmark = pytest.mark.anyio


async def token_pipeline(client: Client, *, tokens: int, delay_ms: int) -> Pipeline:
    pipeline = lorem_pipeline(unique("tokens"), tokens=tokens, delay_ms=delay_ms, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    return pipeline


async def test_tokens_arrive_as_they_are_made_in_order(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=6, delay_ms=60)
    arrivals: list[float] = []
    tokens: list[str] = []
    final: dict[str, object] = {}
    async with pipeline.astream({"query": "hi"}) as chunks:
        async for chunk in chunks:
            if chunk.type == "stream" and chunk.output_name == "answer":
                arrivals.append(anyio.current_time())
                tokens.append(chunk.output_value)
            elif chunk.type == "result":
                final = chunk.outputs or {}
    assert "".join(tokens) == final["answer"] and len(tokens) == 6
    gaps = [b - a for a, b in pairwise(arrivals)]
    # Delivered one by one as produced (60 ms apart), not all at once at the end.
    assert sum(gap > 0.02 for gap in gaps) >= 4


async def test_chunks_carry_intermediate_outputs_and_event_ids(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=3, delay_ms=1)
    async with pipeline.astream({"query": "hello"}) as chunks:
        seen = [chunk async for chunk in chunks]
    names = [chunk.output_name for chunk in seen if chunk.type == "stream"]
    assert "query.text" in names and "llm.response" in names
    ids = [int(chunk.id) for chunk in seen if chunk.id is not None]
    assert ids == sorted(ids) and len(ids) == len(seen)
    assert seen[-1].type == "result" and seen[-1].status == "succeeded"
    assert seen[-1].raw_status == "success"
    assert all(chunk.run_id == seen[-1].run_id for chunk in seen)


async def test_failed_run_yields_result_then_raises(client: Client) -> None:
    pipeline = Pipeline(unique("stream-fail"), client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(provider="local", model="nope", prompt=query.text)
    pipeline.add(name="answer").output(llm.response)
    await pipeline.asave()
    seen = []
    with pytest.raises(PipelineRunFailedError) as info:
        async with pipeline.astream({"query": "x"}) as chunks:
            async for chunk in chunks:
                seen.append(chunk)
    assert seen[-1].type == "result" and seen[-1].status == "failed"
    assert info.value.task_id == seen[-1].run_id and "nope" in str(info.value.run_error)


async def test_early_break_frees_the_connection_and_the_run_goes_on(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=30, delay_ms=20)
    async with pipeline.astream({"query": "x"}) as chunks:
        async for chunk in chunks:
            if chunk.output_name == "answer":
                run_id = chunk.run_id
                break
    assert client.http.open_responses() == 0
    assert run_id is not None
    final = await pipeline.run_handler(run_id).aresult(timeout=30)
    assert len(final["result"]["answer"].split()) == 30


async def test_cancelling_the_consumer_closes_the_stream(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=200, delay_ms=20)
    with anyio.move_on_after(0.3):
        async with pipeline.astream({"query": "x"}) as chunks:
            async for _ in chunks:
                pass
    assert client.http.open_responses() == 0


async def test_http_error_is_raised_when_the_stream_opens(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=2, delay_ms=1)
    await pipeline.adelete()
    stream = pipeline.astream({"query": "x"})
    with pytest.raises(NotFoundError):
        await stream.aopen()


async def test_bad_inputs_fail_before_any_request(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=2, delay_ms=1)
    with pytest.raises(ValueError, match="'nope'"):
        pipeline.astream({"nope": "x"})


async def test_raw_frames_for_token_streaming(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=4, delay_ms=1)
    frames = await pipeline.arun({"query": "x"}, stream=True)
    async with frames:
        collected = [frame async for frame in frames]
    assert {frame.event for frame in collected} == {"stream", "result"}
    tokens = [
        frame.json()["output_value"]
        for frame in collected
        if frame.event == "stream" and frame.json()["output_name"] == "answer"
    ]
    result = collected[-1].json()
    assert result["type"] == "result" and "".join(tokens) == result["outputs"]["answer"]
    assert client.http.open_responses() == 0


async def test_a_non_object_frame_is_a_stream_error_quoting_it(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client, tokens=2, delay_ms=1)
    faults.add(method="POST", path=f"{pipeline.id}/run", status=200, body="data: [1, 2]\n\n")
    with pytest.raises(StreamError, match=r"\[1, 2\]"):
        async with pipeline.astream({"query": "x"}) as chunks:
            async for _ in chunks:
                pass


async def test_a_cut_stream_without_resume_raises_interrupted_with_run_id(
    client: Client, faults: FaultInjector
) -> None:
    pipeline = await token_pipeline(client, tokens=20, delay_ms=5)
    faults.add(method="POST", path=f"{pipeline.id}/run", cut_after_frames=3)
    faults.add(method="GET", path="/run/events/", status=404)  # a server without X3
    seen = []
    with pytest.raises(StreamInterruptedError) as info:
        async with pipeline.astream({"query": "x"}) as chunks:
            async for chunk in chunks:
                seen.append(chunk)
    assert len(seen) == 3
    assert info.value.task_id == seen[0].run_id and info.value.last_event_id == "3"
