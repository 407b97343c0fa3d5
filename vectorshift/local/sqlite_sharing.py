"""Folders and shares in the SQLite store, as a mixin of
:class:`~vectorshift.local.sqlite_store.SQLiteStore` (the methods of
:class:`~vectorshift.local.store_sharing.SharingStore`).

The ``folder_id`` column of ``pipelines`` and the ``shares`` table come from migration
``_V6_SHARING`` (:mod:`vectorshift.local.sqlite_schema`). A share outlives nothing: reads join
it with ``pipelines``, so the shares of a deleted pipeline are never seen (pipeline ids are
never reused).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vectorshift.local.records import PipelineRecord
from vectorshift.local.sqlite_rows import now_iso, pipeline_from_row

__all__ = ["SQLiteSharing"]

T = TypeVar("T")

_SHARED = (
    "SELECT p.*, s.role AS shared_role FROM shares s JOIN pipelines p ON p.id = s.pipeline_id"
    " WHERE s.org = ?"
)


class SQLiteSharing:
    """The folder and sharing methods; the store supplies ``_read`` and ``_write``."""

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    async def move_pipeline(self, org: str, pipeline_id: str, folder_id: str) -> bool:
        """See :meth:`SharingStore.move_pipeline
        <vectorshift.local.store_sharing.SharingStore.move_pipeline>`."""

        def job(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE pipelines SET folder_id = ? WHERE id = ? AND org = ?",
                (folder_id, pipeline_id, org),
            )
            return cur.rowcount == 1

        return await self._write(job)

    async def share_pipeline(
        self, org: str, pipeline_id: str, *, target: str, role: str, name: str | None = None
    ) -> bool:
        """See :meth:`SharingStore.share_pipeline
        <vectorshift.local.store_sharing.SharingStore.share_pipeline>`."""

        def job(db: sqlite3.Connection) -> bool:
            if not _owns(db, org, pipeline_id):
                return False
            db.execute(
                "INSERT INTO shares VALUES (?,?,?,?,?) ON CONFLICT (pipeline_id, org) DO UPDATE"
                " SET role = excluded.role, name = excluded.name",
                (pipeline_id, target, role, name, now_iso()),
            )
            return True

        return await self._write(job)

    async def unshare_pipeline(self, org: str, pipeline_id: str, *, target: str) -> bool | None:
        """See :meth:`SharingStore.unshare_pipeline
        <vectorshift.local.store_sharing.SharingStore.unshare_pipeline>`."""

        def job(db: sqlite3.Connection) -> bool | None:
            if not _owns(db, org, pipeline_id):
                return None
            cur = db.execute(
                "DELETE FROM shares WHERE pipeline_id = ? AND org = ?", (pipeline_id, target)
            )
            return cur.rowcount == 1

        return await self._write(job)

    async def shared_pipeline(
        self, org: str, pipeline_id: str
    ) -> tuple[PipelineRecord, str] | None:
        """See :meth:`SharingStore.shared_pipeline
        <vectorshift.local.store_sharing.SharingStore.shared_pipeline>`."""
        rows = await self._read(_SHARED + " AND s.pipeline_id = ?", (org, pipeline_id))
        return (pipeline_from_row(rows[0]), rows[0]["shared_role"]) if rows else None

    async def visible_pipelines(
        self,
        org: str,
        *,
        offset: int,
        limit: int,
        folder_id: str | None = None,
        include_shared: bool = False,
    ) -> list[tuple[PipelineRecord, str | None]]:
        """See :meth:`SharingStore.visible_pipelines
        <vectorshift.local.store_sharing.SharingStore.visible_pipelines>`."""
        own = "SELECT *, NULL AS shared_role, 0 AS theirs FROM pipelines WHERE org = ?"
        params: list[Any] = [org]
        if include_shared:
            own += f" UNION ALL SELECT *, 1 AS theirs FROM ({_SHARED})"
            params.append(org)
        sql = f"SELECT * FROM ({own})"
        if folder_id is not None:
            sql += " WHERE folder_id = ?"
            params.append(folder_id)
        sql += " ORDER BY theirs, created, id LIMIT ? OFFSET ?"
        rows = await self._read(sql, [*params, limit, offset])
        return [(pipeline_from_row(row), row["shared_role"]) for row in rows]


def _owns(db: sqlite3.Connection, org: str, pipeline_id: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org)
    ).fetchone()
    return row is not None
