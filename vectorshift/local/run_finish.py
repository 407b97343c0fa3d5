"""Recording a run's end: retried until the store takes it, failed when storage failed.

An end the store cannot take (outputs that do not serialise, memory exhausted) is replaced by
``failed`` with the reason and tried at once. An end met by a storage failure (disk full, I/O
error: :mod:`vectorshift.local.storage_errors`) is replaced by ``failed`` naming that failure and
tried again after a backoff, until writes work: a run whose writes failed never ends as if they
had not, and is never left in progress. Any other error (the write lock held past the busy
timeout) gets the same end again after a backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from vectorshift import _log
from vectorshift._retry import RetryPolicy
from vectorshift.local.run_events import ActiveRun
from vectorshift.local.storage_errors import storage_error, storage_failure
from vectorshift.local.store import Store

__all__ = ["FINISH_RETRY", "FINISH_TIMEOUT", "RunEnd", "record_end"]

logger = _log.get_logger("vectorshift.local")

FINISH_TIMEOUT = 15.0
"""Seconds one attempt to record a run's end may take."""

FINISH_RETRY = RetryPolicy(backoff_base=0.1, max_backoff=2.0)
"""How long to wait between two attempts to record a run's end (its backoff only)."""

_UNRECORDABLE = (MemoryError, ValueError, TypeError, ArithmeticError, RecursionError)
"""What a store raises for an end it cannot take (the outputs), not for being unavailable."""

RunEnd = tuple[str, dict[str, Any] | None, str | None]
"""A run's end: its status, outputs and error."""


async def record_end(
    store: Store,
    run: ActiveRun,
    end: RunEnd,
    simulated: tuple[str, ...],
    closing: Callable[[], bool],
) -> RunEnd:
    """Record ``end`` for ``run`` and publish its result frame; the end finally recorded.

    Retries until the store takes an end, or until ``closing()`` (the next start of a server
    on the file fails the run: see ``recover_orphans``).
    """
    status, outputs, error = end
    attempt, replaced = 0, False
    while True:
        try:
            with anyio.CancelScope(shield=True), anyio.fail_after(FINISH_TIMEOUT):
                ended = await store.finish_run(
                    run.task_id, status, outputs=outputs, error=error, simulated=simulated
                )
                frames = (
                    [ended]
                    if ended is not None
                    else await store.events_after(run.task_id, run.last_seq)
                )
            run.publish(frames)
            return status, outputs, error
        except Exception as exc:
            failure = storage_failure(exc)
            logger.error(
                "run %s: could not record its end (%s), attempt %d: %s",
                run.task_id,
                status,
                attempt + 1,
                exc,
                exc_info=failure is None,
            )
            if failure is not None:
                if status != "failed" or error != storage_error(failure):
                    logger.warning(
                        "run %s: ends failed, its storage failed (%s; it was %s)",
                        run.task_id,
                        failure,
                        status,
                    )
                status, outputs, error = "failed", None, storage_error(failure)
            elif isinstance(exc, _UNRECORDABLE) and not replaced:
                replaced = True
                status, outputs = "failed", None
                error = f"the local server could not record this run's end ({type(exc).__name__})"
                continue
            if closing():
                return status, outputs, error
            await anyio.sleep(FINISH_RETRY.backoff(attempt))
            attempt += 1
