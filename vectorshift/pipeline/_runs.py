"""Running a pipeline: blocking, streamed, in the background, in bulk and fanned out.

:class:`PipelineRuns` holds the run methods of :class:`~vectorshift.Pipeline`, which is its only
subclass; it adds nothing of its own but the ``client`` the runs go through.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Coroutine, Iterable, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal, overload

from vectorshift import _intercept
from vectorshift._client import Client
from vectorshift._sse import SSEFrame
from vectorshift.errors import ArgumentTypeError, InputTypeError
from vectorshift.pipeline import _requests
from vectorshift.pipeline._async_stream import AsyncStream, check_timeout
from vectorshift.pipeline._definition import PipelineDefinition
from vectorshift.pipeline._generated_runs import PipelineRunsSync
from vectorshift.pipeline._handler import RunHandler
from vectorshift.pipeline._keyed_start import StreamingStart
from vectorshift.pipeline._map import map_runs
from vectorshift.pipeline._stream import resumable_opener, sse_opener

if TYPE_CHECKING:
    from vectorshift.types import RunOutcome, RunResult, RunStatus, StreamChunk

__all__ = ["PipelineRuns"]


class PipelineRuns(PipelineDefinition, PipelineRunsSync):
    """The run methods of :class:`~vectorshift.Pipeline` (see there); package-internal."""

    _client: Client | None

    @property
    def client(self) -> Client:
        """The client this pipeline talks through."""
        raise NotImplementedError

    @overload
    def arun(
        self,
        inputs: Mapping[str, Any],
        *,
        stream: Literal[False] = False,
        stream_all_outputs: bool = False,
        session_id: str | None = None,
        node_input_overrides: Mapping[str, Any] | None = None,
        send_intermediate_results: bool | None = None,
        version: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> Coroutine[Any, Any, RunResult]: ...

    @overload
    def arun(
        self,
        inputs: Mapping[str, Any],
        *,
        stream: Literal[True],
        stream_all_outputs: bool = False,
        session_id: str | None = None,
        node_input_overrides: Mapping[str, Any] | None = None,
        send_intermediate_results: bool | None = None,
        version: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> AsyncStream[SSEFrame]: ...

    def arun(
        self,
        inputs: Mapping[str, Any],
        *,
        stream: bool = False,
        stream_all_outputs: bool = False,
        session_id: str | None = None,
        node_input_overrides: Mapping[str, Any] | None = None,
        send_intermediate_results: bool | None = None,
        version: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> Coroutine[Any, Any, RunResult] | AsyncStream[SSEFrame]:
        """Run the pipeline and wait for its outputs (for long runs prefer :meth:`astart`).

        The inputs are checked now, before any request: a mistake raises at the call.

        With ``timeout`` (seconds) the wait is bounded: the run is then started in the
        background (with an idempotency key, as :meth:`astart` does) and waited for as
        :meth:`RunHandler.aresult` waits, so that past the deadline
        :class:`~vectorshift.PollTimeoutError` can name the run (``exc.task_id``). The run goes
        on on the server: wait for it again with ``pipeline.run_handler(exc.task_id).result()``
        or stop it with ``pipeline.terminate(run_id=exc.task_id)``. Without ``timeout`` (the
        default, as for every call that waits for a run) the run is one blocking request,
        which waits as long as the run takes (``Client(timeout=)``, 60 s by default, bounds
        each network operation, not the run).

        ``stream_all_outputs`` and ``send_intermediate_results`` are the official client's
        options of the same names, sent as it sends them (the first only when true, the second
        whenever given); they shape a streamed run's frames.

        With ``stream=True`` the run streams: a stream of raw SSE frames is returned, for
        token-level LLM output (the output node must be of type ``stream<string>``, fed by an
        llm node built with ``stream=True``). The request is sent when the stream is opened
        (see :class:`AsyncStream`), and ``timeout`` then bounds the whole stream. The
        streaming start is sent with an ``Idempotency-Key`` and retried as :meth:`astream`
        retries it.

        Raises:
            ValueError: the pipeline has unsaved changes, or an input is unknown or missing
                (nothing was sent).
            PipelineRunFailedError: the run failed (not raised by raw frame streams).
            PollTimeoutError: the run did not end within ``timeout``; it goes on.

        Example:
            >>> result = await pipeline.arun({"query": "hello"}, timeout=120)
            >>> result["outputs"]["answer"]
            >>> async with pipeline.arun({"query": "hello"}, stream=True) as frames:
            ...     async for frame in frames:
            ...         print(frame.event, frame.data)
        """
        check_timeout(timeout)
        # As the official client sends them: stream_all_outputs only when true,
        # send_intermediate_results whenever given (false too).
        extra = {
            "stream_all_outputs": True if stream_all_outputs else None,
            "send_intermediate_results": send_intermediate_results,
        }
        if stream:
            pipeline_id, trace_id, body = self._prepare(
                inputs,
                trace_id,
                stream=True,
                session_id=session_id,
                node_input_overrides=node_input_overrides,
                version=version,
                **extra,
            )
            opener = sse_opener(StreamingStart(self.client, pipeline_id, body, trace_id=trace_id))
            return AsyncStream(
                opener,
                timeout=timeout,
                pipeline_id=pipeline_id,
                trace_id=trace_id,
                interceptors=self.client.interceptors,
                operation="run",
            )
        interceptors = self.client.interceptors
        if timeout is None:
            pipeline_id, trace_id, body = self._prepare(
                inputs,
                trace_id,
                session_id=session_id,
                node_input_overrides=node_input_overrides,
                version=version,
                **extra,
            )
            run = _requests.run_blocking(self.client, pipeline_id, self.name, body, trace_id)
            if not interceptors:
                return run
            return _intercept.within(
                interceptors, "run", run, pipeline_id=pipeline_id, trace_id=trace_id
            )
        key, trace_id = _requests.start_key(self._require_saved(), None, trace_id)
        pipeline_id, trace_id, body = self._prepare(
            inputs,
            trace_id,
            background=True,
            session_id=session_id,
            node_input_overrides=node_input_overrides,
            version=version,
            **extra,
        )
        start = _requests.start(
            self.client,
            pipeline_id,
            self.name,
            body,
            key=key,
            trace_id=trace_id,
            handler_client=self._client,
        )
        if not interceptors:
            return _requests.run_until(start, timeout)
        return _intercept.within(
            interceptors,
            "run",
            _requests.run_until(start, timeout),
            pipeline_id=pipeline_id,
            trace_id=trace_id,
        )

    def astream(
        self,
        inputs: Mapping[str, Any],
        *,
        stream_all_outputs: bool | None = None,
        send_intermediate_results: bool | None = None,
        session_id: str | None = None,
        node_input_overrides: Mapping[str, Any] | None = None,
        version: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
    ) -> AsyncStream[StreamChunk]:
        """Run the pipeline inline and yield a typed chunk for every output as it is produced.

        Token deltas of ``stream<string>`` outputs and, with intermediate results (the
        platform's default), each node's outputs as they complete; the last chunk is the
        ``result``. The inputs are checked now; the request is sent when the stream is opened
        (see :class:`AsyncStream`).

        ``timeout`` (seconds) bounds the whole stream, from the request to the ``result``
        chunk, reconnections included; past it the stream is closed and
        :class:`~vectorshift.PollTimeoutError` names the run, which goes on on the server:
        follow it again with ``pipeline.run_handler(exc.task_id).astream(after=...)`` (the
        last ``chunk.id`` seen), wait for it with ``result()``, or stop it with ``terminate()``.
        Without it a stream lasts as long as its run; a connection silent for longer than
        ``client.stream_idle_timeout`` (120 s unless set) counts as lost and is resumed.

        A stream that drops before its ``result`` (a lost connection, an early end) is resumed:
        the run goes on on the server, and the stream reconnects to the run's replayable events
        (docs/protocol.md#replayable-events) after the last event it delivered, waiting with
        jittered backoff (the server's ``retry:`` hint as the base, when it sent one) and giving up
        after ``client.retry.max_retries`` failed reconnections in a row. Every chunk is seen once,
        in order.

        The start carries one ``Idempotency-Key`` for all its attempts. A start whose answer
        was lost after it may have started the run (a 5xx, a dropped connection) is resent
        only to a server declaring ``X-Idempotent-Starts: stream``
        (docs/protocol.md#idempotent-starts), which replays the run it started; elsewhere the error
        says a run may have started.

        Raises:
            ValueError: the pipeline has unsaved changes (call ``save()``), or an input is
                unknown or missing (nothing was sent).
            PipelineRunFailedError: after yielding a failed ``result`` chunk.
            PipelineRunCancelledError: after yielding a cancelled ``result`` chunk.
            StreamInterruptedError: the stream ended before its ``result`` chunk and could not
                be resumed (the server does not replay events, or reconnecting kept failing);
                it names the run, whose outcome ``run_status`` tells.
            PollTimeoutError: the stream did not end within ``timeout``; the run goes on.

        Example:
            >>> async with pipeline.astream({"query": "hi"}, timeout=300) as chunks:
            ...     async for chunk in chunks:
            ...         print(chunk.type, chunk.output_name, chunk.output_value)
        """
        pipeline_id, trace_id, body = self._prepare(
            inputs,
            trace_id,
            stream=True,
            stream_all_outputs=stream_all_outputs,
            send_intermediate_results=send_intermediate_results,
            session_id=session_id,
            node_input_overrides=node_input_overrides,
            version=version,
        )
        first = StreamingStart(self.client, pipeline_id, body, trace_id=trace_id)
        return AsyncStream(
            resumable_opener(self.client, first, pipeline_id=pipeline_id, trace_id=trace_id),
            timeout=timeout,
            pipeline_id=pipeline_id,
            trace_id=trace_id,
            interceptors=self.client.interceptors,
        )

    async def astart(
        self,
        inputs: Mapping[str, Any],
        *,
        session_id: str | None = None,
        webhook_url: str | None = None,
        version: str | None = None,
        trace_id: str | None = None,
        node_input_overrides: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RunHandler:
        """Start a run in the background and return at once with its :class:`RunHandler`.

        Every start is sent with an ``Idempotency-Key`` (docs/protocol.md#idempotent-starts):
        yours, or a fresh one generated for this call. The key is reused by the SDK's own retries,
        so a start whose answer was lost (a dropped connection, a 5xx after the run was created) is
        sent again and a server that honours keys answers with the run it already started instead of
        starting another. The trade-off: against a server that ignores the header, such a
        retried start could start the run twice; a start is retried only within the client's
        retry policy (set ``max_retries=0`` to never resend one).

        Args:
            inputs: Run inputs keyed by input node name. A ``file`` input takes a
                :class:`~vectorshift.File`, a :class:`pathlib.Path` or a binary file object;
                a run with a file is sent as multipart form data.
            session_id: Groups runs into a conversation on the platform.
            webhook_url: The platform calls it when the run ends.
            version: The pipeline version to run.
            trace_id: Your trace id; one is generated when omitted (it is logged and kept on
                the handler). With your own ``idempotency_key`` and no ``trace_id``, the trace
                id is derived from the key, so repeating the same start sends the same body.
            node_input_overrides: Node input values to use for this run only.
            idempotency_key: Your key for this logical start (1 to 255 printable ASCII
                characters): sending the same start with the same key again, within 24 hours
                and from any process, returns the run the first one started (e.g. after a
                crash). Using a key with other inputs is refused (422).

        Raises:
            ValueError: the pipeline has unsaved changes (call ``save()``), or an input is
                unknown or missing (nothing was sent).
            RateLimitError: the organisation's limit of active runs was still reached after
                the retries; back off and try again.

        Example:
            >>> handler = await pipeline.astart({"query": "hello"})
            >>> handler.task_id, handler.trace_id
            >>> again = await pipeline.astart({"query": "hello"}, idempotency_key="order-42")
        """
        key, trace_id = _requests.start_key(self._require_saved(), idempotency_key, trace_id)
        pipeline_id, trace_id, body = self._prepare(
            inputs,
            trace_id,
            background=True,
            session_id=session_id,
            webhook_url=webhook_url,
            version=version,
            node_input_overrides=node_input_overrides,
        )
        with _intercept.scope(
            self.client.interceptors, "start", pipeline_id=pipeline_id, trace_id=trace_id
        ):
            return await _requests.start(
                self.client,
                pipeline_id,
                self.name,
                body,
                key=key,
                trace_id=trace_id,
                handler_client=self._client,
            )

    async def amap(
        self,
        inputs: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = 8,
        ordered: bool = True,
        keys: Iterable[str] | None = None,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        progress: bool = False,
    ) -> AsyncGenerator[RunOutcome, None]:
        """Run the pipeline once per input in the background, a bounded number at a time.

        Inputs are taken from ``inputs`` lazily, as slots free up: at most ``concurrency``
        runs are being started or waited for at once. Each run is started with an idempotency
        key, waited for, and reported exactly once as a :class:`RunOutcome`: in input order
        when ``ordered`` (outcomes that finish early are held back), else as they complete.

        Rate limits (429) are waited out as the server asks, for as long as ``timeout``
        allows; they are never reported as failures. Other transient start errors are retried
        a few rounds (the key makes that safe). Runs that fail, are cancelled or do not finish
        in time are reported, never retried. Closing the iterator early (``aclose()``) stops
        the waiting but not the runs: they go on on the server.

        Args:
            inputs: One inputs mapping per run.
            concurrency: The most runs in flight at once.
            ordered: Yield outcomes in input order (``True``) or as they complete.
            keys: Your own id for each input (e.g. a row id), one per input, all distinct:
                they become the runs' idempotency keys (scoped to this pipeline), so running
                the same batch again, after a crash, starts nothing twice: inputs whose run was
                started already get that run back. Without keys, fresh ones are generated.
            poll_interval: The longest pause between two status checks of one run (default
                1.0).
            timeout: Seconds each input may take, from its first start attempt to its final
                status (rate-limit waits included). The default, ``None``, waits as long as
                each run takes, as every call that waits for a run does.
            progress: Show a tqdm progress bar (needs the ``tqdm`` package).

        Yields:
            One :class:`RunOutcome` per input: ``outcome.ok``, ``outcome.result`` (the final
            status) and ``outcome.error`` (why it did not succeed).

        Raises:
            ValueError: the pipeline is not saved or has unsaved changes, an argument is out
                of range, or ``keys`` does not hold exactly one distinct key per input (raised
                when the mismatch is met, after the outcomes of the runs already started).
            ImportError: ``progress=True`` and tqdm is not installed.

        Example:
            >>> rows = [{"query": q} for q in questions]
            >>> async for outcome in pipeline.amap(rows, concurrency=16):
            ...     print(outcome.index, outcome.ok and outcome.result["result"]["answer"])
        """
        outcomes = map_runs(
            self,
            inputs,
            concurrency=concurrency,
            ordered=ordered,
            keys=keys,
            poll_interval=poll_interval,
            timeout=timeout,
            progress=progress,
        )
        async with aclosing(outcomes):
            async for outcome in outcomes:
                yield outcome

    def run_handler(self, task_id: str, trace_id: str | None = None) -> RunHandler:
        """A handler for a run of this pipeline, from its task id alone (no request).

        Example:
            >>> handler = pipeline.run_handler(saved_task_id)
            >>> handler.result()
        """
        return RunHandler(
            pipeline_id=self._require_id(), task_id=task_id, trace_id=trace_id, client=self._client
        )

    @overload
    async def arun_status(self, task_id: str) -> RunStatus: ...
    @overload
    async def arun_status(self, *, run_id: str) -> RunStatus: ...
    async def arun_status(
        self, task_id: str | None = None, *, run_id: str | None = None
    ) -> RunStatus:
        """The status of a run of this pipeline, by its task id.

        Args:
            task_id: The run's task id, as ``start`` returned it (``handler.task_id``).
            run_id: The former name of ``task_id``, still accepted as a keyword.

        Raises:
            ArgumentTypeError: neither or both of ``task_id`` and ``run_id`` given (a
                ``TypeError``).

        Example:
            >>> (await pipeline.arun_status(handler.task_id)).status
        """
        if (task_id is None) == (run_id is None):
            raise ArgumentTypeError("give the run's task id: arun_status(task_id)")
        return await self.run_handler(task_id or run_id or "").arun_status()

    async def aterminate(self, run_id: str) -> RunStatus:
        """Terminate a run of this pipeline by its task id (idempotent).

        ``run_id`` is the platform's name for the task id in a terminate request
        (docs/protocol.md#platform-endpoints).

        Example:
            >>> await pipeline.aterminate(run_id=handler.task_id)
        """
        return await self.run_handler(run_id).aterminate()

    async def abulk_run(self, inputs: Sequence[Mapping[str, Any]]) -> list[RunResult]:
        """Run the pipeline once per inputs mapping, in one request; results keep that order.

        Raises:
            PipelineNotSavedError: the pipeline has unsaved changes (call ``save()``); nothing
                was sent.
            InputError: a run's inputs do not fit the pipeline; nothing was sent.

        Example:
            >>> results = await pipeline.abulk_run([{"query": "a"}, {"query": "b"}])
        """
        pipeline_id = self._require_saved()
        if isinstance(inputs, Mapping) or not isinstance(inputs, Sequence):
            raise InputTypeError("bulk_run takes a list of input mappings")
        label = self._label()
        runs = [
            {"inputs": _requests.check_inputs(self._nodes, one, label, f"runs[{index}].")}
            for index, one in enumerate(inputs)
        ]
        return await _requests.bulk_run(self.client, pipeline_id, runs)
