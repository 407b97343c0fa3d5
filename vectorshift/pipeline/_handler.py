"""RunHandler: a background run, addressed by ids alone.

A handler is immutable: its ids are read-only, and waiting for the run changes nothing in it
(what a wait learns, such as whether the server holds status requests, lives in that wait).

Package-internal seam: :func:`wait_for_end`, :func:`raise_for_end` and :func:`ids_of` are how
the rest of the package (``Pipeline.amap``) waits for runs the way :meth:`RunHandler.aresult`
does, without reaching into the handler.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import anyio

from vectorshift import _intercept, _log
from vectorshift._client import Client, default_client
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    ArgumentError,
    BadRequestError,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    PollTimeoutError,
    UnprocessableEntityError,
)
from vectorshift.pipeline._async_stream import AsyncStream, check_poll_interval, check_timeout
from vectorshift.pipeline._generated_handler import RunHandlerSync
from vectorshift.pipeline._stream import (
    byte_opener,
    events_path,
    read_status,
    resumable_opener,
)

if TYPE_CHECKING:
    from vectorshift.types import RunStatus, StreamChunk

__all__ = ["RunHandler", "ids_of", "raise_for_end", "wait_for_end"]

LONG_POLL_MAX = 30.0
"""The longest ``wait`` a status request asks of a server (docs/protocol.md#long-poll)."""
_FIRST_PACE = 0.05


def _long_poll_wait(remaining: float) -> float:
    """How long to ask the server to hold a status request with ``remaining`` seconds left.

    The poll ends early enough for its answer to arrive before the deadline, so a
    :class:`PollTimeoutError` carries the last status instead of a request cut mid-flight:
    the margin is half the time left up to a second, and never less than a tenth of it.
    """
    margin = max(remaining * 0.1, min(1.0, remaining / 2))
    return min(LONG_POLL_MAX, remaining - margin)


class RunHandler(RunHandlerSync):
    """A handle on one background run: check it, wait for it, or terminate it.

    ``pipeline.start(...)`` returns one. A handler holds only ids, so it can be rebuilt anywhere
    with no request (``RunHandler(pipeline_id, task_id)``, positional as in the official client, or
    ``pipeline.run_handler(task_id)``), and pickled to another process (the client is not
    pickled: the other process uses its default client, or ``client=`` when rebuilding).

    Args:
        pipeline_id: The pipeline that runs.
        task_id: The run's id, as ``start`` returned it.
        trace_id: The run's trace id, when known (it is logged and put in errors).
        client: The client to talk through; the default client when omitted.

    Example:
        >>> handler = pipeline.start({"query": "hello"})
        >>> store(handler.pipeline_id, handler.task_id)          # anywhere: Redis, a database
        >>> handler = RunHandler(pipeline_id=pid, task_id=tid)   # later, in any process
        >>> handler.result(timeout=600)["result"]
        {'answer': '...'}
    """

    __slots__ = ("_client", "_pipeline_id", "_task_id", "_trace_id")

    def __init__(
        self,
        pipeline_id: str,
        task_id: str,
        trace_id: str | None = None,
        *,
        client: Client | None = None,
    ) -> None:
        if not pipeline_id or not isinstance(pipeline_id, str):
            raise ArgumentError(
                f"pipeline_id must be a non-empty string, got {pipeline_id!r}",
                argument="pipeline_id",
            )
        if not task_id or not isinstance(task_id, str):
            raise ArgumentError(
                f"task_id must be a non-empty string, got {task_id!r}", argument="task_id"
            )
        self._pipeline_id = pipeline_id
        self._task_id = task_id
        self._trace_id = trace_id
        self._client = client

    @property
    def pipeline_id(self) -> str:
        """The pipeline that runs."""
        return self._pipeline_id

    @property
    def task_id(self) -> str:
        """The run's id, as ``start`` returned it (see docs/glossary.md: task id)."""
        return self._task_id

    @property
    def trace_id(self) -> str | None:
        """The run's trace id, when it was known as the handler was made.

        A handler does not learn it later; the statuses it returns carry the server's.
        """
        return self._trace_id

    @property
    def client(self) -> Client:
        """The client this handler talks through."""
        return self._client or default_client()

    def __repr__(self) -> str:
        return (
            f"RunHandler(pipeline_id={self.pipeline_id!r}, task_id={self.task_id!r}, "
            f"trace_id={self.trace_id!r})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "task_id": self.task_id, "trace_id": self.trace_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunHandler) and (other.pipeline_id, other.task_id) == (
            self.pipeline_id,
            self.task_id,
        )

    def __hash__(self) -> int:
        return hash((self.pipeline_id, self.task_id))

    async def _status(self, wait: float | None = None) -> RunStatus:
        return await read_status(
            self.client, self.pipeline_id, self.task_id, self.trace_id, wait=wait
        )

    async def arun_status(self) -> RunStatus:
        """Check the run once, without waiting.

        Returns:
            The run's :class:`RunStatus`: ``status`` is one of ``running``, ``succeeded``,
            ``failed``, ``cancelled``; ``result`` holds the outputs once it succeeded.

        Example:
            >>> status = await handler.arun_status()
            >>> if status.is_terminal: ...
        """
        ids = ids_of(self)
        with (
            _intercept.scope(self.client.interceptors, "status", **ids),
            _log.raising("status", **ids),
        ):
            return await self._status()

    async def aresult(self, poll_interval: float = 1.0, timeout: float | None = None) -> RunStatus:
        """Wait until the run ends and return its final status.

        The first check happens at once. Against a server that holds status requests until the
        run ends (docs/protocol.md#long-poll) the end is seen as soon as it happens; otherwise
        checks are paced from 50 ms up to ``poll_interval``. API errors while waiting that the
        client's :class:`RetryPolicy` calls transient (by default rate limits, 5xx, timeouts, lost
        connections) are retried within ``timeout``; they never count as a failure of the run.

        Args:
            poll_interval: The longest pause between two checks, in seconds (default 1.0).
            timeout: How long to wait in all, in seconds. The default, ``None``, waits as long
                as the run takes, as every call that waits for a run does (``run``,
                ``stream``, ``map``...): a deadline is the caller's choice, never a default.

        Returns:
            The final :class:`RunStatus`; ``status["result"]`` is the outputs dict keyed by
            output node name.

        Raises:
            PipelineRunFailedError: the run failed (do not retry: fix the inputs or pipeline).
            PipelineRunCancelledError: the run was terminated.
            PollTimeoutError: the run did not end within ``timeout`` (it may still be running).

        Example:
            >>> final = await handler.aresult(poll_interval=2.0, timeout=600)
            >>> final["result"]["answer"]
        """
        ids = ids_of(self)
        with (
            _intercept.scope(self.client.interceptors, "result", **ids),
            _log.raising("result", **ids),
        ):
            return raise_for_end(await wait_for_end(self, poll_interval, timeout))

    async def aterminate(self) -> RunStatus:
        """Stop the run. Safe to call more than once, and after the run ended.

        Returns:
            The run's status after the request: ``cancelled``, or the final status it had
            already reached (terminating a finished run changes nothing).

        Example:
            >>> await handler.aterminate()
        """
        from vectorshift._schema.answers import ACK

        ids = ids_of(self)
        with (
            _intercept.scope(self.client.interceptors, "terminate", **ids),
            _log.raising("terminate", **ids),
        ):
            try:
                response = await self.client.http.request(
                    "POST",
                    f"/pipeline/{self.pipeline_id}/terminate",
                    json_body={"run_id": self.task_id},
                )
            except ApiError as exc:
                if exc.status_code not in (400, 409, 422):
                    raise
                status = await self._status()
                if not status.is_terminal:
                    raise
                return status
            response.parse(ACK)
            _log.event(
                logging.INFO,
                "asked to terminate run %s",
                self.task_id,
                request_id=response.request_id,
                **ids_of(self),
            )
            return await self._status()

    def astream(
        self, after: str | None = None, *, timeout: float | None = None
    ) -> AsyncStream[StreamChunk]:
        """Watch the run's chunks as they are produced, until its ``result`` chunk.

        Reads the run's replayable events (docs/protocol.md#replayable-events), so a run started in
        the background, by this process or any other, can be followed live: from its first event,
        or from the event after ``after`` (an event id seen before, e.g. ``chunk.id``). Events the
        run already produced are replayed first. A dropped connection is resumed as
        :meth:`Pipeline.astream` does: every chunk is seen once, in order. The request is sent
        when the stream is opened (see :class:`AsyncStream`).

        Args:
            after: The id of the last event already seen; ``None`` starts from the beginning.
                When the run has ended and no event follows ``after`` (it is the ``result``
                frame's id, or past it), the stream ends without chunks.
            timeout: Seconds the whole stream may take, reconnections included. The default,
                ``None``, follows the run as long as it takes, as every call that waits for a
                run does. Past it the stream is closed and
                :class:`~vectorshift.PollTimeoutError` is raised; the run goes on, and
                ``astream(after=...)`` with the last ``chunk.id`` seen follows it again.

        Raises:
            NotFoundError: no such run, or the server does not serve replayable events.
            PipelineRunFailedError: after yielding a failed ``result`` chunk.
            PipelineRunCancelledError: after yielding a cancelled ``result`` chunk.
            StreamInterruptedError: the stream dropped and could not be resumed.
            PollTimeoutError: the stream did not end within ``timeout``; the run goes on.

        Example:
            >>> handler = await pipeline.astart({"query": "hi"})
            >>> async with handler.astream() as chunks:
            ...     async for chunk in chunks:
            ...         print(chunk.output_name, chunk.output_value)
        """
        if after is not None and (not isinstance(after, str) or not after.strip()):
            raise ArgumentError(
                f"after must be an event id (a non-empty string), not {after!r}", argument="after"
            )
        first = byte_opener(
            self.client,
            "GET",
            events_path(self.pipeline_id, self.task_id),
            headers={"Last-Event-ID": after} if after else None,
            retry_mode="safe",
        )
        return AsyncStream(
            resumable_opener(
                self.client,
                first,
                pipeline_id=self.pipeline_id,
                trace_id=self.trace_id,
                task_id=self.task_id,
                after=after,
            ),
            timeout=timeout,
            pipeline_id=self.pipeline_id,
            task_id=self.task_id,
            trace_id=self.trace_id,
            interceptors=self.client.interceptors,
        )


def ids_of(handler: RunHandler) -> dict[str, Any]:
    """The ids every log record and error about ``handler``'s run carries."""
    return {
        "pipeline_id": handler.pipeline_id,
        "task_id": handler.task_id,
        "trace_id": handler.trace_id,
    }


def _status_ids(status: RunStatus) -> dict[str, Any]:
    return {
        "pipeline_id": status.pipeline_id,
        "task_id": status.task_id,
        "trace_id": status.trace_id,
    }


async def wait_for_end(
    handler: RunHandler, poll_interval: float, timeout: float | None
) -> RunStatus:
    """Wait for the run's final status, whatever it is (see :meth:`RunHandler.aresult`).

    Whether the server holds status requests (docs/protocol.md#long-poll) is learnt afresh by each
    wait, in the wait: the handler is not changed.

    Raises:
        PollTimeoutError: the run did not end within ``timeout``.
    """
    check_poll_interval(poll_interval)
    check_timeout(timeout)
    deadline = math.inf if timeout is None else anyio.current_time() + timeout
    pace = min(_FIRST_PACE, poll_interval)
    failures = 0
    long_poll: bool | None = None
    last: RunStatus | None = None
    while True:
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            break
        wait = None if long_poll is False else _long_poll_wait(remaining)
        started = anyio.current_time()
        status: RunStatus | None = None
        with anyio.move_on_after(remaining):
            try:
                status = await handler._status(wait)
            except (BadRequestError, UnprocessableEntityError):
                if wait is None:
                    raise
                long_poll = False
                continue
            except (ApiError, ApiConnectionError) as exc:
                if not handler.client.retry.is_retryable(exc):
                    raise
                delay = handler.client.retry.delay(exc, failures)
                failures += 1
                _log.retrying(
                    f"status check of run {handler.task_id}",
                    exc,
                    failures,
                    delay,
                    **ids_of(handler),
                )
                await anyio.sleep(min(delay, max(deadline - anyio.current_time(), 0)))
                continue
        if status is None:
            break
        failures = 0
        last = status
        if status.is_terminal:
            return status
        if wait is not None and long_poll is None and wait >= 0.2:
            long_poll = anyio.current_time() - started >= wait * 0.5
        if long_poll is False:
            await anyio.sleep(min(pace, max(deadline - anyio.current_time(), 0)))
            pace = min(pace * 2, poll_interval)
    raw = last.raw_status if last is not None else None
    raise PollTimeoutError(
        f"the run did not finish within {timeout}s (last status: {raw or 'none seen'}); it goes "
        "on on the server: wait again with RunHandler(pipeline_id=..., task_id=...).result(), "
        "or stop it with .terminate()",
        timeout=float(timeout or 0),
        last_status=last,
        **ids_of(handler),
    )


def raise_for_end(status: RunStatus) -> RunStatus:
    """Return a succeeded final status; raise the run error of any other one.

    The error names the ids the status carries (its trace id may be one the handler lacked).
    """
    ids = _status_ids(status)
    # A run that did not succeed is raised as well, so only success is news worth INFO.
    _log.event(
        logging.INFO if status.status == "succeeded" else logging.DEBUG,
        "run %s ended: %s",
        status.task_id,
        status.status,
        **ids,
    )
    if status.status == "failed":
        raise PipelineRunFailedError(status.error, **ids)
    if status.status == "cancelled":
        raise PipelineRunCancelledError("the pipeline run was cancelled", **ids)
    return status
