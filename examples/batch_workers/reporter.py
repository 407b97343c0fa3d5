"""The reporter: a batch's progress from Redis, and ``--terminate`` to stop its runs.

    python reporter.py --batch monday            # one line of counts
    python reporter.py --batch monday --watch    # a line a second until every input is done
    python reporter.py --batch monday --terminate

It needs no worker and no queue: the workers store each run's ``(pipeline_id, task_id)`` in
Redis, and a :class:`vectorshift.RunHandler` rebuilt from those ids reaches the run from any
process. ``--terminate`` first tells the workers to start nothing more, then terminates every
run in progress.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass

from batch_config import QUEUE, Keys, client, current_input, current_run, setup_logging, sync_redis

from vectorshift import RunHandler

log = logging.getLogger("batch.reporter")


@dataclass(frozen=True)
class Progress:
    """Counts of one batch, as Redis holds them."""

    total: int
    started: int
    finished: int
    failed: int
    cancelled: int
    writes: int
    duplicates: int
    queued: int
    in_hand: int

    @property
    def done(self) -> bool:
        """Whether every input reached an end (finished, failed or cancelled)."""
        return self.total > 0 and self.finished + self.failed + self.cancelled >= self.total

    def line(self) -> str:
        """The counts on one line."""
        return (
            f"{self.total} inputs: {self.finished} finished, {self.failed} failed, "
            f"{self.cancelled} cancelled, {self.started} running; messages: {self.queued} "
            f"queued, {self.in_hand} in workers' hands; outputs written {self.writes}, "
            f"second writes refused {self.duplicates}"
        )


def progress(batch: str) -> Progress:
    """Read the batch's counts from Redis."""
    keys, store = Keys(batch), sync_redis()
    states = Counter(store.hvals(keys.state))
    counters = store.hgetall(keys.counters)
    return Progress(
        total=store.scard(keys.inputs),
        started=states["started"],
        finished=states["finished"],
        failed=states["failed"],
        cancelled=states["cancelled"],
        writes=int(counters.get("writes", 0)),
        duplicates=int(counters.get("duplicates", 0)),
        queued=store.llen(f"dramatiq:{QUEUE}"),
        in_hand=sum(store.scard(key) for key in store.scan_iter(f"dramatiq:__acks__.*.{QUEUE}")),
    )


def terminate(batch: str) -> int:
    """Stop the batch: no new starts, and every run in progress terminated. The runs stopped."""
    keys, store, platform = Keys(batch), sync_redis(), client()
    store.set(keys.stop, "1")
    states = store.hgetall(keys.state)
    stopped = 0
    for input_id, stored in store.hgetall(keys.handles).items():
        if states.get(input_id) != "started":
            continue
        ids = json.loads(stored)
        current_input.set(input_id)
        current_run.set((ids["task_id"], ids["trace_id"] or ""))
        handler = RunHandler(
            pipeline_id=ids["pipeline_id"],
            task_id=ids["task_id"],
            trace_id=ids["trace_id"],
            client=platform,
        )
        status = handler.terminate()
        log.info("terminate: the run is %s", status.status)
        stopped += status.status == "cancelled"
    current_input.set("")
    current_run.set(("", ""))
    return stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", required=True, help="the batch's name")
    parser.add_argument("--watch", action="store_true", help="report every second until done")
    parser.add_argument("--terminate", action="store_true", help="stop the batch's runs")
    args = parser.parse_args()
    setup_logging("reporter")
    if args.terminate:
        print(f"terminated {terminate(args.batch)} runs")
    while True:
        now = progress(args.batch)
        print(now.line(), flush=True)
        if not args.watch or now.done:
            break
        time.sleep(1.0)


if __name__ == "__main__":
    main()
