"""The exception hierarchy.

Two families that callers must treat differently:

* :class:`ApiError` and :class:`ApiConnectionError`: a *call* to the API failed. Transient ones
  (:class:`RateLimitError`, :class:`InternalServerError`, :class:`ApiTimeoutError`, connection
  errors) are worth retrying with backoff; the SDK already retries them within its policy.
* :class:`RunError`: the *pipeline run* failed, was cancelled, or did not finish in time. A failed
  run is a property of the inputs or the pipeline, so retrying the same call will not help.

Two more stand apart. :class:`ConfigurationError` (a ``ValueError``) says the client cannot
work as configured (no API key, a base URL that is not an ``http(s)://`` URL); it is raised
before any request. :class:`ApiResponseError` (an :class:`ApiError`) says an answer was not the
platform's: a success status whose body lacks what docs/protocol.md promises (HTML from a proxy,
``{}``, a field of the wrong type), a redirect, or a body over ``Client(max_response_bytes=)``. The
SDK never returns a result built from such an answer. A malformed frame of an event stream is a
:class:`StreamError` instead (the stream's own error, quoting the frame): it arrives after the
response's status was accepted, and ends only that stream.

An error that followed retries says in its message how many attempts were made
(``attempts``). Messages and attributes never hold the API key, nor credentials written into
the base URL: a server that echoes the key sees it replaced by ``[redacted]``.

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
    "ApiResponseError",
    "ApiStatusError",
    "ApiTimeoutError",
    "ArgumentError",
    "ArgumentTypeError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InputError",
    "InputTypeError",
    "InternalServerError",
    "NotFoundError",
    "OutputError",
    "PermissionDeniedError",
    "PipelineDefinitionError",
    "PipelineNotSavedError",
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


class ConfigurationError(VectorshiftError, ValueError):
    """The client cannot work as configured; raised before any request is sent.

    No API key anywhere (argument, ``vectorshift.api_key``, ``VECTORSHIFT_API_KEY``), or a base
    URL that is not an ``http://`` or ``https://`` URL with a host. The message says what to set.
    """


class ArgumentError(VectorshiftError, ValueError):
    """An argument of a call is out of range or malformed; raised before any request.

    ``timeout=-1``, ``poll_interval=0``, ``concurrency=0``, an idempotency key of 300
    characters, ``fetch()`` with neither ``id=`` nor ``name=``... It is a ``ValueError``, as
    these were before they had a class of their own.

    Attributes:
        argument: The parameter's name, when one parameter is at fault.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(message)


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of a call is of the wrong type (``bulk_run({...})`` for a list of inputs);
    raised before any request. It is a ``TypeError`` (and a ``ValueError``)."""


class InputError(ArgumentError):
    """Run inputs that do not fit the pipeline; raised before any request, nothing is sent.

    A misspelt or unknown input name, a required input missing, a value of the wrong type for
    its input (``"abc"`` for an ``int32``), a file where a value is expected. It is a
    ``ValueError``; :class:`InputTypeError` (inputs that are not a mapping) is also a
    ``TypeError``.

    Attributes:
        pipeline_id: The pipeline, when saved.
        input_names: The inputs at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        pipeline_id: str | None = None,
        input_names: tuple[str, ...] = (),
        argument: str | None = "inputs",
    ) -> None:
        self.pipeline_id = pipeline_id
        self.input_names = input_names
        super().__init__(message, argument=argument)


class InputTypeError(InputError, TypeError):
    """Run inputs that are not a mapping of input names to values (``run(["hi"])``); a
    ``TypeError`` (and a ``ValueError``)."""


class OutputError(VectorshiftError, ValueError):
    """A run's output is not what the caller asked for (``result.output("answer", str)``):
    there is no output of that name, or its value is not of the type asked. A ``ValueError``.

    Attributes:
        output_name: The output asked for.
    """

    def __init__(self, message: str, *, output_name: str) -> None:
        self.output_name = output_name
        super().__init__(message)


class PipelineNotSavedError(VectorshiftError, ValueError):
    """The pipeline cannot run as it is: it was never saved, or has changes since its last
    ``save()`` (the platform runs the saved graph). Raised before any request; a ``ValueError``.

    Attributes:
        node_ids: The nodes added or changed since the last save.
    """

    def __init__(self, message: str, *, node_ids: tuple[str, ...] = ()) -> None:
        self.node_ids = node_ids
        super().__init__(message)


class _Attempted(VectorshiftError):
    """An error of a call the SDK may have tried more than once.

    Attributes:
        attempts: How many times the request was sent (1 when it was not retried).
    """

    attempts: int = 1

    def _note_attempts(self, attempts: int) -> None:
        """Record that the call was made ``attempts`` times, and say so in the message."""
        if attempts > 1:
            self.attempts = attempts
            self.args = (f"{self.args[0]} (after {attempts} attempts)", *self.args[1:])


class ApiError(_Attempted):
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
        attempts: How many times the request was sent (1 when it was not retried).
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


class ApiResponseError(ApiError):
    """A response that is not the platform's answer, so nothing was made of it.

    Raised for a success status whose body is not what docs/protocol.md promises for the call (not
    JSON, not an object, a field missing or of the wrong type: HTML from a proxy, ``{}``), for a
    redirect (the SDK follows none: the API key must not travel to another origin, and a loop
    would never end), for a stream answered with something other than an event stream, and for
    a body larger than ``Client(max_response_bytes=)`` once decoded. It is not retried: the
    same server would answer the same way. Fix the base URL or the proxy in between.

    Attributes:
        reason: What was wrong with the answer.
        excerpt: The start of the body as received (at most a few hundred characters).
        location: Where a redirect pointed (credentials removed), for a redirect.
    """

    def __init__(
        self,
        reason: str,
        *,
        status_code: int,
        method: str,
        url: str,
        excerpt: str = "",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        location: str | None = None,
    ) -> None:
        self.reason = reason
        self.excerpt = excerpt
        self.location = location
        shown = f"; the body begins {excerpt!r}" if excerpt else "; the body is empty"
        super().__init__(
            f"not the platform's answer: {reason}{shown}",
            status_code=status_code,
            method=method,
            url=url,
            body=excerpt,
            headers=headers,
            request_id=request_id,
        )


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


class ApiConnectionError(_Attempted):
    """The request did not get an answer: no connection, a reset, a protocol error.

    The underlying httpx exception is the ``__cause__``; its request's ``Authorization``
    header is redacted and its traceback (whose frames hold the request's headers) dropped.

    Attributes:
        method: The request method.
        url: The request URL.
        request_sent: ``False`` when the failure proves the request never left the client
            (no connection could be made, or none came free in the pool), so the server cannot
            have acted on it.
        attempts: How many times the request was sent (1 when it was not retried).
    """

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool = True) -> None:
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
