"""SQLite persistence of the local server: pipelines, runs, run events and idempotency keys.

The file survives restarts and several processes may share it (WAL journal, a busy timeout, and
``BEGIN IMMEDIATE`` around every read-modify-write). Within a process one connection is shared by
all threads and serialised by a lock; every call is short, so async handlers may call it directly.
Nothing here waits for a run: waiting is the run manager's business.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from vectorshift.local.records import (
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    id TEXT PRIMARY KEY, org TEXT NOT NULL, name TEXT NOT NULL, nodes TEXT NOT NULL,
    canvas_metadata TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
    branch_id TEXT NOT NULL, version TEXT NOT NULL, description TEXT NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL, rev INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pipelines_by_name ON pipelines (org, name, rev);
CREATE TABLE IF NOT EXISTS runs (
    task_id TEXT PRIMARY KEY, pipeline_id TEXT NOT NULL, org TEXT NOT NULL, status TEXT NOT NULL,
    inputs TEXT NOT NULL, outputs TEXT, error TEXT, trace_id TEXT NOT NULL,
    owner_host TEXT NOT NULL, owner_pid INTEGER NOT NULL, owner_instance TEXT NOT NULL,
    created TEXT NOT NULL, finished TEXT);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, org);
CREATE TABLE IF NOT EXISTS events (
    task_id TEXT NOT NULL, seq INTEGER NOT NULL, frame TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    org TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL, task_id TEXT NOT NULL,
    trace_id TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (org, key));
"""

