"""``async with serve()`` and ``async with LocalServer()``: the embedded platform from async code,
without blocking the event loop while it starts and stops."""

from __future__ import annotations

import time

import anyio
import pytest

from vectorshift import Pipeline
from vectorshift.local import LocalServer, serve

pytestmark = pytest.mark.anyio


class _Ticker:
    """A task that wakes every 10 ms and counts its wake-ups."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            await anyio.sleep(0.01)
            self.ticks += 1


async def test_async_with_serve_runs_a_pipeline_and_never_stalls_the_loop() -> None:
    ticker = _Ticker()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker.run)
        await anyio.sleep(0.05)
        before = ticker.ticks
        started = time.monotonic()
        async with serve() as client:
            start = time.monotonic() - started
            during_start = ticker.ticks - before
            pipeline = await Pipeline.anew(name="echo", client=client)
            query = pipeline.add(name="query").input()
            pipeline.add(name="answer").output(query.text)
            await pipeline.asave()
            result = await pipeline.arun({"query": "hi"})
        group.cancel_scope.cancel()
    assert result["outputs"]["answer"] == "hi"
    # Starting takes some 0.3 s in a worker thread. Had it run on the loop's thread, the ticker
    # would not have woken once meanwhile; a loaded machine may delay it, never stop it.
    assert during_start >= max(2, int(start / 0.01) // 4), (during_start, start)


async def test_async_with_local_server_starts_and_stops_it() -> None:
    server = LocalServer()
    async with server as running:
        assert running is server
        assert server.running
        assert server.base_url.startswith("http://127.0.0.1:")
    assert not server.running


def test_with_serve_still_works_in_sync_code() -> None:
    with serve() as client:
        pipeline = Pipeline.new(name="echo", client=client)
        query = pipeline.add(name="query").input()
        pipeline.add(name="answer").output(query.text)
        pipeline.save()
        assert pipeline.run({"query": "ok"})["outputs"]["answer"] == "ok"
