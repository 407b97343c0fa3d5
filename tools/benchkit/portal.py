"""Why the sync runtime is not an anyio ``BlockingPortal``: the same calls through each.

The figures behind the ``BlockingPortal`` paragraph of ``vectorshift/_sync/_runtime.py``: a
trivial coroutine (the runtime's own cost) and one ``run_status()`` (a fast request), run on a
thread's own loop (``call_sync`` in a thread without a loop), on the private loop
(``run_sync``, what a thread that runs a loop gets) and through an asyncio and a trio portal
(``portal.call``), in interleaved blocks, against a raw ``httpx.AsyncClient`` GET.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from typing import Any

import anyio.from_thread
import httpx

from benchkit.calls import _block
from benchkit.server import Server
from vectorshift import Client, RunHandler
from vectorshift._sync._call import call_sync
from vectorshift._sync._loop import run_sync


def _medians(variants: dict[str, Callable[[], Any]], calls: int, blocks: int) -> dict[str, float]:
    """Median over ``blocks`` interleaved blocks of each block's median, in seconds."""
    for fn in variants.values():  # warm-up: pools, models, the loops
        for _ in range(20):
            fn()
    medians: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(blocks):
        for name, fn in variants.items():
            medians[name].append(_block(fn, calls))
    return {name: statistics.median(values) for name, values in medians.items()}


async def _nothing() -> None:
    return None


def bench_portal(server: Server, calls: int, blocks: int) -> dict[str, float]:
    """Trivial coroutine in microseconds, ``run_status()`` in milliseconds, per path."""
    pipeline_id, task, url = server.finished_run("bench-portal")
    client = Client(api_key=server.api_key, base_url=server.base_url)
    handler = RunHandler(pipeline_id=pipeline_id, task_id=task, client=client)
    loop = asyncio.new_event_loop()
    raw = httpx.AsyncClient(base_url=server.base_url, headers=server.headers)

    async def raw_get() -> Any:
        return (await raw.get(url)).json()

    figures: dict[str, float] = {}
    with (
        anyio.from_thread.start_blocking_portal("asyncio") as on_asyncio,
        anyio.from_thread.start_blocking_portal("trio") as on_trio,
    ):
        trivial = _medians(
            {
                "own loop": lambda: call_sync(_nothing()),
                "private loop": lambda: run_sync(_nothing()),
                "asyncio portal": lambda: on_asyncio.call(_nothing),
                "trio portal": lambda: on_trio.call(_nothing),
            },
            10 * calls,
            blocks,
        )
        figures.update({f"trivial coroutine, {k} us": 1e6 * v for k, v in trivial.items()})
        status = _medians(
            {
                "raw httpx.AsyncClient GET": lambda: loop.run_until_complete(raw_get()),
                "own loop": handler.run_status,
                "private loop": lambda: run_sync(handler.arun_status()),
                "asyncio portal": lambda: on_asyncio.call(handler.arun_status),
                "trio portal": lambda: on_trio.call(handler.arun_status),
            },
            calls,
            blocks,
        )
        figures.update({f"run_status(), {k} ms": 1e3 * v for k, v in status.items()})
    loop.run_until_complete(raw.aclose())
    loop.close()
    return figures
