"""What happened on the local server, kept in memory for tests: requests, runs, LLM calls.

A :class:`Recorder` is off unless the server is configured with ``record=True`` (the pytest
plugin of :mod:`vectorshift.testing` does this): a long-running server must not grow without
bound. When on, it keeps

- every HTTP request as the server received it (:class:`RecordedRequest`): method, path, query,
  headers (the API key redacted), the whole body, the organisation its key acts for, and the
  status answered (``None`` for a connection dropped by fault injection). The middleware sits
  outside fault injection, so injected answers are recorded as the client saw them;
- every run this process started (:class:`RecordedRun`): inputs, status, outputs, error and
  timing; an idempotent replay starts nothing and records nothing;
- every call of an LLM node (:class:`LLMCall`): its prompts and answer, whether a script
  decided it, and the run it belongs to (sub-pipelines included), through :data:`CURRENT_RUN`.

Example:
    >>> recorder = Recorder(enabled=True)
    >>> recorder.requests()
    []
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorshift.local.faults import REQUEST_ID_KEY

__all__ = [
    "CURRENT_RUN",
    "STARTING",
    "LLMCall",
    "RecordedRequest",
    "RecordedRun",
    "Recorder",
    "RecordingMiddleware",
]

CURRENT_RUN: ContextVar[str | None] = ContextVar("vectorshift_local_run", default=None)
"""The task id of the run whose engine is executing (set by the run manager for each run)."""

STARTING: ContextVar[list[str] | None] = ContextVar("vectorshift_local_starting", default=None)
"""Set by whoever wants the task ids of the runs a request starts (the dashboard's request log):
:meth:`Recorder.run_started` appends to it, in the request's own context."""

_REDACTED = "Bearer <redacted>"


@dataclass
class RecordedRequest:
    """One HTTP request the server received, and the status it answered.

    Attributes:
        method: ``GET``, ``POST``...
        path: The path, e.g. ``/v1/pipeline/<id>/run``.
        query: The query parameters (the last value of a repeated one).
        headers: Lower-case header names to values; ``authorization`` is redacted.
        body: The request body as received.
        org: The organisation the request's API key acts for (``None``: no or unknown key).
        request_id: The ``X-Request-Id`` the server answered with.
        received: When the request arrived (seconds since the epoch).
        status: The status answered; ``None`` while in progress or when the connection was
            dropped without an answer.
    """

    method: str
    path: str
    query: dict[str, str] = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    org: str | None
    request_id: str | None = field(repr=False)
    received: float = field(repr=False)
    status: int | None = None

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header, if sent."""
        return self.headers.get("idempotency-key")

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty or not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class LLMCall:
    """One call of an LLM node, as the provider (or the script) got it.

    Attributes:
        run_id: The run it belongs to (``None`` outside any run).
        node_id: The node's id; ``node_name`` its name.
        provider: The provider asked for; ``model`` the model.
        prompt: The user prompt, rendered; ``system`` the system prompt.
        answer: The answer text (as far as it got, for a failed call).
        error: Why the call failed, if it did.
        scripted: Whether a script rule decided the answer; ``rule`` is that rule's ``name``.
    """

    run_id: str | None
    node_id: str
    node_name: str
    provider: str
    model: str
    prompt: str
    system: str
    answer: str = ""
    error: str | None = None
    scripted: bool = False
    rule: str | None = None


@dataclass
class RecordedRun:
    """One run this server started, from its start to its end.

    Attributes:
        task_id: The run's id; ``pipeline_id`` its pipeline; ``org`` its organisation.
        inputs: The inputs it ran with (files as their metadata).
        status: ``in_progress``, ``completed``, ``failed`` or ``cancelled`` (as stored).
        outputs: Its outputs, once completed.
        error: Why it failed, when it did.
        started: When it started (seconds since the epoch); ``finished`` when it ended.
        llm_calls: The calls its LLM nodes made, in order.
    """

    task_id: str
    pipeline_id: str
    org: str
    inputs: dict[str, Any]
    started: float
    status: str = "in_progress"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    finished: float | None = None
    llm_calls: list[LLMCall] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (``None`` while running)."""
        return None if self.finished is None else self.finished - self.started

    @property
    def prompts(self) -> list[str]:
        """The user prompts its LLM nodes got, in order."""
        return [call.prompt for call in self.llm_calls]


class Recorder:
    """The records of one server; thread-safe (tests read them while the server writes).

    Args:
        enabled: Whether to record at all.
        keep_calls: When not ``enabled``, still keep the last ``keep_calls`` LLM calls (and
            nothing else): what the dashboard shows of a run's prompts and answers, bounded
            so a long-running server does not grow.
    """

    def __init__(self, *, enabled: bool = False, keep_calls: int = 0) -> None:
        self.enabled = enabled
        self.keep_calls = keep_calls
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._runs: dict[str, RecordedRun] = {}
        self._calls: list[LLMCall] = []
        self._recent: deque[LLMCall] = deque(maxlen=max(keep_calls, 1))

    @property
    def records_calls(self) -> bool:
        """Whether LLM calls are kept (all of them, or the last ``keep_calls``)."""
        return self.enabled or self.keep_calls > 0

    def calls_of_run(self, run_id: str) -> list[LLMCall]:
        """The LLM calls of one run (sub-pipelines included) still kept, oldest first."""
        with self._lock:
            kept = self._calls if self.enabled else self._recent
            return [call for call in kept if call.run_id == run_id]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._requests.clear()
            self._runs.clear()
            self._calls.clear()

    def requests(self, org: str | None = None) -> list[RecordedRequest]:
        """The requests received, oldest first (of one organisation, when given)."""
        with self._lock:
            return [r for r in self._requests if org is None or r.org == org]

    def runs(self, org: str | None = None) -> list[RecordedRun]:
        """The runs started, oldest first (of one organisation, when given)."""
        with self._lock:
            return [r for r in self._runs.values() if org is None or r.org == org]

    def llm_calls(self, org: str | None = None) -> list[LLMCall]:
        """The LLM calls made, oldest first (in runs of one organisation, when given)."""
        with self._lock:
            if org is None:
                return list(self._calls)
            return [
                c for c in self._calls if c.run_id in self._runs and self._runs[c.run_id].org == org
            ]

    def _add_request(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def run_started(self, task_id: str, pipeline_id: str, org: str, inputs: dict[str, Any]) -> None:
        """Note that a run started (and tell the request starting it: :data:`STARTING`)."""
        started = STARTING.get()
        if started is not None:
            started.append(task_id)
        if self.enabled:
            run = RecordedRun(task_id, pipeline_id, org, dict(inputs), time.time())
            with self._lock:
                self._runs[task_id] = run

    def run_finished(
        self, task_id: str, status: str, outputs: dict[str, Any] | None, error: str | None
    ) -> None:
        """Note how a run ended."""
        with self._lock:
            run = self._runs.get(task_id)
            if run is not None:
                run.status, run.outputs, run.error = status, outputs, error
                run.finished = time.time()

    def llm_call(self, call: LLMCall) -> None:
        """Keep an LLM call (its answer is filled in by the caller as it completes)."""
        if self.enabled:
            with self._lock:
                self._calls.append(call)
                run = self._runs.get(call.run_id or "")
                if run is not None:
                    run.llm_calls.append(call)
        elif self.keep_calls > 0:
            with self._lock:
                self._recent.append(call)


class RecordingMiddleware:
    """ASGI middleware keeping every HTTP request in a :class:`Recorder` (when it is on).

    The body is read in full before the application sees it (and then replayed to it), so a
    request answered by fault injection, which reads nothing, is recorded with its body too.

    Args:
        app: The wrapped application.
        recorder: Where requests go.
        api_keys: The server's keys and their organisations (read at each request).
        max_body_bytes: Most bytes of a body kept; the rest passes through unrecorded.
    """

    def __init__(
        self, app: ASGIApp, recorder: Recorder, api_keys: dict[str, str], max_body_bytes: int
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.api_keys = api_keys
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.recorder.enabled:
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        scheme, _, key = headers.get("authorization", "").strip().partition(" ")
        org = self.api_keys.get(key.strip()) if scheme.lower() == "bearer" else None
        if "authorization" in headers:
            headers["authorization"] = _REDACTED
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                break
        body = b"".join(m.get("body", b"") for m in buffered if m["type"] == "http.request")
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=query,
            headers=headers,
            body=body[: self.max_body_bytes],
            org=org,
            request_id=scope.get(REQUEST_ID_KEY),
            received=time.time(),
        )
        self.recorder._add_request(record)

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
            await send(message)

        await self.app(scope, replay, send_status)
