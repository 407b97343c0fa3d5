"""OpenTelemetry for the SDK: each operation a span in the caller's trace, built on interceptors.

Opt in by giving the client the interceptor; nothing else of the SDK imports OpenTelemetry, so
without it (or without the ``otel`` extra installed) a program pays nothing::

    pip install 'vectorshift[otel]'      # the OpenTelemetry API; configure the SDK yourself

Each operation (``new``, ``save``, ``fetch``, ``run``, ``start``, ``status``, ``result``,
``terminate``, ``stream``, ``map``) is a span named ``vectorshift.<operation>``, of kind
``CLIENT``, child of the span current where the call was made (or of the enclosing operation:
a ``map``'s starts and waits are children of the ``map`` span). Its attributes are
``vectorshift.pipeline_id``, ``vectorshift.task_id``, ``vectorshift.trace_id`` and
``vectorshift.request_id`` (the last response's ``X-Request-Id``), as far as they are known
when the operation ends, plus whatever an interceptor put in
:attr:`~vectorshift.Operation.attributes`. Retries and stream reconnections are span events
(``retry``, ``reconnect``: ``attempt``, ``delay``, ``cause``). A failed operation ends with
status ``ERROR`` and its exception recorded; a cancelled one (``CancelledError``, a closed
generator) ends unset.

Every request carries the operation span's W3C trace context (``traceparent``,
``tracestate``), written by the globally configured propagator. ``vectorshift.local`` records
the ``traceparent`` of a run's start with the run.

The span is never made the *current* span: an operation may outlive the call that started it
(a stream read item by item, from several tasks), and OpenTelemetry's current-span context
cannot be detached from another task. Code inside ``async for chunk in stream`` therefore
still sees the caller's span as current.

Design note: this module uses nothing of the SDK but :class:`~vectorshift.Interceptor`'s
public methods; the same spans could be written outside the package.

Example:
    >>> import vectorshift
    >>> from vectorshift.otel import OpenTelemetryInterceptor
    >>> client = vectorshift.Client(interceptors=[OpenTelemetryInterceptor()])
    >>> pipeline = vectorshift.Pipeline.fetch(name="Summariser", client=client)
    >>> with tracer.start_as_current_span("summarise"):
    ...     pipeline.start({"query": "hi"}).result()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from vectorshift._intercept import Interceptor, Operation
from vectorshift._version import __version__

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenTelemetryInterceptor"]

_IDS = ("pipeline_id", "task_id", "trace_id", "request_id")


class OpenTelemetryInterceptor(Interceptor):
    """An :class:`~vectorshift.Interceptor` that makes each SDK operation an OpenTelemetry span.

    Args:
        tracer_provider: Where spans go; the global provider
            (``opentelemetry.trace.set_tracer_provider``) when omitted.

    Example:
        >>> from vectorshift.otel import OpenTelemetryInterceptor
        >>> client = vectorshift.Client(interceptors=[OpenTelemetryInterceptor()])
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer("vectorshift", __version__, tracer_provider=tracer_provider)

    def __repr__(self) -> str:
        return "OpenTelemetryInterceptor()"

    def _span(self, operation: Operation | None) -> trace.Span | None:
        span = None if operation is None else operation.state.get(self)
        return span if isinstance(span, trace.Span) else None

    def on_operation_start(self, operation: Operation) -> None:
        parent = self._span(operation.parent)
        context = None if parent is None else trace.set_span_in_context(parent)
        operation.state[self] = self._tracer.start_span(
            f"vectorshift.{operation.name}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes=_ids(operation),
        )

    def on_operation_event(
        self, operation: Operation, name: str, attributes: dict[str, Any]
    ) -> None:
        span = self._span(operation)
        if span is not None:
            span.add_event(name, {key: _value(value) for key, value in attributes.items()})

    def on_operation_end(self, operation: Operation) -> None:
        span = self._span(operation)
        if span is None:
            return
        span.set_attributes(_ids(operation))
        span.set_attributes({key: _value(value) for key, value in operation.attributes.items()})
        error = operation.error
        if isinstance(error, Exception):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()

    def on_request(self, request: httpx.Request, operation: Operation | None) -> None:
        span = self._span(operation)
        context = None if span is None else trace.set_span_in_context(span)
        propagate.inject(request.headers, context=context)


def _ids(operation: Operation) -> dict[str, str]:
    found = {f"vectorshift.{name}": getattr(operation, name) for name in _IDS}
    return {key: value for key, value in found.items() if value}


def _value(value: Any) -> Any:
    """An attribute value OpenTelemetry takes: ``str``, ``bool``, ``int``, ``float``; else text."""
    return value if isinstance(value, (str, bool, int, float)) else str(value)