_live_lock = threading.Lock()
_live_instances: set[str] = set()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _bump(version: str, part: str) -> str:
    try:
        major, minor, patch = (int(x) for x in version.split("."))
    except ValueError:
        major, minor, patch = 1, 0, 0
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _process_alive(pid: int) -> bool:
    if sys.platform == "win32":
        # No harmless liveness probe without extra dependencies: assume the owner still runs.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """Thread-safe access to one SQLite file.

    Args:
        path: The database file; created with its schema when missing.

    Attributes:
        path: The database file.
        instance_id: Identifies this open store as the owner of the runs it creates.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.instance_id = uuid.uuid4().hex
        self._host = socket.gethostname()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        with _live_lock:
            _live_instances.add(self.instance_id)

    def close(self) -> None:
        """Close the connection; runs this store still owns count as abandoned from now on."""
        with _live_lock:
            _live_instances.discard(self.instance_id)
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # Pipelines -------------------------------------------------------------------------------

    def create_pipeline(
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
        """Store a new pipeline and return it (fresh id, main branch id and version ``1.0.0``)."""
        pid, branch, now = new_object_id(), new_object_id(), _now()
        with self._tx() as db:
            db.execute(
                "INSERT INTO pipelines VALUES (?,?,?,?,?,?,?,?,?,?,?,?,"
                "(SELECT COALESCE(MAX(rev), 0) + 1 FROM pipelines))",
                (
                    pid,
                    org,
                    name,
                    _dump(nodes),
                    _dump(canvas_metadata),
                    _dump(inputs),
                    _dump(outputs),
                    branch,
                    "1.0.0",
                    description,
                    now,
                    now,
                ),
            )
        record = self.get_pipeline(org, pid)
        assert record is not None
        return record

    def get_pipeline(self, org: str, pipeline_id: str) -> PipelineRecord | None:
        """The organisation's pipeline with this id, or ``None``."""
        rows = self._read("SELECT * FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org))
        return self._pipeline(rows[0]) if rows else None

    def find_pipeline(self, org: str, name: str) -> PipelineRecord | None:
        """The organisation's most recently modified pipeline with this name, or ``None``."""
        rows = self._read(
            "SELECT * FROM pipelines WHERE org = ? AND name = ? ORDER BY rev DESC LIMIT 1",
            (org, name),
        )
        return self._pipeline(rows[0]) if rows else None

    def list_pipelines(self, org: str, *, offset: int, limit: int) -> list[PipelineRecord]:
        """The organisation's pipelines, oldest first."""
        rows = self._read(
            "SELECT * FROM pipelines WHERE org = ? ORDER BY created, id LIMIT ? OFFSET ?",
            (org, limit, offset),
        )
        return [self._pipeline(row) for row in rows]

    def update_pipeline(
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
    ) -> PipelineRecord | None:
        """Replace a pipeline's graph; ``None`` when the organisation has no such pipeline.

        ``bump`` (``"patch"``, ``"minor"`` or ``"major"``) raises the version accordingly.
        """
        with self._tx() as db:
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
                    _dump(nodes),
                    _dump(inputs),
                    _dump(outputs),
                    row["canvas_metadata"] if canvas_metadata is None else _dump(canvas_metadata),
                    row["name"] if name is None else name,
                    row["description"] if description is None else description,
                    row["version"] if bump is None else _bump(row["version"], bump),
                    _now(),
                    pipeline_id,
                ),
            )
        return self.get_pipeline(org, pipeline_id)

    def delete_pipeline(self, org: str, pipeline_id: str) -> bool:
        """Delete a pipeline; ``False`` when the organisation has no such pipeline."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM pipelines WHERE id = ? AND org = ?", (pipeline_id, org))
            return cur.rowcount == 1

    @staticmethod
    def _pipeline(row: sqlite3.Row) -> PipelineRecord:
        return PipelineRecord(
            id=row["id"],
            org=row["org"],
            name=row["name"],
            nodes=json.loads(row["nodes"]),
            canvas_metadata=json.loads(row["canvas_metadata"]),
            inputs=json.loads(row["inputs"]),
            outputs=json.loads(row["outputs"]),
            branch_id=row["branch_id"],
            version=row["version"],
            description=row["description"],
            created=row["created"],
            modified=row["modified"],
        )

    # Runs ------------------------------------------------------------------------------------

    def create_runs(
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
            idempotency: ``(key, body hash)``: a key seen within :data:`IDEMPOTENCY_TTL` with the
                same hash returns the run it started instead of starting anything.

        Returns:
            The runs, and whether they were created (``False`` for an idempotent replay).

        Raises:
            RunLimitReached: The runs would exceed ``limit``.
            IdempotencyConflict: The key was used with another body.
        """
        now = _now()
        with self._tx() as db:
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
                        return [self._run(original)], False
            (active,) = db.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'in_progress' AND org = ?", (org,)
            ).fetchone()
            if active + len(runs) > limit:
                raise RunLimitReached(f"{active} active runs, limit {limit}")
            task_ids = [str(uuid.uuid4()) for _ in runs]
            for task_id, (inputs, trace_id) in zip(task_ids, runs, strict=True):
                db.execute(
                    "INSERT INTO runs VALUES (?,?,?,'in_progress',?,NULL,NULL,?,?,?,?,?,NULL)",
                    (
                        task_id,
                        pipeline_id,
                        org,
                        _dump(inputs),
                        trace_id,
                        self._host,
                        os.getpid(),
                        self.instance_id,
                        now,
                    ),
                )
            if idempotency is not None:
                db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?,?,?,?,?,?)",
                    (org, idempotency[0], idempotency[1], task_ids[0], runs[0][1], time.time()),
                )
            rows = [
                db.execute("SELECT * FROM runs WHERE task_id = ?", (t,)).fetchone()
                for t in task_ids
            ]
        return [self._run(row) for row in rows], True

    def get_run(self, org: str, task_id: str) -> RunRecord | None:
        """The organisation's run with this task id, or ``None``."""
        rows = self._read("SELECT * FROM runs WHERE task_id = ? AND org = ?", (task_id, org))
        return self._run(rows[0]) if rows else None

    def terminal_runs(self, task_ids: Sequence[str]) -> list[str]:
        """Those of ``task_ids`` whose run has ended."""
        if not task_ids:
            return []
        marks = ",".join("?" * len(task_ids))
        rows = self._read(
            f"SELECT task_id FROM runs WHERE status != 'in_progress' AND task_id IN ({marks})",
            list(task_ids),
        )
        return [row["task_id"] for row in rows]

    def run_counts(self, org: str | None = None) -> dict[str, int]:
        """Number of runs per status (every status present, zero included)."""
        sql = "SELECT status, COUNT(*) AS n FROM runs"
        rows = (
            self._read(sql + " WHERE org = ? GROUP BY status", (org,))
            if org
            else self._read(sql + " GROUP BY status")
        )
        counts = dict.fromkeys(RUN_STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    def finish_run(
        self,
        task_id: str,
        status: str,
        *,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> tuple[int, dict[str, Any]] | None:
        """End an in-progress run and append its ``result`` frame.

        A terminal status never changes: when the run has already ended this does nothing.

        Returns:
            ``(seq, frame)`` of the result frame, or ``None`` when another caller ended it first.
        """
        if status not in RUN_STATUSES[1:]:
            raise ValueError(f"not a terminal run status: {status!r}")
        frame = result_frame(task_id, status, outputs, error)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE runs SET status = ?, outputs = ?, error = ?, finished = ?"
                " WHERE task_id = ? AND status = 'in_progress'",
                (status, _dump(outputs or {}), error, _now(), task_id),
            )
            if cur.rowcount != 1:
                return None
            return self._append(db, task_id, frame), frame

    def recover_orphans(self) -> list[str]:
        """Fail the runs left in progress by a server instance that no longer runs.

        An instance no longer runs when it belonged to this process and has closed its store, or
        when its process (on this host) is gone. Each such run is marked ``failed`` with the error
        "the local server stopped while this run was active" and gets its ``result`` frame.

        Returns:
            The task ids marked failed.
        """
        rows = self._read(
            "SELECT task_id, owner_host, owner_pid, owner_instance FROM runs"
            " WHERE status = 'in_progress'"
        )
        with _live_lock:
            live = set(_live_instances)
        pid = os.getpid()
        orphans = []
        for row in rows:
            if row["owner_host"] != self._host:
                continue
            if row["owner_pid"] == pid:
                dead = row["owner_instance"] not in live
            else:
                dead = not _process_alive(row["owner_pid"])
            if dead and self.finish_run(row["task_id"], "failed", error=STOPPED_SERVER_ERROR):
                orphans.append(row["task_id"])
        return orphans

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            task_id=row["task_id"],
            pipeline_id=row["pipeline_id"],
            org=row["org"],
            status=row["status"],
            inputs=json.loads(row["inputs"]),
            outputs=None if row["outputs"] is None else json.loads(row["outputs"]),
            error=row["error"],
            trace_id=row["trace_id"],
            owner_instance=row["owner_instance"],
            created=row["created"],
            finished=row["finished"],
        )

    # Events ----------------------------------------------------------------------------------

    def append_event(self, task_id: str, frame: dict[str, Any]) -> int | None:
        """Append a frame to an in-progress run's event log.

        Returns:
            Its sequence number (1 for a run's first frame), or ``None`` when the run has ended
            (nothing is stored after a ``result`` frame).
        """
        with self._tx() as db:
            row = db.execute("SELECT status FROM runs WHERE task_id = ?", (task_id,)).fetchone()
            if row is None or row["status"] != "in_progress":
                return None
            return self._append(db, task_id, frame)

    @staticmethod
    def _append(db: sqlite3.Connection, task_id: str, frame: dict[str, Any]) -> int:
        (last,) = db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE task_id = ?", (task_id,)
        ).fetchone()
        seq = int(last) + 1
        db.execute("INSERT INTO events VALUES (?,?,?)", (task_id, seq, _dump(frame)))
        return seq

    def events_after(self, task_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """The run's stored frames with a sequence number above ``after``, in order."""
        rows = self._read(
            "SELECT seq, frame FROM events WHERE task_id = ? AND seq > ? ORDER BY seq",
            (task_id, after),
        )
        return [(row["seq"], json.loads(row["frame"])) for row in rows]
