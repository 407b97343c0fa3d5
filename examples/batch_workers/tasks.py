"""The queue and its one task: run the pipeline on one input of a batch, exactly once.

Dramatiq's Redis broker gives each message *at least once*: a message is taken off the queue
when a worker fetches it and dropped only when the worker acknowledges it, after the task
returned; the messages of a worker that stops heartbeating (SIGKILLed, its machine gone) go
back on the queue. So a task may run twice for one input, and everything it does is safe to
repeat:

1. an input whose output is stored already is skipped;
2. the run is started with the input's idempotency key, so a second start (from this worker or
   another, now or after a crash) gets the run the first one started instead of a new one;
3. the run's ``(pipeline_id, task_id)`` is stored in Redis as soon as it is known, for the
   reporter (progress, ``--terminate``) and for anyone to resume waiting on it;
4. the output is stored with ``HSETNX``: a second delivery finds it there and writes nothing.

Starts and waits happen inside a slot of the batch's shared concurrency bound (``slots.py``),
and a :class:`vectorshift.RateLimitError` that the SDK's own retries did not absorb is waited
out as the client's :class:`vectorshift.RetryPolicy` says (the server's ``Retry-After`` first).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import dramatiq
import redis.asyncio as aioredis
from batch_config import (
    QUEUE,
    Keys,
    client,
    current_input,
    current_run,
    env_int,
    idempotency_key,
    redis_url,
    trace_id,
)
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO
from slots import Slots

from vectorshift import (
    Client,
    Pipeline,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    RateLimitError,
    RunHandler,
)

log = logging.getLogger("batch.worker")


class InputContext(dramatiq.Middleware):
    """Name the message's input (and its trace id) in the records of the queue's worker thread.

    The task sets them itself for its own records and the SDK's; this covers those Dramatiq
    writes about the message in its worker thread (a failure, a retry). They stay set until
    the thread takes its next message, since Dramatiq logs its retry after the last hook.
    """

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.actor_name == "process_input":
            batch, input_id = message.args[0], message.args[1]
            current_input.set(input_id)
            current_run.set(("", trace_id(batch, input_id)))


broker = RedisBroker(
    url=redis_url(),
    # A worker that has not been heard of for this long is dead: its messages are given again.
    heartbeat_timeout=env_int("BATCH_HEARTBEAT_MS", 15_000),
    # How often (per million broker commands) a worker looks for dead workers' messages.
    maintenance_chance=env_int("BATCH_MAINTENANCE_CHANCE", 20_000),
)
broker.add_middleware(AsyncIO())
broker.add_middleware(InputContext())
dramatiq.set_broker(broker)

START_ATTEMPTS = 30
"""Rate-limited starts tried in one delivery before the message is given back to the queue."""

# KEYS: outputs, counters, state. ARGV: input id, output. 1 when stored now, 0 when it was already.
_STORE_ONCE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
    redis.call('HINCRBY', KEYS[2], 'writes', 1)
    redis.call('HSET', KEYS[3], ARGV[1], 'finished')
    return 1
end
redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
return 0
"""


class _Process:
    """What a worker process keeps between tasks: its clients and the pipelines it fetched."""

    def __init__(self) -> None:
        self.client: Client = client()
        self.redis = aioredis.Redis.from_url(redis_url(), decode_responses=True)
        self.store_once = self.redis.register_script(_STORE_ONCE)
        self.pipelines: dict[str, Pipeline] = {}

    async def pipeline(self, pipeline_id: str) -> Pipeline:
        if pipeline_id not in self.pipelines:
            self.pipelines[pipeline_id] = await Pipeline.afetch(id=pipeline_id, client=self.client)
        return self.pipelines[pipeline_id]


_process: _Process | None = None


def _here() -> _Process:
    """This process's clients, made in the worker's event loop on first use."""
    global _process
    if _process is None:
        _process = _Process()
    return _process


async def _start(
    here: _Process, pipeline: Pipeline, batch: str, input_id: str, inputs: dict[str, Any]
) -> RunHandler:
    attempt = 0
    while True:
        try:
            return await pipeline.astart(
                inputs,
                idempotency_key=idempotency_key(batch, input_id),
                trace_id=trace_id(batch, input_id),
            )
        except RateLimitError as exc:
            attempt += 1
            if attempt == START_ATTEMPTS:
                raise  # the queue gives the message again later
            delay = here.client.retry.delay(exc, attempt - 1)
            log.warning("rate limited (%s); start %d waits %.2fs", exc, attempt, delay)
            await asyncio.sleep(delay)


@dramatiq.actor(
    queue_name=QUEUE, max_retries=20, min_backoff=250, max_backoff=5_000, time_limit=3_600_000
)
async def process_input(batch: str, input_id: str, pipeline_id: str, text: str) -> None:
    """Run the pipeline on one input of ``batch`` and store its output, once."""
    current_input.set(input_id)
    current_run.set(("", trace_id(batch, input_id)))
    here = _here()
    keys = Keys(batch)
    if await here.redis.hexists(keys.outputs, input_id):
        known = json.loads(await here.redis.hget(keys.handles, input_id) or "{}")
        current_run.set((known.get("task_id", ""), known.get("trace_id") or ""))
        log.info("output already stored: nothing to do")
        return
    slots = Slots(here.redis, keys.slots, keys.limit, env_int("BATCH_LEASE_MS", 30_000))
    async with slots.hold(input_id):
        if await here.redis.exists(keys.stop):
            log.info("the batch was stopped: not started")
            await here.redis.hsetnx(keys.state, input_id, "cancelled")
            return
        pipeline = await here.pipeline(pipeline_id)
        handler = await _start(here, pipeline, batch, input_id, {"document": text})
        current_run.set((handler.task_id, handler.trace_id or ""))
        await here.redis.hset(
            keys.handles,
            input_id,
            json.dumps(
                {
                    "pipeline_id": handler.pipeline_id,
                    "task_id": handler.task_id,
                    "trace_id": handler.trace_id,
                }
            ),
        )
        await here.redis.hsetnx(keys.state, input_id, "started")
        log.info("run started")
        if await here.redis.exists(keys.stop):
            # The reporter set the flag after the check above and may have read the handles
            # before this one was stored: it is this worker's to stop.
            await handler.aterminate()
        try:
            final = await handler.aresult(poll_interval=1.0, timeout=None)
        except PipelineRunFailedError as exc:
            log.error("run failed: %s", exc)
            await here.redis.hset(keys.state, input_id, "failed")
            return
        except PipelineRunCancelledError:
            log.info("run cancelled")
            await here.redis.hset(keys.state, input_id, "cancelled")
            return
    stored = await here.store_once(
        keys=[keys.outputs, keys.counters, keys.state],
        args=[input_id, final["result"]["summary"]],
    )
    log.info("output stored" if stored else "output was stored already: not written again")
