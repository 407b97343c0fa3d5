"""Background runs, end to end, as the platform's guide describes them.

1. fetch the pipeline by name, or create it (the ``try: fetch / except NotFoundError: new`` idiom);
2. start a batch of runs in the background and keep their ids;
3. check them once (what a dashboard does), then block for each result;
4. retry what is transient (rate limits, 5xx, timeouts), never a failed run;
5. terminate a runaway run.

Every step logs ``task_id`` and ``trace_id``: they are what support needs.

Runs against the VectorShift platform when ``VECTORSHIFT_API_KEY`` is set, and on the embedded
local platform (``vectorshift.local``, an offline simulated model) otherwise. It says which.

    python examples/background_batch.py
"""

from __future__ import annotations

import logging
import time

from _platform import platform

from vectorshift import (
    ApiConnectionError,
    Client,
    InternalServerError,
    NotFoundError,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    RateLimitError,
    RunHandler,
)

log = logging.getLogger("background_batch")
PIPELINE_NAME = "background-batch-example"
TRANSIENT = (RateLimitError, InternalServerError, ApiConnectionError)


def fetch_or_create(client: Client, local: bool) -> Pipeline:
    """The create-or-update idiom of the platform's example scripts."""
    try:
        pipeline = Pipeline.fetch(name=PIPELINE_NAME, client=client)
        log.info("fetched pipeline %s", pipeline.id)
        return pipeline
    except NotFoundError:
        pipeline = Pipeline.new(name=PIPELINE_NAME, client=client)
    document = pipeline.add(name="document").input()
    if local:
        # The local simulated model: 'lorem' writes max_tokens tokens, token_delay_ms each.
        llm = pipeline.add(name="summary_llm").llm(
            provider="local",
            model="lorem",
            prompt=document.text,
            max_tokens=30,
            token_delay_ms=10,
        )
    else:
        llm = pipeline.add(name="summary_llm").llm(
            model="gpt-4o-mini", prompt=f"Summarise in one sentence: {document.text}"
        )
    pipeline.add(name="summary").output(llm.response)
    pipeline.save()
    log.info("created pipeline %s", pipeline.id)
    return pipeline


def start_with_retry(pipeline: Pipeline, inputs: dict[str, str], key: str) -> RunHandler:
    """Start a run; back off and retry transient API errors. The idempotency key makes a
    retried start count once on servers that honour it."""
    for attempt in range(5):
        try:
            handler = pipeline.start(inputs, idempotency_key=key)
        except TRANSIENT as exc:
            delay = getattr(exc, "retry_after", None) or min(2.0**attempt, 30.0)
            log.warning("start failed transiently (%s); retrying in %.1fs", exc, delay)
            time.sleep(delay)
            continue
        log.info("started task_id=%s trace_id=%s", handler.task_id, handler.trace_id)
        return handler
    raise RuntimeError("the platform kept refusing the start; try again later")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much
    with platform() as (client, local):
        pipeline = fetch_or_create(client, local)
        documents = [f"Document {i}: quarterly notes, part {i}." for i in range(1, 6)]
        handlers = [
            start_with_retry(pipeline, {"document": text}, key=f"batch-2026-11-doc-{i}")
            for i, text in enumerate(documents, 1)
        ]
        # Persist these anywhere; a RunHandler is rebuilt from them with no request.
        saved_ids = [(h.pipeline_id, h.task_id, h.trace_id) for h in handlers]

        for handler in handlers:  # one non-blocking check each, as a dashboard would
            status = handler.run_status()
            log.info(
                "task_id=%s trace_id=%s status=%s", handler.task_id, handler.trace_id, status.status
            )

        succeeded = 0
        for pipeline_id, task_id, trace_id in saved_ids:
            handler = RunHandler(
                pipeline_id=pipeline_id, task_id=task_id, trace_id=trace_id, client=client
            )
            try:
                final = handler.result(poll_interval=0.5, timeout=120)
            except PipelineRunFailedError as exc:  # the run failed: a bug, not a flake
                log.error("task_id=%s trace_id=%s failed: %s", task_id, trace_id, exc.run_error)
                continue
            succeeded += 1
            summary = final["result"]["summary"]
            log.info("task_id=%s trace_id=%s summary=%r", task_id, trace_id, summary[:60])

        runaway = start_with_retry(pipeline, {"document": "an endless report"}, key="runaway")
        runaway.terminate()
        try:
            runaway.result(timeout=30)
        except PipelineRunCancelledError:
            log.info("task_id=%s trace_id=%s terminated", runaway.task_id, runaway.trace_id)
        print(f"{succeeded}/{len(documents)} runs succeeded; the runaway run was terminated.")


if __name__ == "__main__":
    main()
