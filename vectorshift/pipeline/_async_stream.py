"""AsyncStream: a streamed response as an async iterator that owns its HTTP connection.

The request is sent when the stream is opened (``async with``, the first item, or ``await``), so
an HTTP error surfaces there. The response is closed when the stream is exhausted, when ``async
with`` exits (normally, by ``break``, by an exception in the consumer, or by cancellation) and on
:meth:`AsyncStream.aclose`.

A stream's ``timeout=`` is its deadline: it covers all of it, from the request to the last item
(reconnections of a resumed run stream included), and ends it with
:class:`~vectorshift.errors.PollTimeoutError` naming the run, which goes on. Each step runs in a
cancel scope of its own, entered and left within the step, so no scope spans a ``yield``. The
bounds on one connection (response start, idle reads) are the openers' (:mod:`._stream`).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio
from typing_extensions import Self

from vectorshift import _intercept, _log
from vectorshift._sse import SSEFrame
from vectorshift.errors import ArgumentError, PollTimeoutError

if TYPE_CHECKING:
    from vectorshift._intercept import Interceptor, Operation
    from vectorshift.types import StreamChunk

__all__ = ["AsyncStream", "Opener", "StreamState", "check_poll_interval", "check_timeout"]

T = TypeVar("T")
Opener = Callable[[AsyncExitStack], Awaitable[AsyncIterator[T]]]
"""Sends the request, registers its cleanup on the stack, and returns the items' iterator."""


def _positive_seconds(value: object) -> bool:
    """Whether ``value`` is a positive, finite-or-infinite number of seconds (not a bool, not
    NaN)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
        and not math.isnan(value)
    )


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` when it is ``None`` or a positive number of seconds.

    Raises:
        ArgumentError: it is zero, negative or NaN (a ``ValueError``).
    """
    if timeout is not None and not _positive_seconds(timeout):
        raise ArgumentError(
            f"timeout must be a positive number of seconds or None, not {timeout!r}",
            argument="timeout",
        )
    return timeout


def check_poll_interval(poll_interval: float) -> float:
    """``poll_interval`` when it is a positive number of seconds.

    Raises:
        ArgumentError: it is zero, negative or NaN (a ``ValueError``).
    """
    if not _positive_seconds(poll_interval):
        raise ArgumentError(
            f"poll_interval must be a positive number of seconds, not {poll_interval!r}",
            argument="poll_interval",
        )
    return poll_interval


StreamState = Literal["not opened", "open", "ended", "closed"]


