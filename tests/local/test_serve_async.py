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
    """A task that wakes every 10 ms and keeps the longest gap between two wake-ups."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.ticks = 0

    async def run(self) -> None:
        last = time.monotonic()
        while True:
            await anyio.sleep(0.01)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            self.ticks += 1
            last = now


async def test_async_with_serve_runs_a_pipeline_and_never_stalls_the_loop() -> None:
    ticker = _Ticker()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker.run)
        async with serve() as client:
            pipeline = await Pipeline.anew(name="echo", client=client)
            query = pipeline.add(name="query").input()
            pipeline.add(name="answer").output(query.text)
            await pipeline.asave()
            result = await pipeline.arun({"query": "hi"})
        group.cancel_scope.cancel()
    assert result["outputs"]["answer"] == "hi"
    # Starting alone takes some 0.3 s in a thread; on the loop's thread it stalled the ticker
    # for all of it. A loaded 2-core machine may still delay one tick, never by that much.
    assert ticker.ticks > 5
    assert ticker.longest < 0.25, f"the loop stalled for {ticker.longest:.3f} s"


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
