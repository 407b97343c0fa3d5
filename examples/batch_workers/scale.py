"""Scale figures for docs/guides/scaling-out.md: a measurement to run by hand, not a test.

    python scale.py workers --count 2000 --processes 1 2 4
    python scale.py amap --counts 500 1000 2000 5000

Needs Redis (``workers``) and the platform in their own processes, as in README.md; start the
platform with a run limit above the batch's (``--max-active-runs 64``) and
``--log-level warning``. ``workers`` runs a fresh batch through each number of worker
processes and reports runs per second, client CPU per run (all workers together, from the
kernel's accounting of each process) and each worker's peak memory. ``amap`` times one
``Pipeline.amap`` in this process for each count, with its CPU and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from batch_config import client, setup_logging
from producer import documents, pipeline, produce
from reporter import progress

HERE = Path(__file__).resolve().parent


def _workers(args: argparse.Namespace) -> None:
    for processes in args.processes:
        batch = f"scale-{processes}-{uuid.uuid4().hex[:8]}"
        logs = Path(args.log_dir) / batch
        logs.mkdir(parents=True)
        workers = [
            subprocess.Popen(
                [sys.executable, str(HERE / "worker.py"), "--threads", str(args.threads)],
                env={
                    **os.environ,
                    "BATCH_LOG_FILE": str(logs / f"worker-{n}.log"),
                    "BATCH_LOG_LEVEL": "WARNING",
                },
            )
            for n in range(processes)
        ]
        time.sleep(1.0)  # the workers import and connect before the clock starts
        began = time.monotonic()
        produce(batch, args.count, args.limit, token_delay_ms=args.token_delay_ms)
        while not progress(batch).done:
            time.sleep(0.1)
        took = time.monotonic() - began
        usage = []
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            _, _, rusage = os.wait4(worker.pid, 0)
            worker.returncode = 0
            usage.append(rusage)
        cpu = sum(u.ru_utime + u.ru_stime for u in usage)
        peaks = ", ".join(f"{u.ru_maxrss / 1024:.0f}" for u in usage)
        print(
            f"{processes} worker(s) x {args.threads} threads: {args.count} runs in "
            f"{took:.1f}s = {args.count / took:.0f} runs/s; client CPU "
            f"{1000 * cpu / args.count:.2f} ms/run; peak RSS per worker (MiB) {peaks}",
            flush=True,
        )


async def _amap(count: int, token_delay_ms: int, concurrency: int) -> tuple[float, int]:
    target = pipeline(client(), token_delay_ms)
    rows = [{"document": text} for _, text in documents(count)]
    keys = [f"amap-{uuid.uuid4().hex}-{n}" for n in range(count)]
    began = time.monotonic()
    ok = 0
    async for outcome in target.amap(rows, keys=keys, concurrency=concurrency, timeout=None):
        ok += outcome.ok
    return time.monotonic() - began, ok


def _amap_counts(args: argparse.Namespace) -> None:
    for count in args.counts:
        before = resource.getrusage(resource.RUSAGE_SELF)
        took, ok = asyncio.run(_amap(count, args.token_delay_ms, args.concurrency))
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(
            f"amap of {count} (concurrency {args.concurrency}): {ok} ok in {took:.1f}s = "
            f"{count / took:.0f} runs/s; client CPU {1000 * cpu / count:.2f} ms/run; peak RSS "
            f"so far {after.ru_maxrss / 1024:.0f} MiB",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token-delay-ms", type=int, default=20)
    commands = parser.add_subparsers(dest="command", required=True)
    workers = commands.add_parser("workers", help="one batch through 1, 2, 4... workers")
    workers.add_argument("--count", type=int, default=2000)
    workers.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    workers.add_argument("--threads", type=int, default=16)
    workers.add_argument("--limit", type=int, default=32)
    workers.add_argument("--log-dir", default="scale-logs")
    amap = commands.add_parser("amap", help="one amap of each count, in this process")
    amap.add_argument("--counts", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    amap.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("BATCH_LOG_LEVEL", "WARNING")
    setup_logging("scale")
    _workers(args) if args.command == "workers" else _amap_counts(args)


if __name__ == "__main__":
    main()
