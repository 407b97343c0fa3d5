"""Every async streaming call, in every form the one rule allows; checked by ``mypy --strict``.

The rule (``vectorshift.AsyncStream``): an async streaming call returns a stream that is used
directly in ``async with`` / ``async for``, or awaited first to send the request at once. Never
executed: tests/test_streams_surface_async.py runs the same forms on asyncio and trio.
"""

from __future__ import annotations

from typing_extensions import assert_type

from vectorshift import (
    AsyncStream,
    Pipeline,
    RunHandler,
    RunResult,
    SSEFrame,
    StreamChunk,
    SyncStream,
)


async def every_async_stream(pipeline: Pipeline, handler: RunHandler) -> None:
    assert_type(pipeline.astream({"query": "x"}), AsyncStream[StreamChunk])
    assert_type(await pipeline.astream({"query": "x"}), AsyncStream[StreamChunk])
    assert_type(pipeline.arun({"query": "x"}, stream=True), AsyncStream[SSEFrame])
    assert_type(await pipeline.arun({"query": "x"}, stream=True), AsyncStream[SSEFrame])
    assert_type(handler.astream(), AsyncStream[StreamChunk])
    assert_type(await handler.astream(after="3", timeout=60.0), AsyncStream[StreamChunk])

    async with pipeline.astream({"query": "x"}, timeout=60.0) as chunks:
        async for chunk in chunks:
            assert_type(chunk, StreamChunk)
    async with pipeline.arun({"query": "x"}, stream=True, timeout=60.0) as frames:
        async for frame in frames:
            assert_type(frame, SSEFrame)
    async with await pipeline.arun({"query": "x"}, stream=True) as frames:
        async for frame in frames:
            assert_type(frame, SSEFrame)
    async for chunk in handler.astream():
        assert_type(chunk, StreamChunk)
    async for chunk in await pipeline.astream({"query": "x"}):
        assert_type(chunk, StreamChunk)


async def blocking_runs_with_deadlines(pipeline: Pipeline) -> None:
    assert_type(await pipeline.arun({"query": "x"}, timeout=30.0), RunResult)
    assert_type(await pipeline.arun({"query": "x"}, timeout=None), RunResult)


def sync_streams_and_deadlines(pipeline: Pipeline, handler: RunHandler) -> None:
    assert_type(pipeline.run({"query": "x"}, timeout=30.0), RunResult)
    assert_type(pipeline.run({"query": "x"}, stream=True, timeout=30.0), SyncStream[SSEFrame])
    assert_type(pipeline.stream({"query": "x"}, timeout=30.0), SyncStream[StreamChunk])
    assert_type(handler.stream(timeout=30.0), SyncStream[StreamChunk])
    with pipeline.stream({"query": "x"}, timeout=30.0) as chunks:
        for chunk in chunks:
            assert_type(chunk, StreamChunk)
