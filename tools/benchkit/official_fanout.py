"""The official client's fan-out: ``start()`` + ``result()`` from N threads; prints JSON.

Run with the python of a venv holding ``vectorshift==0.1.15`` (never this project's), with
``VECTORSHIFT_BASE_URL`` and ``VECTORSHIFT_API_KEY`` set before the import, as that client
reads them then::

    <official venv>/bin/python official_fanout.py PIPELINE_ID RUNS THREADS

It prints one JSON object: wall seconds, client CPU seconds (this process, all threads).
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    pipeline_id, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from vectorshift.pipeline import Pipeline

    pipeline = Pipeline.fetch(id=pipeline_id)

    def one(i: int) -> str:
        handler = pipeline.start({"query": f"q{i}"})
        # The official default paces polls 1 s apart; 0.05 s is the fairest short pause.
        final = handler.result(poll_interval=0.05, timeout=120)
        return str(final["result"]["answer"])

    one(-1)  # warm-up
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(one, range(runs)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert answers == [f"q{i}" for i in range(runs)], "wrong answers"
    print(json.dumps({"wall_s": wall, "cpu_s": cpu}))


if __name__ == "__main__":
    main()
