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


async def test_async_with_serve_runs_a_pipeline_and_never_stalls_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Starting takes some 0.3 s on a cold process, but much less in a warm one; a blocking
    # 0.2 s is added to it so that a start on the loop's thread could not go unnoticed.
    start = LocalServer.start

    def slow_start(server: LocalServer) -> LocalServer:
        time.sleep(0.2)
        return start(server)

    monkeypatch.setattr(LocalServer, "start", slow_start)
    ticker = _Ticker()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker.run)
        await anyio.sleep(0.05)
        before = ticker.ticks
        async with serve() as client:
            during_start = ticker.ticks - before
            pipeline = await Pipeline.anew(name="echo", client=client)
            query = pipeline.add(name="query").input()
            pipeline.add(name="answer").output(query.text)
            await pipeline.asave()
            result = await pipeline.arun({"query": "hi"})
        group.cancel_scope.cancel()
    assert result["outputs"]["answer"] == "hi"
    # 0.2 s is 20 ticks of 10 ms; on the loop's thread it would be none. A loaded machine may
    # delay some, never all.
    assert during_start >= 5, during_start


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
