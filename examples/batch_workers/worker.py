"""A worker process: take the batch's messages off the queue until SIGTERM or Ctrl-C.

    python worker.py --threads 8

Start as many as you like, on as many machines as reach Redis and the platform: the batch's
concurrency bound is shared by all of them. Dramatiq's own launcher works too
(``dramatiq tasks --processes 2 --threads 8``); this one keeps one process per worker, so a
test can SIGKILL exactly one.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from batch_config import setup_logging

log = logging.getLogger("batch.worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="tasks at once (default 8)")
    args = parser.parse_args()
    setup_logging("worker")

    import dramatiq
    from tasks import broker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=200)
    worker.start()
    log.info("worker ready with %d threads, broker id %s", args.threads, broker.broker_id)
    stop.wait()
    log.info("stopping: finishing the tasks in hand")
    worker.stop()


if __name__ == "__main__":
    main()
