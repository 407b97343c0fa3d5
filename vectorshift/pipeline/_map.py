"""Bounded fan-out: one background run per input, a limited number at a time.

Each input is started with an idempotency key (the caller's own, or a fresh one), waited for,
and reported exactly once as a :class:`~vectorshift.types.RunOutcome`. Rate limits are waited
out, never reported; failed runs are reported, never retried.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import math
import uuid
from collections.abc import AsyncGenerator, Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from vectorshift import _intercept, _log
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    ArgumentError,
    InputTypeError,
    RateLimitError,
)
from vectorshift.pipeline._async_stream import check_poll_interval, check_timeout
from vectorshift.pipeline._handler import RunHandler, ids_of, raise_for_end, wait_for_end

if TYPE_CHECKING:
    from vectorshift.pipeline._runs import PipelineRuns
    from vectorshift.types import RunOutcome

__all__ = ["idempotency_key_for", "map_runs"]

_MAX_KEY = 255


def idempotency_key_for(pipeline_id: str, key: object) -> str:
    """The ``Idempotency-Key`` a caller's key stands for: one key space per pipeline.

    Keys a header cannot carry as they are (longer than 255 characters, or not printable
    ASCII) are replaced by their SHA-256.
    """
    text = f"{pipeline_id}:{key}"
    if len(text) <= _MAX_KEY and text.isascii() and text.isprintable():
        return text
    return hashlib.sha256(text.encode()).hexdigest()


class _Progress:
    """A tqdm bar counting outcomes, with started / finished / failed in its postfix."""

    def __init__(self, enabled: bool, total: int | None) -> None:
        self.started = self.finished = self.failed = 0
        self._bar: Any = None
        if not enabled:
            return
        try:
            module = importlib.import_module("tqdm.auto")
        except ImportError as exc:
            raise ImportError(
                "progress=True draws a progress bar with the 'tqdm' package, which is not "
                "installed: pip install tqdm (the SDK's 'progress' extra), or leave progress off"
            ) from exc
        self._bar = module.tqdm(total=total, unit="run", desc="vectorshift runs")
        self._show()

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix(
                started=self.started, finished=self.finished, failed=self.failed, refresh=False
            )

    def run_started(self) -> None:
        self.started += 1
        self._show()

    def outcome(self, outcome: RunOutcome) -> None:
        if outcome.ok:
            self.finished += 1
        else:
            self.failed += 1
        self._show()
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Mapper:
    """One ``amap`` call: its settings, the feeder that takes inputs, and the workers."""

    def __init__(
        self,
        pipeline: PipelineRuns,
        pipeline_id: str,
        *,
        concurrency: int,
        poll_interval: float,
        timeout: float | None,
        progress: _Progress,
    ) -> None:
        self.pipeline = pipeline
        self.pipeline_id = pipeline_id
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.progress = progress
        self.error: Exception | None = None

    async def feed(
        self,
        tg: TaskGroup,
        items: Iterator[tuple[Mapping[str, Any], str]],
        send: MemoryObjectSendStream[RunOutcome],
    ) -> None:
        """Start a worker per input, taking the next input only once a slot is free."""
        slots = anyio.Semaphore(self.concurrency)
        async with send:
            for index in itertools.count():
                await slots.acquire()
                try:
                    item, key = next(items)
                except StopIteration:
                    slots.release()
                    return
                except Exception as exc:
                    # Raised by the caller's iterable: reported once the started runs are.
                    slots.release()
                    self.error = exc
                    return
                tg.start_soon(self.work, index, item, key, slots, send.clone())

    async def work(
        self,
        index: int,
        item: Mapping[str, Any],
        key: str,
        slots: anyio.Semaphore,
        send: MemoryObjectSendStream[RunOutcome],
    ) -> None:
        """Start one run, wait for its end, and send its outcome."""
        async with send:
            handler: RunHandler | None = None
            result = None
            error: BaseException | None = None
            deadline = math.inf if self.timeout is None else anyio.current_time() + self.timeout
            try:
                handler = await self.start(item, key, deadline)
                self.progress.run_started()
                remaining = deadline - anyio.current_time()
                ids = ids_of(handler)
                interceptors = self.pipeline.client.interceptors
                with _intercept.scope(interceptors, "result", **ids), _log.raising("result", **ids):
                    result = await wait_for_end(
                        handler,
                        self.poll_interval,
                        None if math.isinf(remaining) else max(remaining, 1e-3),
                    )
                    raise_for_end(result)
            except Exception as exc:
                error = exc
            finally:
                slots.release()
            from vectorshift.types import RunOutcome

            await send.send(RunOutcome(index, item, handler, result, error))

    async def start(self, item: Mapping[str, Any], key: str, deadline: float) -> RunHandler:
        """Start the run, waiting out rate limits until ``deadline``.

        The start is keyed, so sending it again is safe. What is transient is the client's
        retry policy's call; of those failures, rate limits are waited out until ``deadline``,
        and others that outlast the client's own retries get ``max_retries`` more rounds
        before they are reported.
        """
        policy = self.pipeline.client.retry
        waits = 0
        rounds = 0
        while True:
            try:
                return await self.pipeline.astart(item, idempotency_key=key)
            except (ApiError, ApiConnectionError) as exc:
                if not policy.is_retryable(exc):
                    raise
                if not isinstance(exc, RateLimitError):
                    if rounds >= policy.max_retries:
                        raise
                    rounds += 1
                delay = policy.delay(exc, waits)
                if anyio.current_time() + delay >= deadline:
                    raise
                waits += 1
                _log.retrying(
                    f"start of a run of pipeline {self.pipeline_id}",
                    exc,
                    waits,
                    delay,
                    pipeline_id=self.pipeline_id,
                )
            await anyio.sleep(delay)


def _keyed(
    pipeline_id: str, inputs: Iterable[Mapping[str, Any]], keys: Iterable[Any] | None
) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Pairs each input with its idempotency key, lazily; caller keys must be unique."""
    if keys is None:
        for item in inputs:
            yield item, uuid.uuid4().hex
        return
    seen: set[str] = set()
    key_iter = iter(keys)
    missing = object()
    for item in inputs:
        key = next(key_iter, missing)
        if key is missing:
            raise ArgumentError(
                "keys holds fewer items than inputs; give one key per input", argument="keys"
            )
        wire_key = idempotency_key_for(pipeline_id, key)
        if wire_key in seen:
            raise ArgumentError(
                f"key {key!r} is given twice; each input needs its own key", argument="keys"
            )
        seen.add(wire_key)
        yield item, wire_key
    if next(key_iter, missing) is not missing:
        raise ArgumentError(
            "keys holds more items than inputs; give one key per input", argument="keys"
        )


