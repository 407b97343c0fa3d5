"""What the dashboard reads of the SQLite store beyond the platform's needs: run listings.

A mixin of :class:`~vectorshift.local.sqlite_store.SQLiteStore`, read-only, on the store's
reader thread. The platform API has no call listing runs; the dashboard
(:mod:`vectorshift.local.dashboard`) does, filtered by status and pipeline, and shows the
active runs of each organisation and a run's idempotency key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from vectorshift.local.records import RunRecord
from vectorshift.local.sqlite_rows import run_from_row
from vectorshift.local.store import Store

__all__ = ["ListingStore", "SQLiteListing"]


class ListingStore(Store, Protocol):
    """A :class:`~vectorshift.local.store.Store` that also lists runs (what the dashboard
    needs)."""

    async def list_runs(
        self,
        org: str,
        *,
        status: str | None = None,
        pipeline_id: str | None = None,
        limit: int = 100,
    ) -> list[RunRecord]:
        """The organisation's runs, newest first, optionally of one status and pipeline."""
        ...

    async def active_runs_by_org(self) -> dict[str, int]:
        """Runs in progress per organisation (organisations with none left out)."""
        ...

    async def idempotency_key(self, org: str, task_id: str) -> str | None:
        """The ``Idempotency-Key`` the run was started with, while it is remembered."""
        ...


class SQLiteListing:
    """The listing methods; the store supplies ``_read``."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    async def list_runs(
        self,
        org: str,
        *,
        status: str | None = None,
        pipeline_id: str | None = None,
        limit: int = 100,
    ) -> list[RunRecord]:
        """See :meth:`ListingStore.list_runs`."""
        sql, params = "SELECT * FROM runs WHERE org = ?", [org]
        if status:
            sql, params = sql + " AND status = ?", [*params, status]
        if pipeline_id:
            sql, params = sql + " AND pipeline_id = ?", [*params, pipeline_id]
        rows = await self._read(
            sql + " ORDER BY created DESC, rowid DESC LIMIT ?", [*params, limit]
        )
        return [run_from_row(row) for row in rows]

    async def active_runs_by_org(self) -> dict[str, int]:
        """See :meth:`ListingStore.active_runs_by_org`."""
        rows = await self._read(
            "SELECT org, COUNT(*) AS n FROM runs WHERE status = 'in_progress' GROUP BY org"
            " ORDER BY org"
        )
        return {row["org"]: row["n"] for row in rows}

    async def idempotency_key(self, org: str, task_id: str) -> str | None:
        """See :meth:`ListingStore.idempotency_key`."""
        rows = await self._read(
            "SELECT key FROM idempotency WHERE org = ? AND task_id = ? LIMIT 1", (org, task_id)
        )
        return str(rows[0]["key"]) if rows else None
