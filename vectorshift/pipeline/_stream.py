"""Openers of streamed responses, and the resumption of run streams that drop.

An opener (:data:`~._async_stream.Opener`) sends a request and returns its items; an
:class:`~._async_stream.AsyncStream` calls it when it is opened.

Typed run streams resume: when the connection drops (or ends) before the ``result`` frame, the
stream reconnects to the run's replayable events (docs/protocol.md#replayable-events) with
``Last-Event-ID``, so the consumer sees every frame once, in order. Against a server without them
it raises :class:`~vectorshift.errors.StreamInterruptedError` naming the run and the last event id.
A stream that breaks before any frame named its run is started again with the same key, where the
server replays keyed streaming starts (:mod:`vectorshift.pipeline._keyed_start`).

No connection waits unbounded (:mod:`vectorshift.pipeline._stream_bounds`): its response must
begin within the client's per-request read timeout, and a body silent for
``client.stream_idle_timeout`` counts as lost, like a dropped one, so a typed stream resumes.
The whole stream's deadline is the :class:`~._async_stream.AsyncStream`'s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio

from vectorshift import _intercept, _log
from vectorshift._files import FormParts
from vectorshift._sse import SSEDecoder, SSEFrame, aiter_sse
from vectorshift.errors import (
    ApiConnectionError,
    ApiError,
    PipelineRunCancelledError,
    PipelineRunFailedError,
    StreamInterruptedError,
)
from vectorshift.pipeline._async_stream import AsyncStream, Opener
from vectorshift.pipeline._keyed_start import StreamingStart
from vectorshift.pipeline._stream_bounds import bounded_open

if TYPE_CHECKING:
    from vectorshift._client import Client
    from vectorshift._http import RetryMode
    from vectorshift.types import RunStatus, StreamChunk

# AsyncStream and Opener live in _async_stream; they are named here too for the code that
# imported them from this module before they moved.
__all__ = [
    "AsyncStream",
    "ByteOpener",
    "Opener",
    "byte_opener",
    "events_path",
    "read_status",
    "resumable_opener",
    "sse_opener",
]

ByteOpener = Callable[[AsyncExitStack], Awaitable[AsyncIterator[bytes]]]
"""An :data:`Opener` of a response body's raw chunks."""


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

    The body is ``json_body`` as JSON, or multipart form data of ``data`` and ``files``. The
    response must begin within the client's per-request read timeout, and the body may then
    be silent for at most the client's stream idle timeout between two chunks; either bound
    passing raises :class:`~vectorshift.errors.ApiTimeoutError` (a lost connection, which a
    typed run stream resumes).
    """

    async def open_bytes(stack: AsyncExitStack) -> AsyncIterator[bytes]:
        response = client.http.stream(
            method,
            path,
            json_body=json_body,
            data=data,
            files=files,
            headers=headers,
            retry_mode=retry_mode,
            max_retries=max_retries,
        )
        _, chunks = await bounded_open(client, stack, response, method, path)
        return chunks

    return open_bytes


def sse_opener(raw: ByteOpener) -> Opener[SSEFrame]:
    """The raw frames of the event stream ``raw`` opens (never resumed)."""

    async def open_frames(stack: AsyncExitStack) -> AsyncIterator[SSEFrame]:
        return aiter_sse(await raw(stack))

    return open_frames


def events_path(pipeline_id: str, task_id: str) -> str:
    """The replayable events of a run (docs/protocol.md#replayable-events)."""
    return f"/pipeline/{pipeline_id}/run/events/{task_id}"


async def read_status(
    client: Client,
    pipeline_id: str,
    task_id: str,
    trace_id: str | None,
    wait: float | None = None,
) -> RunStatus:
    """A run's status (docs/protocol.md#platform-endpoints); with ``wait``, a long-poll of up
    to that many seconds (docs/protocol.md#long-poll)."""
    from vectorshift._schema.answers import RUN_STATUS, StatusIds

    path = f"/pipeline/{pipeline_id}/run/status/{task_id}"
    if wait is None:
        response = await client.http.request("GET", path)
    else:
        response = await client.http.request(
            "GET",
            path,
            params={"wait": f"{wait:.3f}".rstrip("0").rstrip(".")},
            read_timeout=wait + 15.0,
        )
    status = response.parse(RUN_STATUS, StatusIds(pipeline_id, task_id, trace_id))
    _log.event(
        logging.DEBUG,
        "run %s is %s",
        task_id,
        status.raw_status,
        request_id=response.request_id,
        pipeline_id=pipeline_id,
        task_id=task_id,
        trace_id=trace_id,
    )
    return status


def resumable_opener(
    client: Client,
    first: ByteOpener,
    *,
    pipeline_id: str,
    trace_id: str | None,
    task_id: str | None = None,
    after: str | None = None,
) -> Opener[StreamChunk]:
    """Typed chunks of a run's event stream, resumed through docs/protocol.md#replayable-events
    when it drops.

    Args:
        client: The client to reconnect through.
        first: Opens the first connection (the streaming run, or the run's events). A
            :class:`StreamingStart` is also sent again when the stream breaks before any frame
            named its run, if the server declared that it replays keyed streaming starts.
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
        resumer.restart = first if isinstance(first, StreamingStart) else None
        stack.push_async_callback(resumer.close)
        body = await resumer.connect(first)
        return resumer.chunks(body)

    return open_chunks


_NO_REPLAY = frozenset({404, 405, 501})
"""Statuses of an events request that mean the server does not serve replayable events."""


def _seq(event_id: str | None) -> int | None:
    # Sequence numbers are ASCII digits: isdigit() alone admits '²', which
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

    Each connection gets its own :class:`SSEDecoder`, so a frame's id is its own only when its
    block (or an earlier block of the same connection) set it: an id inherited from the last
    connection would make a replayed frame look like a new unnumbered one. The latest
    ``retry:`` field carries over, as in an event source. A frame that brings its own id not
    newer than the last one delivered is a replay, and is skipped.

    A resumed connection must make progress: an unnumbered frame on it before any newer
    numbered one cannot be told from a frame sent again, so the stream gives up rather than
    deliver it twice; and a reconnection that delivers nothing counts as a failure, so a server
    that keeps resending old frames exhausts the retry budget instead of looping for ever.

    A stream that starts after an event (``after``) and whose first connection ends cleanly
    without a single frame asks the run's status once: when the run has ended, its ``result``
    frame was at or before ``after`` (the caller saw it), so the stream ends without chunks
    instead of reconnecting until it gives up.
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
        self.retry_ms: int | None = None
        self.restart: StreamingStart | None = None
        self._asked_whether_ended = False
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
        from vectorshift._schema.frames import chunk_of

        try:
            while True:
                cause: ApiConnectionError | None = None
                decoder = SSEDecoder()
                in_force: str | None = None
                # Frames up to last_id were delivered (or skipped by ``after``): until a newer
                # numbered frame comes, an unnumbered one may be one of them sent again.
                unplaced = self.last_id is not None
                framed = False
                try:
                    async for data in body:
                        for frame in decoder.feed(data):
                            framed = True
                            own_id = frame.id if frame.id != in_force else None
                            in_force = frame.id
                            if own_id is not None and not _is_newer(own_id, self.last_id):
                                continue
                            chunk = chunk_of(frame)
                            if own_id is not None:
                                unplaced = False
                            elif unplaced and chunk.type != "result":
                                raise self._unplaceable()
                            self._accept(chunk, own_id)
                            yield chunk
                            if chunk.type == "result":
                                self._raise_for_result(chunk)
                                return
                except ApiConnectionError as exc:
                    cause = exc
                if decoder.retry is not None:
                    self.retry_ms = decoder.retry
                decoder.close()
                await self.close()
                if cause is None and not framed and await self._ended_at_or_before_after():
                    return
                body = await self._reconnect(cause)
        finally:
            await self.close()

    async def _ended_at_or_before_after(self) -> bool:
        """Whether nothing can follow ``after``: the run has ended (asked once, and only while
        nothing was delivered). A status that cannot be read counts as not ended."""
        if self._asked_whether_ended or self.delivered or None in (self.last_id, self.task_id):
            return False
        assert self.task_id is not None
        self._asked_whether_ended = True
        try:
            status = await read_status(self.client, self.pipeline_id, self.task_id, self.trace_id)
        except (ApiError, ApiConnectionError):
            return False
        if status.is_terminal:
            _log.event(
                logging.INFO,
                "run %s had %s at or before event %s: nothing follows it",
                self.task_id,
                status.status,
                self.last_id,
                **self._ids(),
            )
        return status.is_terminal

    def _accept(self, chunk: StreamChunk, own_id: str | None) -> None:
        self.task_id = chunk.run_id or self.task_id
        if own_id is not None:
            self.last_id = own_id
        self.delivered += 1
        self.failures = 0

    def _unplaceable(self) -> StreamInterruptedError:
        return self._interrupted(
            "was resumed with frames that carry no ids, so frames sent again cannot be told "
            "from new ones; it stopped rather than deliver a frame twice",
            None,
        )

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
        restart = self.restart if self.task_id is None else None
        if self.task_id is None and (restart is None or not restart.replays):
            raise self._interrupted("no frame named its run, so it cannot be resumed", cause)
        if self.last_id is None and self.delivered:
            raise self._interrupted("its frames carry no ids, so it cannot be resumed", cause)
        policy = self.client.retry
        # A stream that ends before its result frame lost its connection, error or not.
        lost = cause or ApiConnectionError(
            "the stream ended before its result frame",
            method="GET" if restart is None else "POST",
            url=events_path(self.pipeline_id, self.task_id or "")
            if restart is None
            else restart.path,
        )
        if not policy.is_retryable(lost):
            raise self._interrupted("the retry policy does not resume lost connections", cause)
        failure: ApiError | ApiConnectionError | None = cause
        while True:
            if self.failures >= policy.max_retries:
                if not self.failures:
                    reason = "the retry policy allows no reconnection (max_retries=0)"
                elif failure is None:
                    reason = f"{self.failures} reconnection(s) in a row brought no new frame"
                else:
                    reason = f"{self.failures} reconnection(s) in a row failed"
                raise self._interrupted(reason, failure)
            hint = None if self.retry_ms is None else self.retry_ms / 1000.0
            delay = policy.delay(failure, self.failures, hint=hint)
            self.failures += 1
            # A stream that broke and is resumed is news the caller gets no exception for.
            _log.event(
                logging.INFO,
                "stream of run %s broke after event %s (%s); reconnection %d/%d in %.2fs",
                self.task_id,
                self.last_id,
                failure or "it ended early",
                self.failures,
                policy.max_retries,
                delay,
                attempt=self.failures,
                **self._ids(),
            )
            _intercept.report(
                "reconnect",
                attempt=self.failures,
                delay=delay,
                last_event_id=self.last_id or "",
                cause=_log.cause_of(failure),
            )
            await anyio.sleep(delay)
            if restart is not None:  # the same key: the server replays the run it started
                opener: ByteOpener = restart.attempt
            else:
                assert self.task_id is not None
                opener = byte_opener(
                    self.client,
                    "GET",
                    events_path(self.pipeline_id, self.task_id),
                    headers={"Last-Event-ID": self.last_id} if self.last_id else None,
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
