"""Benchmarks: the SDK against raw httpx, on the same local server, in the same run.

Absolute times on shared machines are noise; ratios measured side by side are not. Each figure
is reported with its raw-httpx baseline and the ratio between them.

    python tools/bench.py [--calls 1000] [--tokens 4000]

1. ``run_status``: median of N calls each for a raw ``httpx.Client`` GET, a raw
   ``httpx.AsyncClient`` GET, the SDK's ``await handler.arun_status()`` and its sync
   ``handler.run_status()``, all for the same finished run.
2. Streaming: tokens per second through ``pipeline.astream()`` against raw httpx line
   iteration of an identical streaming run, and the time to the first token of each.
3. Paced stream: first-token time and lateness of later tokens of a slow model.
4. Server throughput: tokens per second *through the server* for a streaming run of
   ``--server-tokens`` (2,000) tokens of the simulated model at ``token_delay_ms=0``, the server
   in its own process (``python -m vectorshift.local``), consumed by raw httpx over SSE; the
   time runs from the request to the last token, and the figure is the median of
   ``--server-runs`` runs. It uses only the command line and HTTP, so it measures any version
   of the server the same way.

    python tools/bench.py --only server   # section 4 alone
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from vectorshift import Client, Pipeline, RunHandler
from vectorshift.local import LocalServer


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def _time_sync(fn: Callable[[], Any], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


async def _time_async(fn: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


def _token_pipeline(client: Client, tokens: int) -> Pipeline:
    pipeline = Pipeline("bench-tokens", client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(
        provider="local", model="lorem", prompt=query.text, max_tokens=tokens,
        token_delay_ms=0, stream=True,
    )
    pipeline.add(name="answer").output(llm.response, "stream<string>")
    pipeline.save()
    return pipeline


def bench_status(server: LocalServer, client: Client, calls: int) -> dict[str, float]:
    pipeline = Pipeline("bench-status", client=client)
    query = pipeline.add(name="query").input()
    pipeline.add(name="answer").output(query.text)
    pipeline.save()
    handler = pipeline.start({"query": "x"})
    handler.result(timeout=30)
    url = f"{server.base_url}/pipeline/{handler.pipeline_id}/run/status/{handler.task_id}"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    rebuilt = RunHandler(pipeline_id=handler.pipeline_id, task_id=handler.task_id, client=client)

    with httpx.Client(headers=headers) as raw:
        raw.get(url)
        raw_sync = _time_sync(lambda: raw.get(url).json(), calls)

    async def async_side() -> tuple[list[float], list[float]]:
        async with httpx.AsyncClient(headers=headers) as raw_async:
            await raw_async.get(url)

            async def raw_get() -> Any:
                return (await raw_async.get(url)).json()

            raw_times = await _time_async(raw_get, calls)
        await rebuilt.arun_status()
        sdk_times = await _time_async(rebuilt.arun_status, calls)
        return raw_times, sdk_times

    raw_async_times, sdk_async = anyio.run(async_side)
    rebuilt.run_status()
    sdk_sync = _time_sync(rebuilt.run_status, calls)
    return {
        "raw httpx.Client GET": _median_ms(raw_sync),
        "raw httpx.AsyncClient GET": _median_ms(raw_async_times),
        "SDK await arun_status()": _median_ms(sdk_async),
        "SDK run_status() (sync)": _median_ms(sdk_sync),
    }


def bench_stream(server: LocalServer, client: Client, tokens: int) -> dict[str, float]:
    """Throughput (best of 3 long streams) and time to first token (median of 20 short ones),
    both in one event loop after a warm-up, so one-time costs (imports, pool creation) are
    reported apart: ``SDK cold first token`` is the first stream of the process."""
    long_run = _token_pipeline(client, tokens)
    short_run = _token_pipeline(client, 20)  # first-token runs end quickly after the break
    headers = {"Authorization": f"Bearer {server.api_key}", "Accept": "text/event-stream"}
    body = {"inputs": {"query": "bench"}, "stream": True}

    async def raw_stream(raw: httpx.AsyncClient, stop_at_first: bool) -> tuple[float, float, int]:
        pipeline = short_run if stop_at_first else long_run
        url = f"{server.base_url}/pipeline/{pipeline.id}/run"
        started = time.perf_counter()
        first = 0.0
        count = 0
        async with raw.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:") and '"output_name":"answer"' in line:
                    count += 1
                    if count == 1:
                        first = time.perf_counter() - started
                        if stop_at_first:
                            break
        return first, time.perf_counter() - started, count

    async def sdk_stream(stop_at_first: bool) -> tuple[float, float, int]:
        pipeline = short_run if stop_at_first else long_run
        started = time.perf_counter()
        first = 0.0
        count = 0
        async with pipeline.astream({"query": "bench"}) as chunks:
            async for chunk in chunks:
                if chunk.type == "stream" and chunk.output_name == "answer":
                    count += 1
                    if count == 1:
                        first = time.perf_counter() - started
                        if stop_at_first:
                            break
        return first, time.perf_counter() - started, count

    async def measure() -> dict[str, float]:
        cold_first, _, _ = await sdk_stream(True)
        async with httpx.AsyncClient(headers=headers, timeout=None) as raw:
            await raw_stream(raw, True)
            raw_firsts, sdk_firsts = [], []
            for _ in range(20):
                raw_firsts.append((await raw_stream(raw, True))[0])
                sdk_firsts.append((await sdk_stream(True))[0])
            raw_runs = [await raw_stream(raw, False) for _ in range(3)]
        sdk_runs = [await sdk_stream(False) for _ in range(3)]
        _, raw_total, raw_count = min(raw_runs, key=lambda r: r[1])
        _, sdk_total, sdk_count = min(sdk_runs, key=lambda r: r[1])
        return {
            "raw httpx tokens/s": raw_count / raw_total,
            "SDK astream() tokens/s": sdk_count / sdk_total,
            "raw httpx first token ms": statistics.median(raw_firsts) * 1000.0,
            "SDK astream() first token ms": statistics.median(sdk_firsts) * 1000.0,
            "SDK cold first token ms": cold_first * 1000.0,
        }

    return anyio.run(measure)


def bench_paced(client: Client, tokens: int = 10, delay_ms: int = 100) -> dict[str, float]:
    """A model emitting a token every ``delay_ms``: time to the first token from the request,
    and the worst lateness of a later token against its emission time (estimated as the first
    token's arrival plus ``k * delay``), on the async and the sync surface."""
    pipeline = Pipeline("bench-paced", client=client)
    query = pipeline.add(name="query").input()
    llm = pipeline.add(name="llm").llm(
        provider="local", model="lorem", prompt=query.text, max_tokens=tokens,
        token_delay_ms=delay_ms, stream=True,
    )
    pipeline.add(name="answer").output(llm.response, "stream<string>")
    pipeline.save()
    step = delay_ms / 1000.0

    def lateness(started: float, arrivals: list[float]) -> tuple[float, float]:
        worst = max(a - (arrivals[0] + k * step) for k, a in enumerate(arrivals))
        return (arrivals[0] - started) * 1000.0, worst * 1000.0

    async def async_side() -> tuple[float, float]:
        started = time.perf_counter()
        arrivals = []
        async with pipeline.astream({"query": "paced"}) as chunks:
            async for chunk in chunks:
                if chunk.output_name == "answer":
                    arrivals.append(time.perf_counter())
        return lateness(started, arrivals)

    anyio.run(async_side)
    async_first, async_late = anyio.run(async_side)
    started = time.perf_counter()
    arrivals = []
    with pipeline.stream({"query": "paced"}) as chunks:
        for chunk in chunks:
            if chunk.output_name == "answer":
                arrivals.append(time.perf_counter())
    sync_first, sync_late = lateness(started, arrivals)
    return {
        "async first token ms": async_first,
        "async worst later-token lateness ms": async_late,
        "sync first token ms": sync_first,
        "sync worst later-token lateness ms": sync_late,
    }


def _raw_token_graph(tokens: int) -> dict[str, Any]:
    """query -> simulated llm streaming ``tokens`` tokens at no delay -> answer (stream)."""
    return {
        "input_0": {"id": "input_0", "name": "query", "type": "input",
                    "inputs": {"input_type": "string"}, "outputs": ["text"]},
        "llm_0": {"id": "llm_0", "name": "llm", "type": "llm", "outputs": ["response"],
                  "inputs": {"provider": "local", "model": "lorem",
                             "prompt": "{{ input_0.text }}", "max_tokens": tokens,
                             "token_delay_ms": 0, "stream": True}},
        "output_0": {"id": "output_0", "name": "answer", "type": "output", "outputs": [],
                     "inputs": {"output_type": "stream<string>",
                                "value": "{{ llm_0.response }}"}},
    }


def bench_server(tokens: int, runs: int) -> dict[str, float]:
    """Tokens per second through a server in its own process (see the module docstring)."""
    directory = tempfile.mkdtemp(prefix="vs-bench-")
    command = [sys.executable, "-m", "vectorshift.local", "--port", "0",
               "--db", os.path.join(directory, "bench.db")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        key = next(line for line in process.stdout if "VECTORSHIFT_API_KEY=" in line)
        headers = {"Authorization": f"Bearer {key.strip().split('=', 1)[1]}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as raw:
            created = raw.post("/pipeline", json={"name": "bench-server",
                                                  "nodes": _raw_token_graph(tokens)})
            url = f"/pipeline/{created.json()['id']}/run"
            body = {"inputs": {"query": "bench"}, "stream": True}
            rates = []
            for attempt in range(runs + 1):  # the first run warms the server up
                count = 0
                started = time.perf_counter()
                last = started
                with raw.stream("POST", url, json=body) as response:
                    for line in response.iter_lines():
                        if line.startswith("data:") and '"output_name":"answer"' in line:
                            count += 1
                            last = time.perf_counter()
                if count != tokens:
                    raise RuntimeError(f"expected {tokens} tokens, got {count}")
                if attempt:
                    rates.append(count / (last - started))
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(directory, ignore_errors=True)
    return {
        "median tokens/s": statistics.median(rates),
        "min tokens/s": min(rates),
        "max tokens/s": max(rates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--server-tokens", type=int, default=2000)
    parser.add_argument("--server-runs", type=int, default=7)
    parser.add_argument("--only", choices=["server"], help="run one section only")
    args = parser.parse_args()
    if args.only != "server":
        _in_process(args)
    server_figures = bench_server(args.server_tokens, args.server_runs)
    print(f"server in its own process: a {args.server_tokens}-token stream, raw httpx SSE, "
          f"{args.server_runs} runs:")
    for name, value in server_figures.items():
        print(f"  {name:32s} {value:10.1f}")


def _in_process(args: argparse.Namespace) -> None:
    with LocalServer() as server:
        client = Client(api_key=server.api_key, base_url=server.base_url)
        status = bench_status(server, client, args.calls)
        print(f"run_status, median of {args.calls} calls (ms):")
        base = status["raw httpx.Client GET"]
        for name, value in status.items():
            print(f"  {name:32s} {value:8.3f}   x{value / base:5.2f} of raw sync GET")
        sync_sdk = status["SDK run_status() (sync)"]
        async_sdk = status["SDK await arun_status()"]
        raw_async = status["raw httpx.AsyncClient GET"]
        print(f"  SDK async / raw async GET: x{async_sdk / raw_async:.2f}")
        print(f"  SDK sync / SDK async:      x{sync_sdk / async_sdk:.2f}")
        stream = bench_stream(server, client, args.tokens)
        print(f"streaming: {args.tokens} tokens best of 3; first token median of 20:")
        for name, value in stream.items():
            print(f"  {name:32s} {value:10.1f}")
        ratio = stream["SDK astream() tokens/s"] / stream["raw httpx tokens/s"]
        overhead = stream["SDK astream() first token ms"] - stream["raw httpx first token ms"]
        print(f"  SDK/raw throughput: x{ratio:.2f}; first-token overhead: {overhead:+.1f} ms")
        paced = bench_paced(client)
        print("paced stream, a token every 100 ms (10 tokens):")
        for name, value in paced.items():
            print(f"  {name:38s} {value:8.1f}")


if __name__ == "__main__":
    main()
