"""AsyncStream: a streamed response as an async iterator that owns its HTTP connection.

The request is sent when the stream is opened (``async with``, or the first item), so an HTTP
error surfaces there. The response is closed when the stream is exhausted, when ``async with``
exits (normally, by ``break``, by an exception in the consumer, or by cancellation) and on
:meth:`AsyncStream.aclose`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Self

from vectorshift._sse import aiter_sse, parse_json_object
from vectorshift.errors import (
    ApiConnectionError,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    StreamInterruptedError,
)
from vectorshift.types import SSEFrame, StreamChunk, normalize_status

if TYPE_CHECKING:
    from vectorshift._client import Client

__all__ = ["AsyncStream", "Opener", "chunk_opener", "sse_opener"]

T = TypeVar("T")
Opener = Callable[[AsyncExitStack], Awaitable[AsyncIterator[T]]]
"""Sends the request, registers its cleanup on the stack, and returns the items' iterator."""


class AsyncStream(Generic[T]):
    """An open-on-demand stream of items from one streamed HTTP response.

    Example:
        >>> async with pipeline.astream({"query": "hi"}) as chunks:
        ...     async for chunk in chunks:
        ...         print(chunk.output_value, end="")
    """

    def __init__(self, opener: Opener[T]) -> None:
        self._opener = opener
        self._stack: AsyncExitStack | None = None
        self._items: AsyncIterator[T] | None = None
        self._closed = False

    async def _open(self) -> AsyncIterator[T]:
        if self._items is not None:
            return self._items
        if self._closed:
            raise RuntimeError("this stream is closed; start a new one")
        stack = AsyncExitStack()
        try:
            self._items = await self._opener(stack)
        except BaseException:
            await stack.aclose()
            self._closed = True
            raise
        self._stack = stack
        return self._items

    async def aopen(self) -> Self:
        """Send the request now (``async with`` does this); HTTP errors are raised here."""
        await self._open()
        return self

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
            return await items.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Close the HTTP response; safe to call more than once."""
        self._closed = True
        items, self._items = self._items, None
        stack, self._stack = self._stack, None
        try:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            if stack is not None:
                await stack.aclose()


def sse_opener(
    client: Client, path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> Opener[SSEFrame]:
    """Opens ``POST path`` as an event stream and yields its raw frames."""

    async def open_frames(stack: AsyncExitStack) -> AsyncIterator[SSEFrame]:
        _, chunks = await stack.enter_async_context(
            client.http.stream("POST", path, json_body=body, headers=headers)
        )
        return aiter_sse(chunks)

    return open_frames


def chunk_opener(
    frames: Opener[SSEFrame], *, pipeline_id: str, trace_id: str | None
) -> Opener[StreamChunk]:
    """Decodes frames into :class:`StreamChunk`; raises after a failed or cancelled result."""

    async def open_chunks(stack: AsyncExitStack) -> AsyncIterator[StreamChunk]:
        return _chunks(await frames(stack), pipeline_id=pipeline_id, trace_id=trace_id)

    return open_chunks


async def _chunks(
    frames: AsyncIterator[SSEFrame], *, pipeline_id: str, trace_id: str | None
) -> AsyncIterator[StreamChunk]:
    run_id: str | None = None
    last_id: str | None = None
    cause: ApiConnectionError | None = None
    try:
        async for frame in frames:
            chunk = StreamChunk.from_frame(parse_json_object(frame), frame.id)
            run_id = chunk.run_id or run_id
            last_id = frame.id
            yield chunk
            if chunk.type != "result":
                continue
            state, _ = normalize_status(chunk.status)
            ids = {"pipeline_id": pipeline_id, "task_id": run_id, "trace_id": trace_id}
            if state == "failed":
                raise PipelineRunFailedError(chunk.error, **ids)
            if state == "cancelled":
                raise PipelineRunCancelledError("the pipeline run was cancelled", **ids)
            return
    except ApiConnectionError as exc:
        cause = exc
    finally:
        aclose = getattr(frames, "aclose", None)
        if aclose is not None:
            await aclose()
    reason = f" ({cause})" if cause is not None else ""
    raise StreamInterruptedError(
        f"the stream ended before its result frame{reason}",
        task_id=run_id,
        last_event_id=last_id,
    ) from cause
