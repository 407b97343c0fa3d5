"""One command for a whole batch: start workers, enqueue the inputs, watch, stop the workers.

    python run_batch.py --batch demo --count 200 --workers 2

Needs Redis and the platform (see README.md). The workers are separate processes, as they would
be on separate machines; each logs to ``<log dir>/worker-<n>.log``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from batch_config import Keys, setup_logging, sync_redis
from producer import produce
from reporter import progress

HERE = Path(__file__).resolve().parent


def start_workers(count: int, threads: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes, each logging to its own file."""
    workers = []
    for number in range(count):
        env = {**os.environ, "BATCH_LOG_FILE": str(log_dir / f"worker-{number}.log")}
        workers.append(
            subprocess.Popen(
                [sys.executable, str(HERE / "worker.py"), "--threads", str(threads)], env=env
            )
        )
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="demo", help="the batch's name (default demo)")
    parser.add_argument("--count", type=int, default=200, help="inputs (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="tasks per worker (default 8)")
    parser.add_argument(
        "--limit",
        type=int,
        default=8,
        help="runs in progress at once, all workers together (default 8)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="forget the batch's state in Redis first (its runs stay done on "
        "the platform, so the same inputs are answered from there)",
    )
    parser.add_argument("--log-dir", type=Path, default=Path("batch-logs"))
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BATCH_LOG_FILE", str(args.log_dir / "producer.log"))
    setup_logging("producer")
    if args.fresh:
        sync_redis().delete(*Keys(args.batch).all())
    workers = start_workers(args.workers, args.threads, args.log_dir)
    began = time.monotonic()
    try:
        produce(args.batch, args.count, args.limit)
        # Done when every input reached an end and the queue holds no more of its messages
        # (those of a second producer, which the workers acknowledge without a run).
        while not ((now := progress(args.batch)).done and now.queued + now.in_hand == 0):
            print(now.line(), flush=True)
            time.sleep(1.0)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    took = time.monotonic() - began
    print(now.line())
    print(
        f"batch {args.batch!r}: {now.finished}/{now.total} outputs in {took:.1f}s "
        f"with {args.workers} workers; logs in {args.log_dir}/"
    )


if __name__ == "__main__":
    main()
