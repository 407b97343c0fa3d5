"""The public seam around operations and at the HTTP boundary: interceptors.

An :class:`Interceptor` given to a :class:`~vectorshift.Client` (``interceptors=[...]``) is told
when each operation of the SDK begins and ends (``new``, ``save``, ``fetch``, ``run``, ``start``,
``status``, ``result``, ``terminate``, ``stream``, ``map``), what happened inside it (a
``retry``, a stream's ``reconnect``), and sees every HTTP request before it is sent and every
response as it arrives. OpenTelemetry spans (:mod:`vectorshift.otel`) are built on this seam
alone; logging, metrics or a test spy are built the same way.

Design choices, and why:

* **One object for both APIs, with plain (sync) methods.** The sync API runs the same
  coroutines as the async one, so an interceptor written once serves both; its methods are
  ordinary functions, never coroutines, so a sync user writes no ``async def``. They run on
  the event loop of the call and must be quick (record, do not send): as a logging handler.
* **Callbacks, not a wrapper around the call.** A stream or a ``map`` lives across many
  reads, possibly from different tasks (each ``next()`` of a sync stream is a task of its
  own), so an operation is a begin and an end rather than one awaited call. Its identity is
  an :class:`Operation`, which interceptors may annotate (:attr:`Operation.attributes`) and
  keep their own state on (:attr:`Operation.state`).
* **Nothing to pay without interceptors.** A client with none makes no :class:`Operation`
  and sets no context variable: every hook site tests one empty tuple.
* **An interceptor cannot break a call.** What one of its methods raises is logged at
  ``WARNING`` on the ``vectorshift`` logger and dropped: observing must not change an outcome.

Which operation a request belongs to is a context variable set around the operation's work
(never held across a ``yield`` to the caller), so operations started inside another (the
starts and waits of a ``map``) name it as :attr:`Operation.parent`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from vectorshift._log_fields import fields

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Interceptor",
    "Operation",
    "activate",
    "begin",
    "check_interceptors",
    "current",
    "guarded",
    "note",
    "report",
    "scope",
    "within",
]

_log = logging.getLogger("vectorshift")
T = TypeVar("T")

_current: ContextVar[Operation | None] = ContextVar("vectorshift_operation", default=None)


class Operation:
    """One SDK operation as interceptors see it: its name, its ids, what it learnt.

    The SDK fills the ids in as it learns them (a ``start`` knows its ``task_id`` once the
    server answered), so an interceptor reads them at :meth:`Interceptor.on_operation_end`
    for their final values.

    Attributes:
        name: ``new``, ``save``, ``fetch``, ``run``, ``start``, ``status``, ``result``,
            ``terminate``, ``stream`` or ``map``.
        pipeline_id: The pipeline, when known.
        task_id: The run, when known.
        trace_id: The run's trace id (the platform's, sent in the run body), when known.
        request_id: The ``X-Request-Id`` of the last response received.
        parent: The operation this one runs inside (a ``map``'s starts), or ``None``.
        attributes: Free-form annotations (``str`` keys, simple values); an interceptor may
            add its own, and ``OpenTelemetryInterceptor`` copies them onto the span.
        state: Where each interceptor keeps what it needs between calls, keyed by itself.
        error: What the operation raised, once it ended with an exception.
    """

    __slots__ = (
        "_interceptors",
        "attributes",
        "error",
        "name",
        "parent",
        "pipeline_id",
        "request_id",
        "state",
        "task_id",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        interceptors: Sequence[Interceptor],
        *,
        pipeline_id: str | None = None,
        task_id: str | None = None,
        trace_id: str | None = None,
        parent: Operation | None = None,
    ) -> None:
        self.name = name
        self.pipeline_id = pipeline_id
        self.task_id = task_id
        self.trace_id = trace_id
        self.request_id: str | None = None
        self.parent = parent
        self.attributes: dict[str, Any] = {}
        self.state: dict[object, Any] = {}
        self.error: BaseException | None = None
        self._interceptors = tuple(interceptors)

    def __repr__(self) -> str:
        ids = (
            f"{field}={getattr(self, field)!r}"
            for field in ("pipeline_id", "task_id", "trace_id", "request_id")
            if getattr(self, field) is not None
        )
        return f"Operation({', '.join([repr(self.name), *ids])})"

    def event(self, name: str, **attributes: Any) -> None:
        """Tell the interceptors that ``name`` happened inside this operation.

        The SDK reports ``retry`` (``attempt``, ``delay`` in seconds, ``cause``) and
        ``reconnect`` (``attempt``, ``delay``, ``last_event_id``, ``cause``).

        Example:
            >>> operation.event("retry", attempt=1, delay=0.5, cause="RateLimitError: busy")
        """
        for interceptor in self._interceptors:
            guarded(interceptor.on_operation_event, self, name, attributes)

    def _start(self) -> None:
        for interceptor in self._interceptors:
            guarded(interceptor.on_operation_start, self)

    def _end(self, error: BaseException | None) -> None:
        self.error = error
        for interceptor in self._interceptors:
            guarded(interceptor.on_operation_end, self)


class Interceptor:
    """Observe (and adjust) what the SDK does: subclass it and override what you need.

    Every method is an ordinary function with nothing to do by default; the same object
    serves the sync and the async API. Methods run on the event loop of the call, so they
    must be quick; an exception they raise is logged and ignored.

    Example:
        >>> import vectorshift
        >>> class Timing(vectorshift.Interceptor):
        ...     def on_operation_start(self, operation):
        ...         operation.state[self] = time.monotonic()
        ...     def on_operation_end(self, operation):
        ...         took = time.monotonic() - operation.state[self]
        ...         print(operation.name, operation.task_id, f"{took:.3f}s", operation.error)
        ...     def on_request(self, request, operation):
        ...         request.headers["X-Team"] = "search"
        >>> client = vectorshift.Client(interceptors=[Timing()])
    """

    def on_operation_start(self, operation: Operation) -> None:
        """An operation begins; its ids are those known so far."""

    def on_operation_end(self, operation: Operation) -> None:
        """An operation ended: ``operation.error`` is ``None`` unless it raised."""

    def on_operation_event(
        self, operation: Operation, name: str, attributes: dict[str, Any]
    ) -> None:
        """Something happened inside an operation: ``retry`` or ``reconnect``."""

    def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
        """A request is about to be sent (each attempt of a retried one too).

        ``request.headers`` may be changed; the API key is added later and never seen here.
        ``operation`` is ``None`` for calls that are not operations (``list``, ``delete``...).
        """

    def on_response(self, response: httpx.Response, operation: Operation | None) -> None:
        """A response's status and headers arrived (its body is not read yet).

        ``response.request`` shows the request as sent, its ``Authorization`` blanked.
        """


def guarded(method: Any, *args: Any) -> None:
    """Call an interceptor's ``method``; what it raises is logged and dropped."""
    try:
        method(*args)
    except Exception:
        name = getattr(method, "__qualname__", repr(method))
        operation = next((arg for arg in args if isinstance(arg, Operation)), None)
        ids = {
            field: getattr(operation, field, None)
            for field in ("task_id", "trace_id", "pipeline_id", "request_id")
        }
        _log.warning("interceptor %s raised; ignored", name, exc_info=True, extra=fields(**ids))


def check_interceptors(interceptors: Iterable[Interceptor] | None) -> tuple[Interceptor, ...]:
    """``interceptors`` as a tuple, each checked to be an :class:`Interceptor`.

    Raises:
        ConfigurationError: one is not an :class:`Interceptor`.
    """
    from vectorshift.errors import ConfigurationError

    found = tuple(interceptors or ())
    for interceptor in found:
        if not isinstance(interceptor, Interceptor):
            raise ConfigurationError(
                f"interceptors must be vectorshift.Interceptor instances, got {interceptor!r}"
            )
    return found


def current() -> Operation | None:
    """The operation the running code belongs to, if its client has interceptors."""
    return _current.get()


def begin(
    interceptors: Sequence[Interceptor],
    name: str,
    *,
    pipeline_id: str | None = None,
    task_id: str | None = None,
    trace_id: str | None = None,
) -> Operation | None:
    """Start an operation that outlives one call (a stream, a ``map``); ``None`` without
    interceptors. Its work runs within :func:`activate`, and ``_end`` is the caller's."""
    if not interceptors:
        return None
    operation = Operation(
        name,
        interceptors,
        pipeline_id=pipeline_id,
        task_id=task_id,
        trace_id=trace_id,
        parent=_current.get(),
    )
    operation._start()
    return operation


class _Active:
    """Makes an operation the current one for a block (in the running task only)."""

    __slots__ = ("_operation", "_token")

    def __init__(self, operation: Operation | None) -> None:
        self._operation = operation
        self._token: Token[Operation | None] | None = None

    def __enter__(self) -> Operation | None:
        if self._operation is not None:
            self._token = _current.set(self._operation)
        return self._operation

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


class _Scope(_Active):
    """An operation for one block: begun on entry, ended on exit with what it raised."""

    __slots__ = ()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        if self._operation is not None:
            self._operation._end(exc)


_NOTHING = _Active(None)


def activate(operation: Operation | None) -> _Active:
    """A ``with`` block in which ``operation`` is the current one (nothing for ``None``)."""
    return _NOTHING if operation is None else _Active(operation)


def scope(interceptors: Sequence[Interceptor], name: str, **ids: str | None) -> _Active:
    """A ``with`` block that is the operation ``name``; the block's exception ends it.

    Without interceptors, a shared block that does nothing (and binds ``None``).

    Example:
        >>> with scope(client.interceptors, "status", task_id=task_id):
        ...     ...
    """
    if not interceptors:
        return _NOTHING
    return _Scope(begin(interceptors, name, **ids))


def note(
    *,
    pipeline_id: str | None = None,
    task_id: str | None = None,
    trace_id: str | None = None,
) -> None:
    """Record ids the current operation has just learnt (a run's id from its start)."""
    operation = _current.get()
    if operation is not None:
        operation.pipeline_id = pipeline_id or operation.pipeline_id
        operation.task_id = task_id or operation.task_id
        operation.trace_id = trace_id or operation.trace_id


def report(name: str, **attributes: Any) -> None:
    """Tell the current operation's interceptors that ``name`` happened (see
    :meth:`Operation.event`); nothing outside an operation."""
    operation = _current.get()
    if operation is not None:
        operation.event(name, **attributes)


async def within(
    interceptors: Sequence[Interceptor], name: str, work: Awaitable[T], **ids: str | None
) -> T:
    """``await work`` as the operation ``name`` (for calls that return their coroutine)."""
    with scope(interceptors, name, **ids):
        return await work
