"""One rule for every async stream: use it directly, or await it to send the request at once.

Run on asyncio and trio against a real local server; tests/typing/streams_usage.py checks the
same forms with mypy. Also: streams and result types say what they are when printed.
"""

from __future__ import annotations

import pytest
from support import lorem_pipeline, unique

from vectorshift import (
    AsyncStream,
    Client,
    NotFoundError,
    Pipeline,
    RunResult,
    RunStatus,
    SSEFrame,
    StreamChunk,
)

pytestmark = pytest.mark.anyio


async def token_pipeline(client: Client, tokens: int = 3) -> Pipeline:
    pipeline = lorem_pipeline(unique("surface"), tokens=tokens, delay_ms=1, stream=True)
    pipeline.node("answer").inputs["output_type"] = "stream<string>"
    pipeline._client = client
    await pipeline.asave()
    return pipeline


async def drain_chunks(stream: AsyncStream[StreamChunk]) -> list[StreamChunk]:
    return [chunk async for chunk in stream]


async def drain_frames(stream: AsyncStream[SSEFrame]) -> list[SSEFrame]:
    return [frame async for frame in stream]


async def test_astream_is_awaitable_and_usable_directly(client: Client) -> None:
    pipeline = await token_pipeline(client)
    awaited = await pipeline.astream({"query": "x"})
    assert awaited.state == "open"
    direct = pipeline.astream({"query": "x"})
    assert direct.state == "not opened"
    async with direct as chunks:
        direct_chunks = await drain_chunks(chunks)
    awaited_chunks = await drain_chunks(awaited)
    assert awaited_chunks[-1].type == direct_chunks[-1].type == "result"
    assert awaited_chunks[-1].outputs == direct_chunks[-1].outputs
    assert client.http.open_responses() == 0


async def test_arun_stream_is_awaitable_and_usable_directly(client: Client) -> None:
    pipeline = await token_pipeline(client)
    async with pipeline.arun({"query": "x"}, stream=True) as frames:
        direct = await drain_frames(frames)
    async with await pipeline.arun({"query": "x"}, stream=True) as frames:
        awaited = await drain_frames(frames)
    plain = await drain_frames(pipeline.arun({"query": "x"}, stream=True))
    for frames_seen in (direct, awaited, plain):
        assert frames_seen[-1].event == "result" and frames_seen[-1].json()["status"] == "success"
    assert client.http.open_responses() == 0


async def test_handler_astream_is_awaitable_and_usable_directly(client: Client) -> None:
    pipeline = await token_pipeline(client)
    handler = await pipeline.astart({"query": "x"})
    awaited = await drain_chunks(await handler.astream())
    async with handler.astream() as chunks:
        direct = await drain_chunks(chunks)
    assert [c.id for c in awaited] == [c.id for c in direct]
    assert direct[-1].status == "succeeded"


async def test_awaiting_a_stream_sends_the_request_and_raises_its_error_there(
    client: Client,
) -> None:
    pipeline = await token_pipeline(client)
    await pipeline.adelete()
    stream = pipeline.astream({"query": "x"})
    with pytest.raises(NotFoundError):
        await stream
    assert stream.state == "closed"
    with pytest.raises(NotFoundError):
        await pipeline.arun({"query": "x"}, stream=True)


async def test_a_stream_repr_names_its_run_and_state(client: Client) -> None:
    pipeline = await token_pipeline(client)
    stream = pipeline.astream({"query": "x"})
    assert repr(stream) == (
        f"AsyncStream(pipeline_id={pipeline.id!r}, task_id=<not known yet>, "
        "state='not opened', delivered=0)"
    )
    async with stream:
        first = await stream.__anext__()
        assert f"task_id={first.run_id!r}, state='open', delivered=1" in repr(stream)
        rest = await drain_chunks(stream)
    assert repr(stream) == (
        f"AsyncStream(pipeline_id={pipeline.id!r}, task_id={first.run_id!r}, state='ended', "
        f"delivered={1 + len(rest)}, last_event_id={rest[-1].id!r}, run_status='succeeded')"
    )
    frames = pipeline.arun({"query": "x"}, stream=True, timeout=30)
    async with frames:
        await frames.__anext__()
    assert "task_id='" in repr(frames) and "state='closed'" in repr(frames)
    assert "timeout=30" in repr(frames)


async def test_result_types_print_with_their_class_name(client: Client) -> None:
    pipeline = await token_pipeline(client, tokens=1)
    result = await pipeline.arun({"query": "x"})
    handler = await pipeline.astart({"query": "x"})
    status = await handler.aresult(timeout=30)
    async with pipeline.astream({"query": "x"}) as chunks:
        chunk = await chunks.__anext__()
    for value, cls in ((result, RunResult), (status, RunStatus), (chunk, StreamChunk)):
        assert str(value) == repr(value)
        assert str(value).startswith(f"{cls.__name__}(")
        assert "raw=" not in str(value)
    assert f"task_id={handler.task_id!r}" in str(status) and "status='succeeded'" in str(status)
