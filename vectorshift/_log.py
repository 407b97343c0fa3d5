"""Structured records on the ``vectorshift`` logger: the one path every record of the package takes.

Every record of the package (the client's and the local server's, on ``vectorshift`` and its
child loggers) carries the same five fields, as an empty string when unknown, so a formatter may
name them (``%(task_id)s``) and a JSON handler can index them:

* ``task_id``: the run;
* ``trace_id``: the trace id the run was started with;
* ``pipeline_id``: the pipeline;
* ``request_id``: the server's ``X-Request-Id`` of the response concerned;
* ``attempt``: which try of a retried operation this was (1 for the first), when it applies.

The library only adds a :class:`logging.NullHandler`: nothing is printed unless the application
configures logging. Levels follow one rule: what the caller also gets as an exception, and
retries that recovered, are logged at ``DEBUG``; ``INFO`` and ``WARNING`` are kept for what the
caller would not otherwise learn (a run that started or ended, a status word the SDK does not
know, a stream resumed from a server that dropped it...).

Nothing here is given the API key, and text that comes from elsewhere (a server's error message
quoted in an exception) has bearer tokens blanked before it is logged.

Put a formatter that names the fields on a handler of the ``vectorshift`` logger (records of
other libraries, httpx's among them, do not carry them).

Example:
    >>> import logging
    >>> handler = logging.StreamHandler()
    >>> handler.setFormatter(
    ...     logging.Formatter("%(levelname)s %(name)s: %(message)s task=%(task_id)s")
    ... )
    >>> logging.getLogger("vectorshift").addHandler(handler)
    >>> logging.getLogger("vectorshift").setLevel(logging.INFO)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from vectorshift import _intercept
from vectorshift._log_fields import FIELDS, fields, text
from vectorshift.errors import ApiError, RunError, StreamInterruptedError, VectorshiftError

__all__ = [
    "DOCUMENTED_FORMAT",
    "FIELDS",
    "cause_of",
    "event",
    "failure",
    "fields",
    "get_logger",
    "raising",
    "redact",
    "retrying",
]

log = logging.getLogger("vectorshift")
log.addHandler(logging.NullHandler())

DOCUMENTED_FORMAT = (
    "%(levelname)s %(name)s: %(message)s task=%(task_id)s trace=%(trace_id)s "
    "pipeline=%(pipeline_id)s request=%(request_id)s attempt=%(attempt)s"
)
"""A format naming every field; the test suite formats each record it produces with it."""

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",}]+")


def redact(text: str) -> str:
    """``text`` with the token of any ``Bearer <token>`` replaced by ``[redacted]``."""
    return _BEARER.sub(r"\1[redacted]", text)


class _FieldsAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose records carry :data:`FIELDS`, empty unless the call gives them."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**fields(), **(kwargs.get("extra") or {})}
        return msg, kwargs


def get_logger(name: str) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """A logger of the package (``name`` under ``vectorshift``) that fills in :data:`FIELDS`.

    Modules that log with their own messages (the local server) use it instead of
    :func:`logging.getLogger`, so their records can be formatted like every other.
    """
    if name != "vectorshift" and not name.startswith("vectorshift."):
        raise ValueError(f"not a logger of the package: {name!r}")
    return _FieldsAdapter(logging.getLogger(name), {})


def event(level: int, message: str, *args: object, **ids: Any) -> None:
    """Log ``message % args`` at ``level`` with the structured fields ``ids``.

    Args:
        level: A :mod:`logging` level.
        message: A ``%``-style format string.
        *args: Its arguments.
        **ids: Any of :data:`FIELDS`.
    """
    _emit(level, message, args, ids)


def _emit(level: int, message: str, args: tuple[object, ...], ids: dict[str, Any]) -> None:
    """Log for the public function that called this (``%(filename)s`` names its caller)."""
    if log.isEnabledFor(level):
        safe = tuple(text(arg) if isinstance(arg, str) else arg for arg in args)
        log.log(level, message, *safe, extra=fields(**ids), stacklevel=3)


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


def retrying(
    subject: str,
    exc: BaseException | None,
    attempt: int,
    delay: float,
    *,
    budget: int | None = None,
    **ids: Any,
) -> None:
    """Log at ``DEBUG`` that ``subject`` failed transiently and is tried again after ``delay``.

    Every retry loop of the SDK logs through here, so retry records read alike and their last
    argument is always the wait in seconds; and the operation running it, if its client has
    interceptors, gets a ``retry`` event (``attempt``, ``delay``, ``cause``).

    Args:
        subject: What failed (``GET /pipeline/…``, ``status check of run …``).
        exc: The failure (``None`` for a stream that ended early without an error).
        attempt: The number of the try that failed (1 for the first), which is also the
            number of the retry about to be made.
        delay: The seconds waited before it.
        budget: The most retries allowed, when there is a fixed budget.
        **ids: Any of :data:`FIELDS` but ``attempt``; the exception's ids take precedence.
    """
    reason = "it ended early" if exc is None else redact(str(exc))
    _intercept.report("retry", attempt=attempt, delay=delay, cause=cause_of(exc))
    of_budget = "" if budget is None else f"/{budget}"
    merged = {**ids, **(_ids_of(exc) if exc is not None else {})}
    _emit(
        logging.DEBUG,
        "%s failed (%s); retry %d%s in %.2fs",
        (subject, reason, attempt, of_budget, delay),
        {**merged, "attempt": attempt},
    )


def cause_of(exc: BaseException | None) -> str:
    """A failure as an event names it: ``Type: message`` (tokens blanked), or ``ended early``."""
    if exc is None:
        return "ended early"
    return f"{type(exc).__name__}: {redact(str(exc))}"


def failure(exc: BaseException, operation: str, **ids: Any) -> None:
    """Log, at ``DEBUG``, an SDK exception that ``operation`` is about to raise.

    The caller gets the exception, so the record is only a trace for whoever debugs: a caught
    ``NotFoundError`` prints nothing where logging is set to ``INFO``.

    Args:
        exc: The exception.
        operation: What was being done (``start``, ``status``, ``result``, ``terminate``...).
        **ids: The context's ids; those the exception carries take precedence.
    """
    _emit(
        logging.DEBUG,
        "%s raised %s: %s",
        (operation, type(exc).__name__, redact(str(exc))),
        {**ids, **_ids_of(exc)},
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
