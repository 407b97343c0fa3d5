"""AsyncStream: a streamed response as an async iterator that owns its HTTP connection.

The request is sent when the stream is opened (``async with``, or the first item), so an HTTP
error surfaces there. The response is closed when the stream is exhausted, when ``async with``
exits (normally, by ``break``, by an exception in the consumer, or by cancellation) and on
:meth:`AsyncStream.aclose`.

Typed run streams resume: when the connection drops (or ends) before the ``result`` frame, the
stream reconnects to the run's replayable events (PROTOCOL X3) with ``Last-Event-ID``, so the
consumer sees every frame once, in order. Against a server without X3 it raises
:class:`~vectorshift.errors.StreamInterruptedError` naming the run and the last event id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from typing_extensions import Self

from vectorshift import _log
from vectorshift._files import FormParts, encode_body
from vectorshift._sse import SSEDecoder, aiter_sse, parse_json_object
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    StreamInterruptedError,
)
from vectorshift.types import SSEFrame, StreamChunk

if TYPE_CHECKING:
    from vectorshift._client import Client
    from vectorshift._http import RetryMode

__all__ = [
    "AsyncStream",
    "ByteOpener",
    "Opener",
    "byte_opener",
    "events_path",
    "resumable_opener",
    "sse_opener",
]

T = TypeVar("T")
Opener = Callable[[AsyncExitStack], Awaitable[AsyncIterator[T]]]
"""Sends the request, registers its cleanup on the stack, and returns the items' iterator."""
ByteOpener = Callable[[AsyncExitStack], Awaitable[AsyncIterator[bytes]]]
"""An :data:`Opener` of a response body's raw chunks."""


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


def byte_opener(
    client: Client,
    method: str,
    path: str,
    *,
    json_body: Any = None,
    data: dict[str, str] | None = None,
    files: FormParts | None = None,
    headers: dict[str, str] | None = None,
    retry_mode: RetryMode = "unsafe",
    max_retries: int | None = None,
) -> ByteOpener:
    """Opens ``method path`` as a streamed response and returns its body's byte chunks.

    The body is ``json_body`` as JSON, or multipart form data of ``data`` and ``files``.
    """

    async def open_bytes(stack: AsyncExitStack) -> AsyncIterator[bytes]:
        _, chunks = await stack.enter_async_context(
            client.http.stream(
                method,
                path,
                json_body=json_body,
                data=data,
                files=files,
                headers=headers,
                retry_mode=retry_mode,
                max_retries=max_retries,
            )
        )
        return chunks

    return open_bytes


