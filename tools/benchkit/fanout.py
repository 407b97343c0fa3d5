"""Fan-out: N runs at concurrency C through ``amap``, ``map`` from C threads, raw httpx, and the
official client (when a python with it is given); client CPU per run and requests per run."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx

from benchkit.server import Server, echo_graph
from vectorshift import Client, Pipeline


class Counting(httpx.AsyncBaseTransport):
    """Counts requests by kind (start, status, long-poll, other) on their way out."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.inner = httpx.AsyncHTTPTransport()

    def renew(self) -> None:
        """A fresh pool for the next event loop (an httpx pool is bound to its loop)."""
        self.inner = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/run/status/" in path:
            kind = "long-poll" if "wait" in request.url.params else "status"
        elif path.endswith("/run"):
            kind = "start"
        else:
            kind = "other"
        self.counts[kind] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _timed(fn: Callable[[], Any]) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def sdk_amap(server: Server, pipeline_id: str, runs: int, concurrency: int) -> dict[str, Any]:
    """Timed with the client's own transport; the requests are counted in a second, untimed
    pass through :class:`Counting` (a transport given to a client replaces its pools)."""
    rows = [{"query": f"q{i}"} for i in range(runs)]

    async def go(transport: Counting | None) -> None:
        if transport is not None:
            transport.renew()
        client = Client(api_key=server.api_key, base_url=server.base_url, transport=transport)
        pipeline = await Pipeline.afetch(pipeline_id, client=client)
        outcomes = [o async for o in pipeline.amap(rows, concurrency=concurrency)]
        errors = [o.error for o in outcomes if o.error is not None]
        if errors:
            raise RuntimeError(f"{len(errors)} runs failed, e.g. {errors[0]!r}")
        await client.aclose()
        assert [o.result["result"]["answer"] for o in outcomes] == [r["query"] for r in rows]

    anyio.run(go, None)  # warm-up: the models, the code paths
    figures: dict[str, Any] = _timed(lambda: anyio.run(go, None))
    counting = Counting()
    anyio.run(go, counting)
    return {**figures, "requests per run": {k: v / runs for k, v in counting.counts.items()}}


def sdk_threads(server: Server, pipeline_id: str, runs: int, threads: int) -> dict[str, float]:
    client = Client(api_key=server.api_key, base_url=server.base_url)
    pipeline = Pipeline.fetch(id=pipeline_id, client=client)

    def one(i: int) -> str:
        return str(pipeline.start({"query": f"q{i}"}).result(timeout=120)["result"]["answer"])

    def go() -> None:
        with ThreadPoolExecutor(threads) as pool:
            assert list(pool.map(one, range(runs))) == [f"q{i}" for i in range(runs)]

    go()
    return _timed(go)


def raw_httpx(server: Server, pipeline_id: str, runs: int, concurrency: int) -> dict[str, float]:
    """The hand-written baseline: a slot taken before each task, a start, long-polls.

    A request is sent again once when the connection it went out on was closed under it (the
    server's keep-alive timeout can end an idle connection as it is reused), as any careful
    caller does; a start without a key could double a run, which this echo run tolerates.
    """

    async def go() -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.headers, limits=limits, timeout=60
        ) as raw:
            slots = anyio.Semaphore(concurrency)
            answers: dict[int, str] = {}

            async def send(method: str, url: str, **kwargs: Any) -> Any:
                try:
                    return (await raw.request(method, url, **kwargs)).json()
                except httpx.TransportError:
                    return (await raw.request(method, url, **kwargs)).json()

            async def one(i: int) -> None:
                try:
                    started = await send(
                        "POST",
                        f"/pipeline/{pipeline_id}/run",
                        json={"inputs": {"query": f"q{i}"}, "background": True},
                    )
                    status_url = f"/pipeline/{pipeline_id}/run/status/{started['task_id']}"
                    while True:
                        status = await send("GET", status_url, params={"wait": 30})
                        if status["status"] != "running":
                            answers[i] = status["result"]["answer"]
                            return
                finally:
                    slots.release()

            async with anyio.create_task_group() as tg:
                for i in range(runs):
                    await slots.acquire()
                    tg.start_soon(one, i)
            assert answers == {i: f"q{i}" for i in range(runs)}

    anyio.run(go)
    return _timed(lambda: anyio.run(go))


def official(
    python: str, server: Server, pipeline_id: str, runs: int, threads: int
) -> dict[str, float]:
    # No PYTHONPATH: the official client is also named vectorshift, this project must not shadow it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(VECTORSHIFT_BASE_URL=server.base_url, VECTORSHIFT_API_KEY=server.api_key)
    script = Path(__file__).with_name("official_fanout.py")
    done = subprocess.run(
        [python, str(script), pipeline_id, str(runs), str(threads)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise RuntimeError(f"the official client's fan-out failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def bench_fanout(
    server: Server, runs: int, concurrency: int, official_python: str | None, blocks: int
) -> dict[str, Any]:
    """Interleaved blocks of every variant; the median of each figure, and the ratios."""
    pipeline_id = server.create("bench-fanout", echo_graph())
    samples: dict[str, list[dict[str, Any]]] = {}
    for _ in range(blocks):
        samples.setdefault("raw httpx", []).append(
            raw_httpx(server, pipeline_id, runs, concurrency)
        )
        samples.setdefault("SDK amap", []).append(sdk_amap(server, pipeline_id, runs, concurrency))
        samples.setdefault("SDK map from threads", []).append(
            sdk_threads(server, pipeline_id, runs, concurrency)
        )
        if official_python:
            samples.setdefault("official start+result from threads", []).append(
                official(official_python, server, pipeline_id, runs, concurrency)
            )
    result: dict[str, Any] = {}
    for name, runs_of in samples.items():
        walls = sorted(s["wall_s"] for s in runs_of)
        cpus = sorted(s["cpu_s"] for s in runs_of)
        result[name] = {
            "wall_s": walls[len(walls) // 2],
            "cpu_ms_per_run": 1000 * cpus[len(cpus) // 2] / runs,
        }
        if "requests per run" in runs_of[-1]:
            result[name]["requests per run"] = runs_of[-1]["requests per run"]
    return result
