"""Background runs with asyncio: start a batch concurrently, then wait for all of them.

The async twin of ``background_batch.py``: ``astart`` / ``aresult`` / ``aterminate`` never
block the event loop, so one process can watch many runs at once.

    python examples/background_batch_async.py
"""

from __future__ import annotations

import asyncio
import logging

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

log = logging.getLogger("background_batch_async")
PIPELINE_NAME = "background-batch-async-example"
TRANSIENT = (RateLimitError, InternalServerError, ApiConnectionError)


async def fetch_or_create(client: Client, local: bool) -> Pipeline:
    try:
        return await Pipeline.afetch(name=PIPELINE_NAME, client=client)
    except NotFoundError:
        pipeline = await Pipeline.anew(name=PIPELINE_NAME, client=client)
    document = pipeline.add(name="document").input()
    if local:
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
    await pipeline.asave()
    return pipeline


async def start_with_retry(pipeline: Pipeline, inputs: dict[str, str], key: str) -> RunHandler:
    for attempt in range(5):
        try:
            handler = await pipeline.astart(inputs, idempotency_key=key)
        except TRANSIENT as exc:
            delay = getattr(exc, "retry_after", None) or min(2.0**attempt, 30.0)
            log.warning("start failed transiently (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            continue
        log.info("started task_id=%s trace_id=%s", handler.task_id, handler.trace_id)
        return handler
    raise RuntimeError("the platform kept refusing the start; try again later")


async def wait(handler: RunHandler) -> str | None:
    try:
        final = await handler.aresult(poll_interval=0.5, timeout=120)
    except PipelineRunFailedError as exc:  # a failed run: report it, never retry it
        log.error("task_id=%s failed: %s", handler.task_id, exc.run_error)
        return None
    summary: str = final["result"]["summary"]
    log.info("task_id=%s trace_id=%s done", handler.task_id, handler.trace_id)
    return summary


async def batch(client: Client, local: bool) -> None:
    pipeline = await fetch_or_create(client, local)
    documents = [f"Document {i}: notes from meeting {i}." for i in range(1, 9)]
    handlers = await asyncio.gather(
        *(
            start_with_retry(pipeline, {"document": d}, f"async-batch-doc-{i}")
            for i, d in enumerate(documents, 1)
        )
    )
    statuses = await asyncio.gather(*(h.arun_status() for h in handlers))
    log.info("statuses now: %s", [s.status for s in statuses])
    summaries = await asyncio.gather(*(wait(h) for h in handlers))
    runaway = await start_with_retry(pipeline, {"document": "endless"}, "async-runaway")
    await runaway.aterminate()
    try:
        await runaway.aresult(timeout=30)
    except PipelineRunCancelledError:
        log.info("task_id=%s terminated", runaway.task_id)
    done = sum(s is not None for s in summaries)
    print(f"{done}/{len(documents)} runs succeeded; the runaway run was terminated.")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with platform() as (client, local):
        asyncio.run(batch(client, local))


if __name__ == "__main__":
    main()