async def map_runs(
    pipeline: PipelineRuns,
    inputs: Iterable[Mapping[str, Any]],
    *,
    concurrency: int,
    ordered: bool,
    keys: Iterable[Any] | None,
    poll_interval: float,
    timeout: float | None,
    progress: bool,
) -> AsyncGenerator[RunOutcome, None]:
    """The body of :meth:`Pipeline.amap` (see there)."""
    pipeline_id = pipeline._require_saved()
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ArgumentError(
            f"concurrency must be a positive integer, not {concurrency!r}", argument="concurrency"
        )
    check_poll_interval(poll_interval)
    check_timeout(timeout)
    if isinstance(inputs, Mapping):
        raise InputTypeError("amap takes an iterable of input mappings, not one mapping")
    total = len(inputs) if isinstance(inputs, Sized) else None
    bar = _Progress(progress, total)
    mapper = _Mapper(
        pipeline,
        pipeline_id,
        concurrency=concurrency,
        poll_interval=poll_interval,
        timeout=timeout,
        progress=bar,
    )
    send, receive = anyio.create_memory_object_stream["RunOutcome"](max_buffer_size=math.inf)
    # The map's operation is current only where its workers are spawned (they inherit it):
    # never across a yield, where the caller's code runs.
    operation = _intercept.begin(pipeline.client.interceptors, "map", pipeline_id=pipeline_id)
    error: BaseException | None = None
    try:
        async with receive, anyio.create_task_group() as tg:
            with _intercept.activate(operation):
                tg.start_soon(mapper.feed, tg, _keyed(pipeline_id, inputs, keys), send)
            pending: dict[int, RunOutcome] = {}
            upcoming = 0
            try:
                async for outcome in receive:
                    bar.outcome(outcome)
                    if not ordered:
                        yield outcome
                        continue
                    pending[outcome.index] = outcome
                    while upcoming in pending:
                        yield pending.pop(upcoming)
                        upcoming += 1
            except GeneratorExit:
                # The consumer left early: stop waiting (the runs go on) and end quietly,
                # so the task group sees a normal exit rather than GeneratorExit.
                tg.cancel_scope.cancel()
                return
            finally:
                tg.cancel_scope.cancel()
        if mapper.error is not None:
            raise mapper.error
    except BaseException as exc:
        error = exc
        raise
    finally:
        bar.close()
        if operation is not None:
            operation.attributes["vectorshift.runs"] = bar.finished + bar.failed
            operation._end(error)
