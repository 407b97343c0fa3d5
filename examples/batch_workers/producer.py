"""The producer: put every input of a batch on the queue, with ids that do not change.

    python producer.py --batch monday --count 200 --limit 8

An input's id comes from the input itself (here its row number in the source; in real life a
primary key or a hash of its content), never from the time or a counter of this process, so
running the producer again with the same batch (after a crash, or by mistake) enqueues the same
ids: the workers find their runs, or their outputs, and do nothing twice.
"""

from __future__ import annotations

import argparse
import logging

from batch_config import (
    PIPELINE_NAME,
    Keys,
    client,
    current_input,
    current_run,
    setup_logging,
    sync_redis,
    trace_id,
)

from vectorshift import Client, NotFoundError, Pipeline

log = logging.getLogger("batch.producer")


def documents(count: int) -> list[tuple[str, str]]:
    """The batch's inputs as ``(input id, text)``: stands for rows read from your source."""
    return [
        (f"doc-{row:05d}", f"Meeting {row} notes: ship the release, call the customer.")
        for row in range(count)
    ]


def pipeline(platform: Client, token_delay_ms: int = 20) -> Pipeline:
    """The batch's pipeline, made on first use (on vectorshift.local a simulated model answers).

    The model echoes the document, one word per ``token_delay_ms``; a slower one gets a name
    of its own.
    """
    name = PIPELINE_NAME if token_delay_ms == 20 else f"{PIPELINE_NAME}-{token_delay_ms}ms"
    try:
        return Pipeline.fetch(name=name, client=platform)
    except NotFoundError:
        made = Pipeline.new(name=name, client=platform)
    document = made.add(name="document").input()
    summary = made.add(name="summary_llm").llm(
        provider="local", model="echo", prompt=document.text, token_delay_ms=token_delay_ms
    )
    made.add(name="summary").output(summary.response)
    made.save()
    return made


def produce(batch: str, count: int, limit: int, token_delay_ms: int = 20) -> int:
    """Enqueue the batch's ``count`` inputs and record them in Redis; the number enqueued."""
    from tasks import process_input

    keys = Keys(batch)
    store = sync_redis()
    target = pipeline(client(), token_delay_ms)
    inputs = documents(count)
    store.set(keys.limit, limit)
    store.sadd(keys.inputs, *(input_id for input_id, _ in inputs))
    for input_id, text in inputs:
        current_input.set(input_id)
        current_run.set(("", trace_id(batch, input_id)))
        process_input.send(batch, input_id, target.id, text)
        log.info("enqueued")
    current_input.set("")
    current_run.set(("", ""))
    log.info(
        "enqueued %d inputs of batch %r for pipeline %s, at most %d runs at once",
        len(inputs),
        batch,
        target.id,
        limit,
    )
    return len(inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", required=True, help="the batch's name")
    parser.add_argument("--count", type=int, default=200, help="inputs (default 200)")
    parser.add_argument(
        "--limit",
        type=int,
        default=8,
        help="runs in progress at once, all workers together (default 8)",
    )
    parser.add_argument(
        "--token-delay-ms",
        type=int,
        default=20,
        help="how slow the simulated model is (default 20 ms a word)",
    )
    args = parser.parse_args()
    setup_logging("producer")
    count = produce(args.batch, args.count, args.limit, args.token_delay_ms)
    print(f"enqueued {count} inputs")


if __name__ == "__main__":
    main()
