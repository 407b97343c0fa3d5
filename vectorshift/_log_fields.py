"""The five fields every record of the package carries, and how a record gets them.

Apart from :mod:`vectorshift._log` (which re-exports them) so that a module :mod:`vectorshift._log`
itself imports (:mod:`vectorshift._intercept`, told of retries from there) can log with them too,
with no import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FIELDS", "fields", "text"]

FIELDS = ("task_id", "trace_id", "pipeline_id", "request_id", "attempt")
"""The names every record of the package carries."""


def fields(
    *,
    task_id: str | None = None,
    trace_id: str | None = None,
    pipeline_id: str | None = None,
    request_id: str | None = None,
    attempt: int | None = None,
) -> dict[str, Any]:
    """The ``extra`` mapping of a record: all five fields, ``""`` where unknown."""
    return {
        "task_id": text(task_id or ""),
        "trace_id": text(trace_id or ""),
        "pipeline_id": text(pipeline_id or ""),
        "request_id": text(request_id or ""),
        "attempt": "" if attempt is None else attempt,
    }


def text(value: Any) -> Any:
    """``value``, or for a string holding a lone surrogate (from JSON such as ``"\\ud800"``,
    which a hostile server may send) that string with it written as its escape.

    A record must be writable by any handler: a UTF-8 log file or a pipe to another process
    cannot encode a lone surrogate, and would fail on the record, or worse, on its process.
    """
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value
