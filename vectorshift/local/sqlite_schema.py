"""The SQLite schema of the local server, versioned with ``PRAGMA user_version``.

:data:`MIGRATIONS` is ordered: migration ``i`` (0-based) takes a database from version ``i`` to
``i + 1``, so a database reports how many it has had. A file made before the schema was
versioned reads version 0 and holds exactly what the first migration creates (its statements are
``IF NOT EXISTS``, so it is a no-op there). To change the schema, append a migration; never edit
one that has shipped.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_V1_TABLES = """
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

# Expiry: when a run finished, as seconds since the epoch (indexed), and whether its events
# have been pruned already (so each pass looks only at runs not yet pruned).
_V2_EXPIRY = """
ALTER TABLE runs ADD COLUMN finished_at REAL;
ALTER TABLE runs ADD COLUMN events_pruned INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET finished_at = (julianday(finished) - 2440587.5) * 86400.0
    WHERE finished IS NOT NULL;
CREATE INDEX runs_to_prune ON runs (events_pruned, finished_at);
CREATE INDEX idempotency_by_age ON idempotency (created);
"""

# Heartbeats: which server instances sharing the file are alive (see sqlite_owners).
_V3_INSTANCES = """
CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, beat REAL NOT NULL);
"""

# The providers whose LLM nodes the simulated model answered, comma-separated ('' for none).
_V4_SIMULATED = """
ALTER TABLE runs ADD COLUMN simulated TEXT NOT NULL DEFAULT '';
"""

# Versions: the graph of every version a pipeline was deployed at (see sqlite_versions). The
# pipelines row keeps the current graph and the version it is at; a pipeline made before this
# migration gets its current graph as its one stored version.
_V5_VERSIONS = """
CREATE TABLE pipeline_versions (
    pipeline_id TEXT NOT NULL, version TEXT NOT NULL, nodes TEXT NOT NULL,
    canvas_metadata TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
    description TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (pipeline_id, version));
INSERT INTO pipeline_versions SELECT id, version, nodes, canvas_metadata, inputs, outputs, '',
    modified FROM pipelines;
"""

# Folders and sharing: the folder a pipeline is filed in (NULL: none), and which other
# organisations may see a pipeline, with which role (see sqlite_sharing).
_V6_SHARING = """
ALTER TABLE pipelines ADD COLUMN folder_id TEXT;
CREATE INDEX pipelines_by_folder ON pipelines (org, folder_id);
CREATE TABLE shares (
    pipeline_id TEXT NOT NULL, org TEXT NOT NULL, role TEXT NOT NULL, name TEXT,
    created TEXT NOT NULL, PRIMARY KEY (pipeline_id, org)) WITHOUT ROWID;
CREATE INDEX shares_by_org ON shares (org);
"""

# Trace context: the W3C traceparent / tracestate a run's start carried (see trace_context).
_V7_TRACE_CONTEXT = """
ALTER TABLE runs ADD COLUMN traceparent TEXT;
ALTER TABLE runs ADD COLUMN tracestate TEXT;
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_TABLES,
    _V2_EXPIRY,
    _V3_INSTANCES,
    _V4_SIMULATED,
    _V5_VERSIONS,
    _V6_SHARING,
    _V7_TRACE_CONTEXT,
)
"""SQL scripts by version reached minus one; statements separated by ``;``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` of a database this code has opened."""


def migrate(db: sqlite3.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` and return the version it had.

    The check and every migration run in one ``BEGIN IMMEDIATE`` transaction, so processes
    opening one file at the same time migrate it once; a failure leaves it as it was.

    Args:
        db: A connection in autocommit mode (``isolation_level=None``).

    Raises:
        RuntimeError: The file was made by a newer version of the server.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has schema version {version}; this vectorshift.local knows up "
                f"to {SCHEMA_VERSION}: upgrade vectorshift to open it"
            )
        for script in MIGRATIONS[version:]:
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
        if version != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return int(version)
