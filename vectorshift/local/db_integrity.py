"""The database file's integrity, checked before the server serves from it.

A damaged file must not be served: a damaged name index answers 404 for pipelines that exist
(and the user creates duplicates), damaged table pages answer 500 at random. So the start runs
SQLite's ``PRAGMA integrity_check`` (which also compares each index with its table, unlike
``quick_check``) on a read-only connection, bounded in time for big files:

- nothing wrong: the server starts;
- only indexes are wrong: they are rebuilt with ``REINDEX`` (an index holds nothing its table
  does not, so rebuilding loses nothing), checked again, and the repair is logged;
- anything else: the start is refused in one line naming the file and what to do;
- the check runs out of time: the server starts, and a warning says how far it got.

A zero-length file is refused too. SQLite takes one for an empty database, but this server
creates its file when the path does not exist, and a file it made is never empty: an empty
one is a database that lost its content (a truncated copy, a full disk), and starting an empty
platform on it would hide the loss. Deleting it starts a new platform.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time

from vectorshift import _log
from vectorshift.local.startup import startup_error

__all__ = ["CHECK_SECONDS", "check_integrity"]

log = _log.get_logger("vectorshift.local")

#: How long the start may spend checking the file (a few hundred MB checks within it).
CHECK_SECONDS = 10.0
_MAX_ERRORS = 20
_INDEX_PROBLEM = re.compile(
    r"^(row \d+ missing from index \S+|wrong # of entries in index \S+"
    r"|non-unique entry in index \S+)$"
)


class _OutOfTime(Exception):
    pass


def _integrity(path: str, seconds: float) -> list[str] | None:
    """The problems ``integrity_check`` reports (``[]`` when none), or None if out of time."""
    deadline = time.monotonic() + seconds
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1_000)
        try:
            rows = db.execute(f"PRAGMA integrity_check({_MAX_ERRORS})").fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return None
            raise
    finally:
        db.close()
    problems = [" ".join(str(row[0]).split()) for row in rows]
    return [] if problems == ["ok"] else problems


def _refuse(full: str, what: str) -> OSError:
    what = " ".join(what.replace("*** in database main ***", "").split())
    return startup_error(
        None,
        f"the database file is damaged ({what}): {full}; restore it from a backup (or move it "
        "aside and start with a new file; `sqlite3 FILE .recover` may save some of its rows)",
    )


def check_integrity(path: str, seconds: float = CHECK_SECONDS) -> None:
    """Refuse a damaged or emptied database file, or rebuild its damaged indexes.

    Raises:
        OSError: The file is empty or damaged beyond its indexes; one line naming the cause,
            the absolute path and what to do.
    """
    full = os.path.abspath(path)
    if not os.path.exists(full):
        return
    if os.path.getsize(full) == 0:
        raise startup_error(
            None,
            f"the database file is empty (0 bytes): {full}; a database this server made is "
            "never empty, so this one lost its content: restore it from a backup, or delete "
            "it to start a new, empty platform",
        )
    started = time.monotonic()
    try:
        problems = _integrity(full, seconds)
    except sqlite3.DatabaseError as exc:
        raise _refuse(full, str(exc)) from None
    if problems is None:
        log.warning(
            "database check of %s stopped after %.0f s (%d MB): started without a full check",
            full,
            seconds,
            os.path.getsize(full) // 1_000_000,
        )
        return
    if not problems:
        return
    if not all(_INDEX_PROBLEM.match(problem) for problem in problems):
        raise _refuse(full, problems[0])
    indexes = sorted({problem.rsplit(" ", 1)[-1] for problem in problems})
    try:
        db = sqlite3.connect(full, isolation_level=None)
        try:
            for index in indexes:
                db.execute(f'REINDEX "{index}"')
        finally:
            db.close()
        left = _integrity(full, max(seconds - (time.monotonic() - started), 1.0))
    except sqlite3.DatabaseError as exc:
        raise _refuse(full, f"{problems[0]}; rebuilding the index failed: {exc}") from None
    if left:
        raise _refuse(full, left[0])
    log.warning("database %s: rebuilt the damaged index %s (REINDEX)", full, ", ".join(indexes))
