"""The run manager: starts runs in a server-owned task group, stops them, and fans out their events.

Responses never own a run: a blocking request, a stream or a long-poll only *subscribe* to it, so
a client that goes away leaves the run going. Terminating cancels the run's own cancel scope, which
stops the engine's work (provider calls, token loops) rather than merely relabelling the run.

Runs owned by another process sharing the database are followed by polling the database; a run
ended from elsewhere (terminated through another process) is noticed by a watcher and cancelled.
How a run's frames are written and published, in paced batches, is
:mod:`vectorshift.local.run_events`.

Expiry runs at start and then periodically: see :meth:`RunManager.expire`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from vectorshift import _log
from vectorshift.local import engine
from vectorshift.local.config import ServerConfig
from vectorshift.local.nodes import UploadedFile
from vectorshift.local.providers import ProviderConfig, describe_providers
from vectorshift.local.recording import CURRENT_RUN, Recorder
from vectorshift.local.records import (
    STOPPED_SERVER_ERROR,
    PipelineRecord,
    RunLimitReached,
    RunRecord,
)
from vectorshift.local.run_events import EVENT_QUEUE, ActiveRun, write_events
from vectorshift.local.run_finish import RunEnd, record_end
from vectorshift.local.run_ghosts import end_ghosts
from vectorshift.local.scripts import Script
from vectorshift.local.store import Store

logger = _log.get_logger("vectorshift.local")

POLL_INTERVAL = 0.2
"""Seconds between database polls when following a run this process does not own."""

WATCH_INTERVAL = 0.5
"""Seconds between checks for runs of this process ended from another process."""

HEARTBEAT_INTERVAL = 1.0
"""Seconds between two heartbeats of this server in the store, and two checks for the runs of
servers that died (:meth:`~vectorshift.local.store.Store.recover_orphans`)."""

_STOP_GRACE = 5.0


def _failure_message(exc: BaseException) -> str | None:
    """The user-facing message of a run failure, looking inside exception groups."""
    if isinstance(exc, engine.RunFailure):
        return str(exc)
    for inner in getattr(exc, "exceptions", ()):
        message = _failure_message(inner)
        if message is not None:
            return message
    return None


class RunManager:
    """Owns every run this server process executes.

    Use :meth:`running` as (part of) the application lifespan: runs only start inside it.

    Args:
        store: The database.
        config: The server configuration (limits, provider settings).
        script: Scripted LLM answers, asked before any provider.
        recorder: Where the runs and their LLM calls are recorded.
    """

    def __init__(
        self,
        store: Store,
        config: ServerConfig,
        *,
        script: Script | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.script = script
        self.recorder = recorder
        self._active: dict[str, ActiveRun] = {}
        self._tg: TaskGroup | None = None
        self._closing = False
        self._starting = 0

    @property
    def active_count(self) -> int:
        """Runs currently executing in this process."""
        return len(self._active)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Recover runs abandoned by dead servers, then host runs until the block exits.

        Expired events and idempotency keys are deleted first, and then every
        ``min(retain, 1 h)`` (at least every 0.1 s). On exit every active run is stopped and
        marked failed (the server is stopping).
        """
        providers = self.config.provider_config()
        logger.info(describe_providers(providers))
        if providers.is_real("openai") and not providers.openai_api_key:
            logger.warning(
                "openai is set to be real but OPENAI_API_KEY is not set: its LLM nodes will fail"
            )
        recovered = await self.store.recover_orphans()
        if recovered:
            logger.warning("marked %d abandoned run(s) failed", len(recovered))
        await self.expire()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._closing = False
            tg.start_soon(self._watch)
            tg.start_soon(self._heartbeat)
            tg.start_soon(self._expire_periodically)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await self.shutdown()
                tg.cancel_scope.cancel()
                self._tg = None

    async def shutdown(self) -> None:
        """Stop every active run (marked failed: the server stopped) and refuse new ones."""
        self._closing = True
        runs = list(self._active.values())
        for run in runs:
            run.stop_error = STOPPED_SERVER_ERROR
            run.scope.cancel()
        with anyio.move_on_after(_STOP_GRACE):
            for run in runs:
                await run.done.wait()

    @property
    def closing(self) -> bool:
        """Whether the manager is shutting down (waiters should give up)."""
        return self._closing

    async def expire(self, now: float | None = None) -> tuple[int, int]:
        """Prune the events of runs finished more than ``config.retain`` seconds ago (their
        result frames stay) and delete idempotency keys older than 24 h.

        Args:
            now: The current time in seconds since the epoch (default: the clock's).

        Returns:
            The number of runs pruned and of keys deleted.
        """
        current = time.time() if now is None else now
        pruned, forgotten = await self.store.expire(now=current, retain=self.config.retain)
        if pruned or forgotten:
            logger.info("expired the events of %d run(s), %d idempotency key(s)", pruned, forgotten)
        return pruned, forgotten

    async def _expire_periodically(self) -> None:
        interval = min(max(self.config.retain, 0.1), 3600.0)
        while True:
            await anyio.sleep(interval)
            try:
                await self.expire()
            except Exception:
                logger.exception("could not expire old events and idempotency keys")

    async def start(
        self,
        org: str,
        pipeline: PipelineRecord,
        runs: list[tuple[dict[str, Any], str]],
        *,
        intermediate_results: bool,
        idempotency: tuple[str, str] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[list[RunRecord], bool]:
        """Record and launch runs of ``pipeline``.

        Args:
            org: The organisation starting them.
            pipeline: The pipeline; its current graph is what runs.
            runs: ``(inputs, trace_id)`` per run; inputs complete (defaults applied).
            intermediate_results: Whether the engine publishes every node output as a frame.
            idempotency: ``(key, body hash)`` for an idempotent start.
            files: Uploaded files by input name, given to the engine in place of the
                metadata the run records keep (single-run starts only).

        Returns:
            The run records and whether they were started (``False``: idempotent replay).

        Raises:
            RuntimeError: The manager is not running (outside the lifespan or shutting down).
            vectorshift.local.records.RunLimitReached: The organisation has too many active runs.
            vectorshift.local.records.IdempotencyConflict: The key was used with another body.
        """
        if self._tg is None or self._closing:
            raise RuntimeError("the local server is not accepting runs (stopped or stopping)")
        self._starting += 1
        try:
            return await self._start(org, pipeline, runs, intermediate_results, idempotency, files)
        finally:
            self._starting -= 1

    async def _start(
        self,
        org: str,
        pipeline: PipelineRecord,
        runs: list[tuple[dict[str, Any], str]],
        intermediate_results: bool,
        idempotency: tuple[str, str] | None,
        files: Mapping[str, UploadedFile] | None,
    ) -> tuple[list[RunRecord], bool]:
        limit = self.config.max_active_runs
        with anyio.CancelScope(shield=True):  # a recorded run is always launched
            try:
                records, created = await self.store.create_runs(
                    org, pipeline.id, runs, limit=limit, idempotency=idempotency
                )
            except RunLimitReached:
                if not await self.end_ghosts(starting=1):
                    raise
                records, created = await self.store.create_runs(
                    org, pipeline.id, runs, limit=limit, idempotency=idempotency
                )
        if created and self._tg is not None:
            options = engine.EngineOptions(
                stream_tokens=True,
                intermediate_results=intermediate_results,
                load_pipeline=self._loader(org),
                providers=self._providers(org),
                max_value_size=self.config.max_value_size,
                max_run_size=self.config.max_run_size,
            )
            for record in records:
                run = ActiveRun(record.task_id)
                self._active[record.task_id] = run
                if self.recorder is not None:
                    self.recorder.run_started(record.task_id, pipeline.id, org, record.inputs)
                inputs = {**record.inputs, **(files or {})}
                self._tg.start_soon(self._execute, run, pipeline.nodes, inputs, options)
        return records, created

    async def end_ghosts(self, *, starting: int = 0) -> int:
        """Fail this server's ghost runs (:mod:`vectorshift.local.run_ghosts`), unless a start
        other than the caller's own ``starting`` ones is under way; how many were failed."""
        return await end_ghosts(
            self.store, self._active, lambda: self._starting <= starting and not self._closing
        )

    def _providers(self, org: str) -> ProviderConfig:
        providers = self.config.provider_config()
        if self.script is None and self.recorder is None:
            return providers
        return dataclasses.replace(providers, script=self.script, recorder=self.recorder, org=org)

    def _loader(self, org: str) -> engine.SubPipelineLoader:
        async def load(pipeline_id: str) -> dict[str, Any]:
            record = await self.store.get_pipeline(org, pipeline_id)
            if record is None:
                raise KeyError(pipeline_id)
            return record.nodes

        return load

    async def _execute(
        self,
        run: ActiveRun,
        nodes: dict[str, Any],
        inputs: dict[str, Any],
        options: engine.EngineOptions,
    ) -> None:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](EVENT_QUEUE)

        async def emit(frame: dict[str, Any]) -> None:
            if not run.discarding:
                await send.send({**frame, "run_id": run.task_id})

        status, outputs, error = "failed", None, None
        simulated: set[str] = set()
        CURRENT_RUN.set(run.task_id)  # this task's own context: its engine's tasks inherit it
        try:
            async with anyio.create_task_group() as writing:
                writing.start_soon(write_events, self.store, run, receive)
                with send, run.scope:
                    try:
                        outputs = await engine.execute(nodes, inputs, emit, options, simulated)
                        status = "completed"
                    except Exception as exc:
                        error = _failure_message(exc)
                        if error is None:
                            logger.exception("run %s: unexpected engine error", run.task_id)
                            error = f"internal error of the local engine ({type(exc).__name__})"
        except Exception as exc:  # around the engine (its event writer): the run cannot go on
            logger.exception("run %s: unexpected error running it", run.task_id)
            status, outputs = "failed", None
            error = (
                error
                or run.stop_error
                or (f"internal error of the local server running this run ({type(exc).__name__})")
            )
        finally:
            interrupted = run.scope.cancel_called or (status == "failed" and error is None)
            if interrupted:
                status = "failed" if run.stop_error else "cancelled"
                outputs, error = None, run.stop_error
            await self._finish(run, status, outputs, error, tuple(simulated))

    async def _finish(
        self,
        run: ActiveRun,
        status: str,
        outputs: dict[str, Any] | None,
        error: str | None,
        simulated: tuple[str, ...],
    ) -> None:
        """Record the run's end (:func:`~vectorshift.local.run_finish.record_end`), then let it
        go: meanwhile the run stays active here, as it stays in progress in the file."""
        end: RunEnd = (status, outputs, error)
        try:
            end = await record_end(self.store, run, end, simulated, lambda: self._closing)
        finally:
            if self.recorder is not None:
                self.recorder.run_finished(run.task_id, *end)
            run.finished = True
            run.done.set()
            run.notify()
            self._active.pop(run.task_id, None)

    async def _heartbeat(self) -> None:
        """Tell peers sharing the database that this server lives; fail the runs of dead ones."""
        while True:
            await anyio.sleep(HEARTBEAT_INTERVAL)
            try:
                await self.store.heartbeat()
                recovered = await self.store.recover_orphans()
                await self.end_ghosts()
            except Exception:
                logger.exception("could not record this server's heartbeat or check its peers")
                continue
            if recovered:
                logger.warning(
                    "marked %d run(s) of a server that died failed: %s",
                    len(recovered),
                    ", ".join(recovered),
                )

    async def _watch(self) -> None:
        while True:
            await anyio.sleep(WATCH_INTERVAL)
            try:
                ended = await self.store.terminal_runs(list(self._active))
            except Exception:
                logger.exception("could not check for runs ended by another process")
                continue
            for task_id in ended:
                run = self._active.get(task_id)
                if run is not None:
                    run.scope.cancel()

    async def terminate(self, record: RunRecord) -> RunRecord:
        """Cancel a run and return its final record (a no-op for an ended run).

        A run of this process is cancelled through its scope and awaited, so its work has stopped
        when this returns; a run owned by another process is marked cancelled in the database and
        its owner stops it within a moment.
        """
        run = self._active.get(record.task_id)
        if run is not None:
            run.scope.cancel()
            with anyio.move_on_after(_STOP_GRACE):
                await run.done.wait()
        elif not record.terminal:
            await self.store.finish_run(record.task_id, "cancelled")
        final = await self.store.get_run(record.org, record.task_id)
        return record if final is None else final

    async def wait(self, record: RunRecord, seconds: float) -> RunRecord:
        """Wait until the run ends or ``seconds`` pass; return its latest record."""
        if record.terminal or seconds <= 0:
            return record
        run = self._active.get(record.task_id)
        with anyio.move_on_after(seconds):
            if run is not None:
                await run.done.wait()
            else:
                while not self._closing:
                    latest = await self.store.get_run(record.org, record.task_id)
                    if latest is None or latest.terminal:
                        break
                    await anyio.sleep(POLL_INTERVAL)
        final = await self.store.get_run(record.org, record.task_id)
        return record if final is None else final

    async def follow(
        self, record: RunRecord, after: int, keepalive: float = math.inf
    ) -> AsyncGenerator[list[tuple[int, dict[str, Any]]] | None, None]:
        """Yield the run's frames with a sequence number above ``after``, until its result frame.

        Frames come in lists, in order: every frame available at once (a stored replay, a
        written batch), so a response can send them in one write. Stored frames come first, then
        live ones as they are written. ``None`` is yielded after ``keepalive`` seconds without a
        frame, so the caller can keep its connection alive.
        """
        run = self._active.get(record.task_id)
        if run is not None:
            position = 0
            while True:
                available = [item for item in run.frames[position:] if item[0] > after]
                position = len(run.frames)
                if available:
                    yield available
                if position < len(run.frames):
                    continue  # more frames arrived while the caller was sending them
                if run.finished:
                    return
                changed = run.changed
                with anyio.move_on_after(keepalive) as idle:
                    await changed.wait()
                if idle.cancel_called:
                    yield None
        else:
            async with aclosing(self._follow_stored(record, after, keepalive)) as items:
                async for item in items:
                    yield item

    async def _follow_stored(
        self, record: RunRecord, after: int, keepalive: float
    ) -> AsyncGenerator[list[tuple[int, dict[str, Any]]] | None, None]:
        idle = 0.0
        while True:
            latest = await self.store.get_run(record.org, record.task_id)
            frames = await self.store.events_after(record.task_id, after)
            ends = next((i for i, (_, f) in enumerate(frames) if f.get("type") == "result"), None)
            if frames:
                after = frames[-1][0]
                yield frames if ends is None else frames[: ends + 1]
                if ends is not None:
                    return
            if latest is None or (latest.terminal and not frames) or self._closing:
                return
            idle = 0.0 if frames else idle + POLL_INTERVAL
            if idle >= keepalive:
                idle = 0.0
                yield None
            await anyio.sleep(POLL_INTERVAL)
