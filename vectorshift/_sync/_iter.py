"""Sync iteration over async iterators and async streams, on the private event loop.

Every operation on one async object (each ``__anext__``, ``__aenter__``, ``aclose``) runs inside
the same task on the private loop, as it would under ``async for`` / ``async with``. That matters
for async generators that hold an anyio cancel scope or task group across a ``yield``: those
may only be resumed and closed by the task that entered them.

Closing is never left to chance: exhausting, breaking out of a ``for`` loop, an exception, and
leaving a ``with`` block all close the async object and whatever HTTP response it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from typing_extensions import Self

from vectorshift._sync._loop import call_soon_on_private_loop, in_private_loop_thread, run_sync

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")

_Op = Callable[[], Awaitable[Any]]
_Job = tuple[_Op, asyncio.Future[Any] | None, bool]


class _Pinned:
    """Runs operations, one after another, inside one worker task on the private loop.

    The worker is started by the first operation and ends after the one submitted as the last
    (the close). A worker that was cancelled (Ctrl-C) is replaced by a new one on the next call.
    """

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        """Whether any operation was ever submitted."""
        return self._worker is not None

    def call(self, op: Callable[[], Awaitable[R]]) -> R:
        """Run ``op()`` in the worker task and wait for its result."""
        result: R = run_sync(self._submit(op, last=False))
        return result

    def finish(self, op: Callable[[], Awaitable[R]]) -> R:
        """Run ``op()`` (the close) in the worker task, wait for it, and end the worker."""
        result: R = run_sync(self._submit(op, last=True))
        return result

    def finish_soon(self, op: _Op) -> None:
        """Like :meth:`finish`, but without waiting: usable from any thread and from ``__del__``.

        Errors raised by ``op`` go to the private loop's exception handler (logged).
        """
        call_soon_on_private_loop(functools.partial(self._enqueue, op, None, True))

    def finish_from_anywhere(self, op: _Op) -> None:
        """Close now when the caller may block, else soon (on the loop thread, at shutdown)."""
        if in_private_loop_thread() or sys.is_finalizing():
            self.finish_soon(op)
        else:
            self.finish(op)

    def _enqueue(self, op: _Op, future: asyncio.Future[Any] | None, last: bool) -> None:
        loop = asyncio.get_running_loop()
        worker = self._worker
        if self._inbox is None or worker is None or worker.done() or worker.get_loop() is not loop:
            self._inbox = asyncio.Queue()
            self._worker = loop.create_task(_serve(self._inbox))
        self._inbox.put_nowait((op, future, last))

    async def _submit(self, op: Callable[[], Awaitable[R]], last: bool) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._enqueue(op, future, last)
        try:
            return await future
        except asyncio.CancelledError:
            # The waiting thread gave up (Ctrl-C): stop the operation itself and let it clean up.
            worker = self._worker
            if worker is not None and not worker.done():
                worker.cancel()
                await asyncio.wait({worker})
            raise


async def _serve(inbox: asyncio.Queue[_Job]) -> None:
    while True:
        op, future, last = await inbox.get()
        try:
            result = await op()
        except asyncio.CancelledError:
            if future is not None:
                future.cancel()
            raise
        except BaseException as exc:
            if future is None:
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "vectorshift: closing an abandoned stream failed", "exception": exc}
                )
            elif not future.done():
                future.set_exception(exc)
        else:
            if future is not None and not future.done():
                future.set_result(result)
        if last:
            return


def iterate_sync(aiterator: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, item by item, on the private loop.

    The async iterator is closed (``aclose()``, when it has one) as soon as this generator ends:
    exhausted, on an exception, or when the ``for`` loop over it breaks (the generator is then
    released and closed, which runs this function's ``finally``).

    Args:
        aiterator: Typically a fresh async generator.

    Yields:
        The items of ``aiterator``.

    Example:
        >>> for chunk in iterate_sync(pipeline.astream(inputs)):
        ...     print(chunk)
    """
    pinned = _Pinned()
    try:
        while True:
            try:
                item: T = pinned.call(aiterator.__anext__)
            except StopAsyncIteration:
                return
            yield item
    finally:
        pinned.finish_from_anywhere(_closer(aiterator))


def _closer(obj: object) -> _Op:
    aclose = getattr(obj, "aclose", None)
    return aclose if callable(aclose) else _nothing


async def _nothing() -> None:
    return None


@runtime_checkable
class AsyncStreamLike(Protocol[T_co]):
    """What :class:`SyncStream` wraps: an async iterator that is also an async context manager.

    Runtime-checkable, so generated code can tell a stream apart from other results.
    """

    def __aenter__(self) -> Awaitable[object]: ...

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> Awaitable[bool | None]: ...

    def __anext__(self) -> Awaitable[T_co]: ...

    def aclose(self) -> Awaitable[object]: ...


class SyncStream(Generic[T]):
    """A blocking view of an SDK async stream: a context manager and an iterator.

    Inside a ``with`` block the block owns the stream: leaving it (normally, by ``break`` or by
    an exception) calls the stream's ``__aexit__``, which closes it. Used without ``with``, the
    stream is closed when it is exhausted, when reading it raises, when ``close()`` is called,
    and when a ``for`` loop over it breaks: ``iter(stream)`` is a generator that closes the
    stream when it is released. A stream that was started and then dropped without any of these
    is closed in the background when it is garbage collected (``__del__``).

    Example:
        >>> with pipeline.stream(inputs) as stream:
        ...     for chunk in stream:
        ...         print(chunk)
    """

    def __init__(self, stream: AsyncStreamLike[T]) -> None:
        self._stream = stream
        self._pinned = _Pinned()
        self._entered = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the underlying stream was closed (or exited) through this object."""
        return self._closed

    def __repr__(self) -> str:
        # The async stream's repr names the run and its state; this view adds nothing to it.
        inner = repr(self._stream)
        prefix = "AsyncStream("
        return "SyncStream(" + (inner[len(prefix) :] if inner.startswith(prefix) else inner + ")")

    def __enter__(self) -> Self:
        if self._entered or self._closed:
            raise RuntimeError("vectorshift: a stream can be entered once, before it is closed")
        self._entered = True
        try:
            self._pinned.call(self._stream.__aenter__)
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._closed:
            return None
        self._closed = True
        suppress: bool | None = self._pinned.finish(
            functools.partial(self._stream.__aexit__, exc_type, exc, tb)
        )
        return suppress

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                try:
                    item = next(self)
                except StopIteration:
                    return
                yield item
        finally:
            if not (self._entered or self._closed):
                self._closed = True
                self._pinned.finish_from_anywhere(self._stream.aclose)

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            item: T = self._pinned.call(self._stream.__anext__)
        except StopAsyncIteration:
            if not self._entered:
                self.close()
            raise StopIteration from None
        except BaseException:
            if not self._entered:
                self._abort()
            raise
        return item

    def close(self) -> None:
        """Close the underlying stream and release its connection; closing again does nothing."""
        if not self._closed:
            self._closed = True
            self._pinned.finish(self._stream.aclose)

    def _abort(self) -> None:
        """Close after a failure; the failure matters more than an error while closing."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self._pinned.finish(self._stream.aclose)

    def __del__(self) -> None:
        if not self._closed and self._pinned.started:
            self._closed = True
            self._pinned.finish_soon(self._stream.aclose)
