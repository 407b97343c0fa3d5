"""The W3C trace context a run was started with: read from its start, kept with the run.

A client tracing with OpenTelemetry (``vectorshift.otel``) sends ``traceparent`` (and maybe
``tracestate``) on every request. The local server keeps those of a run's start request (the
``POST .../run`` that created it: a replayed idempotent start keeps the first one's), so a run
seen in the server (its status, the dashboard, the database) leads to the client's trace.

It is an extension (docs/protocol.md#trace-context): the platform's behaviour is not known, the
SDK never reads it, and a client sending nothing gets nothing. Where it is kept and shown:

* the ``runs`` table, columns ``traceparent`` and ``tracestate`` (schema version 7);
* :attr:`~vectorshift.local.records.RunRecord.traceparent` and ``tracestate``;
* the run's status answer, fields ``"traceparent"`` and ``"tracestate"`` when recorded.

Validation follows W3C Trace Context level 1, section 3.2 (``traceparent``): version 2 lower
hex digits other than ``ff``; trace id 32 and parent id 16 lower hex digits, neither all zero;
flags 2 lower hex digits. Version ``00`` has exactly these four fields; a later version may
append fields after a ``-`` (3.2.4), which are kept as sent. A header that does not parse is
ignored, as the spec tells a receiver to do: never an error, never stored. ``tracestate`` is
kept only beside a valid ``traceparent`` (3.3), trimmed, and capped at 512 characters (the
spec's minimum a vendor must propagate), longer ones dropped rather than cut mid-entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vectorshift.local.store import Store

__all__ = ["MAX_TRACESTATE", "TraceContext", "from_headers", "parse_traceparent", "record"]

MAX_TRACESTATE = 512
"""The longest ``tracestate`` kept (W3C Trace Context 3.3.1.5: 512 characters propagated)."""

_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-[ -~]*)?"
)

TraceContext = tuple[str, "str | None"]
"""``(traceparent, tracestate or None)``."""


def parse_traceparent(value: str | None) -> str | None:
    """``value`` if it is a valid ``traceparent``, else ``None``.

    Example:
        >>> parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
        >>> parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01")
    """
    if value is None:
        return None
    value = value.strip()
    found = _TRACEPARENT.fullmatch(value)
    if found is None or found["version"] == "ff":
        return None
    if found["version"] == "00" and found["rest"] is not None:
        return None
    if set(found["trace"]) == {"0"} or set(found["parent"]) == {"0"}:
        return None
    return value


def from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """The trace context of a request's headers, or ``None`` when it sent no valid one."""
    traceparent = parse_traceparent(headers.get("traceparent"))
    if traceparent is None:
        return None
    tracestate = (headers.get("tracestate") or "").strip()
    if not tracestate or len(tracestate) > MAX_TRACESTATE or not _printable_ascii(tracestate):
        return traceparent, None
    return traceparent, tracestate


async def record(store: Store, task_id: str, headers: Mapping[str, str]) -> None:
    """Keep the valid trace context of ``headers`` (a run start's) with the run ``task_id``."""
    context = from_headers(headers)
    if context is not None:
        await store.record_trace_context(task_id, *context)


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()
