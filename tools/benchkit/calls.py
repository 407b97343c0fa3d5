"""One ``run_status`` call: the SDK's sync and async surfaces against raw httpx, both kinds."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchkit.server import Server
from vectorshift import Client, RunHandler


def _block(fn: Callable[[], Any], calls: int) -> float:
    """Median seconds of ``calls`` calls of ``fn``."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_calls(server: Server, calls: int, blocks: int) -> dict[str, float]:
    """Median over ``blocks`` interleaved blocks of each block's median, in milliseconds.

    The async sides run on one event loop that this thread drives (``run_until_complete`` per
    call costs ~7 us, the same for raw and SDK). ``SDK sync, thread with a loop`` is a sync call
    made where a loop already runs (Jupyter, async code): it hops to the private loop.
    """
    pipeline_id, task, url = server.finished_run("bench-status")
    with httpx.Client(base_url=server.base_url, headers=server.headers) as raw:
        client = Client(api_key=server.api_key, base_url=server.base_url)
        handler = RunHandler(pipeline_id=pipeline_id, task_id=task, client=client)
        loop = asyncio.new_event_loop()
        araw = httpx.AsyncClient(base_url=server.base_url, headers=server.headers)

        async def raw_async() -> Any:
            return (await araw.get(url)).json()

        def on(make: Callable[[], Awaitable[Any]]) -> Callable[[], Any]:
            return lambda: loop.run_until_complete(make())  # type: ignore[arg-type]

        async def hop() -> Any:
            return handler.run_status()  # a sync call where a loop runs: the private loop

        variants: dict[str, Callable[[], Any]] = {
            "raw httpx.Client GET": lambda: raw.get(url).json(),
            "raw httpx.AsyncClient GET": on(raw_async),
            "SDK await arun_status()": on(handler.arun_status),
            "SDK run_status() (sync)": handler.run_status,
            "SDK run_status() (sync, thread with a loop)": on(hop),
        }
        for fn in variants.values():  # warm-up: pools, models, the private loop
            for _ in range(20):
                fn()
        medians: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(blocks):
            for name, fn in variants.items():
                medians[name].append(_block(fn, calls))
        loop.run_until_complete(araw.aclose())
        loop.close()
    assert threading.current_thread() is threading.main_thread()
    return {name: 1000 * statistics.median(values) for name, values in medians.items()}
