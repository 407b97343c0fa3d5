"""What the local server needs from its database: the :class:`Store` protocol.

The engine knows nothing of storage, and the app and the run manager only ``await`` these
methods, so another database (Postgres...) is one more implementation of this protocol.
:class:`~vectorshift.local.sqlite_store.SQLiteStore` is the one that ships. A store must keep
working when several server processes share it: a read-modify-write is atomic across processes,
and a run's status, once terminal, never changes.

:class:`BlockingStore` gives threads outside the server's event loop (tests, tools) synchronous
calls into a running server's store.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from vectorshift.local.records import PipelineRecord, RunRecord, VersionRecord
from vectorshift.local.store_sharing import SharingStore

__all__ = ["BlockingStore", "Store"]


class Store(SharingStore, Protocol):
    """Pipelines, runs, run events and idempotency keys, behind async methods.

    Attributes:
        instance_id: Identifies this open store as the owner of the runs it creates.
    """

    instance_id: str

    async def create_pipeline(
        self,
        org: str,
        *,
        name: str,
        nodes: dict[str, Any],
        canvas_metadata: dict[str, Any],
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        description: str = "",
    ) -> PipelineRecord:
        """Store a new pipeline and return it (fresh id, main branch id, version ``0.0.0``).

        Its graph is stored as its first version too.
        """
        ...

    async def get_pipeline(self, org: str, pipeline_id: str) -> PipelineRecord | None:
        """The organisation's pipeline with this id, or ``None``."""
        ...

    async def find_pipeline(self, org: str, name: str) -> PipelineRecord | None:
        """The organisation's most recently modified pipeline with this name, or ``None``."""
        ...

    async def list_pipelines(self, org: str, *, offset: int, limit: int) -> list[PipelineRecord]:
        """The organisation's pipelines, oldest first."""
        ...

    async def update_pipeline(
        self,
        org: str,
        pipeline_id: str,
        *,
        nodes: dict[str, Any],
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        canvas_metadata: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        bump: str | None = None,
        deploy: bool = False,
    ) -> PipelineRecord | None:
        """Replace a pipeline's graph; ``None`` when the organisation has no such pipeline.

        With ``deploy`` or ``bump`` (``"patch"``, ``"minor"`` or ``"major"``; ``patch`` when
        only ``deploy``) the graph becomes a new version, numbered from the highest stored
        one (see :mod:`vectorshift.local.sqlite_versions`), with ``description`` as its
        changelog; without either only the current graph changes.
        """
        ...

    async def list_versions(self, org: str, pipeline_id: str) -> list[VersionRecord]:
        """The pipeline's stored versions, lowest number first (``[]`` for no such pipeline)."""
        ...

    async def get_version(self, org: str, pipeline_id: str, version: str) -> VersionRecord | None:
        """One stored version (``"latest"``: the highest number), or ``None``."""
        ...

    async def revert_pipeline(
        self, org: str, pipeline_id: str, version: str
    ) -> PipelineRecord | None:
        """Make a stored version's graph the current one; ``None`` when either is missing.

        No version is made or deleted: the pipeline is at ``version`` again.
        """
        ...

    async def edit_pipeline(
        self, org: str, pipeline_id: str, edit: Callable[[PipelineRecord], PipelineRecord]
    ) -> PipelineRecord | None:
        """Replace the current graph by ``edit(current)``, atomically; not a version.

        ``edit`` may raise to leave the pipeline unchanged (the exception propagates).
        Returns ``None`` when the organisation has no such pipeline.
        """
        ...

    async def delete_pipeline(self, org: str, pipeline_id: str) -> bool:
        """Delete a pipeline; ``False`` when the organisation has no such pipeline."""
        ...

    async def create_runs(
        self,
        org: str,
        pipeline_id: str,
        runs: Sequence[tuple[dict[str, Any], str]],
        *,
        limit: int,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[list[RunRecord], bool]:
        """Record new in-progress runs owned by this store, all or none.

        Args:
            org: The organisation starting the runs.
            pipeline_id: The pipeline they run.
            runs: ``(inputs, trace_id)`` per run.
            limit: Most in-progress runs the organisation may have, these included.
            idempotency: ``(key, body hash)``: a key seen within
                :data:`~vectorshift.local.records.IDEMPOTENCY_TTL` with the same hash returns
                the run it started instead of starting anything.

        Returns:
            The runs, and whether they were created (``False`` for an idempotent replay).

        Raises:
            RunLimitReached: The runs would exceed ``limit``.
            IdempotencyConflict: The key was used with another body.
        """
        ...

    async def get_run(self, org: str, task_id: str) -> RunRecord | None:
        """The organisation's run with this task id, or ``None``."""
        ...

    async def terminal_runs(self, task_ids: Sequence[str]) -> list[str]:
        """Those of ``task_ids`` whose run has ended."""
        ...

    async def owned_runs(self) -> list[str]:
        """The task ids of the runs in progress that this open store created (its instance
        owns them)."""
        ...

    async def run_counts(self, org: str | None = None) -> dict[str, int]:
        """Number of runs per status (every status present, zero included)."""
        ...

    async def finish_run(
        self,
        task_id: str,
        status: str,
        *,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
        simulated: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]] | None:
        """End an in-progress run and append its ``result`` frame, atomically.

        ``simulated`` names the providers the simulated model stood in for during the run.

        A terminal status never changes: when the run has already ended this does nothing.

        Returns:
            ``(seq, frame)`` of the result frame, or ``None`` when another caller ended it first.
        """
        ...

    async def record_trace_context(
        self, task_id: str, traceparent: str, tracestate: str | None
    ) -> None:
        """Keep the W3C trace context of the run's start with it (already validated)."""
        ...

    async def heartbeat(self) -> None:
        """Record that this store's owner is alive; a serving server calls it every second.

        Other servers sharing the database take an owner whose heartbeats stop for dead (see
        :meth:`recover_orphans`).
        """
        ...

    async def recover_orphans(self) -> list[str]:
        """Fail the runs left in progress by a server instance that no longer runs.

        Called when a server starts and then with every heartbeat, so the runs of a peer that
        died (killed, crashed) end while the survivors serve. Each such run is marked
        ``failed`` with :data:`~vectorshift.local.records.STOPPED_SERVER_ERROR` and gets its
        ``result`` frame.

        Returns:
            The task ids marked failed.
        """
        ...

    async def append_events(
        self, task_id: str, frames: Sequence[dict[str, Any]]
    ) -> list[int] | None:
        """Append frames to an in-progress run's event log, all in one transaction.

        Returns:
            Their sequence numbers (consecutive; 1 for a run's first frame), or ``None`` when
            the run has ended: nothing is stored after a ``result`` frame.
        """
        ...

    async def events_after(self, task_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """The run's stored frames with a sequence number above ``after``, in order."""
        ...

    async def expire(self, *, now: float, retain: float) -> tuple[int, int]:
        """Delete what is kept for a limited time, as of ``now`` (seconds since the epoch).

        The events of runs that finished more than ``retain`` seconds before ``now`` are
        deleted except their ``result`` frame, so a late replay still ends with the run's
        result; the run records themselves stay. Idempotency keys older than
        :data:`~vectorshift.local.records.IDEMPOTENCY_TTL` are deleted.

        Returns:
            The number of runs whose events were pruned, and of idempotency keys deleted.
        """
        ...

    async def aclose(self) -> None:
        """Release the database; runs this store still owns count as abandoned from now on."""
        ...


class BlockingStore:
    """Synchronous calls into a store whose methods run on an event loop in another thread.

    Each coroutine method of the store becomes a plain method that runs the coroutine on
    ``loop`` and waits for its result (other attributes pass through), so a test beside a
    :class:`~vectorshift.local.LocalServer` can write ``server.store.get_run(org, task_id)``.
    Never call it from ``loop``'s own thread: it would wait for itself.

    Args:
        store: The store.
        loop: The running event loop the store serves.
        timeout: Seconds a call may take before :class:`TimeoutError`.
    """

    def __init__(
        self, store: Store, loop: asyncio.AbstractEventLoop, timeout: float = 60.0
    ) -> None:
        self._store = store
        self._loop = loop
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)
        if not inspect.iscoroutinefunction(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            # An empty context: the caller's context variables (which async library runs
            # *this* thread, for one) must not leak into the task on the server's loop.
            future = contextvars.Context().run(
                asyncio.run_coroutine_threadsafe, method(*args, **kwargs), self._loop
            )
            return future.result(self._timeout)

        return call
