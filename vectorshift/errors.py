"""The exception hierarchy.

Two families that callers must treat differently:

* :class:`ApiError` and :class:`ApiConnectionError`: a *call* to the API failed. Transient ones
  (:class:`RateLimitError`, :class:`InternalServerError`, :class:`ApiTimeoutError`, connection
  errors) are worth retrying with backoff; the SDK already retries them within its policy.
* :class:`RunError`: the *pipeline run* failed, was cancelled, or did not finish in time. A failed
  run is a property of the inputs or the pipeline, so retrying the same call will not help.

Every exception names the ids it concerns (pipeline, task, trace, request) in its message, so a
log line alone is enough to find the run again.

``VectorshiftApiError`` and ``ApiStatusError`` are other names of :class:`ApiError` (the same
class), for code written against clients that use those names; ``except`` any of them catches
the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PipelineDefinitionError",
    "PipelineRunCancelledError",
    "PipelineRunFailedError",
    "PollTimeoutError",
    "RateLimitError",
    "RunError",
    "StreamError",
    "StreamInterruptedError",
    "UnprocessableEntityError",
    "VectorshiftApiError",
    "VectorshiftError",
]


def _ids(**ids: object) -> str:
    shown = [f"{name}={value}" for name, value in ids.items() if value]
    return f" [{', '.join(shown)}]" if shown else ""


class VectorshiftError(Exception):
    """Base class of every exception the SDK raises on purpose."""


class ApiError(VectorshiftError):
    """The API answered a request with an error status.

    Attributes:
        status_code: The HTTP status.
        method: The request method.
        url: The request URL (never carries the API key: keys travel in a header).
        error_message: The server's own message (``error``, ``message`` or ``detail`` field,
            or the raw body text when it was not JSON).
        body: The decoded JSON body, or the raw text.
        headers: The response headers.
        request_id: ``X-Request-Id`` of the response, when the server sent one.
        retry_after: Seconds the server asked to wait (``Retry-After``/``retry-after-ms``), if
            any, as the client's retry policy honours it (``RetryPolicy.server_wait``: NaN
            ignored, negative waits 0, capped at ``max_retry_after``).
    """

    def __init__(
        self,
        error_message: str,
        *,
        status_code: int,
        method: str,
        url: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.error_message = error_message
        self.status_code = status_code
        self.method = method
        self.url = url
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(
            f"{status_code} {type(self).__name__} on {method} {url}: {error_message}"
            + _ids(request_id=request_id)
        )


VectorshiftApiError = ApiError
"""Another name of :class:`ApiError` (see the module's docstring)."""
ApiStatusError = ApiError
"""Another name of :class:`ApiError` (see the module's docstring)."""


class BadRequestError(ApiError):
    """400: the request was malformed."""


class AuthenticationError(ApiError):
    """401: the API key is missing or not valid."""


class PermissionDeniedError(ApiError):
    """403: the key may not do this."""


class NotFoundError(ApiError):
    """404: no such object, or it belongs to another organisation."""


class ConflictError(ApiError):
    """409: the request conflicts with the object's current state."""


class UnprocessableEntityError(ApiError):
    """422: the pipeline, its wiring or the run inputs were rejected."""


class RateLimitError(ApiError):
    """429: a rate or concurrency limit was hit; wait ``retry_after`` seconds and try again."""


class InternalServerError(ApiError):
    """5xx: the server failed; transient, worth retrying."""


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[ApiError]:
    """The :class:`ApiError` subclass that stands for an HTTP status."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, ApiError)


class ApiConnectionError(VectorshiftError):
    """The request did not get an answer: no connection, a reset, a protocol error.

    Attributes:
        method: The request method.
        url: The request URL.
        request_sent: ``False`` when the failure proves the request never left the client
            (no connection could be made, or none came free in the pool), so the server cannot
            have acted on it.
    """

    def __init__(
        self, message: str, *, method: str, url: str, request_sent: bool = True
    ) -> None:
        self.method = method
        self.url = url
        self.request_sent = request_sent
        super().__init__(f"{message} ({method} {url})")


class ApiTimeoutError(ApiConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""


class RunError(VectorshiftError):
    """A pipeline run did not succeed. Not an API failure: do not retry blindly.

    Attributes:
        pipeline_id: The pipeline that ran.
        task_id: The run's id (``task_id`` of background runs, ``run_id`` of others).
        trace_id: The trace id the run was started with, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        pipeline_id: str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.pipeline_id = pipeline_id
        self.task_id = task_id
        self.trace_id = trace_id
        super().__init__(
            message + _ids(pipeline_id=pipeline_id, task_id=task_id, trace_id=trace_id)
        )


class PipelineRunFailedError(RunError):
    """The run finished with status ``failed``. ``run_error`` is the platform's message."""

    def __init__(
        self,
        run_error: str | None,
        *,
        pipeline_id: str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.run_error = run_error
        super().__init__(
            f"pipeline run failed: {run_error or 'no error message given'}",
            pipeline_id=pipeline_id,
            task_id=task_id,
            trace_id=trace_id,
        )


class PipelineRunCancelledError(RunError):
    """The run was terminated before it finished."""


class PollTimeoutError(RunError, TimeoutError):
    """Waiting for a run ran out of time; the run itself may still be going.

    Attributes:
        timeout: The time waited, in seconds.
        last_status: The last status seen (a :class:`vectorshift.RunStatus`), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float,
        last_status: Any = None,
        pipeline_id: str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.last_status = last_status
        super().__init__(message, pipeline_id=pipeline_id, task_id=task_id, trace_id=trace_id)


class StreamError(VectorshiftError):
    """A streamed response could not be decoded (an invalid frame, an oversized event).

    Attributes:
        frame: The offending frame's text (possibly shortened), when there is one.
    """

    def __init__(self, message: str, *, frame: str | None = None) -> None:
        self.frame = frame
        super().__init__(message if frame is None else f"{message}: {frame!r}")


class StreamInterruptedError(StreamError):
    """A stream ended before its ``result`` frame and could not be resumed.

    Attributes:
        task_id: The run whose stream broke; ask ``run_status`` for its outcome.
        last_event_id: The id of the last frame delivered, if the server numbers frames.
    """

    def __init__(
        self, message: str, *, task_id: str | None = None, last_event_id: str | None = None
    ) -> None:
        self.task_id = task_id
        self.last_event_id = last_event_id
        super().__init__(message + _ids(task_id=task_id, last_event_id=last_event_id))


class PipelineDefinitionError(VectorshiftError, ValueError):
    """A pipeline built in Python is not valid; raised before any request.

    Attributes:
        node_ids: The ids of the nodes involved.
    """

    def __init__(self, message: str, *, node_ids: tuple[str, ...] = ()) -> None:
        self.node_ids = node_ids
        super().__init__(message)
