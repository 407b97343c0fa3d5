"""Pipeline versions in the SQLite store: numbering, the stored graphs, revert and graph edits.

The ``pipelines`` row holds the current graph (what runs and a fetch without ``version`` use)
and the version it is at; ``pipeline_versions`` holds the graph of every version (schema:
:data:`~vectorshift.local.sqlite_schema.MIGRATIONS`, ``_V5_VERSIONS``).

Numbering (the official client never computes a version; these rules are this server's, chosen
where the platform's are not known):

- A new pipeline is at :data:`~vectorshift.local.records.FIRST_VERSION` (``0.0.0``), stored as
  its first version.
- A save with ``deploy`` or a ``bump`` makes a new version: the **highest** number stored,
  bumped by ``bump`` (``patch`` when none is given). Each version's graph is never changed
  afterwards, so fetching or running a version always gives what was deployed under it, and
  a number is never given twice (not even after a revert to an older version).
- A save without either replaces the current graph only: it is not a version.
- A revert makes a stored version's graph the current one and the pipeline is at that version
  again; it makes no version and deletes none (a later one stays fetchable, and revertable).

:class:`VersionsStore` is a base of :class:`~vectorshift.local.sqlite_store.SQLiteStore`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vectorshift.local.records import (
    LATEST,
    PipelineRecord,
    VersionRecord,
    bump_version,
    version_key,
)
from vectorshift.local.sqlite_rows import dump, now_iso, pipeline_from_row

__all__ = ["VersionsStore", "next_version", "record_version"]

T = TypeVar("T")


def _version_from_row(row: sqlite3.Row) -> VersionRecord:
    return VersionRecord(
        pipeline_id=row["pipeline_id"],
        version=row["version"],
        description=row["description"],
        created=row["created"],
        nodes=json.loads(row["nodes"]),
        canvas_metadata=json.loads(row["canvas_metadata"]),
        inputs=json.loads(row["inputs"]),
        outputs=json.loads(row["outputs"]),
    )


def next_version(db: sqlite3.Connection, pipeline_id: str, bump: str) -> str:
    """The number a new version of the pipeline gets: its highest one bumped by ``bump``."""
    rows = db.execute(
        "SELECT version FROM pipeline_versions WHERE pipeline_id = ?", (pipeline_id,)
    ).fetchall()
    highest = max((row["version"] for row in rows), key=version_key, default="0.0.0")
    return bump_version(highest, bump)


def record_version(db: sqlite3.Connection, row: sqlite3.Row, description: str) -> None:
    """Store the graph of the ``pipelines`` row ``row`` as its version ``row["version"]``."""
    db.execute(
        "INSERT OR REPLACE INTO pipeline_versions VALUES (?,?,?,?,?,?,?,?)",
        (
            row["id"],
            row["version"],
            row["nodes"],
            row["canvas_metadata"],
            row["inputs"],
            row["outputs"],
            description,
            now_iso(),
        ),
    )


def _current(db: sqlite3.Connection, org: str, pipeline_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org)
    ).fetchone()
    return row


def _set_graph(
    db: sqlite3.Connection, pipeline_id: str, graph: Sequence[str], version: str
) -> sqlite3.Row:
    """Make ``graph`` (nodes, canvas, inputs, outputs as JSON text) the current one."""
    db.execute(
        "UPDATE pipelines SET nodes = ?, canvas_metadata = ?, inputs = ?, outputs = ?,"
        " version = ?, modified = ?, rev = (SELECT MAX(rev) + 1 FROM pipelines) WHERE id = ?",
        (*graph, version, now_iso(), pipeline_id),
    )
    row: sqlite3.Row = db.execute("SELECT * FROM pipelines WHERE id = ?", (pipeline_id,)).fetchone()
    return row


class VersionsStore:
    """The version methods of :class:`~vectorshift.local.sqlite_store.SQLiteStore`."""

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    async def list_versions(self, org: str, pipeline_id: str) -> list[VersionRecord]:
        """See :meth:`Store.list_versions <vectorshift.local.store.Store.list_versions>`."""
        rows = await self._read(
            "SELECT v.* FROM pipeline_versions v JOIN pipelines p ON p.id = v.pipeline_id"
            " WHERE v.pipeline_id = ? AND p.org = ?",
            (pipeline_id, org),
        )
        versions = [_version_from_row(row) for row in rows]
        return sorted(versions, key=lambda v: version_key(v.version))

    async def get_version(self, org: str, pipeline_id: str, version: str) -> VersionRecord | None:
        """See :meth:`Store.get_version <vectorshift.local.store.Store.get_version>`."""
        if version == LATEST:
            versions = await self.list_versions(org, pipeline_id)
            return versions[-1] if versions else None
        rows = await self._read(
            "SELECT v.* FROM pipeline_versions v JOIN pipelines p ON p.id = v.pipeline_id"
            " WHERE v.pipeline_id = ? AND v.version = ? AND p.org = ?",
            (pipeline_id, version, org),
        )
        return _version_from_row(rows[0]) if rows else None

    async def revert_pipeline(
        self, org: str, pipeline_id: str, version: str
    ) -> PipelineRecord | None:
        """See :meth:`Store.revert_pipeline <vectorshift.local.store.Store.revert_pipeline>`."""

        def job(db: sqlite3.Connection) -> sqlite3.Row | None:
            if _current(db, org, pipeline_id) is None:
                return None
            rows = db.execute(
                "SELECT * FROM pipeline_versions WHERE pipeline_id = ?", (pipeline_id,)
            ).fetchall()
            if version == LATEST:
                found = max(rows, key=lambda r: version_key(r["version"]), default=None)
            else:
                found = next((r for r in rows if r["version"] == version), None)
            if found is None:
                return None
            graph = (found["nodes"], found["canvas_metadata"], found["inputs"], found["outputs"])
            return _set_graph(db, pipeline_id, graph, found["version"])

        row = await self._write(job)
        return None if row is None else pipeline_from_row(row)

    async def edit_pipeline(
        self, org: str, pipeline_id: str, edit: Callable[[PipelineRecord], PipelineRecord]
    ) -> PipelineRecord | None:
        """See :meth:`Store.edit_pipeline <vectorshift.local.store.Store.edit_pipeline>`."""

        def job(db: sqlite3.Connection) -> sqlite3.Row | None:
            row = _current(db, org, pipeline_id)
            if row is None:
                return None
            new = edit(pipeline_from_row(row))
            graph = tuple(
                dump(x) for x in (new.nodes, new.canvas_metadata, new.inputs, new.outputs)
            )
            return _set_graph(db, pipeline_id, graph, row["version"])

        row = await self._write(job)
        return None if row is None else pipeline_from_row(row)