def sse_opener(
    client: Client, path: str, body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> Opener[SSEFrame]:
    """Opens ``POST path`` as an event stream and yields its raw frames (never resumed)."""
    json_body, data, files = encode_body(body)
    raw = byte_opener(
        client, "POST", path, json_body=json_body, data=data, files=files, headers=headers
    )

    async def open_frames(stack: AsyncExitStack) -> AsyncIterator[SSEFrame]:
        return aiter_sse(await raw(stack))

    return open_frames


def events_path(pipeline_id: str, task_id: str) -> str:
    """The replayable events of a run (PROTOCOL X3)."""
    return f"/pipeline/{pipeline_id}/run/events/{task_id}"


def resumable_opener(
    client: Client,
    first: ByteOpener,
    *,
    pipeline_id: str,
    trace_id: str | None,
    task_id: str | None = None,
    after: str | None = None,
) -> Opener[StreamChunk]:
    """Typed chunks of a run's event stream, resumed through PROTOCOL X3 when it drops.

    Args:
        client: The client to reconnect through.
        first: Opens the first connection (the streaming run, or the run's events).
        pipeline_id: The pipeline of the run.
        trace_id: The run's trace id, put in errors.
        task_id: The run, when known before the first frame (a background run).
        after: The id of the last event already seen, if any: the first connection starts
            after it, and frames up to it are skipped should a server send them again.
    """

    async def open_chunks(stack: AsyncExitStack) -> AsyncIterator[StreamChunk]:
        resumer = _Resumer(
            client, pipeline_id=pipeline_id, trace_id=trace_id, task_id=task_id, after=after
        )
        stack.push_async_callback(resumer.close)
        body = await resumer.connect(first)
        return resumer.chunks(body)

    return open_chunks


_NO_REPLAY = frozenset({404, 405, 501})
"""Statuses of an events request that mean the server does not serve PROTOCOL X3."""


def _seq(event_id: str | None) -> int | None:
    # Sequence numbers are ASCII digits (PROTOCOL X3): isdigit() alone admits '²', which
    # int() refuses, and int() refuses more than 4300 digits; past 20 no 64-bit seq fits.
    if event_id is None or not (event_id.isascii() and event_id.isdigit()):
        return None
    return int(event_id) if len(event_id) <= 20 else None


def _is_newer(event_id: str, last: str | None) -> bool:
    """Whether a numbered frame comes after the last one delivered."""
    if last is None:
        return True
    seq, last_seq = _seq(event_id), _seq(last)
    if seq is None or last_seq is None:
        return event_id != last
    return seq > last_seq


class _Resumer:
    """Reads a run's frames over as many connections as it takes, delivering each frame once.

    Frames are decoded by one :class:`SSEDecoder` for all connections, as an event source does,
    so the ``retry:`` field and the inherited event id carry over. A frame that brings its own
    id not newer than the last one delivered is a replay, and is skipped.
    """

    def __init__(
        self,
        client: Client,
        *,
        pipeline_id: str,
        trace_id: str | None,
        task_id: str | None,
        after: str | None,
    ) -> None:
        self.client = client
        self.pipeline_id = pipeline_id
        self.trace_id = trace_id
        self.task_id = task_id
        self.last_id = after
        self.delivered = 0
        self.failures = 0
        self.decoder = SSEDecoder()
        self._connection: AsyncExitStack | None = None

    def _ids(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "task_id": self.task_id, "trace_id": self.trace_id}

    async def connect(self, opener: ByteOpener) -> AsyncIterator[bytes]:
        """Close the current connection, if any, and open another one with ``opener``."""
        await self.close()
        stack = AsyncExitStack()
        try:
            body = await opener(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._connection = stack
        return body

    async def close(self) -> None:
        """Close the current connection; safe to call more than once."""
        stack, self._connection = self._connection, None
        if stack is not None:
            await stack.aclose()

    async def chunks(self, body: AsyncIterator[bytes]) -> AsyncIterator[StreamChunk]:
        """The chunks of the run, from ``body`` and then from reconnections, until the result."""
        try:
            while True:
                cause: ApiConnectionError | None = None
                in_force = self.decoder.last_event_id
                try:
                    async for data in body:
                        for frame in self.decoder.feed(data):
                            own_id = frame.id if frame.id != in_force else None
                            in_force = frame.id
                            if own_id is not None and not _is_newer(own_id, self.last_id):
                                continue
                            chunk = self._accept(frame, own_id)
                            yield chunk
                            if chunk.type == "result":
                                self._raise_for_result(chunk)
                                return
                except ApiConnectionError as exc:
                    cause = exc
                self.decoder.close()
                await self.close()
                body = await self._reconnect(cause)
        finally:
            await self.close()

    def _accept(self, frame: SSEFrame, own_id: str | None) -> StreamChunk:
        chunk = StreamChunk.from_frame(parse_json_object(frame), frame.id)
        self.task_id = chunk.run_id or self.task_id
        if own_id is not None:
            self.last_id = own_id
        self.delivered += 1
        self.failures = 0
        return chunk

    def _raise_for_result(self, chunk: StreamChunk) -> None:
        if chunk.status == "failed":
            raise PipelineRunFailedError(chunk.error, **self._ids())
        if chunk.status == "cancelled":
            raise PipelineRunCancelledError("the pipeline run was cancelled", **self._ids())

    def _interrupted(self, reason: str, cause: BaseException | None) -> StreamInterruptedError:
        detail = f" ({cause})" if cause is not None else ""
        error = StreamInterruptedError(
            f"the stream ended before its result frame and {reason}{detail}",
            task_id=self.task_id,
            last_event_id=self.last_id,
        )
        error.__cause__ = cause
        _log.failure(error, "stream", **self._ids())
        return error

    async def _reconnect(self, cause: ApiConnectionError | None) -> AsyncIterator[bytes]:
        if self.task_id is None:
            raise self._interrupted("no frame named its run, so it cannot be resumed", cause)
        if self.last_id is None and self.delivered:
            raise self._interrupted("its frames carry no ids, so it cannot be resumed", cause)
        policy = self.client.retry
        # A stream that ends before its result frame lost its connection, error or not.
        lost = cause or ApiConnectionError(
            "the stream ended before its result frame",
            method="GET",
            url=events_path(self.pipeline_id, self.task_id),
        )
        if not policy.is_retryable(lost):
            raise self._interrupted("the retry policy does not resume lost connections", cause)
        failure: ApiError | ApiConnectionError | None = cause
        while True:
            if self.failures >= policy.max_retries:
                reason = (
                    f"{self.failures} reconnection(s) in a row failed"
                    if self.failures
                    else "the retry policy allows no reconnection (max_retries=0)"
                )
                raise self._interrupted(reason, failure)
            hint = None if self.decoder.retry is None else self.decoder.retry / 1000.0
            delay = policy.delay(failure, self.failures, hint=hint)
            self.failures += 1
            # A stream that broke and is resumed is news the caller gets no exception for.
            _log.event(
                logging.INFO,
                "stream of run %s broke after event %s (%s); reconnection %d/%d in %.2fs",
                self.task_id, self.last_id, failure or "it ended early", self.failures,
                policy.max_retries, delay,
                attempt=self.failures, **self._ids(),
            )
            await anyio.sleep(delay)
            headers = {"Last-Event-ID": self.last_id} if self.last_id else None
            opener = byte_opener(
                self.client,
                "GET",
                events_path(self.pipeline_id, self.task_id),
                headers=headers,
                retry_mode="safe",
                max_retries=0,
            )
            try:
                return await self.connect(opener)
            except ApiError as exc:
                if exc.status_code in _NO_REPLAY:
                    reason = f"the server does not replay events (HTTP {exc.status_code})"
                    raise self._interrupted(reason, exc) from exc
                if not policy.is_retryable(exc):
                    raise self._interrupted("resuming it was refused", exc) from exc
                failure = exc
            except ApiConnectionError as exc:
                if not policy.is_retryable(exc):
                    raise self._interrupted("reconnecting failed", exc) from exc
                failure = exc
