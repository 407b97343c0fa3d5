"""Which server instances sharing a SQLite file are alive: heartbeats, and the dead-owner rule.

Every open :class:`~vectorshift.local.sqlite_store.SQLiteStore` has a row in ``instances``
(its id, host, process id and last heartbeat); a serving run manager refreshes it every second
(:data:`vectorshift.local.runs.HEARTBEAT_INTERVAL`), and it is deleted when the store closes.
A run in progress is abandoned, and gets failed by whichever server notices first, when its
owner instance:

- belongs to this process and has closed its store (this rule alone decides for this process);
- runs on this host in a process that no longer exists (noticed within a heartbeat interval:
  a ``SIGKILL`` leaves nothing else behind);
- has a heartbeat older than :data:`STALE_AFTER` seconds (a process on another host or in
  another container, or a process id the system has since given to someone else).

An owner without a row (a server of a version before heartbeats, or one that closed) is judged
by its process alone, as before. :data:`STALE_AFTER` is three times the SQLite busy timeout, so
a live server whose writes wait for another process's lock is not taken for dead.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Collection, Iterable

__all__ = ["STALE_AFTER", "abandoned", "beat", "forget", "process_alive"]

STALE_AFTER = 30.0
"""Seconds without a heartbeat after which an instance counts as dead."""

_FORGOTTEN_AFTER = 24 * 3600.0


def process_alive(pid: int) -> bool:
    """Whether a process of this host has this id (``True`` when it cannot be told)."""
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


def beat(db: sqlite3.Connection, instance: str, host: str, pid: int, now: float) -> None:
    """Record that ``instance`` is alive as of ``now`` (inside a write transaction).

    Rows of instances silent for a day are deleted on the way (their runs were failed long ago).
    """
    db.execute("DELETE FROM instances WHERE beat < ?", (now - _FORGOTTEN_AFTER,))
    db.execute(
        "INSERT INTO instances VALUES (?,?,?,?) ON CONFLICT (instance_id) DO UPDATE"
        " SET beat = excluded.beat",
        (instance, host, pid, now),
    )


def forget(db: sqlite3.Connection, instance: str) -> None:
    """Delete ``instance``'s row: it has closed its store."""
    db.execute("DELETE FROM instances WHERE instance_id = ?", (instance,))


def abandoned(
    runs: Iterable[sqlite3.Row],
    beats: dict[str, float],
    *,
    host: str,
    pid: int,
    live: Collection[str],
    now: float,
) -> list[str]:
    """The task ids of those in-progress ``runs`` whose owner is dead (see the module).

    Args:
        runs: Rows with ``task_id``, ``owner_host``, ``owner_pid`` and ``owner_instance``.
        beats: Last heartbeat by instance id, of every instance with a row.
        host: This host's name.
        pid: This process's id.
        live: The instances of this process whose store is open.
        now: The current time, in seconds since the epoch.
    """
    dead = []
    for row in runs:
        owner = row["owner_instance"]
        here = row["owner_host"] == host
        last = beats.get(owner)
        if here and row["owner_pid"] == pid:
            gone = owner not in live  # this process knows its own stores for sure
        elif last is not None and now - last > STALE_AFTER:
            gone = True
        else:
            gone = here and not process_alive(row["owner_pid"])
        if gone:
            dead.append(row["task_id"])
    return dead
