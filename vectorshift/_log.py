"""Structured records on the ``vectorshift`` logger.

Every record written here carries the same five fields in ``extra``, ``None`` when unknown, so a
formatter may name them (``%(task_id)s``) and a JSON handler can index them:

* ``task_id``: the run;
* ``trace_id``: the trace id the run was started with;
* ``pipeline_id``: the pipeline;
* ``request_id``: the server's ``X-Request-Id`` of the response concerned;
* ``attempt``: which try of a retried operation this was (1 for the first), when it applies.

Nothing here is given the API key, and text that comes from elsewhere (a server's error message
quoted in an exception) has bearer tokens blanked before it is logged.

Example:
    >>> import logging
    >>> logging.basicConfig(format="%(levelname)s %(message)s task=%(task_id)s")
    >>> logging.getLogger("vectorshift").setLevel(logging.INFO)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vectorshift.errors import (
    ApiError,
    RateLimitError,
    RunError,
    StreamInterruptedError,
    VectorshiftError,
)

__all__ = ["FIELDS", "event", "failure", "fields", "raising", "redact"]

log = logging.getLogger("vectorshift")

FIELDS = ("task_id", "trace_id", "pipeline_id", "request_id", "attempt")
"""The names every record of this module carries in ``extra``."""

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",}]+")


def redact(text: str) -> str:
    """``text`` with the token of any ``Bearer <token>`` replaced by ``[redacted]``."""
    return _BEARER.sub(r"\1[redacted]", text)


def fields(
    *,
    task_id: str | None = None,
    trace_id: str | None = None,
    pipeline_id: str | None = None,
    request_id: str | None = None,
    attempt: int | None = None,
) -> dict[str, Any]:
    """The ``extra`` mapping of a record: all five fields, ``None`` where unknown."""
    return {
        "task_id": task_id,
        "trace_id": trace_id,
        "pipeline_id": pipeline_id,
        "request_id": request_id,
        "attempt": attempt,
    }


def event(level: int, message: str, *args: object, **ids: Any) -> None:
    """Log ``message % args`` at ``level`` with the structured fields ``ids``.

    Args:
        level: A :mod:`logging` level.
        message: A ``%``-style format string.
        *args: Its arguments.
        **ids: Any of :data:`FIELDS`.
    """
    if log.isEnabledFor(level):
        log.log(level, message, *args, extra=fields(**ids))


def _ids_of(exc: BaseException) -> dict[str, Any]:
    """The ids an SDK exception names itself (they win over the caller's context)."""
    found: dict[str, Any] = {}
    if isinstance(exc, RunError):
        found.update(pipeline_id=exc.pipeline_id, task_id=exc.task_id, trace_id=exc.trace_id)
    elif isinstance(exc, ApiError):
        found["request_id"] = exc.request_id
    elif isinstance(exc, StreamInterruptedError):
        found["task_id"] = exc.task_id
    return {key: value for key, value in found.items() if value}


def failure(exc: BaseException, operation: str, **ids: Any) -> None:
    """Log an SDK exception that ``operation`` is about to raise.

    A run that failed, was cancelled or timed out is an outcome, and a rate limit is
    back-pressure: both are logged at ``INFO``. Other API or connection failures are logged at
    ``WARNING``.

    Args:
        exc: The exception.
        operation: What was being done (``start``, ``status``, ``result``, ``terminate``...).
        **ids: The context's ids; those the exception carries take precedence.
    """
    level = logging.INFO if isinstance(exc, (RunError, RateLimitError)) else logging.WARNING
    event(
        level,
        "vectorshift: %s raised %s: %s",
        operation,
        type(exc).__name__,
        redact(str(exc)),
        **{**ids, **_ids_of(exc)},
    )


@contextmanager
def raising(operation: str, **ids: Any) -> Iterator[None]:
    """Log every SDK exception leaving the block (see :func:`failure`), then let it go on.

    Example:
        >>> with raising("status", task_id="t-1"):
        ...     pass
    """
    try:
        yield
    except VectorshiftError as exc:
        failure(exc, operation, **ids)
        raise
