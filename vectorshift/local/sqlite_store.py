"""The SQLite store of the local server: pipelines, runs, run events and idempotency keys.

The file survives restarts and several processes may share it: WAL journal, a 10 s busy
timeout, and ``BEGIN IMMEDIATE`` around every read-modify-write, so each is atomic across
processes. The schema is versioned (:mod:`vectorshift.local.sqlite_schema`) and migrated when the
file is opened.

Threads. No event loop ever runs SQLite. All writes, and the reads that decide a write, run on
**one writer thread** owning one connection, in the order they were submitted; so within a
process writes never contend for the file's lock, and a write blocked by another process delays
only the writes queued behind it. Plain reads (a status, a replay, a listing) run on **a second
thread with its own connection**: with WAL a reader never waits for a writer, so status polls and
streams keep answering while a write waits for another process's lock. A read submitted after a
write has returned sees that write (it starts a new read transaction after the commit).
See :class:`~vectorshift.local.sqlite_thread.ConnectionThread`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import anyio

from vectorshift.local.records import (
    FIRST_VERSION,
    IDEMPOTENCY_TTL,
    RUN_STATUSES,
    STOPPED_SERVER_ERROR,
    IdempotencyConflict,
    PipelineRecord,
    RunLimitReached,
    RunRecord,
    new_object_id,
    result_frame,
)
from vectorshift.local.sqlite_listing import SQLiteListing
from vectorshift.local.sqlite_owners import abandoned, beat, forget
from vectorshift.local.sqlite_rows import dump, now_iso, pipeline_from_row, run_from_row
from vectorshift.local.sqlite_sharing import SQLiteSharing
from vectorshift.local.sqlite_thread import ConnectionThread, connect, fetch, transaction
from vectorshift.local.sqlite_versions import VersionsStore, next_version, record_version

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_PRUNE_BATCH = 500
"""Most runs whose events one expiry transaction prunes (keeps each write short)."""

_live_lock = threading.Lock()
_live_instances: set[str] = set()


class SQLiteStore(VersionsStore, SQLiteSharing, SQLiteListing):
    """The :class:`~vectorshift.local.store.Store` on one SQLite file.

    Opening it starts its two threads and migrates the file; do that outside an event loop (or
    in a worker thread), as :class:`~vectorshift.local.LocalServer` and
    :func:`~vectorshift.local.app.create_app` do.

    Args:
        path: The database file; created with its schema when missing.

    Attributes:
        path: The database file.
        instance_id: Identifies this open store as the owner of the runs it creates.

    Raises:
        sqlite3.Error: The file cannot be opened.
        RuntimeError: The file was made by a newer version of the server.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.instance_id = uuid.uuid4().hex
        self._host = socket.gethostname()
        self._writer = ConnectionThread(
            "vectorshift-local-sqlite-writer", lambda: connect(path, writer=True)
        )
        try:
            self._reader = ConnectionThread(
                "vectorshift-local-sqlite-reader", lambda: connect(path, writer=False)
            )
        except BaseException:
            self._writer.close()
            raise
        self._closed = False
        with _live_lock:
            _live_instances.add(self.instance_id)
        self._beat_job = transaction(
            lambda db: beat(db, self.instance_id, self._host, os.getpid(), time.time())
        )
        try:
            self._writer.call(self._beat_job)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Finish the queued work and close both connections (blocking). Idempotent."""
        with _live_lock:
            _live_instances.discard(self.instance_id)
        if not self._closed:
            self._closed = True
            self._writer.submit(transaction(lambda db: forget(db, self.instance_id)))
            self._reader.close()
            self._writer.close()

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop."""
        await anyio.to_thread.run_sync(self.close)

    async def heartbeat(self) -> None:
        """See :meth:`Store.heartbeat <vectorshift.local.store.Store.heartbeat>`."""
        await self._writer.run(self._beat_job)

    async def _write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return await self._writer.run(transaction(job))

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self._reader.run(fetch(sql, params))

    # A pipeline's graph is decoded on the thread that read its row, never on the server's loop:
    # decoding a 10k-node graph takes tens of milliseconds, which every other client of the loop
    # would wait (issue 24, point 6).

    async def _read_pipelines(self, sql: str, params: Sequence[Any]) -> list[PipelineRecord]:
        query = fetch(sql, params)
        return await self._reader.run(lambda db: [pipeline_from_row(row) for row in query(db)])

    async def _write_pipeline(
        self, job: Callable[[sqlite3.Connection], sqlite3.Row | None]
    ) -> PipelineRecord | None:
        locked = transaction(job)

        def decoded(db: sqlite3.Connection) -> PipelineRecord | None:
            row = locked(db)
            return None if row is None else pipeline_from_row(row)

        return await self._writer.run(decoded)

    # Pipelines -------------------------------------------------------------------------------

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
        """See :meth:`Store.create_pipeline <vectorshift.local.store.Store.create_pipeline>`."""
        pid, branch, now = new_object_id(), new_object_id(), now_iso()

        def job(db: sqlite3.Connection) -> sqlite3.Row:
            # Encoded here, on the writer's thread: a big graph takes milliseconds to encode,
            # which the server's loop would otherwise spend (issue 24, point 6).
            values = (
                pid,
                org,
                name,
                dump(nodes),
                dump(canvas_metadata),
                dump(inputs),
                dump(outputs),
                branch,
                FIRST_VERSION,
                description,
                now,
                now,
            )
            db.execute(
                "INSERT INTO pipelines (id, org, name, nodes, canvas_metadata, inputs, outputs,"
                " branch_id, version, description, created, modified, rev)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,"
                "(SELECT COALESCE(MAX(rev), 0) + 1 FROM pipelines))",
                values,
            )
            row: sqlite3.Row = db.execute("SELECT * FROM pipelines WHERE id = ?", (pid,)).fetchone()
            record_version(db, row, "")
            return row

        record = await self._write_pipeline(job)
        assert record is not None  # the row was just written
        return record

    async def get_pipeline(self, org: str, pipeline_id: str) -> PipelineRecord | None:
        """See :meth:`Store.get_pipeline <vectorshift.local.store.Store.get_pipeline>`."""
        found = await self._read_pipelines(
            "SELECT * FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org)
        )
        return found[0] if found else None

    async def find_pipeline(self, org: str, name: str) -> PipelineRecord | None:
        """See :meth:`Store.find_pipeline <vectorshift.local.store.Store.find_pipeline>`."""
        found = await self._read_pipelines(
            "SELECT * FROM pipelines WHERE org = ? AND name = ? ORDER BY rev DESC LIMIT 1",
            (org, name),
        )
        return found[0] if found else None

    async def list_pipelines(self, org: str, *, offset: int, limit: int) -> list[PipelineRecord]:
        """See :meth:`Store.list_pipelines <vectorshift.local.store.Store.list_pipelines>`."""
        return await self._read_pipelines(
            "SELECT * FROM pipelines WHERE org = ? ORDER BY created, id LIMIT ? OFFSET ?",
            (org, limit, offset),
        )

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
        """See :meth:`Store.update_pipeline <vectorshift.local.store.Store.update_pipeline>`."""
        versioned = deploy or bump is not None

        def job(db: sqlite3.Connection) -> sqlite3.Row | None:
            row = db.execute(
                "SELECT * FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE pipelines SET nodes = ?, inputs = ?, outputs = ?, canvas_metadata = ?,"
                " name = ?, description = ?, version = ?, modified = ?,"
                " rev = (SELECT MAX(rev) + 1 FROM pipelines) WHERE id = ?",
                (
                    dump(nodes),
                    dump(inputs),
                    dump(outputs),
                    row["canvas_metadata"] if canvas_metadata is None else dump(canvas_metadata),
                    row["name"] if name is None else name,
                    row["description"] if description is None else description,
                    next_version(db, pipeline_id, bump or "patch") if versioned else row["version"],
                    now_iso(),
                    pipeline_id,
                ),
            )
            new: sqlite3.Row = db.execute(
                "SELECT * FROM pipelines WHERE id = ?", (pipeline_id,)
            ).fetchone()
            if versioned:
                record_version(db, new, description or "")
            return new

        return await self._write_pipeline(job)

    async def delete_pipeline(self, org: str, pipeline_id: str) -> bool:
        """See :meth:`Store.delete_pipeline <vectorshift.local.store.Store.delete_pipeline>`."""

        def job(db: sqlite3.Connection) -> bool:
            cur = db.execute("DELETE FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org))
            if cur.rowcount == 1:
                db.execute("DELETE FROM pipeline_versions WHERE pipeline_id = ?", (pipeline_id,))
            return cur.rowcount == 1

        return await self._write(job)

    # Runs ------------------------------------------------------------------------------------

    async def create_runs(
        self,
        org: str,
        pipeline_id: str,
        runs: Sequence[tuple[dict[str, Any], str]],
        *,
        limit: int,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[list[RunRecord], bool]:
        """See :meth:`Store.create_runs <vectorshift.local.store.Store.create_runs>`."""
        now = now_iso()
        pid = os.getpid()

        def job(db: sqlite3.Connection) -> tuple[list[RunRecord], bool]:
            if idempotency is not None:
                key, body_hash = idempotency
                row = db.execute(
                    "SELECT * FROM idempotency WHERE org = ? AND key = ?", (org, key)
                ).fetchone()
                if row is not None and row["created"] > time.time() - IDEMPOTENCY_TTL:
                    if row["body_hash"] != body_hash:
                        raise IdempotencyConflict(key)
                    original = db.execute(
                        "SELECT * FROM runs WHERE task_id = ?", (row["task_id"],)
                    ).fetchone()
                    if original is not None:
                        return [run_from_row(original)], False
            (active,) = db.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'in_progress' AND org = ?", (org,)
            ).fetchone()
            if active + len(runs) > limit:
                raise RunLimitReached(f"{active} active runs, limit {limit}")
            task_ids = [str(uuid.uuid4()) for _ in runs]
            for task_id, (inputs, trace_id) in zip(task_ids, runs, strict=True):
                db.execute(
                    "INSERT INTO runs (task_id, pipeline_id, org, status, inputs, trace_id,"
                    " owner_host, owner_pid, owner_instance, created)"
                    " VALUES (?,?,?,'in_progress',?,?,?,?,?,?)",
                    (
                        task_id,
                        pipeline_id,
                        org,
                        dump(inputs),
                        trace_id,
                        self._host,
                        pid,
                        self.instance_id,
                        now,
                    ),
                )
            if idempotency is not None:
                db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?,?,?,?,?,?)",
                    (org, idempotency[0], idempotency[1], task_ids[0], runs[0][1], time.time()),
                )
            # Read back inside the transaction: a row that cannot be read rolls the start back,
            # never leaving a run that no executor owns.
            records = [
                run_from_row(db.execute("SELECT * FROM runs WHERE task_id = ?", (t,)).fetchone())
                for t in task_ids
            ]
            return records, True

        return await self._write(job)

    async def get_run(self, org: str, task_id: str) -> RunRecord | None:
        """See :meth:`Store.get_run <vectorshift.local.store.Store.get_run>`."""
        rows = await self._read("SELECT * FROM runs WHERE task_id = ? AND org = ?", (task_id, org))
        return run_from_row(rows[0]) if rows else None

    async def terminal_runs(self, task_ids: Sequence[str]) -> list[str]:
        """See :meth:`Store.terminal_runs <vectorshift.local.store.Store.terminal_runs>`."""
        if not task_ids:
            return []
        marks = ",".join("?" * len(task_ids))
        rows = await self._read(
            f"SELECT task_id FROM runs WHERE status != 'in_progress' AND task_id IN ({marks})",
            list(task_ids),
        )
        return [row["task_id"] for row in rows]

    async def owned_runs(self) -> list[str]:
        """See :meth:`Store.owned_runs <vectorshift.local.store.Store.owned_runs>`."""
        rows = await self._read(
            "SELECT task_id FROM runs WHERE status = 'in_progress' AND owner_instance = ?",
            (self.instance_id,),
        )
        return [row["task_id"] for row in rows]

    async def run_counts(self, org: str | None = None) -> dict[str, int]:
        """See :meth:`Store.run_counts <vectorshift.local.store.Store.run_counts>`."""
        sql = "SELECT status, COUNT(*) AS n FROM runs"
        rows = await (
            self._read(sql + " WHERE org = ? GROUP BY status", (org,))
            if org
            else self._read(sql + " GROUP BY status")
        )
        counts = dict.fromkeys(RUN_STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    async def finish_run(
        self,
        task_id: str,
        status: str,
        *,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
        simulated: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]] | None:
        """See :meth:`Store.finish_run <vectorshift.local.store.Store.finish_run>`."""
        if status not in RUN_STATUSES[1:]:
            raise ValueError(f"not a terminal run status: {status!r}")
        simulated = tuple(sorted(set(simulated)))
        frame = result_frame(task_id, status, outputs, error, simulated)

        def job(db: sqlite3.Connection) -> tuple[int, dict[str, Any]] | None:
            cur = db.execute(
                "UPDATE runs SET status = ?, outputs = ?, error = ?, finished = ?,"
                " finished_at = ?, simulated = ? WHERE task_id = ? AND status = 'in_progress'",
                (
                    status,
                    dump(outputs or {}),
                    error,
                    now_iso(),
                    time.time(),
                    ",".join(simulated),
                    task_id,
                ),
            )
            if cur.rowcount != 1:
                return None
            return self._append(db, task_id, [frame])[0], frame

        return await self._write(job)

    async def record_trace_context(
        self, task_id: str, traceparent: str, tracestate: str | None
    ) -> None:
        """See :meth:`vectorshift.local.store.Store.record_trace_context`."""
        await self._write(
            lambda db: db.execute(
                "UPDATE runs SET traceparent = ?, tracestate = ? WHERE task_id = ?",
                (traceparent, tracestate, task_id),
            )
        )

    async def recover_orphans(self) -> list[str]:
        """See :meth:`Store.recover_orphans <vectorshift.local.store.Store.recover_orphans>`.

        Who counts as dead is :func:`vectorshift.local.sqlite_owners.abandoned`'s rule.
        """
        rows = await self._read(
            "SELECT task_id, owner_host, owner_pid, owner_instance FROM runs"
            " WHERE status = 'in_progress' AND owner_instance != ?",
            (self.instance_id,),
        )
        if not rows:
            return []
        beats = {
            row["instance_id"]: row["beat"]
            for row in await self._read("SELECT instance_id, beat FROM instances")
        }
        with _live_lock:
            live = set(_live_instances)
        dead = abandoned(rows, beats, host=self._host, pid=os.getpid(), live=live, now=time.time())
        orphans = []
        for task_id in dead:
            if await self.finish_run(task_id, "failed", error=STOPPED_SERVER_ERROR):
                orphans.append(task_id)
        return orphans

    # Events ----------------------------------------------------------------------------------

    async def append_events(
        self, task_id: str, frames: Sequence[dict[str, Any]]
    ) -> list[int] | None:
        """See :meth:`Store.append_events <vectorshift.local.store.Store.append_events>`."""
        if not frames:
            return []

        def job(db: sqlite3.Connection) -> list[int] | None:
            row = db.execute("SELECT status FROM runs WHERE task_id = ?", (task_id,)).fetchone()
            if row is None or row["status"] != "in_progress":
                return None
            return self._append(db, task_id, frames)

        return await self._write(job)

    @staticmethod
    def _append(
        db: sqlite3.Connection, task_id: str, frames: Sequence[dict[str, Any]]
    ) -> list[int]:
        (last,) = db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE task_id = ?", (task_id,)
        ).fetchone()
        seqs = list(range(int(last) + 1, int(last) + 1 + len(frames)))
        db.executemany(
            "INSERT INTO events VALUES (?,?,?)",
            [(task_id, seq, dump(frame)) for seq, frame in zip(seqs, frames, strict=True)],
        )
        return seqs

    async def events_after(self, task_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """See :meth:`Store.events_after <vectorshift.local.store.Store.events_after>`."""
        rows = await self._read(
            "SELECT seq, frame FROM events WHERE task_id = ? AND seq > ? ORDER BY seq",
            (task_id, after),
        )
        return [(row["seq"], json.loads(row["frame"])) for row in rows]

    # Expiry ----------------------------------------------------------------------------------

    async def expire(self, *, now: float, retain: float) -> tuple[int, int]:
        """See :meth:`Store.expire <vectorshift.local.store.Store.expire>`.

        Runs are pruned in transactions of at most 500 runs, so other writes are never held up
        for long behind a large expiry.
        """
        cutoff = now - retain

        def prune(db: sqlite3.Connection) -> int:
            rows = db.execute(
                "SELECT task_id FROM runs WHERE events_pruned = 0 AND finished_at < ? LIMIT ?",
                (cutoff, _PRUNE_BATCH),
            ).fetchall()
            for (task_id,) in rows:
                db.execute(
                    "DELETE FROM events WHERE task_id = ?"
                    " AND seq < (SELECT MAX(seq) FROM events WHERE task_id = ?)",
                    (task_id, task_id),
                )
                db.execute("UPDATE runs SET events_pruned = 1 WHERE task_id = ?", (task_id,))
            return len(rows)

        pruned = 0
        while True:
            batch = await self._write(prune)
            pruned += batch
            if batch < _PRUNE_BATCH:
                break

        def forget(db: sqlite3.Connection) -> int:
            cur = db.execute("DELETE FROM idempotency WHERE created < ?", (now - IDEMPOTENCY_TTL,))
            return cur.rowcount

        return pruned, await self._write(forget)