class AsyncStream(Generic[T]):
    """An open-on-demand stream of items from one streamed HTTP response.

    Every async streaming call of the SDK returns one, and the same rule holds for all of
    them: use the stream directly in ``async with`` / ``async for`` (the request is sent when
    it is entered or first read), or ``await`` it first, which sends the request now (HTTP
    errors are raised there) and gives back the same stream, open.

    Args:
        opener: Sends the request and returns the items' iterator (see :data:`Opener`).
        timeout: Seconds the whole stream may take, from the request to its last item;
            ``None`` for no deadline. Past it the stream is closed and reading raises
            :class:`~vectorshift.errors.PollTimeoutError` naming the run, which goes on.
        pipeline_id: The pipeline of the run, for its repr and errors.
        task_id: The run, when known before the first item (else learnt from the items).
        trace_id: The run's trace id, for errors.
        interceptors: The client's interceptors: the stream is one operation for them, from
            its request to its end or close, and its connections and reconnections belong to it.
        operation: The operation's name: ``stream``, or ``run`` for ``run(stream=True)``.

    Attributes:
        pipeline_id: The pipeline of the run.
        task_id: The run, once known (given, or read from the first item that names it).
        trace_id: The run's trace id, when known.
        last_event_id: The id of the last item delivered that had one: the ``after=`` with
            which ``RunHandler.astream`` follows the run again.
        delivered: How many items were delivered.
        run_status: The status of the ``result`` item, once delivered.

    Example:
        >>> async with pipeline.astream({"query": "hi"}) as chunks:
        ...     async for chunk in chunks:
        ...         print(chunk.output_value, end="")
        >>> chunks = await pipeline.astream({"query": "hi"}, timeout=60)  # sent now
    """

    def __init__(
        self,
        opener: Opener[T],
        *,
        timeout: float | None = None,
        pipeline_id: str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
        interceptors: Sequence[Interceptor] = (),
        operation: str = "stream",
    ) -> None:
        self._opener = opener
        self._interceptors = interceptors
        self._operation_name = operation
        self._operation: Operation | None = None
        self._stack: AsyncExitStack | None = None
        self._items: AsyncIterator[T] | None = None
        self._closed = False
        self._ended = False
        self._timeout = check_timeout(timeout)
        self._deadline: float | None = None
        self.pipeline_id = pipeline_id
        self.task_id = task_id
        self.trace_id = trace_id
        self.last_event_id: str | None = None
        self.delivered = 0
        self.run_status: str | None = None

    @property
    def state(self) -> StreamState:
        """``not opened`` (no request yet), ``open``, ``ended`` (exhausted) or ``closed``."""
        if self._ended:
            return "ended"
        if self._closed:
            return "closed"
        return "open" if self._items is not None else "not opened"

    def __repr__(self) -> str:
        run = f"task_id={self.task_id!r}" if self.task_id else "task_id=<not known yet>"
        parts = [f"pipeline_id={self.pipeline_id!r}", run, f"state={self.state!r}"]
        parts.append(f"delivered={self.delivered}")
        if self.last_event_id is not None:
            parts.append(f"last_event_id={self.last_event_id!r}")
        if self.run_status is not None:
            parts.append(f"run_status={self.run_status!r}")
        if self._timeout is not None:
            parts.append(f"timeout={self._timeout}")
        return f"AsyncStream({', '.join(parts)})"

    def _remaining(self) -> float:
        if self._deadline is None:
            if self._timeout is None:
                return math.inf
            self._deadline = anyio.current_time() + self._timeout
        return self._deadline - anyio.current_time()

    def _timed_out(self) -> PollTimeoutError:
        last = f", after event {self.last_event_id}" if self.last_event_id is not None else ""
        resume = (
            f"; follow it again with pipeline.run_handler({self.task_id!r}).stream("
            f"after={self.last_event_id!r}), or stop it with .terminate()"
            if self.task_id
            else ""
        )
        error = PollTimeoutError(
            f"the stream did not end within {self._timeout}s ({self.delivered} item(s) "
            f"delivered{last}); the run goes on on the server{resume}",
            timeout=float(self._timeout or 0),
            pipeline_id=self.pipeline_id,
            task_id=self.task_id,
            trace_id=self.trace_id,
        )
        _log.failure(
            error,
            "stream",
            pipeline_id=self.pipeline_id,
            task_id=self.task_id,
            trace_id=self.trace_id,
        )
        return error

    async def _open(self) -> AsyncIterator[T]:
        if self._items is not None:
            return self._items
        if self._closed:
            raise RuntimeError("this stream is closed; start a new one")
        stack = AsyncExitStack()
        items: AsyncIterator[T] | None = None
        self._operation = _intercept.begin(
            self._interceptors,
            self._operation_name,
            pipeline_id=self.pipeline_id,
            task_id=self.task_id,
            trace_id=self.trace_id,
        )
        try:
            with anyio.move_on_after(self._remaining()), _intercept.activate(self._operation):
                items = await self._opener(stack)
            if items is None:
                raise self._timed_out()
        except BaseException as exc:
            await stack.aclose()
            self._closed = True
            self._end_operation(exc)
            raise
        self._items, self._stack = items, stack
        return items

    async def aopen(self) -> Self:
        """Send the request now (as ``async with`` and ``await`` do); HTTP errors raise here."""
        await self._open()
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self.aopen().__await__()

    async def __aenter__(self) -> Self:
        return await self.aopen()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        items = await self._open()
        try:
            with (
                anyio.move_on_after(self._remaining()) as scope,
                _intercept.activate(self._operation),
            ):
                item = await items.__anext__()
            if scope.cancelled_caught:
                raise self._timed_out()
        except StopAsyncIteration:
            self._ended = True
            await self.aclose()
            raise
        except BaseException as exc:
            self._end_operation(exc)
            await self.aclose()
            raise
        self._note(item)
        return item

    def _end_operation(self, error: BaseException | None) -> None:
        """End the stream's operation (once), with the ids the stream learnt."""
        operation, self._operation = self._operation, None
        if operation is not None:
            operation.task_id = operation.task_id or self.task_id
            operation.trace_id = operation.trace_id or self.trace_id
            if self.last_event_id is not None:
                operation.attributes.setdefault("vectorshift.last_event_id", self.last_event_id)
            operation.attributes.setdefault("vectorshift.delivered", self.delivered)
            operation._end(error)

    def _note(self, item: T) -> None:
        """Learn the run's id, the last event id and the run's end from a delivered item."""
        self.delivered += 1
        if isinstance(item, SSEFrame):
            self.last_event_id = item.id or self.last_event_id
            if self.task_id is None or item.event == "result":
                try:
                    data = json.loads(item.data)
                except (ValueError, RecursionError):
                    return
                if isinstance(data, dict):
                    run_id = data.get("run_id") or data.get("pipeline_run_id")
                    self.task_id = self.task_id or (run_id if isinstance(run_id, str) else None)
                    status = data.get("status")
                    if data.get("type") == "result" and isinstance(status, str):
                        self.run_status = status
        elif isinstance(item, _chunk_class()):
            self.task_id = self.task_id or item.run_id
            self.last_event_id = item.id or self.last_event_id
            if item.type == "result":
                self.run_status = item.status

    async def aclose(self) -> None:
        """Close the HTTP response; safe to call more than once."""
        self._closed = True
        self._end_operation(None)
        items, self._items = self._items, None
        stack, self._stack = self._stack, None
        try:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            if stack is not None:
                await stack.aclose()


_CHUNK: list[type[StreamChunk]] = []


def _chunk_class() -> type[StreamChunk]:
    """:class:`~vectorshift.StreamChunk`, imported when the first item is noted (not before:
    importing it imports pydantic)."""
    if not _CHUNK:
        from vectorshift.types import StreamChunk

        _CHUNK.append(StreamChunk)
    return _CHUNK[0]
