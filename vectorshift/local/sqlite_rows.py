"""How the SQLite store writes values into its columns and reads records back from its rows.

JSON columns hold compact JSON text (non-ASCII kept as is); times are ISO 8601 text in UTC;
a run's simulated providers are one comma-separated column. The schema itself is
:mod:`vectorshift.local.sqlite_schema`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from vectorshift.local.records import PipelineRecord, RunRecord

__all__ = ["dump", "now_iso", "pipeline_from_row", "run_from_row"]


def now_iso() -> str:
    """The current time as the ISO 8601 text stored in ``created``/``modified`` columns."""
    return datetime.now(timezone.utc).isoformat()


def dump(value: Any) -> str:
    """``value`` as the compact JSON text stored in a column."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def pipeline_from_row(row: sqlite3.Row) -> PipelineRecord:
    """The pipeline a row of ``pipelines`` holds."""
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
        folder_id=row["folder_id"],
    )


def run_from_row(row: sqlite3.Row) -> RunRecord:
    """The run a row of ``runs`` holds."""
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
        simulated=tuple(filter(None, row["simulated"].split(","))),
        traceparent=row["traceparent"],
        tracestate=row["tracestate"],
    )
