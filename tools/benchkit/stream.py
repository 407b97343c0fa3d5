"""Streams: throughput and first token through ``astream()`` against raw httpx SSE, and the
server's own throughput (raw httpx, a 2,000-token run), all against the server process."""

from __future__ import annotations

import statistics
import time

import anyio
import httpx

from benchkit.server import Server, token_graph
from vectorshift import Client, Pipeline

_BODY = {"inputs": {"query": "bench"}, "stream": True}


async def _raw(
    raw: httpx.AsyncClient, pipeline_id: str, first_only: bool
) -> tuple[float, float, int]:
    started = time.perf_counter()
    first, count = 0.0, 0
    async with raw.stream("POST", f"/pipeline/{pipeline_id}/run", json=_BODY) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"output_name":"answer"' in line:
                count += 1
                if count == 1:
                    first = time.perf_counter() - started
                    if first_only:
                        break
    return first, time.perf_counter() - started, count


async def _sdk(pipeline: Pipeline, first_only: bool) -> tuple[float, float, int]:
    started = time.perf_counter()
    first, count = 0.0, 0
    async with pipeline.astream({"query": "bench"}) as chunks:
        async for chunk in chunks:
            if chunk.type == "stream" and chunk.output_name == "answer":
                count += 1
                if count == 1:
                    first = time.perf_counter() - started
                    if first_only:
                        break
    return first, time.perf_counter() - started, count


def bench_stream(server: Server, tokens: int, server_tokens: int, runs: int) -> dict[str, float]:
    """Tokens/s (median of ``runs`` interleaved long streams) and first token (median of 20)."""
    client = Client(api_key=server.api_key, base_url=server.base_url)
    long_id = server.create("bench-long", token_graph(tokens))
    short_id = server.create("bench-short", token_graph(20))
    server_id = server.create("bench-server", token_graph(server_tokens))
    long_run = Pipeline.fetch(id=long_id, client=client)
    short_run = Pipeline.fetch(id=short_id, client=client)
    headers = {**server.headers, "Accept": "text/event-stream"}

    async def measure() -> dict[str, float]:
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=120) as raw:
            await _raw(raw, short_id, True)
            await _sdk(short_run, True)
            raw_first, sdk_first, raw_rate, sdk_rate, through = [], [], [], [], []
            for _ in range(20):
                raw_first.append((await _raw(raw, short_id, True))[0])
                sdk_first.append((await _sdk(short_run, True))[0])
            for _ in range(runs):
                _, total, count = await _raw(raw, long_id, False)
                raw_rate.append(count / total)
                _, total, count = await _sdk(long_run, False)
                sdk_rate.append(count / total)
                _, total, count = await _raw(raw, server_id, False)
                if count != server_tokens:
                    raise RuntimeError(f"expected {server_tokens} tokens, got {count}")
                through.append(count / total)
        return {
            "raw httpx tokens/s": statistics.median(raw_rate),
            "SDK astream() tokens/s": statistics.median(sdk_rate),
            "raw httpx first token ms": 1000 * statistics.median(raw_first),
            "SDK astream() first token ms": 1000 * statistics.median(sdk_first),
            f"server tokens/s ({server_tokens}-token run, raw SSE)": statistics.median(through),
        }

    return anyio.run(measure)
