"""Benchmarks as users run them: the SDK here, ``vectorshift.local`` in a process of its own.

Absolute times on a shared machine are noise; ratios measured side by side, in interleaved
blocks, are not. Every figure comes with the baseline it is compared with in the same run.

    python tools/bench.py [--only calls,stream,decode,fanout,imports,sse,portal]
                          [--json out.json]
                          [--compare last.json] [--official-python PATH]

calls    one ``run_status``: SDK sync and async against raw ``httpx.Client`` and
         ``httpx.AsyncClient`` GETs (medians of ``--blocks`` interleaved blocks of ``--calls``).
stream   tokens/s and first token of ``astream()`` against raw httpx SSE; the server's own
         throughput for a ``--server-tokens`` run (goal: >= 20,000 tokens/s).
decode   one stream frame into a ``StreamChunk`` (goal: <= 3 us), against ``json.loads`` of the
         same text (medians of ``--blocks`` interleaved blocks of ``--frames`` frames), with
         the figure before the frames were declared in pydantic.
fanout   ``--runs`` runs at ``--concurrency``: ``amap``, ``start()+result()`` from threads, a
         hand-written raw httpx fan-out and, given ``--official-python`` (a python with
         ``vectorshift==0.1.15``; ``nox -s bench`` makes one), the official client from
         threads: wall time, client CPU per run, and the requests a run costs.
imports  ``from vectorshift import Pipeline, RunHandler, Client`` in a fresh process against
         the runtime dependencies' import (and the official client's), interpreter start off;
         and a fresh process's first ``run_status()`` against its first raw httpx GET; with
         the official client, the SDK's import plus first ``run_status()`` against the
         official client's import (goal: <= 0.5x).
sse      decoding only, no network: our SSE decoder against httpx-sse's on the same byte
         chunks (token frames in 4 KiB chunks, 64 KiB frames, a frame a chunk, CRLF), in
         ``--sse-rounds`` interleaved rounds; skipped with a message without httpx-sse, which
         is not a dependency (``nox -s bench`` installs it).

portal   not run by default: a trivial coroutine and one ``run_status`` through the sync
         runtime's two paths and through an anyio ``BlockingPortal`` (asyncio, trio), the
         figures behind ``vectorshift/_sync/_runtime.py``'s reasons not to use a portal.

``--json`` writes every figure, ratio and the machine's load; ``--compare`` prints how each
ratio moved against such a file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit.calls import bench_calls
from benchkit.decode import bench_decode
from benchkit.fanout import bench_fanout
from benchkit.imports import bench_imports
from benchkit.portal import bench_portal
from benchkit.server import local_server
from benchkit.sse import MISSING, EventSource, bench_sse
from benchkit.stream import bench_stream

SECTIONS = ("calls", "stream", "decode", "fanout", "imports", "sse", "portal")
#: What runs without ``--only``: ``portal`` explains a design choice, it guards no goal.
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "portal")


def _ratios(figures: dict[str, Any]) -> dict[str, float]:
    r: dict[str, float] = {}
    calls = figures.get("calls")
    if calls:
        raw_sync, raw_async = calls["raw httpx.Client GET"], calls["raw httpx.AsyncClient GET"]
        for name, value in calls.items():
            if name.startswith("SDK"):
                r[f"{name} / raw async GET"] = value / raw_async
                r[f"{name} / raw sync GET"] = value / raw_sync
    stream = figures.get("stream")
    if stream:
        r["SDK astream() / raw tokens/s"] = (
            stream["SDK astream() tokens/s"] / stream["raw httpx tokens/s"]
        )
        r["SDK astream() / raw first token"] = (
            stream["SDK astream() first token ms"] / stream["raw httpx first token ms"]
        )
    decode = figures.get("decode")
    if decode:
        r["SDK StreamChunk / json.loads per frame"] = (
            decode["SDK StreamChunk per frame us"] / decode["json.loads per frame us"]
        )
    fanout = figures.get("fanout")
    if fanout:
        for base in ("official start+result from threads", "raw httpx"):
            if base not in fanout:
                continue
            for name in ("SDK amap", "SDK map from threads"):
                for key in ("cpu_ms_per_run", "wall_s"):
                    r[f"{name} / {base} {key}"] = fanout[name][key] / fanout[base][key]
    imports = figures.get("imports")
    if imports:
        deps = imports["dependencies import ms"]
        r["SDK import / dependencies"] = imports["SDK import ms"] / deps
        r["SDK import / dependencies and pydantic"] = (
            imports["SDK import ms"] / imports["dependencies and pydantic import ms"]
        )
        if "official client import ms" in imports:
            r["official import / dependencies"] = imports["official client import ms"] / deps
        if "SDK first run_status() ms" in imports:
            r["SDK first run_status() / raw first GET"] = (
                imports["SDK first run_status() ms"] / imports["raw httpx first GET ms"]
            )
            if "official client import ms" in imports:
                r["SDK import + first run_status() / official import"] = (
                    imports["SDK import ms"] + imports["SDK first run_status() ms"]
                ) / imports["official client import ms"]
    portal = figures.get("portal")
    if portal:
        base = portal["run_status(), raw httpx.AsyncClient GET ms"]
        for path in ("own loop", "private loop", "asyncio portal", "trio portal"):
            r[f"run_status() on the {path} / raw async GET"] = (
                portal[f"run_status(), {path} ms"] / base
            )
    for case, values in figures.get("sse", {}).items():
        r[f"SSE decode, {case}: ours / httpx-sse"] = values["ours / httpx-sse"]
    return r


def _print(figures: dict[str, Any], ratios: dict[str, float]) -> None:
    for section, values in figures.items():
        print(f"{section}:")
        for name, value in values.items():
            if isinstance(value, dict):
                shown = ", ".join(
                    f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()
                )
                print(f"  {name:46s} {shown}")
            else:
                print(f"  {name:46s} {value:10.3f}")
    print("ratios (same run):")
    for name, value in ratios.items():
        print(f"  {name:70s} x{value:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(DEFAULT_SECTIONS))
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--server-tokens", type=int, default=2000)
    parser.add_argument("--stream-runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--fanout-blocks", type=int, default=3)
    parser.add_argument("--import-rounds", type=int, default=15)
    parser.add_argument("--sse-tokens", type=int, default=4000)
    parser.add_argument("--sse-rounds", type=int, default=15)
    parser.add_argument("--official-python", default=os.environ.get("VS_BENCH_OFFICIAL_PYTHON"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file")
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()
    figures: dict[str, Any] = {}
    if "decode" in only:
        figures["decode"] = bench_decode(args.frames, args.blocks)
    if {"calls", "stream", "fanout", "imports", "portal"} & set(only):
        with local_server(max_active_runs=max(64, 2 * args.concurrency)) as server:
            if "calls" in only:
                figures["calls"] = bench_calls(server, args.calls, args.blocks)
            if "stream" in only:
                figures["stream"] = bench_stream(
                    server, args.tokens, args.server_tokens, args.stream_runs
                )
            if "fanout" in only:
                figures["fanout"] = bench_fanout(
                    server, args.runs, args.concurrency, args.official_python, args.fanout_blocks
                )
            if "imports" in only:
                figures["imports"] = bench_imports(args.import_rounds, args.official_python, server)
            if "portal" in only:
                figures["portal"] = bench_portal(server, args.calls, args.blocks)
    if "sse" in only:
        if EventSource is None:
            print(f"sse: skipped: {MISSING}")
        else:
            figures["sse"] = bench_sse(args.sse_tokens, args.sse_rounds)
    ratios = _ratios(figures)
    _print(figures, ratios)
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    print(
        f"load average before {load_before[0]:.2f}, after {load['after'][0]:.2f} "
        f"on {os.cpu_count()} cpus"
    )
    if args.compare:
        earlier = json.loads(args.compare.read_text())["ratios"]
        print(f"against {args.compare}:")
        for name, value in ratios.items():
            if name in earlier:
                print(f"  {name:70s} x{earlier[name]:6.2f} -> x{value:6.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "figures": figures,
                    "ratios": ratios,
                    "load": load,
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
